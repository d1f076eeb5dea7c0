"""Writes: recording events and setting a person's controls.

Every path that records an interaction (pages, API, importers of single events) goes
through `event_record` so validation and side effects live in one place.
"""
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from recsite.accounts.models import User

from ..models import (
    ControlKind,
    Event,
    EventKind,
    FeedKind,
    Genre,
    GenreControl,
    GenreControlKind,
    Item,
    Preferences,
    UserControl,
)
from .hooks import person_changed


# Clocks on phones drift: accept timestamps this far in the future.
MAX_FUTURE_SKEW = timedelta(minutes=5)
# Nobody used this site before the Unix epoch: an earlier time is a client's bug (a zero or
# a year-1 default), and the importers refuse the same times.
EARLIEST_EVENT = datetime(1970, 1, 1, tzinfo=UTC)
RATING_MIN, RATING_MAX = 0.5, 5.0


def _changed(user: User, *, rescore: bool = True, list_void: bool = False) -> None:
    """Announce in this transaction that the person's activity changed (`hooks.person_changed`):
    serving marks their list stale, so a worker computes it again."""
    person_changed.send(sender=User, user=user, rescore=rescore, list_void=list_void)


@dataclass(frozen=True)
class EventInput:
    """One event as a client sent it, before validation."""

    item: Item
    kind: str
    value: float | None = None
    occurred_at: datetime | None = None
    client_event_id: str | None = None


