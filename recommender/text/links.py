"""What really links two items: shared genres, shared tags, similar text. Pure Python.

For "more like this" and for reason sentences ("both are science-fiction horror"). A link
is only ever what the data holds: genres and tags both items carry, or a text similarity
above TEXT_LINK_THRESHOLD; nothing is inferred beyond that.
"""
from __future__ import annotations

from dataclasses import dataclass

# Cosine similarity of two item texts from which "similar text" is a real link: on
# ML-latest-small, 1% of random item pairs score above it (docs/benchmarks.md,
# "Similar items"), so a pair above it is among the catalogue's closest.
TEXT_LINK_THRESHOLD = 0.66


@dataclass(frozen=True)
class ItemFacts:
    """What is known about an item to compare it with another."""

    id: int
    title: str
    genres: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    has_description: bool = False


@dataclass(frozen=True)
class Link:
    """One real link: `kind` is "genres", "tags", "description" (similar descriptions)
    or "text" (similar title, genres and tags, for items without descriptions);
    `names` are the shared genres or tags, in the first item's order."""

    kind: str
    names: tuple[str, ...] = ()
    similarity: float | None = None


def _shared(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    others = {name.casefold() for name in second}
    return tuple(name for name in first if name.casefold() in others)


def item_links(a: ItemFacts, b: ItemFacts, similarity: float | None = None, *,
               threshold: float = TEXT_LINK_THRESHOLD) -> list[Link]:
    """Return the links between two items: shared genres, shared tags, and similar text
    when `similarity` (the cosine of their text vectors, if known) reaches `threshold`.
    Empty when nothing links them."""
    links: list[Link] = []
    genres = _shared(a.genres, b.genres)
    if genres:
        links.append(Link("genres", genres))
    tags = _shared(a.tags, b.tags)
    if tags:
        links.append(Link("tags", tags))
    if similarity is not None and similarity >= threshold:
        kind = "description" if a.has_description and b.has_description else "text"
        links.append(Link(kind, (), round(float(similarity), 3)))
    return links
