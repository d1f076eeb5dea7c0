"""Reads: the catalogue, popularity, a person's history, preferences and controls."""
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db.models import Avg, Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery

from recsite.accounts.models import User

from .models import (
    ControlKind,
    Event,
    EventKind,
    Genre,
    GenreControl,
    GenreControlKind,
    Item,
    Preferences,
    UserControl,
)

from .titles import reading_order

Row = TypeVar("Row")


def item_list(*, search: str = "", genre: str = ""):
    """Return catalogue items with a genre name, by title (a QuerySet); with a search, the
    items that match it, best first (titles and meaning blended: recommender/text/), as a
    RankedItems sequence that paginators slice like a QuerySet."""
    if search.strip():
        from .text.selectors import RankedItems, item_search

        return RankedItems(item_search(query=search, genre=genre))
    items = Item.objects.prefetch_related("genres")
    if genre:
        items = items.filter(genres__name=genre)
    return items.order_by("title", "id")


def genre_list() -> QuerySet[Genre]:
    """Return every genre that at least one item carries, by name."""
    return Genre.objects.filter(items__isnull=False).distinct().order_by("name")


POPULAR_KEY = "recsite:popular-item-ids"
POPULAR_SECONDS = 60  # how stale the front page's popularity may be
POPULAR_POOL = 500  # ranked ids kept; a person's own items are taken out of these


def _popular_ids() -> list[int]:
    """Return the ids of the most interacted-with items, most first, counted at most once a
    minute: counting every event on each visit to the front page grows with the event table
    (ML-1M: a million rows)."""
    try:
        ids = cache.get(POPULAR_KEY)
    except Exception:  # noqa: BLE001 - a cache outage only costs the count
        ids = None
    if ids is None:
        ids = list(Event.objects.values("item_id").annotate(n=Count("id")).order_by("-n", "item_id")
                   .values_list("item_id", flat=True)[:POPULAR_POOL])
        try:
            cache.set(POPULAR_KEY, ids, POPULAR_SECONDS)
        except Exception:  # noqa: BLE001
            pass
    return ids


def item_popular(*, limit: int = 12, user: User | None = None, include_own: bool = False) -> list[Item]:
    """Return the most interacted-with items; for a person, without what they marked not
    interested or whose genre they excluded (their "less" genres moved down), and unless
    `include_own`, without what they already interacted with."""
    ids = _popular_ids()
    if user is None or not user.is_authenticated:
        return _items_in_order(ids[:limit])
    hidden = set(UserControl.objects.filter(user=user, kind=ControlKind.NOT_INTERESTED, item_id__in=ids)
                 .values_list("item_id", flat=True))
    if not include_own:
        hidden |= set(Event.objects.filter(user=user, item_id__in=ids).values_list("item_id", flat=True))
    ids = [i for i in ids if i not in hidden]
    controls = genre_controls_for_user(user=user)
    if not (controls.exclude or controls.less):
        return _items_in_order(ids[:limit])
    if controls.exclude:
        allowed = set(Item.objects.filter(pk__in=ids).exclude(genres__in=controls.exclude)
                      .values_list("pk", flat=True))
        ids = [i for i in ids if i in allowed]
    return _under_genre_controls(_items_in_order(ids[:limit * GENRE_LESS_EVERY]), controls, limit)


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


def _items_in_order(ids: list[int]) -> list[Item]:
    """Return the items of these ids (genres prefetched), in the order of the ids."""
    items = Item.objects.filter(pk__in=ids).prefetch_related("genres").in_bulk()
    return [items[i] for i in ids if i in items]


def _under_genre_controls(ranked: list[Item], controls: "GenreChoices", limit: int) -> list[Item]:
    """Return the first `limit` of `ranked` with the "less" genres moved down."""
    return demote_genres(ranked, lambda item: [g.pk for g in item.genres.all()], controls.less)[:limit]


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


def item_rating_summary(*, item: Item) -> dict:
    """Return {"average", "count"} of the item's ratings, each person's latest one counted
    once (average None when nobody rated it)."""
    rates = Event.objects.filter(item=item, kind=EventKind.RATE)
    later = rates.filter(user_id=OuterRef("user_id")).filter(
        Q(occurred_at__gt=OuterRef("occurred_at")) | Q(occurred_at=OuterRef("occurred_at"), id__gt=OuterRef("id")))
    summary = rates.exclude(Exists(later)).aggregate(average=Avg("value"), count=Count("id"))
    return {"average": summary["average"], "count": summary["count"]}


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


def item_map(*, ids: list[int]) -> dict[int, Item]:
    """Return {id: item} for those of these ids that exist."""
    return Item.objects.in_bulk(set(ids)) if ids else {}


