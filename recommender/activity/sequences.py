"""Read the site's events out of the database as plain rows for the model.

Worker-side, but torch-free: the ML core (`recommender.ml`) turns these rows into tensors.
Every kind the model reads comes with its value (`recommender.ml.signals`: a rating's
stars, a like, a view...); "not interested" is never input, only a block.
"""
from collections.abc import Iterator

from django.db.models import Exists, Max, OuterRef, QuerySet

from ..ml.signals import collapse
from ..models import ControlKind, Event, EventKind, GenreControl, GenreControlKind, Preferences, UserControl

# Kinds that reach the model as history entries ("not interested" only blocks an item).
MODEL_KINDS = [k for k in EventKind.values if k != EventKind.NOT_INTERESTED]


def event_watermark() -> int:
    """Return the largest event id now stored (0 with no events): a training snapshot."""
    return Event.objects.aggregate(m=Max("id"))["m"] or 0


def excluded_pairs(user_ids: list[int] | None = None) -> set[tuple[int, int]]:
    """Return the (person, item) pairs that people asked the model not to use."""
    controls = UserControl.objects.filter(kind=ControlKind.EXCLUDE)
    if user_ids is not None:
        controls = controls.filter(user_id__in=user_ids)
    return set(controls.values_list("user_id", "item_id"))


def since_reset(events: QuerySet[Event]) -> QuerySet[Event]:
    """Return `events` without those from before their person's "reset my recommendations"
    (the history keeps them; the model no longer sees them)."""
    if not Preferences.objects.filter(reset_at__isnull=False).exists():
        return events
    before_reset = Preferences.objects.filter(user_id=OuterRef("user_id"), reset_at__gt=OuterRef("occurred_at"))
    return events.exclude(Exists(before_reset))


def interaction_rows(*, watermark: int) -> Iterator[tuple[int, int, int, str, float | None]]:
    """Yield (person id, item id, order, kind, value) for every model event with id <= watermark.

    Rows come per person in time order (ties by id); excluded items are left out.
    """
    excluded = excluded_pairs()
    events = (
        since_reset(Event.objects.filter(id__lte=watermark, kind__in=MODEL_KINDS))
        .order_by("user_id", "occurred_at", "id")
        .values_list("user_id", "item_id", "kind", "value")
    )
    for order, (user_id, item_id, kind, value) in enumerate(events.iterator(chunk_size=20000)):
        if (user_id, item_id) not in excluded:
            yield user_id, item_id, order, kind, value


def histories(user_ids: list[int], *, max_len: int) -> dict[int, list[tuple[int, int]]]:
    """Return each person's most recent history entries (item id, signal), oldest first:
    one per item (``signals.collapse``), excluded items left out."""
    excluded = excluded_pairs(user_ids)
    events: dict[int, list[tuple[int, str, float | None]]] = {uid: [] for uid in user_ids}
    rows = (
        since_reset(Event.objects.filter(user_id__in=user_ids, kind__in=MODEL_KINDS))
        .order_by("user_id", "occurred_at", "id")
        .values_list("user_id", "item_id", "kind", "value")
    )
    for user_id, item_id, kind, value in rows.iterator(chunk_size=20000):
        if (user_id, item_id) not in excluded:
            events[user_id].append((item_id, kind, value))
    return {uid: collapse(evs)[-max_len:] for uid, evs in events.items()}


def seen_and_blocked(user_ids: list[int]) -> dict[int, set[int]]:
    """Return, per person, the items never to recommend: all they interacted with
    (excluded ones and those before a reset included), those marked not interested, and
    those of a genre they excluded."""
    result: dict[int, set[int]] = {uid: set() for uid in user_ids}
    for user_id, item_id in Event.objects.filter(user_id__in=user_ids).values_list("user_id", "item_id").distinct():
        result[user_id].add(item_id)
    for user_id, item_id in UserControl.objects.filter(
        user_id__in=user_ids, kind=ControlKind.NOT_INTERESTED
    ).values_list("user_id", "item_id"):
        result[user_id].add(item_id)
    for user_id, item_id in GenreControl.objects.filter(
        user_id__in=user_ids, kind=GenreControlKind.EXCLUDE
    ).values_list("user_id", "genre__items"):
        if item_id is not None:
            result[user_id].add(item_id)
    return result
