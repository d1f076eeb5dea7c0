"""Read interaction data sets from files into plain records: format detection and dispatch.

Pure Python, no Django import (the ML benchmark uses it too). Formats:
`movielens-100k`, `movielens-1m`, `movielens-latest`, `events-csv` and `sequence`.
"""
from __future__ import annotations

import time
from pathlib import Path

from .events_csv import read_events_csv
from .movielens import read_movielens_1m, read_movielens_100k, read_movielens_latest
from .records import (
    EVENT_KINDS,
    EventRecord,
    ImportFormatError,
    ItemRecord,
    ParsedDataset,
    first_bytes,
    regular_file,
)
from .sequences import read_sequence

__all__ = [
    "EVENT_KINDS", "FORMATS", "EventRecord", "ImportFormatError", "ItemRecord",
    "ParsedDataset", "detect_format", "read_dataset",
]

FORMATS = ("movielens-100k", "movielens-1m", "movielens-latest", "events-csv", "sequence")

_DIR_MARKERS = (
    ("u.data", "movielens-100k"),
    ("ratings.dat", "movielens-1m"),
    ("ml-1m.txt", "movielens-1m"),
    ("events.csv", "events-csv"),
)
_FILE_NAMES = {
    "u.data": "movielens-100k", "u.item": "movielens-100k", "u.user": "movielens-100k",
    "ratings.dat": "movielens-1m", "movies.dat": "movielens-1m",
}


def detect_format(path: str | Path) -> str:
    """Return the format name of a data-set directory or file, or raise ImportFormatError.

    Directories are recognised by their file names; a lone file by its name, then by its
    first non-blank line (commas: events CSV; white-space separated ids: sequence).
    """
    path = Path(path)
    if not path.exists():
        raise ImportFormatError(path, None, "no such file or directory")
    if path.is_dir():
        names = {child.name for child in path.iterdir()}
        for marker, fmt in _DIR_MARKERS:
            if marker in names:
                return fmt
        if {"ratings.csv", "movies.csv"} <= names:
            return "movielens-latest"
        raise ImportFormatError(
            path, None,
            "no known data set here (expected u.data, ratings.dat, ml-1m.txt, "
            "ratings.csv with movies.csv, or events.csv)",
        )
    if path.name in _FILE_NAMES:
        return _FILE_NAMES[path.name]
    if path.name == "ml-1m.txt" and (path.parent / "movies.dat").is_file():
        return "movielens-1m"
    if path.name in ("ratings.csv", "movies.csv") and (path.parent / "movies.csv").is_file():
        return "movielens-latest"
    if path.suffix.lower() == ".csv":
        return "events-csv"
    first = _first_line(path)
    if "," in first:
        return "events-csv"
    if len(first.split()) >= 2:
        return "sequence"
    raise ImportFormatError(path, 1, "cannot tell the format: expected 'user item ...' or CSV")


def _first_line(path: Path) -> str:
    """Return the first non-blank line, reading only the start of a possibly huge file."""
    head = first_bytes(path, 1 << 16)
    if not head.strip():
        raise ImportFormatError(path, None, "the file is empty")
    text = head.decode("utf-8", errors="replace")
    return next((line for line in text.splitlines() if line.strip()), "")


def read_dataset(path: str | Path, fmt: str = "auto", *, items_csv: str | Path | None = None,
                 now: float | None = None) -> ParsedDataset:
    """Read and fully validate a data set; raise ImportFormatError on the first problem.

    `fmt` is one of FORMATS or "auto"; `items_csv` only applies to events-csv; `now`
    (unix seconds, default the current time) bounds timestamps from the future.
    Events keep file order; a person's chronological order is a stable sort by timestamp.
    """
    path = Path(path)
    if not path.exists():
        raise ImportFormatError(path, None, "no such file or directory")
    if not path.is_dir():
        regular_file(path, required=True)
    if fmt == "auto":
        fmt = detect_format(path)
    now = time.time() if now is None else now
    if fmt == "movielens-100k":
        return read_movielens_100k(path if path.is_dir() else path.parent, now)
    if fmt == "movielens-1m":
        return read_movielens_1m(path, now)
    if fmt == "movielens-latest":
        return read_movielens_latest(path, now)
    if fmt == "events-csv":
        return read_events_csv(path, Path(items_csv) if items_csv else None, now)
    if fmt == "sequence":
        if path.is_dir():
            raise ImportFormatError(path, None, "the sequence format reads a file, not a directory")
        return read_sequence(path)
    raise ImportFormatError(path, None, f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
