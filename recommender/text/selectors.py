"""Reads for pages and the API: search by meaning, similar items, and what links items.

Each process keeps one SearchIndex (titles, genres, tags, text vectors, popularity) in
memory: at 10k items a query costs a few milliseconds against it, where reading 20 MB of
vectors from the database would cost a hundred. Each search reads a stamp of the catalogue
(`_stamp`, about a millisecond): changed items rebuild the index at once, new vectors
alone at most every REBUILD_MIN_S (a text run writes them chunk by chunk). The query is embedded in this
process by the numpy encoder: no torch, no round trip to a worker.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.db.models import Count, Max
from django.utils.translation import gettext as _

from recommender.catalogue.genres import genre_label
from django.utils.translation import ngettext

from recommender.models import Event, Item, ItemText

from .encoder import EncoderInfo, EncoderUnavailable, model_info, shared_encoder
from .links import ItemFacts, Link, item_links
from .matching import SearchIndex
from .store import vector_from_bytes

log = logging.getLogger(__name__)

STAMP_CHECK_S = 0.0  # seconds a stamp is trusted without reading it again
REBUILD_MIN_S = 5.0
POPULARITY_KEY = "recsite:item-event-counts"
POPULARITY_SECONDS = 600  # how stale search's popularity prior may be
SIMILAR_POOL = 4  # nearest neighbours looked at per similar item asked for


@dataclass
class _Cached:
    index: SearchIndex
    stamp: tuple
    checked_at: float
    built_at: float


_cache: _Cached | None = None
_lock = threading.Lock()
_encoder_failed_at = 0.0


def _model() -> EncoderInfo | None:
    try:
        return model_info()
    except EncoderUnavailable:
        return None


def _stamp(info: EncoderInfo | None) -> tuple:
    """Return what changes when items or their vectors do: (items, last edit, vectors,
    last vector of the model).

    Four queries that an index or the table's row count answers (0.01 ms each on SQLite
    at 10k items); one COUNT with the model filter instead read every row (22 ms).
    """
    last_vector = None
    if info is not None:
        last_vector = ItemText.objects.filter(model_name=info.name, model_version=info.version).aggregate(
            m=Max("computed_at"))["m"]
    return (Item.objects.count(), Item.objects.aggregate(m=Max("updated_at"))["m"], ItemText.objects.count(),
            last_vector)


def _popularity(ids: list[int]) -> np.ndarray:
    """Return log(1 + events) per item, scaled to 0..1, counted at most every 10 min."""
    try:
        counts = cache.get(POPULARITY_KEY)
    except Exception:  # noqa: BLE001 - a cache outage only costs the count
        counts = None
    if counts is None:
        counts = dict(Event.objects.values("item_id").annotate(n=Count("id")).values_list("item_id", "n"))
        try:
            cache.set(POPULARITY_KEY, counts, POPULARITY_SECONDS)
        except Exception:  # noqa: BLE001
            pass
    values = np.log1p(np.array([counts.get(pk, 0) for pk in ids], dtype=np.float32))
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else values


def _build(info: EncoderInfo | None) -> SearchIndex:
    rows = list(Item.objects.order_by("pk").values_list("pk", "title", "description"))
    ids = [pk for pk, _title, _description in rows]
    genres: dict[int, list[str]] = {}
    for item_id, name in Item.genres.through.objects.order_by("genre__name").values_list("item_id", "genre__name"):
        genres.setdefault(item_id, []).append(name)
    tags: dict[int, list[str]] = {}
    for item_id, name in Item.tags.through.objects.order_by("id").values_list("item_id", "tag__name"):
        tags.setdefault(item_id, []).append(name)
    facts = [ItemFacts(pk, title, tuple(genres.get(pk, ())), tuple(tags.get(pk, ())), bool(description.strip()))
             for pk, title, description in rows]
    vectors = None
    if info is not None:
        position = {pk: k for k, pk in enumerate(ids)}
        vectors = np.zeros((len(ids), info.dim), dtype=np.float32)
        for item_id, dim, data in ItemText.objects.filter(
            model_name=info.name, model_version=info.version
        ).values_list("item_id", "dim", "vector").iterator(chunk_size=2000):
            if item_id in position and dim == info.dim:
                vectors[position[item_id]] = vector_from_bytes(data, dim)
    return SearchIndex(facts, vectors, _popularity(ids))


def search_index() -> SearchIndex:
    """Return this process's index of the catalogue, rebuilt if the catalogue changed."""
    global _cache
    now = time.monotonic()
    cached = _cache
    if cached is not None and now - cached.checked_at < STAMP_CHECK_S:
        return cached.index
    with _lock:
        cached = _cache
        if cached is not None and now - cached.checked_at < STAMP_CHECK_S:
            return cached.index
        info = _model()
        stamp = _stamp(info)
        # New vectors alone wait REBUILD_MIN_S (a text run writes them chunk by chunk);
        # changed items rebuild at once.
        if cached is not None and (stamp == cached.stamp or (
                stamp[:2] == cached.stamp[:2] and now - cached.built_at < REBUILD_MIN_S)):
            cached.checked_at = now
            return cached.index
        index = _build(info)
        _cache = _Cached(index, stamp, time.monotonic(), time.monotonic())
        return index


