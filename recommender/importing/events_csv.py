"""Reader for a generic events CSV (`user,item,timestamp[,kind,value]`) and its items CSV.

Both files may start with a header row (then columns may come in any order and use the
common aliases below) or not (then columns are positional). Pure Python, no Django.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from .movielens import genre_names
from .records import (
    EVENT_KINDS,
    MAX_ITEM_ID,
    MAX_USER_ID,
    EventRecord,
    ImportFormatError,
    ItemRecord,
    ParsedDataset,
    check_title,
    csv_rows,
    parse_id,
    parse_int,
    parse_rating,
    parse_timestamp,
    placeholder_items,
    read_lines,
    regular_file,
)

EVENT_COLUMNS = {
    "user": ("user", "user_id", "userid"),
    "item": ("item", "item_id", "itemid", "movieid", "movie_id"),
    "timestamp": ("timestamp", "time", "ts", "occurred_at"),
    "kind": ("kind", "event", "event_type", "type"),
    "value": ("value", "rating"),
}
ITEM_COLUMNS = {
    "item": ("item", "item_id", "itemid", "id", "external_id", "movieid", "movie_id"),
    "title": ("title", "name"),
    "year": ("year",),
    "genres": ("genres", "genre"),
    "tags": ("tags", "tag", "keywords"),
    "description": ("description", "overview", "summary", "synopsis", "plot"),
}
# Longest description kept, with the extra columns appended; the encoder reads ~4,000.
MAX_DESCRIPTION = 5000


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, stripped fields) of the non-blank rows of a CSV file.

    A last row that ends without a newline and has fewer fields than the row before it is
    refused: the file was cut off inside it (`1,2,1700000000,rate,4` cut to `1,2,17000`
    would otherwise be a valid view of 1970).
    """
    lines = read_lines(path, "utf-8-sig")
    reader = csv.reader(lines)
    held: tuple[int, list[str]] | None = None  # each row waits until the next one is read
    width_before: int | None = None
    for row in csv_rows(reader, path):
        if row and any(field.strip() for field in row):
            if held is not None:
                width_before = len(held[1])
                yield held
            held = reader.line_num, [field.strip() for field in row]
    if held is None:
        return
    if not lines.last_line_ended and width_before is not None and len(held[1]) < width_before:
        raise ImportFormatError(
            path, held[0], f"the last line has {len(held[1])} fields where the line before has "
            f"{width_before}, and no newline: the file looks cut off")
    yield held


def _header(row: list[str], spec: dict[str, tuple[str, ...]], required: tuple[str, ...],
            path: Path, lineno: int, extra: list[tuple[int, str]] | None = None) -> dict[str, int] | None:
    """Return {column: index} if `row` is a header row, or None if it is data.

    An unknown column is refused, unless `extra` is given: then its (index, name) is
    appended there (the items CSV keeps such columns as descriptive text).
    """
    alias = {name: canon for canon, names in spec.items() for name in names}
    lowered = [field.lower() for field in row]
    if lowered[0] not in alias:
        return None
    columns: dict[str, int] = {}
    for index, name in enumerate(lowered):
        canon = alias.get(name)
        if canon is None and extra is not None and name:
            if any(name == seen.lower() for _i, seen in extra):
                raise ImportFormatError(path, lineno, f"column {row[index]!r} appears twice")
            extra.append((index, row[index]))
            continue
        if canon is None:
            raise ImportFormatError(path, lineno, f"unknown column {row[index]!r}; expected {', '.join(spec)}")
        if canon in columns:
            raise ImportFormatError(path, lineno, f"column {canon!r} appears twice")
        columns[canon] = index
    missing = [name for name in required if name not in columns]
    if missing:
        raise ImportFormatError(path, lineno, f"the header lacks the column(s) {', '.join(missing)}")
    return columns


