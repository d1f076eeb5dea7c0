"""What an item's text is: the one string the encoder reads for it. Pure Python.

"The Godfather (1972). Crime, Drama. mafia, classic. <description>": title in reading
order and year, genres, tags, then the description (with any extra catalogue columns).
Changing this format changes every text, hence every hash, so a deploy re-embeds all.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

from recommender.catalogue.titles import reading_order

# The first tags given are kept: MovieLens lists a film's tags in the order people added
# them, and a long tail of one-off tags dilutes the text's meaning.
MAX_TAGS = 20


def item_text(*, title: str, year: int | None = None, genres: Sequence[str] = (),
              tags: Sequence[str] = (), description: str = "") -> str:
    """Return the text the encoder reads for an item."""
    head = reading_order(title.strip())
    if year:
        head = f"{head} ({year})"
    parts = [head]
    if genres:
        parts.append(", ".join(genres))
    if tags:
        parts.append(", ".join(list(tags)[:MAX_TAGS]))
    description = " ".join(description.split())
    if description:
        parts.append(description)
    return ". ".join(parts)


def text_hash(text: str) -> str:
    """Return the sha256 of a text, the key that says whether its vector is current."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
