"""Readers for the GroupLens MovieLens layouts: 100K, 1M (or its SASRec file) and latest.

Pure Python, no Django import. Every reader validates the whole data set, so the loader
can write without surprises.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .records import (
    MAX_USER_ID,
    EventRecord,
    ImportFormatError,
    ItemRecord,
    ParsedDataset,
    check_timestamp,
    check_title,
    csv_rows,
    parse_id,
    parse_int,
    parse_rating,
    read_lines,
    regular_file,
    split_title_year,
)
from .sequences import iter_sequence_lines

# The 19 genre flags of u.item, in order, for copies that lack u.genre.
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
# Placeholders MovieLens uses for "no genre": an item without genres is more honest.
NOT_GENRES = {"unknown", "(no genres listed)"}
MAX_GENRE = 64


def genre_names(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Return cleaned genre names, de-duplicated ignoring case, minus "no genre" markers."""
    out: dict[str, str] = {}
    for name in names:
        name = name.strip()[:MAX_GENRE].strip()
        if name and name not in NOT_GENRES:
            out.setdefault(name.lower(), name)
    return tuple(out.values())


def _fields(line: str, sep: str, count: int, path: Path, lineno: int) -> list[str]:
    parts = line.split(sep)
    if len(parts) != count:
        raise ImportFormatError(
            path, lineno, f"expected {count} fields separated by {sep!r}, found {len(parts)}"
        )
    return parts


def _require(base: Path, name: str) -> Path:
    path = regular_file(base / name, required=False)
    if path is None:
        raise ImportFormatError(base, None, f"{name} is missing from this directory")
    return path


def _read_user_ids(path: Path, sep: str, count: int) -> set[str] | None:
    """Return the ids in a users file (u.user, users.dat), or None when it is absent."""
    if regular_file(path, required=False) is None:
        return None
    ids: set[str] = set()
    for lineno, line in enumerate(read_lines(path, "latin-1"), 1):
        if not line.strip():
            continue
        uid = str(parse_int(_fields(line, sep, count, path, lineno)[0], "user id", path, lineno))
        if uid in ids:
            raise ImportFormatError(path, lineno, f"user id {uid} appears twice")
        ids.add(uid)
    return ids


def _add_item(items: dict[str, ItemRecord], record: ItemRecord, path: Path, lineno: int) -> None:
    if record.external_id in items:
        raise ImportFormatError(path, lineno, f"item id {record.external_id} appears twice")
    items[record.external_id] = record


def _rating(user: str, item: str, rating: str, ts: str, values: dict[str, float], path: Path, lineno: int,
            now: float) -> EventRecord:
    """Return one rating event; ``values`` keeps each rating token's parsed value."""
    value = values.get(rating)
    if value is None:
        value = values[rating] = parse_rating(rating, path, lineno)
    stamp = parse_int(ts, "timestamp", path, lineno)
    check_timestamp(stamp, path, lineno, now)
    return EventRecord(user, item, stamp, "rate", value)


def _read_ratings(
    path: Path, sep: str, items: dict[str, ItemRecord], users: set[str] | None, now: float,
    item_file: str, user_file: str,
) -> list[EventRecord]:
    """Read `user<sep>item<sep>rating<sep>timestamp` lines (u.data, ratings.dat)."""
    events: list[EventRecord] = []
    ratings: dict[str, float] = {}  # a handful of distinct tokens: parse each once
    for lineno, line in enumerate(read_lines(path, "utf-8"), 1):
        if not line.strip():
            continue
        user, item, rating, ts = _fields(line, sep, 4, path, lineno)
        user = str(parse_int(user, "user id", path, lineno))
        item = str(parse_int(item, "item id", path, lineno))
        if item not in items:
            raise ImportFormatError(path, lineno, f"item {item} is not in {item_file}")
        if users is not None and user not in users:
            raise ImportFormatError(path, lineno, f"user {user} is not in {user_file}")
        events.append(_rating(user, item, rating, ts, ratings, path, lineno, now))
    return events