def _field(row: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    return row[index] if index is not None and index < len(row) else ""


def _check_width(row: list[str], columns: dict[str, int] | None, lo: int, hi: int,
                 path: Path, lineno: int, width: int | None = None) -> dict[str, int]:
    """Return the columns for a row, refusing a wrong number of fields (`width`, if given,
    is the header's number of columns)."""
    if columns is not None:
        expected = len(columns) if width is None else width
        if len(row) != expected:
            raise ImportFormatError(path, lineno, f"expected {expected} fields, found {len(row)}")
        return columns
    if not lo <= len(row) <= hi:
        raise ImportFormatError(path, lineno, f"expected {lo} to {hi} fields, found {len(row)}")
    return {}


def read_items_csv(path: Path) -> dict[str, ItemRecord]:
    """Read `item,title[,year,genres]` rows; genres are separated by '|'.

    With a header row, columns may also be `tags` ('|'-separated) and `description`, and
    any other column is kept as descriptive text ("Director: Ridley Scott"), appended to
    the description: everything a catalogue says about an item helps find it by meaning.
    """
    items: dict[str, ItemRecord] = {}
    columns: dict[str, int] | None = None
    extra: list[tuple[int, str]] = []
    positional = dict(zip(ITEM_COLUMNS, range(4)))
    for lineno, row in _rows(path):
        if columns is None and not items:
            columns = _header(row, ITEM_COLUMNS, ("item", "title"), path, lineno, extra)
            if columns is not None:
                continue
        width = None if columns is None else len(columns) + len(extra)
        cols = _check_width(row, columns, 2, 4, path, lineno, width) or positional
        item = parse_id(_field(row, cols, "item"), "item id", path, lineno, MAX_ITEM_ID)
        if item in items:
            raise ImportFormatError(path, lineno, f"item id {item} appears twice")
        title = check_title(_field(row, cols, "title"), path, lineno)
        raw_year = _field(row, cols, "year")
        year = parse_int(raw_year, "year", path, lineno) if raw_year else None
        if year is not None and not 1000 <= year <= 9999:
            raise ImportFormatError(path, lineno, f"year {year} is not a four-digit year")
        genres = genre_names(_field(row, cols, "genres").split("|"))
        tags = genre_names(_field(row, cols, "tags").split("|"))
        described = [_field(row, cols, "description")] + [
            f"{name}: {row[index]}" for index, name in extra if row[index]]
        description = "\n".join(text for text in described if text)[:MAX_DESCRIPTION]
        items[item] = ItemRecord(item, title, year, genres, tags, description)
    if not items:
        raise ImportFormatError(path, None, "the file holds a header but no items")
    return items


def _value(raw: str, kind: str, path: Path, lineno: int) -> float | None:
    """Return the rating of a `rate` row; refuse a rating without one, or a value on any other kind."""
    if kind == "rate":
        if not raw:
            raise ImportFormatError(path, lineno, "a rating needs a value")
        return parse_rating(raw, path, lineno)
    if raw:
        raise ImportFormatError(path, lineno, f"only a rating has a value; this {kind} has {raw!r}")
    return None


def read_events_csv(path: Path, items_csv: Path | None, now: float) -> ParsedDataset:
    """Read an events CSV (a file, or a directory with events.csv) and its items CSV.

    The items CSV is `items_csv`, else an `items.csv` beside the events file. With one,
    every event must name a listed item; without, items get bare "Item <id>" records.
    """
    if path.is_dir():
        path = path / "events.csv"
        if regular_file(path, required=False) is None:
            raise ImportFormatError(path.parent, None, "events.csv is missing from this directory")
    if items_csv is None and path.name != "items.csv":
        items_csv = regular_file(path.parent / "items.csv", required=False)
    catalogue = read_items_csv(items_csv) if items_csv is not None else None
    positional = dict(zip(EVENT_COLUMNS, range(5)))
    columns: dict[str, int] | None = None
    events: list[EventRecord] = []
    for lineno, row in _rows(path):
        if not events and columns is None:
            columns = _header(row, EVENT_COLUMNS, ("user", "item", "timestamp"), path, lineno)
            if columns is not None:
                continue
        cols = _check_width(row, columns, 3, 5, path, lineno) or positional
        user = parse_id(_field(row, cols, "user"), "user id", path, lineno, MAX_USER_ID)
        item = parse_id(_field(row, cols, "item"), "item id", path, lineno, MAX_ITEM_ID)
        if catalogue is not None and item not in catalogue:
            raise ImportFormatError(path, lineno, f"item {item} is not in {items_csv}")
        stamp = parse_timestamp(_field(row, cols, "timestamp"), path, lineno, now)
        raw_value = _field(row, cols, "value")
        kind = _field(row, cols, "kind").lower() or ("rate" if raw_value else "view")
        if kind not in EVENT_KINDS:
            raise ImportFormatError(path, lineno, f"kind {kind!r} is not one of {', '.join(EVENT_KINDS)}")
        events.append(EventRecord(user, item, stamp, kind, _value(raw_value, kind, path, lineno)))
    if not events:
        raise ImportFormatError(path, None, "the file holds a header but no events")
    items = list(catalogue.values()) if catalogue is not None else placeholder_items(events)
    return ParsedDataset("events-csv", items, events)