def search_index_reset() -> None:
    """Forget the cached index (tests; after bulk changes in this process)."""
    global _cache
    with _lock:
        _cache = None


def query_vector(query: str) -> np.ndarray | None:
    """Return the query's text vector, or None when the encoder is unavailable (search
    then matches titles only; the failure is logged at most once a minute)."""
    global _encoder_failed_at
    if time.monotonic() - _encoder_failed_at < 60:
        return None
    try:
        return shared_encoder().encode([query])[0]
    except Exception:  # noqa: BLE001 - search must work without the encoder
        _encoder_failed_at = time.monotonic()
        log.warning("text encoder unavailable; searching titles only", exc_info=True)
        return None


def item_search(*, query: str, genre: str = "", limit: int = 200) -> list[int]:
    """Return the ids of the items matching a search, best first (see matching.py)."""
    query = query.strip()
    if not query:
        return []
    allowed = None
    if genre:
        allowed = set(Item.objects.filter(genres__name=genre).values_list("pk", flat=True))
        if not allowed:
            return []
    return [hit.item_id for hit in search_index().search(query, query_vector(query), allowed=allowed,
                                                         limit=limit)]


def items_in_order(ids: Sequence[int]) -> list[Item]:
    """Return these items (with genres) in the order of `ids`, leaving out unknown ones."""
    found = Item.objects.filter(pk__in=list(ids)).prefetch_related("genres").in_bulk()
    return [found[pk] for pk in ids if pk in found]


class RankedItems:
    """Search results as Django's and DRF's paginators want them: a length, and slices
    that read only their own items from the database (ordering 200 ids in SQL with a
    CASE cost more than the whole search here)."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids

    def count(self) -> int:
        return len(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, key: int | slice) -> list[Item] | Item:
        if isinstance(key, slice):
            return items_in_order(self.ids[key])
        return items_in_order([self.ids[key]])[0]


@dataclass(frozen=True)
class SimilarItem:
    """One item of "more like this", with what links it to the item it is like."""

    item: Item
    similarity: float | None
    links: list[Link]

    @property
    def why(self) -> list[str]:
        """Return the links as short phrases in the active language."""
        return [link_phrase(link) for link in self.links]


def item_similar(*, item_id: int, k: int = 6) -> list[SimilarItem]:
    """Return up to k items nearest to this one in meaning, nearest first, each with the
    real links between them; items not embedded yet fall back to shared genres and tags.

    A neighbour that nothing real links to this item (no shared genre or tag, text less
    similar than TEXT_LINK_THRESHOLD) is left out: "like this" must be true of it.
    """
    index = search_index()
    position = index.position.get(item_id)
    if position is None:
        return []
    own = index.items[position]
    linked = []
    for pk, similarity in index.similar(item_id, SIMILAR_POOL * k):
        links = item_links(own, index.items[index.position[pk]], similarity)
        if links:
            linked.append((pk, similarity, links))
            if len(linked) == k:
                break
    items = Item.objects.filter(pk__in=[pk for pk, _s, _l in linked]).prefetch_related("genres").in_bulk()
    return [SimilarItem(items[pk], similarity, links) for pk, similarity, links in linked if pk in items]


def link_phrase(link: Link) -> str:
    """Return a link as a short phrase: "Same genres: Sci-Fi, Action"."""
    if link.kind == "genres":
        names = _(", ").join(genre_label(n) for n in link.names)
        return ngettext("Same genre: %(names)s", "Same genres: %(names)s", len(link.names)) % {"names": names}
    names = _(", ").join(link.names)
    if link.kind == "tags":
        return ngettext("Same tag: %(names)s", "Same tags: %(names)s", len(link.names)) % {"names": names}
    if link.kind == "description":
        return _("Similar description")
    return _("Close in meaning")
