"""Reads: the catalogue, popularity and a person's history."""
from django.core.cache import cache
from django.db.models import Count, QuerySet

from recsite.accounts.models import User

from .models import ControlKind, Event, Genre, Item, UserControl


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


def item_popular(*, limit: int = 12, user: User | None = None) -> list[Item]:
    """Return the most interacted-with items; for a person, without what they already
    interacted with or marked not interested."""
    ids = _popular_ids()
    if user is not None and user.is_authenticated:
        own = set(Event.objects.filter(user=user, item_id__in=ids).values_list("item_id", flat=True))
        own |= set(UserControl.objects.filter(user=user, kind=ControlKind.NOT_INTERESTED, item_id__in=ids)
                   .values_list("item_id", flat=True))
        ids = [i for i in ids if i not in own]
    ids = ids[:limit]
    items = Item.objects.filter(pk__in=ids).prefetch_related("genres").in_bulk()
    return [items[i] for i in ids if i in items]


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
    """Return what this person did with this item: latest rating, liked, controls."""
    events = Event.objects.filter(user=user, item=item)
    rating = events.filter(kind="rate").order_by("-occurred_at", "-id").values_list("value", flat=True).first()
    return {
        "rating": rating,
        "liked": events.filter(kind="like").exists(),
        "controls": control_kinds_by_item(user=user, item_ids=[item.pk]).get(item.pk, set()),
    }


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

    Items the person has since marked "not interested" or interacted with are left out
    (in the database, by subqueries), so an action shows at once, before the worker's
    refresh lands.
    """
    from .models import Recommendation

    return list(
        Recommendation.objects.filter(user=user)
        .exclude(item_id__in=UserControl.objects.filter(user=user, kind=ControlKind.NOT_INTERESTED).values("item_id"))
        .exclude(item_id__in=Event.objects.filter(user=user).values("item_id"))
        .select_related("item")
        .prefetch_related("item__genres")
        .order_by("rank")[:k]
    )


# Written out in SQL: building the equivalent ORM query took about a third of the API's
# time per request under load (bench/api_load.py). Portable to SQLite and PostgreSQL.
_RECOMMENDATION_ROWS_SQL = """
SELECT r.rank, r.score, r.model_version_id, r.computed_at, i.id, i.external_id, i.title, i.year, g.name
FROM (
    SELECT r.id FROM recommender_recommendation r
    WHERE r.user_id = %(user)s
      AND NOT EXISTS (SELECT 1 FROM recommender_event e WHERE e.user_id = %(user)s AND e.item_id = r.item_id)
      AND NOT EXISTS (SELECT 1 FROM recommender_usercontrol c WHERE c.user_id = %(user)s
                      AND c.item_id = r.item_id AND c.kind = %(not_interested)s)
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
    version id, computed time, item fields and genre names) read in one query."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_RECOMMENDATION_ROWS_SQL,
                       {"user": user.pk, "k": k, "not_interested": ControlKind.NOT_INTERESTED.value})
        rows = cursor.fetchall()
    result: list[dict] = []
    for rank, score, version_id, computed_at, item_id, external_id, title, year, genre in rows:
        if not result or result[-1]["rank"] != rank:
            result.append({"rank": rank, "score": score, "model_version_id": version_id,
                           "computed_at": _aware(computed_at),
                           "item": {"id": item_id, "external_id": external_id, "title": title, "year": year,
                                    "genres": []}})
        if genre is not None:
            result[-1]["item"]["genres"].append(genre)
    return result


def _aware(value):
    """Return a time read by a raw cursor as the ORM would: aware, in UTC (SQLite stores
    naive UTC, as text or as a naive datetime)."""
    import datetime as dt

    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
