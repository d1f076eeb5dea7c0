"""Plain records that readers produce, the error they raise, and shared parsing helpers.

Pure Python, no Django import: the ML benchmark reads data sets through these too.
"""
from __future__ import annotations

import math
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

# Mirrors of recommender.models.EventKind and recommender.services.RATING_MIN/MAX (this
# module may not import Django); tests/recommender/test_readers.py checks they agree.
EVENT_KINDS = ("view", "click", "like", "rate", "purchase", "not_interested")
RATING_MIN, RATING_MAX = 0.5, 5.0

# The loader stores ids as "<source>:<id>" in 64 (items) and 150 (usernames) characters;
# a source has at most 23 characters, so these limits always fit.
MAX_ITEM_ID, MAX_USER_ID = 40, 120
MAX_TITLE = 255
# Clock and time-zone mix-ups are common in exported files: allow a day of slack, but
# catch milliseconds passed as seconds (those land thousands of years ahead).
FUTURE_SLACK_S = 24 * 3600

_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-\u2013]\s*\d{0,4})?\)\s*$")


class ItemRecord(NamedTuple):
    """One catalogue entry as read from a file."""

    external_id: str
    title: str
    year: int | None
    genres: tuple[str, ...]
    tags: tuple[str, ...] = ()  # free-text labels people gave it (MovieLens tags.csv)
    description: str = ""  # a description, and the items CSV's other columns


class EventRecord(NamedTuple):
    """One interaction as read from a file; `timestamp` is unix seconds or None."""

    user: str
    item: str
    timestamp: int | None
    kind: str
    value: float | None


class ParsedDataset(NamedTuple):
    """A whole data set: every event references an item in `items`; events in file order."""

    format: str
    items: list[ItemRecord]
    events: list[EventRecord]


class ImportFormatError(ValueError):
    """A file cannot be imported; the message names the file, the line and the problem."""

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


def read_lines(path: Path, encoding: str) -> list[str]:
    """Return the file's lines without line endings; refuse empty or mis-encoded files.

    Splits on "\\n" only: str.splitlines() would also break inside latin-1 titles that
    hold U+0085 or form feeds.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(path, None, f"cannot read the file ({exc.strerror})") from exc
    if not data.strip():
        raise ImportFormatError(path, None, "the file is empty")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        label = "UTF-8" if encoding.startswith("utf-8") else encoding
        raise ImportFormatError(
            path, line, f"byte 0x{data[exc.start]:02x} is not valid {label} text"
        ) from exc
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ImportFormatError(path, line, "the file holds NUL bytes (is it binary?)")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def parse_int(token: str, what: str, path: Path, line: int) -> int:
    """Return `token` as a non-negative int, or raise naming `what` was wrong."""
    token = token.strip()
    # isascii() + isdigit(): int() would also accept "1_000", "+3" and other scripts' digits.
    if not (token.isascii() and token.isdigit()):
        raise ImportFormatError(path, line, f"{what} {token!r} is not a whole number")
    return int(token)


def parse_id(token: str, what: str, path: Path, line: int, limit: int) -> str:
    """Return a cleaned id: non-empty, at most `limit` characters, no ':' or whitespace."""
    token = token.strip()
    if not token:
        raise ImportFormatError(path, line, f"{what} is empty")
    if len(token) > limit:
        raise ImportFormatError(path, line, f"{what} {token[:20]!r}... is longer than {limit} characters")
    if ":" in token or any(ch.isspace() for ch in token):
        raise ImportFormatError(path, line, f"{what} {token!r} contains ':' or white space")
    return token


def parse_rating(token: str, path: Path, line: int) -> float:
    """Return a rating between RATING_MIN and RATING_MAX."""
    try:
        value = float(token)
    except ValueError:
        raise ImportFormatError(path, line, f"rating {token.strip()!r} is not a number") from None
    if not (math.isfinite(value) and RATING_MIN <= value <= RATING_MAX):
        raise ImportFormatError(
            path, line, f"rating {token.strip()} is outside {RATING_MIN}-{RATING_MAX}"
        )
    return value


def parse_timestamp(token: str, path: Path, line: int, now: float | None = None) -> int:
    """Return unix seconds from integer seconds or ISO 8601 (no zone means UTC)."""
    token = token.strip()
    if token.isascii() and token.lstrip("-").isdigit():
        ts = int(token)
    else:
        try:
            moment = datetime.fromisoformat(token)
        except ValueError:
            raise ImportFormatError(
                path, line, f"timestamp {token!r} is neither unix seconds nor ISO 8601"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        ts = int(moment.timestamp())
    check_timestamp(ts, path, line, now)
    return ts


def check_timestamp(ts: int, path: Path, line: int, now: float | None = None) -> None:
    """Refuse times before 1970 or in the future (beyond a day of clock slack)."""
    limit = (time.time() if now is None else now) + FUTURE_SLACK_S
    if ts < 0:
        raise ImportFormatError(path, line, f"timestamp {ts} is before 1970")
    if ts > limit:
        raise ImportFormatError(path, line, f"timestamp {ts} is in the future (milliseconds?)")


def split_title_year(raw: str) -> tuple[str, int | None]:
    """Split "Toy Story (1995)" into ("Toy Story", 1995); other titles keep year None."""
    raw = raw.strip()
    match = _TITLE_YEAR.match(raw)
    if match and match.group("title"):
        return match.group("title"), int(match.group("year"))
    return raw, None


def check_title(title: str, path: Path, line: int) -> str:
    """Return a stripped title, refusing empty or over-long ones."""
    title = title.strip()
    if not title:
        raise ImportFormatError(path, line, "the title is empty")
    if len(title) > MAX_TITLE:
        raise ImportFormatError(path, line, f"the title is longer than {MAX_TITLE} characters")
    return title


def placeholder_items(events: list[EventRecord]) -> list[ItemRecord]:
    """Return a bare record for each item the events reference, in first-seen order."""
    seen = dict.fromkeys(e.item for e in events)
    return [ItemRecord(item, f"Item {item}", None, ()) for item in seen]
