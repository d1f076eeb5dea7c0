"""Site pages of the recommender: home, catalogue, item, history, settings, how it works."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("items/", views.item_list, name="item_list"),
    path("items/<int:item_id>/", views.item_detail, name="item_detail"),
    path("items/<int:item_id>/rate/", views.item_rate, name="item_rate"),
    path("items/<int:item_id>/like/", views.item_like, name="item_like"),
    path("items/<int:item_id>/not-interested/", views.item_not_interested, name="item_not_interested"),
    path("history/", views.history, name="history"),
    path("history/controls/", views.control_toggle, name="control_toggle"),
    path("history/events/<int:event_id>/delete/", views.event_delete, name="event_delete"),
    path("history/items/<int:item_id>/delete/", views.history_item_delete, name="history_item_delete"),
    path("feed/", views.feed_choose, name="feed_choose"),
    path("feed/status/", views.feed_status, name="feed_status"),
    path("settings/", views.preferences, name="preferences"),
    path("settings/views/", views.view_recording, name="view_recording"),
    path("settings/reset/", views.recommendations_reset, name="recommendations_reset"),
    path("settings/genres/", views.genre_control, name="genre_control"),
    path("how-recommendations-work/", views.how_it_works, name="how_it_works"),
]
