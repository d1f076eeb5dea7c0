"""Plain records that readers produce, the error they raise, and shared parsing helpers.

Pure Python, no Django import: the ML benchmark reads data sets through these too.
"""
from __future__ import annotations

import csv
import math
import os
import re
import stat
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, NamedTuple

# Mirrors of recommender.models.EventKind and recommender.activity.services.RATING_MIN/MAX (this
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


# The longest line a reader accepts. Lines are read one at a time, so this bounds the memory
# a file can make a reader use before it is refused; a sequence line of 4 MiB holds about
# half a million items, and a longer history can continue on the next line (lines of one
# user concatenate).
MAX_LINE_BYTES = 4 << 20


def regular_file(path: Path, *, required: bool) -> Path | None:
    """Return `path` if it is a regular file, or None when nothing is there and it is not
    `required`; refuse a pipe, device, socket or directory (reading a pipe waits forever)."""
    if not path.exists():
        if required:
            raise ImportFormatError(path, None, "no such file")
        return None
    if not path.is_file():
        raise ImportFormatError(path, None, "not a regular file (a directory, pipe, device or socket?)")
    return path


def _open_regular(path: Path) -> BinaryIO:
    """Open a file for reading, refusing at once anything but a regular file.

    Checked on the open file, not the name, and opened without blocking: opening a FIFO for
    reading would otherwise wait for a writer before anything could be checked.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ImportFormatError(path, None, f"cannot read the file ({exc.strerror})") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ImportFormatError(path, None, "not a regular file (a directory, pipe, device or socket?)")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# Files are read in blocks of this size; only whole lines are decoded.
READ_BLOCK = 1 << 20


class Lines:
    """The lines of a text file without their line endings, streamed (iterate once).

    Read a block at a time and decoded a block of whole lines at a time ("\\n" never
    occurs inside a UTF-8 or latin-1 character), so memory stays near READ_BLOCK plus the
    longest line. Splits on "\\n" only: str.splitlines() would also break inside latin-1
    titles that hold U+0085 or form feeds. Refuses an empty file, text that is not valid in
    `encoding` or holds NUL bytes, and a line over MAX_LINE_BYTES, naming the line. Once
    iterated, `last_line_ended` says whether the file ended with a newline (a file cut off in
    the middle of its last line does not).
    """

    def __init__(self, path: Path, encoding: str) -> None:
        self.path, self.encoding = path, encoding
        self.last_line_ended = True
        self._content = False

    def _decode(self, data: bytes, first_line: int) -> list[str]:
        """Return the lines of `data` (whole lines joined by "\\n"), checked."""
        encoding = self.encoding if first_line == 1 else self.encoding.removesuffix("-sig")
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            label = "UTF-8" if self.encoding.startswith("utf-8") else self.encoding
            raise ImportFormatError(self.path, first_line + data.count(b"\n", 0, exc.start),
                                    f"byte 0x{data[exc.start]:02x} is not valid {label} text") from exc
        if "\x00" in text:
            raise ImportFormatError(self.path, first_line + text.count("\n", 0, text.index("\x00")),
                                    "the file holds NUL bytes (is it binary?)")
        self._content = self._content or (bool(text) and not text.isspace())
        lines = text.split("\n")
        if len(data) > MAX_LINE_BYTES:
            for offset, line in enumerate(lines):
                if len(line.encode(encoding)) > MAX_LINE_BYTES:
                    self._too_long(first_line + offset)
        return [line[:-1] if line.endswith("\r") else line for line in lines] if "\r" in text else lines

    def _too_long(self, number: int) -> None:
        raise ImportFormatError(self.path, number,
                                f"the line is longer than {MAX_LINE_BYTES >> 20} MiB (is this the right file?)")

    def __iter__(self) -> Iterator[str]:
        number = 1  # of the first line not yet yielded
        rest = b""  # a line begun in the last block
        with _open_regular(self.path) as handle:
            for block in iter(lambda: handle.read(READ_BLOCK), b""):
                data = rest + block
                end = data.rfind(b"\n")
                if end < 0:
                    rest = data
                else:
                    lines = self._decode(data[:end], number)
                    rest = data[end + 1:]
                    number += len(lines)
                    yield from lines
                if len(rest) > MAX_LINE_BYTES:
                    self._too_long(number)
            self.last_line_ended = not rest
            if rest:
                yield from self._decode(rest, number)
        if not self._content:
            raise ImportFormatError(self.path, None, "the file is empty")


def read_lines(path: Path, encoding: str) -> Lines:
    """Return the lines of a file, streamed (see Lines)."""
    return Lines(path, encoding)


def csv_rows(reader, path: Path) -> Iterator[list[str]]:
    """Yield the rows of a ``csv.reader``; a row that is not valid CSV raises
    ImportFormatError naming its line (``reader.line_num`` is each row's own)."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFormatError(path, reader.line_num, f"not valid CSV ({exc})") from None
        yield row


def first_bytes(path: Path, size: int) -> bytes:
    """Return the first `size` bytes of a regular file (for telling its format)."""
    with _open_regular(path) as handle:
        return handle.read(size)


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
