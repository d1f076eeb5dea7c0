"""Site pages of the recommender: home, catalogue, item, history."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
]
