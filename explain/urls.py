"""Pages that explain recommendations."""
from django.urls import path

from . import views

urlpatterns = [
    path("recommendations/<int:item_id>/why/", views.why, name="explanation"),
]