def read_movielens_100k(base: Path, now: float) -> ParsedDataset:
    """Read u.item (+ u.genre, u.user) and u.data from the ml-100k directory `base`."""
    genres = list(ML100K_GENRES)
    genre_path = base / "u.genre"
    if regular_file(genre_path, required=False):
        for lineno, line in enumerate(read_lines(genre_path, "latin-1"), 1):
            if line.strip():
                name, index = _fields(line, "|", 2, genre_path, lineno)
                position = parse_int(index, "genre index", genre_path, lineno)
                if position >= len(genres):
                    raise ImportFormatError(genre_path, lineno, f"genre index {position} is above 18")
                genres[position] = name
    item_path = _require(base, "u.item")
    items: dict[str, ItemRecord] = {}
    for lineno, line in enumerate(read_lines(item_path, "latin-1"), 1):
        if not line.strip():
            continue
        fields = _fields(line, "|", 24, item_path, lineno)
        item = str(parse_int(fields[0], "item id", item_path, lineno))
        title, year = split_title_year(check_title(fields[1], item_path, lineno))
        release = fields[2].strip()  # "01-Jan-1995": the year when the title has none
        if year is None and release[-4:].isdigit():
            year = int(release[-4:])
        flags = fields[5:]
        if any(flag not in ("0", "1") for flag in flags):
            raise ImportFormatError(item_path, lineno, "genre flags must be 0 or 1")
        names = [genres[k] for k, flag in enumerate(flags) if flag == "1"]
        _add_item(items, ItemRecord(item, title, year, genre_names(names)), item_path, lineno)
    users = _read_user_ids(base / "u.user", "|", 5)
    events = _read_ratings(_require(base, "u.data"), "\t", items, users, now, "u.item", "u.user")
    return ParsedDataset("movielens-100k", list(items.values()), events)


def _read_movies_dat(base: Path) -> dict[str, ItemRecord]:
    path = _require(base, "movies.dat")
    items: dict[str, ItemRecord] = {}
    for lineno, line in enumerate(read_lines(path, "latin-1"), 1):
        if not line.strip():
            continue
        movie, raw_title, raw_genres = _fields(line, "::", 3, path, lineno)
        movie = str(parse_int(movie, "movie id", path, lineno))
        title, year = split_title_year(check_title(raw_title, path, lineno))
        genres = genre_names(raw_genres.split("|"))
        _add_item(items, ItemRecord(movie, title, year, genres), path, lineno)
    return items


