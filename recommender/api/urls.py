"""URLs of the REST API: /api/v1/..., the OpenAPI schema and the offline Swagger UI."""
from django.urls import include, path, re_path
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny

from . import personal, similar, staff, views
from .docs import SchemaView, SwaggerView


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@permission_classes([AllowAny])
@throttle_classes([])
def not_found(request, *args, **kwargs):
    """Answer JSON 404 for any other path under /api/ (not the site's HTML page)."""
    raise NotFound()


v1 = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("items/", views.ItemListView.as_view(), name="api-item-list"),
    path("items/<int:item_id>/", views.ItemDetailView.as_view(), name="api-item-detail"),
    path("items/<int:item_id>/similar/", similar.ItemSimilarView.as_view(), name="api-item-similar"),
    path("events/", views.EventListView.as_view(), name="api-event-list"),
    path("events/<int:event_id>/", views.EventDetailView.as_view(), name="api-event-detail"),
    path("recommendations/", views.RecommendationListView.as_view(), name="api-recommendation-list"),
    path("recommendations/status/", personal.RecommendationStatusView.as_view(), name="api-recommendation-status"),
    path("recommendations/reset/", personal.ResetView.as_view(), name="api-recommendation-reset"),
    path("recommendations/<int:item_id>/explanation/", views.ExplanationView.as_view(),
         name="api-explanation"),
    path("controls/", views.ControlListView.as_view(), name="api-control-list"),
    path("genre-controls/", personal.GenreControlListView.as_view(), name="api-genre-control-list"),
    path("preferences/", personal.PreferencesView.as_view(), name="api-preferences"),
    path("history/", personal.HistoryListView.as_view(), name="api-history"),
    path("history/<int:item_id>/", personal.HistoryItemView.as_view(), name="api-history-item"),
    path("training-runs/", staff.TrainingRunListView.as_view(), name="api-training-run-list"),
    path("training-runs/<int:run_id>/", staff.TrainingRunDetailView.as_view(), name="api-training-run-detail"),
    path("model-versions/", staff.ModelVersionListView.as_view(), name="api-model-version-list"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SchemaView.as_view(permission_classes=[AllowAny], throttle_classes=[]), name="api-schema"),
    path("docs/", SwaggerView.as_view(url_name="api-schema", permission_classes=[AllowAny], throttle_classes=[]),
         name="api-docs"),
    re_path(r"", not_found),  # everything else, newlines included
]
