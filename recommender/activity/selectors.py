"""Reads of what people did and chose: their history, controls and preferences, and the
catalogue's popular and newest items as a person sees them (under their controls)."""
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery

from recsite.accounts.models import User

from ..catalogue.selectors import items_in_order, popular_ids
from ..models import (
    ControlKind,
    Event,
    EventKind,
    GenreControl,
    GenreControlKind,
    Item,
    Preferences,
    UserControl,
)

Row = TypeVar("Row")


def event_list_for_user(*, user: User) -> QuerySet[Event]:
    """Return this person's events, newest first, with their items."""
    return (
        Event.objects.filter(user=user)
        .select_related("item")
        .order_by("-occurred_at", "-id")
    )


def control_kinds_by_item(*, user: User, item_ids: list[int] | None = None) -> dict[int, set[str]]:
    """Return {item id: set of control kinds} for this person's controls."""
    controls = UserControl.objects.filter(user=user)
    if item_ids is not None:
        controls = controls.filter(item_id__in=item_ids)
    result: dict[int, set[str]] = {}
    for item_id, kind in controls.values_list("item_id", "kind"):
        result.setdefault(item_id, set()).add(kind)
    return result


def item_state_for_user(*, user: User, item: Item) -> dict:
    """Return what this person did with this item: latest rating, liked, controls, and
    whether their page views are recorded."""
    events = Event.objects.filter(user=user, item=item)
    rating = events.filter(kind="rate").order_by("-occurred_at", "-id").values_list("value", flat=True).first()
    return {
        "rating": rating,
        "liked": events.filter(kind="like").exists(),
        "controls": control_kinds_by_item(user=user, item_ids=[item.pk]).get(item.pk, set()),
        "records_views": preferences_for_user(user=user).record_views,
        "genre_controls": dict(GenreControl.objects.filter(user=user, genre__in=item.genres.all())
                               .values_list("genre_id", "kind")),
    }


def preferences_for_user(*, user: User) -> Preferences:
    """Return this person's preferences: their stored row, or the defaults (unsaved)."""
    return Preferences.objects.filter(user=user).first() or Preferences(user=user)


@dataclass(frozen=True)
class GenreChoices:
    """Genre ids a person excluded and those they want less of."""

    exclude: frozenset[int] = frozenset()
    less: frozenset[int] = frozenset()


def genre_controls_for_user(*, user: User) -> GenreChoices:
    """Return the genres this person excluded or wants less of (one query)."""
    exclude, less = set(), set()
    for genre_id, kind in GenreControl.objects.filter(user=user).values_list("genre_id", "kind"):
        (exclude if kind == GenreControlKind.EXCLUDE else less).add(genre_id)
    return GenreChoices(frozenset(exclude), frozenset(less))


def genre_control_list_for_user(*, user: User) -> QuerySet[GenreControl]:
    """Return this person's genre controls with their genres, newest first."""
    return GenreControl.objects.filter(user=user).select_related("genre").order_by("-created_at", "-id")


# "Less of this genre": at most one in every this many recommendations is of the genre.
GENRE_LESS_EVERY = 5


def demote_genres(ranked: Sequence[Row], genres_of: Callable[[Row], Iterable[int | str]],
                  less: Iterable[int | str], every: int = GENRE_LESS_EVERY) -> list[Row]:
    """Return `ranked` reordered so that no `every` consecutive entries hold more than one
    entry of a `less` genre: such an entry waits until enough others come before it, and
    is left out when the others run out. Otherwise the order is kept."""
    less = set(less)
    if not less:
        return list(ranked)
    others = [r for r in ranked if less.isdisjoint(genres_of(r))]
    held = [r for r in ranked if not less.isdisjoint(genres_of(r))]
    position = {id(r): n for n, r in enumerate(ranked)}
    out: list[Row] = []
    last_less = -every
    while others:
        if held and len(out) - last_less >= every and position[id(held[0])] < position[id(others[0])]:
            last_less = len(out)
            out.append(held.pop(0))
        else:
            out.append(others.pop(0))
    if held and len(out) - last_less >= every:
        out.append(held.pop(0))
    return out