def _read_id_map(path: Path, targets: set[str] | dict[str, ItemRecord] | None, what: str,
                 target_file: str) -> dict[str, str]:
    """Read `<sasrec id> <original id>` lines; every original id must be in `targets`."""
    mapping: dict[str, str] = {}
    originals: set[str] = set()
    for lineno, line in enumerate(read_lines(path, "utf-8"), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ImportFormatError(
                path, lineno, f"expected '<sasrec id> <original id>', found {len(parts)} fields"
            )
        sas = str(parse_int(parts[0], f"SASRec {what} id", path, lineno))
        original = str(parse_int(parts[1], f"original {what} id", path, lineno))
        if sas in mapping:
            raise ImportFormatError(path, lineno, f"SASRec {what} id {sas} is mapped twice")
        if original in originals:
            raise ImportFormatError(path, lineno, f"original {what} id {original} is mapped twice")
        if targets is not None and original not in targets:
            raise ImportFormatError(path, lineno, f"original {what} id {original} is not in {target_file}")
        mapping[sas] = original
        originals.add(original)
    return mapping


def read_movielens_1m(path: Path, now: float) -> ParsedDataset:
    """Read ml-1m: ratings.dat when present, else ml-1m.txt through the SASRec id maps."""
    base = path if path.is_dir() else path.parent
    items = _read_movies_dat(base)
    users = _read_user_ids(base / "users.dat", "::", 5)
    ratings = base / "ratings.dat"
    if regular_file(ratings, required=False) and path.name != "ml-1m.txt":
        events = _read_ratings(ratings, "::", items, users, now, "movies.dat", "users.dat")
        return ParsedDataset("movielens-1m", list(items.values()), events)
    sequence = path if path.is_file() and path.name != "movies.dat" else base / "ml-1m.txt"
    if regular_file(sequence, required=False) is None:
        raise ImportFormatError(base, None, "neither ratings.dat nor ml-1m.txt is in this directory")
    item_map = _read_id_map(_require(base, "sas_to_original_items.txt"), items, "item", "movies.dat")
    user_map = _read_id_map(_require(base, "sas_to_original_users.txt"), users, "user", "users.dat")
    events: list[EventRecord] = []
    append = events.append
    # The SASRec file holds each person's rated items in time order, without the ratings'
    # values or times: every entry becomes a rating of unknown value (a choice the person
    # made, not a page view) and the loader gives it a synthetic time that keeps the order.
    for lineno, user, item_tokens in iter_sequence_lines(sequence):
        original_user = user_map.get(user)
        if original_user is None:
            raise ImportFormatError(sequence, lineno, f"user {user!r} is not in sas_to_original_users.txt")
        for token in item_tokens:
            original_item = item_map.get(token)
            if original_item is None:
                raise ImportFormatError(sequence, lineno, f"item {token!r} is not in sas_to_original_items.txt")
            append(EventRecord(original_user, original_item, None, "rate", None))
    return ParsedDataset("movielens-1m", list(items.values()), events)


def _csv_rows(path: Path, header: tuple[str, ...]):
    """Yield (line number, fields) of a CSV file after checking its header row."""
    reader = csv.reader(read_lines(path, "utf-8-sig"))
    try:
        first = next(reader)
    except csv.Error as exc:
        raise ImportFormatError(path, 1, f"not valid CSV ({exc})") from None
    if tuple(f.strip().lower() for f in first) != tuple(h.lower() for h in header):
        raise ImportFormatError(path, 1, f"expected the header {','.join(header)}")
    for row in csv_rows(reader, path):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise ImportFormatError(path, reader.line_num, f"expected {len(header)} fields, found {len(row)}")
        yield reader.line_num, row


def read_movielens_latest(path: Path, now: float) -> ParsedDataset:
    """Read ml-latest(-small): movies.csv, ratings.csv and, if present, tags.csv."""
    base = path if path.is_dir() else path.parent
    movies_path = _require(base, "movies.csv")
    items: dict[str, ItemRecord] = {}
    for lineno, (movie, raw_title, raw_genres) in _csv_rows(movies_path, ("movieId", "title", "genres")):
        movie = str(parse_int(movie, "movieId", movies_path, lineno))
        title, year = split_title_year(check_title(raw_title, movies_path, lineno))
        record = ItemRecord(movie, title, year, genre_names(raw_genres.split("|")))
        _add_item(items, record, movies_path, lineno)
    tags_path = base / "tags.csv"
    if regular_file(tags_path, required=False):
        # Tags are free text people typed: fold case so "funny" and "Funny" are one tag,
        # keeping the first spelling seen. They stay apart from the genres (a fixed list).
        spelling: dict[str, str] = {}
        extra: dict[str, list[str]] = {}
        for lineno, (_user, movie, tag, _ts) in _csv_rows(tags_path, ("userId", "movieId", "tag", "timestamp")):
            movie = str(parse_int(movie, "movieId", tags_path, lineno))
            if movie not in items:
                raise ImportFormatError(tags_path, lineno, f"movie {movie} is not in movies.csv")
            tag = " ".join(tag.split())[:MAX_GENRE].strip()
            if tag:
                extra.setdefault(movie, []).append(spelling.setdefault(tag.lower(), tag))
        for movie, tags in extra.items():
            items[movie] = items[movie]._replace(tags=genre_names(tags))
    ratings_path = _require(base, "ratings.csv")
    events: list[EventRecord] = []
    values: dict[str, float] = {}
    for lineno, (user, movie, rating, ts) in _csv_rows(ratings_path, ("userId", "movieId", "rating", "timestamp")):
        user = parse_id(user, "userId", ratings_path, lineno, MAX_USER_ID)
        movie = str(parse_int(movie, "movieId", ratings_path, lineno))
        if movie not in items:
            raise ImportFormatError(ratings_path, lineno, f"movie {movie} is not in movies.csv")
        events.append(_rating(user, movie, rating, ts, values, ratings_path, lineno, now))
    return ParsedDataset("movielens-latest", list(items.values()), events)
