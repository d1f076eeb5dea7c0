"""Serializers of the API: strict input (unknown fields and wrong JSON types are refused)
and read-only output. No input serializer has a user, id, score, rank or model version."""
import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import (
    ControlKind,
    Event,
    EventKind,
    FeedKind,
    GenreControl,
    GenreControlKind,
    Item,
    ModelVersion,
    Preferences,
    RunStatus,
    TrainingRun,
    UserControl,
)
from ..ml.records import VersionMetrics
from ..activity.services import RATING_MAX, RATING_MIN

MAX_ID = 2**63 - 1  # the largest BigAutoField value; larger ids cannot exist


# ---- strict input ----------------------------------------------------------------------
class StrictSerializer(serializers.Serializer):
    """Refuse fields the serializer does not declare."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("Unknown field.")] for name in unknown}
                )
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: no strings, booleans or numbers written with a fraction or exponent
    (`10.0` and `1e1` are numbers, not ids)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A JSON number: no strings or booleans."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string, taken as sent: numbers are not turned into text, and leading or
    trailing whitespace is kept (trimming turned strings the schema allows, such as a
    client event id "\x1f", into refused blanks)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time with a time zone (`Z` or an offset)."""

    default_error_messages = {
        "naive": gettext_lazy("The time must include a time zone, e.g. 2025-01-31T12:00:00Z."),
        "range": gettext_lazy("The time is before 1970 or in the future."),
    }

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        try:
            return super().to_internal_value(value)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00, which UTC cannot hold
            self.fail("range")

    def enforce_timezone(self, value: dt.datetime) -> dt.datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        return value.astimezone(dt.UTC)


class EventInSerializer(StrictSerializer):
    """One event as a client sends it."""

    item = StrictIntegerField(min_value=1, max_value=MAX_ID, help_text="Item id.")
    kind = serializers.ChoiceField(choices=EventKind.choices)
    value = StrictFloatField(required=False, allow_null=True, min_value=RATING_MIN, max_value=RATING_MAX,
                             help_text="The rating, 0.5 to 5, of a `rate`; absent or null for every other kind.")
    occurred_at = AwareDateTimeField(required=False, allow_null=True,
                                     help_text="When it happened (default: now); from 1970 to 5 minutes ahead.")
    client_event_id = StrictCharField(
        required=False, allow_null=True, min_length=1, max_length=64,
        help_text="Your id for this event: resending it is counted as a duplicate, not stored again.",
    )


class EventBatchResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Events stored by this request.")
    duplicates = serializers.IntegerField(help_text="Events already stored under their client event id.")


class ControlInSerializer(StrictSerializer):
    item = StrictIntegerField(min_value=1, max_value=MAX_ID)
    control = serializers.ChoiceField(choices=ControlKind.choices)


class TokenInSerializer(StrictSerializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=4096, trim_whitespace=False)
    device = StrictCharField(required=False, allow_blank=True, max_length=100,
                             help_text="A name for this device, shown in the admin.")


class TokenOutSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`; shown only once.")
    device = serializers.CharField()


class TrainingRunInSerializer(StrictSerializer):
    hyperparams = serializers.DictField(required=False, help_text="Optional hyper-parameters of this run.")


# ---- output ------------------------------------------------------------------------------
class ItemSerializer(serializers.ModelSerializer):
    genres = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    display_title = serializers.CharField(
        read_only=True, help_text="The title in reading order (\"The Usual Suspects\" for the stored "
        "\"Usual Suspects, The\"); `title` is the stored form, which sorts.")

    class Meta:
        model = Item
        fields = ["id", "external_id", "title", "display_title", "year", "genres"]
        read_only_fields = fields


def item_dict(item: Item) -> dict:
    """Return what ItemSerializer returns, without its per-field machinery (hot path);
    the item's genres must be prefetched."""
    return {"id": item.pk, "external_id": item.external_id, "title": item.title,
            "display_title": item.display_title, "year": item.year,
            "genres": [genre.name for genre in item.genres.all()]}


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "item", "kind", "value", "occurred_at", "client_event_id", "created_at"]
        read_only_fields = fields


class ControlSerializer(serializers.ModelSerializer):
    control = serializers.CharField(source="kind")

    class Meta:
        model = UserControl
        fields = ["item", "control", "created_at"]
        read_only_fields = fields


class RecommendationSerializer(serializers.Serializer):
    item = ItemSerializer()
    rank = serializers.IntegerField()
    score = serializers.FloatField(allow_null=True, help_text="The model's score; null in the popular "
                                   "and newest feeds, which no model ranks.")
    reason = serializers.CharField(allow_null=True, help_text="Why, in one sentence, once explained.")


class RecommendationListSerializer(serializers.Serializer):
    feed = serializers.ChoiceField(choices=FeedKind.choices, help_text="Which list this is: `personal` "
                                   "(the model's), or `popular` / `newest` (not based on your profile).")
    model_version = serializers.IntegerField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    results = RecommendationSerializer(many=True)


class TrainingProgressSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    status = serializers.CharField(help_text="`queued` (waiting for a worker) or `running`.")
    epoch = serializers.IntegerField(help_text="Epochs done.")
    planned_epochs = serializers.FloatField(allow_null=True, help_text="Epochs the run now plans; null "
                                            "when only `max_epochs` bounds it.")
    max_epochs = serializers.IntegerField()
    progress = serializers.FloatField(help_text="0 to 1.")
    eta_s = serializers.FloatField(allow_null=True, help_text="Seconds left: an estimate, or an upper "
                                   "bound when `eta_is_bound`.")
    eta_is_bound = serializers.BooleanField()
    eta_text = serializers.CharField(help_text="The same in words, in the request's language (empty "
                                     "before the first epoch ends).")
    started_at = serializers.DateTimeField(allow_null=True)


class RecommendationStatusSerializer(serializers.Serializer):
    feed = serializers.ChoiceField(choices=FeedKind.choices)
    state = serializers.ChoiceField(
        choices=["ready", "newcomer", "fresh_start", "training", "scoring", "no_model", "needs_training"],
        help_text="`ready`: a list is there. `newcomer`: no history yet. `fresh_start`: reset and "
        "nothing done since. `training`: the first model is training (see `training`). `scoring`: "
        "the list is being computed (seconds). `no_model`: no model and no training. "
        "`needs_training`: the model knows none of your items yet.")
    refresh = serializers.BooleanField(help_text="True while the state changes by itself: ask again in "
                                       "a few seconds.")
    message = serializers.CharField(help_text="The state in words, in the request's language.")
    training = TrainingProgressSerializer(allow_null=True)


class PreferencesSerializer(serializers.ModelSerializer):
    class Meta:
        model = Preferences
        fields = ["feed", "record_views", "reset_at", "can_undo_reset"]
        read_only_fields = fields


class PreferencesInSerializer(StrictSerializer):
    feed = serializers.ChoiceField(choices=FeedKind.choices, required=False,
                                   help_text="What GET /recommendations/ and the home page show.")
    record_views = serializers.BooleanField(required=False, help_text="Record opening an item page "
                                            "(on the site) as a view.")

    def to_internal_value(self, data):
        if isinstance(data, dict) and "record_views" in data and not isinstance(data["record_views"], bool):
            raise serializers.ValidationError({"record_views": [_("Must be true or false.")]})
        return super().to_internal_value(data)


class GenreControlSerializer(serializers.ModelSerializer):
    genre = serializers.CharField(source="genre.name")
    control = serializers.CharField(source="kind")

    class Meta:
        model = GenreControl
        fields = ["genre", "control", "created_at"]
        read_only_fields = fields


class GenreControlInSerializer(StrictSerializer):
    genre = StrictCharField(max_length=64, help_text="A genre name, exactly (as items list it).")
    control = serializers.ChoiceField(choices=GenreControlKind.choices)


class GenreControlRemoveInSerializer(StrictSerializer):
    genre = StrictCharField(max_length=64)


class HistoryRowSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    last_at = serializers.DateTimeField(help_text="When you last did anything with it.")
    rating = serializers.FloatField(allow_null=True, help_text="Your latest rating.")
    liked = serializers.BooleanField()
    views = serializers.IntegerField()
    clicks = serializers.IntegerField()
    purchases = serializers.IntegerField()
    not_interested = serializers.BooleanField()
    events = serializers.IntegerField(help_text="All your events on it.")
    before_reset = serializers.BooleanField(help_text="All before your last reset: kept, no longer used.")


_JSON_TYPES = {int: "integer", float: "number"}


@extend_schema_field({
    "type": "object", "description": "What the finished run measured (empty before it finishes): "
    "`val_ndcg@10` chose the weights at `best_epoch`; `test_*` are the held-out last items, full ranking.",
    "properties": {key: {"type": _JSON_TYPES[kind]} for key, kind in VersionMetrics.__annotations__.items()},
})
class MetricsField(serializers.JSONField):
    """A run's or a version's metrics (``recommender.ml.records.VersionMetrics``)."""


class TrainingRunSerializer(serializers.ModelSerializer):
    metrics = MetricsField(read_only=True)

    class Meta:
        model = TrainingRun
        fields = ["id", "status", "progress", "epoch", "max_epochs", "loss", "val_ndcg", "eta_s",
                  "metrics", "hyperparams", "error", "model_version", "created_at", "started_at",
                  "finished_at"]
        read_only_fields = fields


class TrainingRunStartedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RunStatus.choices)


class ModelVersionSerializer(serializers.ModelSerializer):
    metrics = MetricsField(read_only=True)

    class Meta:
        model = ModelVersion
        fields = ["id", "created_at", "is_active", "activated_at", "metrics", "config",
                  "n_users", "n_items", "n_events", "event_watermark"]
        read_only_fields = fields