def history_rows_for_user(*, user: User) -> QuerySet:
    """Return one row per item this person interacted with, most recent first: the item
    id, the time of the latest event, the latest rating, whether they liked it, and how
    many views, clicks and purchases. Events before a reset are included (the history is
    kept); `item_id` rows, items fetched separately."""
    events = Event.objects.filter(user=user)
    latest_rating = (events.filter(item_id=OuterRef("item_id"), kind=EventKind.RATE)
                     .order_by("-occurred_at", "-id").values("value")[:1])
    return (
        events.values("item_id")
        .annotate(
            last=Max("occurred_at"), last_id=Max("id"), rating=Subquery(latest_rating),
            likes=Count("id", filter=Q(kind=EventKind.LIKE)),
            views=Count("id", filter=Q(kind=EventKind.VIEW)),
            clicks=Count("id", filter=Q(kind=EventKind.CLICK)),
            purchases=Count("id", filter=Q(kind=EventKind.PURCHASE)),
            not_interested=Count("id", filter=Q(kind=EventKind.NOT_INTERESTED)),
            events=Count("id"),
        )
        .order_by("-last", "-last_id")
    )


def control_list_for_user(*, user: User) -> QuerySet[UserControl]:
    """Return this person's controls, newest first."""
    return UserControl.objects.filter(user=user).order_by("-created_at", "-id")


def item_popular(*, limit: int = 12, user: User | None = None, include_own: bool = False) -> list[Item]:
    """Return the most interacted-with items; for a person, without what they marked not
    interested or whose genre they excluded (their "less" genres moved down), and unless
    `include_own`, without what they already interacted with."""
    ids = popular_ids()
    if user is None or not user.is_authenticated:
        return items_in_order(ids[:limit])
    hidden = set(UserControl.objects.filter(user=user, kind=ControlKind.NOT_INTERESTED, item_id__in=ids)
                 .values_list("item_id", flat=True))
    if not include_own:
        hidden |= set(Event.objects.filter(user=user, item_id__in=ids).values_list("item_id", flat=True))
    ids = [i for i in ids if i not in hidden]
    controls = genre_controls_for_user(user=user)
    if not (controls.exclude or controls.less):
        return items_in_order(ids[:limit])
    if controls.exclude:
        allowed = set(Item.objects.filter(pk__in=ids).exclude(genres__in=controls.exclude)
                      .values_list("pk", flat=True))
        ids = [i for i in ids if i in allowed]
    return _under_genre_controls(items_in_order(ids[:limit * GENRE_LESS_EVERY]), controls, limit)


def item_newest(*, limit: int = 12, user: User | None = None) -> list[Item]:
    """Return the catalogue's most recent releases (by year, then by when they were added);
    for a person, without what they marked not interested or whose genre they excluded
    (their "less" genres moved down)."""
    items = Item.objects.order_by(F("year").desc(nulls_last=True), "-created_at", "-id").prefetch_related("genres")
    if user is None or not user.is_authenticated:
        return list(items[:limit])
    items = items.exclude(pk__in=UserControl.objects.filter(
        user=user, kind=ControlKind.NOT_INTERESTED).values("item_id"))
    controls = genre_controls_for_user(user=user)
    if controls.exclude:
        items = items.exclude(genres__in=controls.exclude)
    pool = limit * GENRE_LESS_EVERY if controls.less else limit
    return _under_genre_controls(list(items[:pool]), controls, limit)


def _under_genre_controls(ranked: list[Item], controls: "GenreChoices", limit: int) -> list[Item]:
    """Return the first `limit` of `ranked` with the "less" genres moved down."""
    return demote_genres(ranked, lambda item: [g.pk for g in item.genres.all()], controls.less)[:limit]
