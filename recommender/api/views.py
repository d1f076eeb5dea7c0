"""API views for everyone signed in: tokens, the catalogue, events, recommendations,
explanations and controls. Each parses, checks who asks, calls one service or selector
of the site's own, and formats the answer."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, generics, serializers, status
from rest_framework.fields import DateTimeField
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..activity import selectors as activity, services
from ..activity.services import EVENT_BATCH_MAX, EventBatchInvalid, EventInput
from ..catalogue import selectors as catalogue
from ..models import Event, FeedKind, Item, Recommendation
from ..serving import answer_cache, lists
from . import serializers as s
from .base import QUERY_INT_MAX, BodyLimitMixin, django_errors, parse, query_int, query_value
from .explanation_schema import EXPLANATION_SCHEMA, PREPARING_SCHEMA
from .pagination import CreatedCursorPagination, NewestFirstCursorPagination
from .schema import NO_NUL
from .throttling import SignInThrottle
from .tokens import token_create, token_revoke

# One event, or a batch of them: the schema's component EventsInRequest.
EVENTS_BODY = PolymorphicProxySerializer(
    component_name="EventsIn", many=False, resource_type_field_name=None,
    serializers=[s.EventInSerializer, s.EventInSerializer(many=True, min_length=1, max_length=EVENT_BATCH_MAX)])


# ---- tokens ------------------------------------------------------------------------------
class TokenView(BodyLimitMixin, APIView):
    """Sign a device in (POST) or out (DELETE)."""

    def get_permissions(self):
        # Only signing out needs a token: another method answers 405, not 401.
        return super().get_permissions() if self.request.method == "DELETE" else [AllowAny()]

    def get_throttles(self):
        return [SignInThrottle()] if self.request.method == "POST" else super().get_throttles()

    def get_authenticators(self):
        # Signing in needs no credentials: a stale token or session must not get in the way.
        return [] if self.request and self.request.method == "POST" else super().get_authenticators()

    @extend_schema(request=s.TokenInSerializer, responses={201: s.TokenOutSerializer}, auth=[],
                   summary="Sign in: get a token for this device")
    def post(self, request: Request) -> Response:
        from django.contrib.auth import authenticate

        from recsite.accounts.lockout import sign_in_succeeded

        data = parse(s.TokenInSerializer, request.data)
        # Django's request, the one axes' middleware sees: a refusal counts as a failure, and a
        # locked-out account or address turns this answer into 429 (recsite/accounts/lockout.py).
        user = authenticate(request=request._request, username=data["username"], password=data["password"])
        if user is None:
            raise exceptions.ValidationError({"detail": _("Wrong username or password.")})
        sign_in_succeeded(request=request._request, user=user)
        _token, key = token_create(user=user, device=data.get("device", ""))
        return Response({"token": key, "device": data.get("device", "")}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, summary="Sign out: revoke the token sent")
    def delete(self, request: Request) -> Response:
        if request.auth is None:
            raise exceptions.ValidationError({"detail": _("This request was not signed with a token.")})
        token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """Who this token or session belongs to (no query beyond authentication)."""

    @extend_schema(responses={200: inline_serializer("Me", {
        "id": serializers.IntegerField(), "username": serializers.CharField(),
        "is_staff": serializers.BooleanField()})}, summary="Who I am signed in as")
    def get(self, request: Request) -> Response:
        user = request.user
        return Response({"id": user.pk, "username": user.get_username(), "is_staff": user.is_staff})


# ---- catalogue -----------------------------------------------------------------------------
FILTER_TEXT = {"type": "string", "maxLength": 200, "pattern": NO_NUL}  # as get_queryset checks
ITEM_FILTERS = [
    OpenApiParameter("search", FILTER_TEXT, description="Words of a title, or what you are looking "
                     "for in any of 16 languages (\"space adventure with robots\", \"星球大战\"), at most 200 "
                     "characters: results come best first, exact titles, then titles starting with or "
                     "holding the words, then by meaning; misspelt title words are corrected."),
    OpenApiParameter("genre", FILTER_TEXT, description="A genre name, exactly."),
]


class ItemListView(generics.ListAPIView):
    """The catalogue, by title; with `search`, best match first."""

    permission_classes = [AllowAny]
    serializer_class = s.ItemSerializer

    def get_queryset(self):
        filters = {name: query_value(self.request, name) or "" for name in ("search", "genre")}
        for name, value in filters.items():
            if "\x00" in value or len(value) > 200:
                raise exceptions.ValidationError({name: [_("At most 200 characters, no NUL.")]})
        return catalogue.item_list(**filters)

    @extend_schema(parameters=ITEM_FILTERS, summary="List items")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class ItemDetailView(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = s.ItemSerializer
    lookup_url_kwarg = "item_id"

    def get_queryset(self):
        return catalogue.item_list()

    @extend_schema(summary="One item")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


# ---- events ------------------------------------------------------------------------------
class EventListView(BodyLimitMixin, generics.ListAPIView):
    """My events (newest first), and sending new ones."""

    max_body_bytes = 1 << 20  # a full batch of 1000 verbose events is about 250 KB
    serializer_class = s.EventSerializer
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self):
        return activity.event_list_for_user(user=self.request.user)

    @extend_schema(summary="My events, newest first")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=EVENTS_BODY,
        responses={201: s.EventBatchResultSerializer},
        summary="Send one event or a batch of up to 1000",
        description="A batch is stored whole or not at all: any invalid event answers 400 with "
        "`errors`, a list of `{index, fields}`. An event whose `client_event_id` you already sent "
        "is counted in `duplicates` and not stored again.",
    )
    def post(self, request: Request) -> Response:
        payload = request.data
        if isinstance(payload, dict):
            data = parse(s.EventInSerializer, payload)
            items = catalogue.item_map(ids=[data["item"]])
            if data["item"] not in items:
                raise exceptions.ValidationError({"item": [_("No item with id %(id)s.") % {"id": data["item"]}]})
            try:
                _event, created = services.event_record(user=request.user, data=_event_input(data, items))
            except DjangoValidationError as exc:
                raise exceptions.ValidationError(django_errors(exc)) from None
            return Response({"created": int(created), "duplicates": int(not created)}, status=201)
        if not isinstance(payload, list) or not payload:
            raise exceptions.ValidationError({"detail": _("Send one event object or a non-empty list of them.")})
        if len(payload) > EVENT_BATCH_MAX:
            raise exceptions.ValidationError({"detail": _("At most %(n)d events per batch.") % {"n": EVENT_BATCH_MAX}})
        inputs, errors = _parse_batch(payload)
        if errors:
            return _batch_refused(_merge_errors(inputs, errors), len(payload))
        try:
            created, duplicates = services.events_record_batch(user=request.user, inputs=list(inputs.values()))
        except EventBatchInvalid as exc:  # every event parsed, so positions are batch indexes
            return _batch_refused(exc.by_index, len(payload))
        return Response({"created": created, "duplicates": duplicates}, status=201)


def _batch_refused(by_index: dict[int, dict], total: int) -> Response:
    return Response({
        "detail": _("No event was stored: %(n)d of %(total)d are invalid.") % {"n": len(by_index), "total": total},
        "errors": [{"index": i, "fields": by_index[i]} for i in sorted(by_index)],
    }, status=status.HTTP_400_BAD_REQUEST)


def _event_input(data: dict, items: dict) -> EventInput:
    return EventInput(item=items[data["item"]], kind=data["kind"], value=data.get("value"),
                      occurred_at=data.get("occurred_at"), client_event_id=data.get("client_event_id"))


def _parse_batch(payload: list) -> tuple[dict[int, EventInput], dict[int, dict]]:
    """Return ({index: input} for events that parse, {index: {field: [messages]}} for the rest)."""
    # One serializer for the whole batch: building one per event deep-copies its fields.
    child = s.EventInSerializer()
    parsed: dict[int, dict] = {}
    errors: dict[int, dict] = {}
    for index, raw in enumerate(payload):
        try:
            parsed[index] = child.run_validation(raw)
        except serializers.ValidationError as exc:
            errors[index] = exc.detail
    items = catalogue.item_map(ids=[data["item"] for data in parsed.values()])
    inputs: dict[int, EventInput] = {}
    for index, data in parsed.items():
        if data["item"] in items:
            inputs[index] = _event_input(data, items)
        else:
            errors[index] = {"item": [_("No item with id %(id)s.") % {"id": data["item"]}]}
    return inputs, errors


def _merge_errors(inputs: dict[int, EventInput], errors: dict[int, dict]) -> dict[int, dict]:
    """Add the service's verdict on the events that parsed to the parsing errors."""
    positions = list(inputs)
    checked = services.events_validate(list(inputs.values()))
    return {**errors, **{positions[i]: fields for i, fields in checked.items()}}


