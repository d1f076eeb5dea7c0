"""Reader for the whitespace sequence format of sequential-recommendation papers.

Each line is a user id followed by one or more item ids, in time order: both the
`user item` pair-per-line layout and the one-line-per-user layout are this. Lines of the
same user concatenate. Pure Python, no Django import.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .records import (
    MAX_ITEM_ID,
    MAX_USER_ID,
    EventRecord,
    ImportFormatError,
    ParsedDataset,
    parse_id,
    placeholder_items,
    read_lines,
)


def iter_sequence_lines(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """Yield (line number, user token, item tokens) for each non-blank line."""
    for lineno, line in enumerate(read_lines(path, "utf-8"), 1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) < 2:
            raise ImportFormatError(path, lineno, "expected a user id followed by at least one item id")
        yield lineno, tokens[0], tokens[1:]


def read_sequence(path: Path) -> ParsedDataset:
    """Read a sequence file; items get bare records titled "Item <id>"."""
    events: list[EventRecord] = []
    append = events.append
    # Ids repeat a lot: validate each distinct one once.
    users_seen: set[str] = set()
    items_seen: set[str] = set()
    for lineno, user, items in iter_sequence_lines(path):
        if user not in users_seen:
            parse_id(user, "user id", path, lineno, MAX_USER_ID)
            users_seen.add(user)
        for item in items:
            if item not in items_seen:
                parse_id(item, "item id", path, lineno, MAX_ITEM_ID)
                items_seen.add(item)
            # Papers' sequence files list what people rated, reviewed or bought, without
            # values or times: a rating of unknown value, ordered by position in the file.
            append(EventRecord(user, item, None, "rate", None))
    return ParsedDataset("sequence", placeholder_items(events), events)
