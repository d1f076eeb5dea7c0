"""Reads of the catalogue: items by title or by a search, genres, popularity, items by id."""
from django.core.cache import cache
from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet

from ..models import Event, EventKind, Genre, Item


def item_list(*, search: str = "", genre: str = ""):
    """Return catalogue items with a genre name, by title (a QuerySet); with a search, the
    items that match it, best first (titles and meaning blended: recommender/text/), as a
    RankedItems sequence that paginators slice like a QuerySet."""
    if search.strip():
        from ..text.selectors import RankedItems, item_search

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


def popular_ids() -> list[int]:
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


def items_in_order(ids: list[int]) -> list[Item]:
    """Return the items of these ids (genres prefetched), in the order of the ids."""
    items = Item.objects.filter(pk__in=ids).prefetch_related("genres").in_bulk()
    return [items[i] for i in ids if i in items]


def item_map(*, ids: list[int]) -> dict[int, Item]:
    """Return {id: item} for those of these ids that exist."""
    return Item.objects.in_bulk(set(ids)) if ids else {}


def item_rating_summary(*, item: Item) -> dict:
    """Return {"average", "count"} of the item's ratings, each person's latest one counted
    once (average None when nobody rated it)."""
    rates = Event.objects.filter(item=item, kind=EventKind.RATE)
    later = rates.filter(user_id=OuterRef("user_id")).filter(
        Q(occurred_at__gt=OuterRef("occurred_at")) | Q(occurred_at=OuterRef("occurred_at"), id__gt=OuterRef("id")))
    summary = rates.exclude(Exists(later)).aggregate(average=Avg("value"), count=Count("id"))
    return {"average": summary["average"], "count": summary["count"]}