def event_validate(data: EventInput) -> None:
    """Raise ValidationError (with field keys) if the event cannot be stored."""
    errors: dict[str, str] = {}
    if data.kind not in EventKind.values:
        errors["kind"] = _("Unknown kind %(kind)r; expected one of %(kinds)s.") % {
            "kind": data.kind,
            "kinds": ", ".join(EventKind.values),
        }
    if data.value is not None and (
        isinstance(data.value, bool) or not math.isfinite(float(data.value))
    ):
        errors["value"] = _("The value must be a finite number.")
    elif data.kind == EventKind.RATE:
        if data.value is None:
            errors["value"] = _("A rating needs a value.")
        elif not RATING_MIN <= float(data.value) <= RATING_MAX:
            errors["value"] = _("A rating must be between %(lo)s and %(hi)s.") % {
                "lo": RATING_MIN,
                "hi": RATING_MAX,
            }
    elif data.value is not None:
        errors["value"] = _("Only a rating has a value; leave it out for “%(kind)s”.") % {"kind": data.kind}
    if data.occurred_at is not None:
        if timezone.is_naive(data.occurred_at):
            errors["occurred_at"] = _("The time must include a time zone.")
        elif data.occurred_at > timezone.now() + MAX_FUTURE_SKEW:
            errors["occurred_at"] = _("The time is in the future.")
        elif data.occurred_at < EARLIEST_EVENT:
            errors["occurred_at"] = _("The time is before 1970.")
    if data.client_event_id is not None and not 1 <= len(data.client_event_id) <= 64:
        errors["client_event_id"] = _("A client event id has 1 to 64 characters.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def event_record(*, user: User, data: EventInput) -> tuple[Event, bool]:
    """Validate and store one event; return it and whether it was new.

    An event whose client event id this person already used is not stored again: the
    stored one is returned with created=False.
    """
    event_validate(data)
    if data.client_event_id is not None:
        existing = Event.objects.filter(user=user, client_event_id=data.client_event_id).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            event = Event.objects.create(
                user=user,
                item=data.item,
                kind=data.kind,
                value=None if data.value is None else float(data.value),
                occurred_at=data.occurred_at or timezone.now(),
                client_event_id=data.client_event_id,
            )
    except IntegrityError:
        # Two requests with the same client event id raced; the other one won.
        return Event.objects.get(user=user, client_event_id=data.client_event_id), False
    if data.kind == EventKind.NOT_INTERESTED:
        UserControl.objects.get_or_create(user=user, item=data.item, kind=ControlKind.NOT_INTERESTED)
    _changed(user)
    return event, True


@transaction.atomic
def event_delete(*, user: User, event_id: int) -> None:
    """Delete one of this person's events; raise Event.DoesNotExist for anyone else's."""
    Event.objects.get(user=user, pk=event_id).delete()
    _changed(user)


def control_validate(kind: str) -> None:
    """Raise ValidationError if `kind` is not a known control."""
    if kind not in ControlKind.values:
        raise ValidationError(
            {"control": _("Unknown control %(kind)r; expected one of %(kinds)s.")
             % {"kind": kind, "kinds": ", ".join(ControlKind.values)}}
        )


@transaction.atomic
def control_set(*, user: User, item: Item, kind: str) -> tuple[UserControl, bool]:
    """Turn a control on for this person and item; return it and whether it was new."""
    control_validate(kind)
    control, created = UserControl.objects.get_or_create(user=user, item=item, kind=kind)
    if created:
        _changed(user)
    return control, created


@transaction.atomic
def control_remove(*, user: User, item: Item, kind: str) -> bool:
    """Turn a control off; return whether it had been on."""
    control_validate(kind)
    deleted, _count = UserControl.objects.filter(user=user, item=item, kind=kind).delete()
    if deleted:
        _changed(user)
    return deleted > 0


# Reloading an item page, or coming back to it after rating, is still the same visit.
VIEW_REPEAT_WINDOW = timedelta(minutes=30)


@transaction.atomic
def event_record_view(*, user: User, item: Item) -> Event | None:
    """Record that this person opened the item's page; return the event, or None when
    they turned off the recording of views, or when their latest event is on this same
    item within VIEW_REPEAT_WINDOW (same visit)."""
    if Preferences.objects.filter(user=user, record_views=False).exists():
        return None
    latest = Event.objects.filter(user=user).order_by("-occurred_at", "-id").first()
    if (
        latest is not None
        and latest.item_id == item.pk
        and latest.occurred_at >= timezone.now() - VIEW_REPEAT_WINDOW
    ):
        return None
    event, _created = event_record(user=user, data=EventInput(item=item, kind=EventKind.VIEW))
    return event


@transaction.atomic
def event_like_withdraw(*, user: User, item: Item) -> int:
    """Delete this person's likes of the item; return how many there were."""
    deleted, _count = Event.objects.filter(user=user, item=item, kind=EventKind.LIKE).delete()
    if deleted:
        _changed(user)
    return deleted


@transaction.atomic
def events_delete_for_item(*, user: User, item: Item) -> int:
    """Delete every event of this person on this item (the item leaves their history);
    return how many there were. Their controls on the item stay."""
    deleted, _count = Event.objects.filter(user=user, item=item).delete()
    if deleted:
        _changed(user)
    return deleted


# ---- preferences: the feed, view recording, "reset my recommendations" ---------------

def _preferences_locked(user: User) -> Preferences:
    Preferences.objects.get_or_create(user=user)
    return Preferences.objects.select_for_update().get(user=user)


@transaction.atomic
def preferences_update(*, user: User, feed: str | None = None, record_views: bool | None = None) -> Preferences:
    """Set this person's feed ("personal", "popular" or "newest") and whether their page
    views are recorded; None leaves a setting as it is. Raise ValidationError for an
    unknown feed."""
    if feed is not None and feed not in FeedKind.values:
        raise ValidationError({"feed": _("Unknown feed %(feed)r; expected one of %(feeds)s.")
                               % {"feed": feed, "feeds": ", ".join(FeedKind.values)}})
    prefs = _preferences_locked(user)
    if feed is not None:
        prefs.feed = feed
    if record_views is not None:
        prefs.record_views = bool(record_views)
    prefs.save()
    # What is shown depends on the feed; no list needs recomputing.
    _changed(user, rescore=False)
    return prefs


@transaction.atomic
def recommendations_reset(*, user: User) -> Preferences:
    """Clear the influence of everything this person did until now on their
    recommendations: their history stays, but only later events reach the model.

    Their stored list is dropped at once (it was computed from what is being cleared) and
    a new one is asked for; `recommendations_reset_undo` restores the previous state.
    """
    prefs = _preferences_locked(user)
    prefs.reset_undo_to, prefs.can_undo_reset = prefs.reset_at, True
    prefs.reset_at = timezone.now()
    prefs.save()
    _changed(user, list_void=True)
    return prefs


class NothingToUndo(ValidationError):
    """There is no reset to undo."""


@transaction.atomic
def recommendations_reset_undo(*, user: User) -> Preferences:
    """Undo this person's last reset: the events it cleared reach the model again.
    Raise NothingToUndo when there is no reset to undo."""
    prefs = _preferences_locked(user)
    if not prefs.can_undo_reset:
        raise NothingToUndo(_("There is no reset to undo."))
    prefs.reset_at, prefs.reset_undo_to, prefs.can_undo_reset = prefs.reset_undo_to, None, False
    prefs.save()
    _changed(user, list_void=True)
    return prefs


# ---- genre controls ---------------------------------------------------------------------

def genre_control_validate(kind: str) -> None:
    """Raise ValidationError if `kind` is not a known genre control."""
    if kind not in GenreControlKind.values:
        raise ValidationError(
            {"control": _("Unknown genre control %(kind)r; expected one of %(kinds)s.")
             % {"kind": kind, "kinds": ", ".join(GenreControlKind.values)}}
        )


@transaction.atomic
def genre_control_set(*, user: User, genre: Genre, kind: str) -> tuple[GenreControl, bool]:
    """Ask for less of a genre or exclude it (replacing the other); return the control
    and whether anything changed."""
    genre_control_validate(kind)
    control, created = GenreControl.objects.get_or_create(user=user, genre=genre, defaults={"kind": kind})
    changed = created or control.kind != kind
    if not created and changed:
        control.kind = kind
        control.save(update_fields=["kind"])
    if changed:
        _changed(user)
    return control, changed


@transaction.atomic
def genre_control_remove(*, user: User, genre: Genre) -> str | None:
    """Remove this person's control on a genre (the undo); return the kind it had, or None."""
    control = GenreControl.objects.filter(user=user, genre=genre).first()
    if control is None:
        return None
    control.delete()
    _changed(user)
    return control.kind


# Largest batch one request may send: big enough to catch up after a day offline, small
# enough to validate and insert in one short transaction.
EVENT_BATCH_MAX = 1000


def events_validate(inputs: list[EventInput]) -> dict[int, dict[str, list[str]]]:
    """Return {index: {field: [messages]}} for every event of a batch that cannot be stored."""
    errors: dict[int, dict[str, list[str]]] = {}
    for index, data in enumerate(inputs):
        try:
            event_validate(data)
        except ValidationError as exc:
            errors[index] = exc.message_dict
    return errors


class EventBatchInvalid(ValidationError):
    """Some events of a batch are invalid; nothing was stored. `by_index` says which and why."""

    def __init__(self, by_index: dict[int, dict[str, list[str]]]):
        super().__init__(_("No event was stored: %(n)d are invalid.") % {"n": len(by_index)})
        self.by_index = by_index


def events_record_batch(*, user: User, inputs: list[EventInput]) -> tuple[int, int]:
    """Validate a whole batch, then store it in one transaction; return (created, duplicates).

    Any invalid event raises EventBatchInvalid and nothing is stored. An event whose client
    event id this person already used (earlier, or earlier in this batch) is a duplicate.
    When the same batch arrives twice at once, the unique constraint stops the second
    insert; it is rolled back and retried, and then finds the first one's rows.
    """
    if len(inputs) > EVENT_BATCH_MAX:
        raise ValidationError(_("At most %(n)d events per batch.") % {"n": EVENT_BATCH_MAX})
    errors = events_validate(inputs)
    if errors:
        raise EventBatchInvalid(errors)
    for attempt in range(3):
        try:
            return _events_insert(user=user, inputs=inputs)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _events_insert(*, user: User, inputs: list[EventInput]) -> tuple[int, int]:
    ids = [data.client_event_id for data in inputs if data.client_event_id is not None]
    seen = set(
        Event.objects.filter(user=user, client_event_id__in=ids).values_list("client_event_id", flat=True)
    ) if ids else set()
    now = timezone.now()
    new: list[Event] = []
    for data in inputs:
        if data.client_event_id is not None:
            if data.client_event_id in seen:
                continue
            seen.add(data.client_event_id)
        new.append(Event(
            user=user, item=data.item, kind=data.kind,
            value=None if data.value is None else float(data.value),
            occurred_at=data.occurred_at or now, client_event_id=data.client_event_id,
        ))
    if new:
        Event.objects.bulk_create(new)
        not_interested = {e.item.pk for e in new if e.kind == EventKind.NOT_INTERESTED}
        UserControl.objects.bulk_create(
            [UserControl(user=user, item_id=pk, kind=ControlKind.NOT_INTERESTED) for pk in not_interested],
            ignore_conflicts=True,
        )
        _changed(user)
    return len(new), len(inputs) - len(new)
