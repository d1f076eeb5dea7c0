"""API views of a person's own recommendation settings: preferences (feed, view
recording), "reset my recommendations" and its undo, genre controls, the state of their
list, and their history one item at a time. Each parses, calls one service or selector and
formats the answer."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import feeds
from ..activity import selectors as activity, services
from ..catalogue import selectors as catalogue
from ..models import Genre
from . import serializers as s
from .base import BodyLimitMixin, django_errors, parse
from .pagination import CreatedCursorPagination


class PreferencesView(BodyLimitMixin, APIView):
    """My preferences: which feed my recommendations come in, whether views are recorded."""

    @extend_schema(responses={200: s.PreferencesSerializer}, summary="My preferences")
    def get(self, request: Request) -> Response:
        return Response(s.PreferencesSerializer(activity.preferences_for_user(user=request.user)).data)

    @extend_schema(request=s.PreferencesInSerializer, responses={200: s.PreferencesSerializer},
                   summary="Change my preferences (fields left out stay as they are)")
    def patch(self, request: Request) -> Response:
        data = parse(s.PreferencesInSerializer, request.data)
        try:
            prefs = services.preferences_update(user=request.user, feed=data.get("feed"),
                                                record_views=data.get("record_views"))
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(django_errors(exc)) from None
        return Response(s.PreferencesSerializer(prefs).data)


class ResetView(APIView):
    """Reset my recommendations (POST), or undo the last reset (DELETE)."""

    @extend_schema(request=None, responses={200: s.PreferencesSerializer},
                   summary="Reset my recommendations (my history is kept)",
                   description="Only events after now shape your recommendations, and your list is "
                   "computed again (seconds). Undo with DELETE.")
    def post(self, request: Request) -> Response:
        return Response(s.PreferencesSerializer(services.recommendations_reset(user=request.user)).data)

    @extend_schema(request=None, responses={200: s.PreferencesSerializer},
                   summary="Undo my last reset (404 if there is none)")
    def delete(self, request: Request) -> Response:
        try:
            prefs = services.recommendations_reset_undo(user=request.user)
        except services.NothingToUndo:
            raise exceptions.NotFound(_("There is no reset to undo.")) from None
        return Response(s.PreferencesSerializer(prefs).data)


class RecommendationStatusView(APIView):
    """Why my list looks as it does: ready, being computed, a first training under way..."""

    @extend_schema(responses={200: s.RecommendationStatusSerializer}, summary="The state of my list",
                   description="While `refresh` is true, ask again every few seconds; `training` "
                   "carries the first training's progress and an estimate of the time left.")
    def get(self, request: Request) -> Response:
        feed = feeds.home_feed(user=request.user, k=1)
        return Response({
            "feed": feed.feed, "state": feed.state, "refresh": feed.refreshing, "message": feed.status_text,
            "training": feed.training.as_dict() if feed.training else None,
        })


class GenreControlListView(BodyLimitMixin, generics.ListAPIView):
    """My genre controls: genres I want less of, or never."""

    serializer_class = s.GenreControlSerializer
    pagination_class = CreatedCursorPagination

    def get_queryset(self):
        return activity.genre_control_list_for_user(user=self.request.user)

    @extend_schema(summary="My genre controls")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.GenreControlInSerializer,
                   responses={200: s.GenreControlSerializer, 201: s.GenreControlSerializer},
                   summary="Less of a genre, or never (201 if new, 200 if it replaced or repeated one)")
    def post(self, request: Request) -> Response:
        data = parse(s.GenreControlInSerializer, request.data)
        genre = _genre(data["genre"])
        existed = activity.genre_control_list_for_user(user=request.user).filter(genre=genre).exists()
        control, _changed = services.genre_control_set(user=request.user, genre=genre, kind=data["control"])
        return Response(s.GenreControlSerializer(control).data, status=200 if existed else 201)

    @extend_schema(request=s.GenreControlRemoveInSerializer, responses={204: None},
                   summary="Remove my control on a genre: the undo (404 if there was none)")
    def delete(self, request: Request) -> Response:
        data = parse(s.GenreControlRemoveInSerializer, request.data)
        if services.genre_control_remove(user=request.user, genre=_genre(data["genre"])) is None:
            raise exceptions.NotFound(_("That genre had no control."))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _genre(name: str) -> Genre:
    """Return the genre of a request body, or answer 400."""
    genre = Genre.objects.filter(name=name).first()
    if genre is None:
        raise exceptions.ValidationError({"genre": [_("No genre named %(name)r.") % {"name": name}]})
    return genre


class HistoryListView(generics.ListAPIView):
    """My history, one entry per item, latest first."""

    serializer_class = s.HistoryRowSerializer

    def get_queryset(self):
        return activity.history_rows_for_user(user=self.request.user)

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        reset_at = activity.preferences_for_user(user=request.user).reset_at
        rows = [{"item": row["item_id"], "last_at": row["last"], "rating": row["rating"],
                 "liked": row["likes"] > 0, "views": row["views"], "clicks": row["clicks"],
                 "purchases": row["purchases"], "not_interested": row["not_interested"] > 0,
                 "events": row["events"], "before_reset": reset_at is not None and row["last"] < reset_at}
                for row in page]
        return self.get_paginated_response(s.HistoryRowSerializer(rows, many=True).data)

    @extend_schema(summary="My history, one entry per item, latest first")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class HistoryItemView(APIView):
    """One item of my history."""

    @extend_schema(request=None, responses={204: None},
                   summary="Delete everything I did with one item (404 if nothing)")
    def delete(self, request: Request, item_id: int) -> Response:
        item = catalogue.item_map(ids=[item_id]).get(item_id) if item_id <= s.MAX_ID else None
        if item is None or not services.events_delete_for_item(user=request.user, item=item):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)

