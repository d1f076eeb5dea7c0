"""Serializers of the API: strict input (unknown fields and wrong JSON types are refused)
and read-only output. No input serializer has a user, id, score, rank or model version."""
import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from ..models import ControlKind, Event, EventKind, Item, ModelVersion, RunStatus, TrainingRun, UserControl
from ..services import RATING_MAX, RATING_MIN

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
    """A JSON string: numbers are not turned into text."""

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

    class Meta:
        model = Item
        fields = ["id", "external_id", "title", "year", "genres"]
        read_only_fields = fields


def item_dict(item: Item) -> dict:
    """Return what ItemSerializer returns, without its per-field machinery (hot path);
    the item's genres must be prefetched."""
    return {"id": item.pk, "external_id": item.external_id, "title": item.title, "year": item.year,
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
    score = serializers.FloatField()
    reason = serializers.CharField(allow_null=True, help_text="Why, in one sentence, once explained.")


class RecommendationListSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    results = RecommendationSerializer(many=True)


class TrainingRunSerializer(serializers.ModelSerializer):
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
    class Meta:
        model = ModelVersion
        fields = ["id", "created_at", "is_active", "activated_at", "metrics", "config",
                  "n_users", "n_items", "n_events", "event_watermark"]
        read_only_fields = fields
