"""Read the site's events out of the database as plain rows for the model.

Worker-side, but torch-free: the ML core (`recommender.ml`) turns these rows into tensors.
"""
from collections.abc import Iterator

from django.db.models import Exists, Max, OuterRef, QuerySet

from .models import ControlKind, Event, EventKind, GenreControl, GenreControlKind, Preferences, UserControl

# Kinds that say a person engaged with an item. "not interested" is a signal against it.
POSITIVE_KINDS = [k for k in EventKind.values if k != EventKind.NOT_INTERESTED]


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


def interaction_rows(*, watermark: int) -> Iterator[tuple[int, int, int]]:
    """Yield (person id, item id, order) for every usable event with id <= watermark.

    Rows come per person in time order (ties by id); excluded items are left out.
    """
    excluded = excluded_pairs()
    events = (
        since_reset(Event.objects.filter(id__lte=watermark, kind__in=POSITIVE_KINDS))
        .order_by("user_id", "occurred_at", "id")
        .values_list("user_id", "item_id")
    )
    for order, (user_id, item_id) in enumerate(events.iterator(chunk_size=20000)):
        if (user_id, item_id) not in excluded:
            yield user_id, item_id, order


def histories(user_ids: list[int], *, max_len: int) -> dict[int, list[int]]:
    """Return each person's most recent item ids (oldest first), excluded items left out."""
    excluded = excluded_pairs(user_ids)
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    events = (
        since_reset(Event.objects.filter(user_id__in=user_ids, kind__in=POSITIVE_KINDS))
        .order_by("user_id", "occurred_at", "id")
        .values_list("user_id", "item_id")
    )
    for user_id, item_id in events.iterator(chunk_size=20000):
        if (user_id, item_id) not in excluded:
            result[user_id].append(item_id)
    return {uid: seq[-max_len:] for uid, seq in result.items()}


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