class EventDetailView(generics.RetrieveDestroyAPIView):
    """One of my events; anyone else's answers 404."""

    serializer_class = s.EventSerializer
    lookup_url_kwarg = "event_id"

    def get_queryset(self):
        return activity.event_list_for_user(user=self.request.user)

    @extend_schema(summary="One of my events")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Delete one of my events")
    def delete(self, request: Request, *args, **kwargs) -> Response:
        try:
            services.event_delete(user=request.user, event_id=int(kwargs["event_id"]))
        except Event.DoesNotExist:
            raise Http404 from None
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---- recommendations and explanations --------------------------------------------------------
class RecommendationListView(APIView):
    """My current recommendations, best first, in the feed I chose."""

    @extend_schema(
        parameters=[OpenApiParameter("k", {"type": "integer", "minimum": 1, "maximum": QUERY_INT_MAX},
                                     description="How many: default 10, at least 1; values above 100 "
                                     "are treated as 100."),
                    OpenApiParameter("feed", OpenApiTypes.STR, enum=FeedKind.values,
                                     description="This time only: `personal`, `popular` or `newest` "
                                     "(default: the feed of your preferences).")],
        responses={200: s.RecommendationListSerializer},
        summary="My recommendations",
    )
    def get(self, request: Request) -> Response:
        k = query_int(request, "k", default=10, minimum=1, cap=100)
        user = request.user
        feed = query_value(request, "feed")
        if feed is not None and feed not in FeedKind.values:
            raise exceptions.ValidationError({"feed": [_("One of %(feeds)s.") % {"feeds": ", ".join(FeedKind.values)}]})
        feed = feed or activity.preferences_for_user(user=user).feed
        if feed != FeedKind.PERSONAL:
            items = (activity.item_popular(user=user, limit=k, include_own=True) if feed == FeedKind.POPULAR
                     else activity.item_newest(user=user, limit=k))
            return Response(feed_payload(feed, items))
        body = answer_cache.recommendations_answer(
            user_id=user.pk, k=k,
            build=lambda: recommendations_payload(user, lists.recommendation_rows_for_user(user=user, k=k)))
        # Already rendered JSON (the API's only renderer, settings.REST_FRAMEWORK).
        return HttpResponse(body, content_type="application/json")