def control_list_for_user(*, user: User) -> QuerySet[UserControl]:
    """Return this person's controls, newest first."""
    return UserControl.objects.filter(user=user).order_by("-created_at", "-id")


def training_run_list() -> QuerySet:
    """Return every training run, newest first."""
    from .models import TrainingRun

    return TrainingRun.objects.order_by("-created_at", "-id")


def model_version_list() -> QuerySet:
    """Return every model version, newest first."""
    from .models import ModelVersion

    return ModelVersion.objects.order_by("-created_at", "-id")


def recommendation_list_for_user(*, user: User, k: int = 10) -> list:
    """Return this person's stored top-k recommendations with their items, best first.

    Items the person has since marked "not interested" or interacted with, and items of a
    genre they excluded, are left out (in the database, by subqueries), and items of a
    genre they want less of are moved down, so an action shows at once, before the
    worker's refresh lands.
    """
    from .models import Recommendation

    controls = genre_controls_for_user(user=user)
    recs = (
        Recommendation.objects.filter(user=user)
        .exclude(item_id__in=UserControl.objects.filter(user=user, kind=ControlKind.NOT_INTERESTED).values("item_id"))
        .exclude(item_id__in=Event.objects.filter(user=user).values("item_id"))
    )
    if controls.exclude:
        recs = recs.exclude(item__genres__in=controls.exclude)
    recs = recs.select_related("item").prefetch_related("item__genres").order_by("rank")
    if not controls.less:
        return list(recs[:k])
    ranked = demote_genres(list(recs[:settings.RECSITE_TOP_N]),
                           lambda r: [g.pk for g in r.item.genres.all()], controls.less)
    return ranked[:k]


# Written out in SQL: building the equivalent ORM query took about a third of the API's
# time per request under load (bench/api_load.py). Portable to SQLite and PostgreSQL.
_RECOMMENDATION_ROWS_SQL = """
SELECT r.rank, r.score, r.model_version_id, r.computed_at, i.id, i.external_id, i.title, i.year, g.name, g.id
FROM (
    SELECT r.id FROM recommender_recommendation r
    WHERE r.user_id = %(user)s
      AND NOT EXISTS (SELECT 1 FROM recommender_event e WHERE e.user_id = %(user)s AND e.item_id = r.item_id)
      AND NOT EXISTS (SELECT 1 FROM recommender_usercontrol c WHERE c.user_id = %(user)s
                      AND c.item_id = r.item_id AND c.kind = %(not_interested)s)
      AND NOT EXISTS (SELECT 1 FROM recommender_item_genres xg JOIN recommender_genrecontrol gc
                      ON gc.genre_id = xg.genre_id AND gc.user_id = %(user)s AND gc.kind = %(exclude)s
                      WHERE xg.item_id = r.item_id)
    ORDER BY r.rank LIMIT %(k)s
) top
JOIN recommender_recommendation r ON r.id = top.id
JOIN recommender_item i ON i.id = r.item_id
LEFT JOIN recommender_item_genres ig ON ig.item_id = i.id
LEFT JOIN recommender_genre g ON g.id = ig.genre_id
ORDER BY r.rank, g.name
"""


def recommendation_rows_for_user(*, user: User, k: int = 10) -> list[dict]:
    """Return `recommendation_list_for_user`'s list as plain dicts (rank, score, model
    version id, computed time, item fields and genre names) read in one query (two when
    the person wants less of a genre: the whole stored list is read to move those down)."""
    from django.db import connection

    less = genre_controls_for_user(user=user).less
    with connection.cursor() as cursor:
        cursor.execute(_RECOMMENDATION_ROWS_SQL, {
            "user": user.pk, "k": settings.RECSITE_TOP_N if less else k,
            "not_interested": ControlKind.NOT_INTERESTED.value, "exclude": GenreControlKind.EXCLUDE.value})
        rows = cursor.fetchall()
    result: list[dict] = []
    genre_ids: dict[int, list[int]] = {}
    for rank, score, version_id, computed_at, item_id, external_id, title, year, genre, genre_id in rows:
        if not result or result[-1]["rank"] != rank:
            result.append({"rank": rank, "score": score, "model_version_id": version_id,
                           "computed_at": _aware(computed_at),
                           "item": {"id": item_id, "external_id": external_id, "title": title,
                                    "display_title": reading_order(title), "year": year, "genres": []}})
        if genre is not None:
            result[-1]["item"]["genres"].append(genre)
            genre_ids.setdefault(item_id, []).append(genre_id)
    if less:
        result = demote_genres(result, lambda r: genre_ids.get(r["item"]["id"], []), less)[:k]
    return result


def _aware(value):
    """Return a time read by a raw cursor as the ORM would: aware, in UTC (SQLite stores
    naive UTC, as text or as a naive datetime)."""
    import datetime as dt

    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