def feed_payload(feed: str, items: list[Item]) -> dict:
    """Return the answer of GET /recommendations/ for a feed not based on the profile."""
    return {"feed": feed, "model_version": None, "computed_at": None,
            "results": [{"item": s.item_dict(item), "rank": rank, "score": None, "reason": None}
                        for rank, item in enumerate(items, start=1)]}


def recommendations_payload(user, rows: list[dict]) -> dict:
    """Return the answer of GET /recommendations/ for rows of `recommendation_rows_for_user`."""
    first = rows[0] if rows else None
    reasons = _reasons(user, [r["item"]["id"] for r in rows]) if rows else {}
    return {
        "feed": FeedKind.PERSONAL.value,
        "model_version": first["model_version_id"] if first else None,
        "computed_at": DateTimeField().to_representation(first["computed_at"]) if first else None,
        "results": [
            {"item": r["item"], "rank": r["rank"], "score": r["score"], "reason": reasons.get(r["item"]["id"])}
            for r in rows
        ],
    }


def _reasons(user, item_ids: list[int]) -> dict[int, str]:
    """Return the reason sentence of each of these recommendations that has been explained."""
    from explain.selectors import explanation_reasons

    return explanation_reasons(user=user, item_ids=item_ids)


class ExplanationView(APIView):
    """Why one of my recommendations was made."""

    @extend_schema(
        responses={200: OpenApiResponse(EXPLANATION_SCHEMA, description="The explanation."),
                   202: OpenApiResponse(PREPARING_SCHEMA, description="Being prepared: ask again shortly.")},
        summary="Explanation of one of my recommendations",
    )
    def get(self, request: Request, item_id: int) -> Response:
        from explain.selectors import explanation_payload
        from explain.services import explanation_request

        if item_id > s.MAX_ID:  # no such id can exist; SQLite cannot even compare it
            raise Http404
        try:
            payload = explanation_payload(user=request.user, item_id=item_id)
        except Recommendation.DoesNotExist:
            raise Http404 from None
        if payload is None:
            state = explanation_request(user=request.user, item_id=item_id)
            return Response({"status": state}, status=status.HTTP_202_ACCEPTED)
        return Response(payload)


# ---- controls ----------------------------------------------------------------------------------
class ControlListView(BodyLimitMixin, generics.ListAPIView):
    """My controls: items kept out of the model's input or never recommended."""

    serializer_class = s.ControlSerializer
    pagination_class = CreatedCursorPagination

    def get_queryset(self):
        return activity.control_list_for_user(user=self.request.user)

    @extend_schema(summary="My controls")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.ControlInSerializer, responses={200: s.ControlSerializer, 201: s.ControlSerializer},
                   summary="Turn a control on (201 if new, 200 if it was on)")
    def post(self, request: Request) -> Response:
        data = parse(s.ControlInSerializer, request.data)
        control, created = services.control_set(user=request.user, item=_item(data["item"]), kind=data["control"])
        return Response(s.ControlSerializer(control).data, status=201 if created else 200)

    @extend_schema(request=s.ControlInSerializer, responses={204: None},
                   summary="Turn a control off (404 if it was not on)")
    def delete(self, request: Request) -> Response:
        data = parse(s.ControlInSerializer, request.data)
        if not services.control_remove(user=request.user, item=_item(data["item"]), kind=data["control"]):
            raise exceptions.NotFound(_("That control was not on."))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _item(item_id: int):
    """Return the item of a request body, or answer 400."""
    item = catalogue.item_map(ids=[item_id]).get(item_id)
    if item is None:
        raise exceptions.ValidationError({"item": [_("No item with id %(id)s.") % {"id": item_id}]})
    return item
