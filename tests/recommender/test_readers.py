"""Tests for the pure data-set readers (no database)."""
import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest

from recommender.activity import services
from recommender.importing import records
from recommender.importing.readers import (
    EventRecord,
    ImportFormatError,
    ItemRecord,
    detect_format,
    read_dataset,
)
from recommender.models import EventKind

from . import importing_files as files

REPO = Path(__file__).resolve().parents[2]


def test_kinds_and_rating_range_mirror_the_models():
    """The Django-free copies of event kinds and the rating range match the real ones."""
    assert records.EVENT_KINDS == tuple(EventKind.values)
    assert (records.RATING_MIN, records.RATING_MAX) == (services.RATING_MIN, services.RATING_MAX)


def test_readers_import_no_django():
    """The readers can be imported by the ML code without pulling Django in."""
    code = ("import sys, recommender.importing.readers, recommender.importing.demo; "
            "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_movielens_100k(tmp_path):
    """u.item (latin-1) and u.data give titles, years, genres and rate events."""
    parsed = read_dataset(files.ml100k(tmp_path))
    assert parsed.format == "movielens-100k"
    assert parsed.items[0] == ItemRecord("1", "Toy Story", 1995, ("Animation", "Children's", "Comedy"))
    # Year from the release date when the title has none; "unknown" is not a genre.
    assert parsed.items[2] == ItemRecord("3", "Caf\xe9 Society", 1996, ())
    assert parsed.events[0] == EventRecord("1", "1", 881250949, "rate", 5.0)
    assert len(parsed.events) == 4


def test_movielens_1m_ratings(tmp_path):
    """ratings.dat with movies.dat gives rated events in file order."""
    parsed = read_dataset(files.ml1m_ratings(tmp_path))
    assert parsed.format == "movielens-1m"
    assert [(e.user, e.item, e.value) for e in parsed.events] == [("1", "10", 5.0), ("1", "1", 3.0), ("7", "2", 4.0)]
    assert parsed.items[2] == ItemRecord("10", "Am\xe9lie", 2001, ("Comedy", "Romance"))


def test_movielens_1m_sasrec_file_maps_ids_back(tmp_path):
    """ml-1m.txt ids go through the maps to movies.dat ids; events are untimed ratings of
    unknown value (the file lists rated films, without the stars)."""
    parsed = read_dataset(files.ml1m_sasrec(tmp_path))
    assert [(e.user, e.item) for e in parsed.events] == [("7", "10"), ("7", "1"), ("7", "2"), ("1", "1"), ("1", "10")]
    assert {(e.kind, e.timestamp, e.value) for e in parsed.events} == {("rate", None, None)}


def test_movielens_latest(tmp_path):
    """CRLF CSVs with quoted titles, year ranges, half stars; tags folded by case, kept
    apart from the genres."""
    parsed = read_dataset(files.ml_latest(tmp_path))
    items = {item.external_id: item for item in parsed.items}
    assert items["1"] == ItemRecord("1", "Toy Story", 1995, ("Adventure", "Animation"), ("pixar",))
    assert items["2"] == ItemRecord("2", "Heat, Again", 2006, ())
    assert items["3"] == ItemRecord("3", "Babylon 5", None, ("Sci-Fi",), ("space",))
    assert [e.value for e in parsed.events] == [4.5, 0.5, 5.0]


def test_events_csv_with_header_and_items_next_to_it(tmp_path):
    """A headed events CSV with ISO and unix times, kinds, and an items.csv beside it."""
    files.write_lines(tmp_path / "items.csv", ["item,title,year,genres", "a,Alpha,1999,Drama|War", "b,Beta,,"])
    path = files.write_lines(tmp_path / "log.csv", [
        "user,item,timestamp,kind,value", "u1,a,2024-01-02T03:04:05Z,like,", "u1,b,1700000000,,4",
        "u2,a,2024-01-02 03:04:05,,",
    ])
    parsed = read_dataset(path)
    assert parsed.items == [ItemRecord("a", "Alpha", 1999, ("Drama", "War")), ItemRecord("b", "Beta", None, ())]
    assert parsed.events == [
        EventRecord("u1", "a", 1704164645, "like", None), EventRecord("u1", "b", 1700000000, "rate", 4.0),
        EventRecord("u2", "a", 1704164645, "view", None),
    ]


def test_events_csv_without_header_or_items(tmp_path):
    """Positional columns; items named only by events get bare records."""
    path = files.write_lines(tmp_path / "e.csv", ["7,x,1700000000", "7,y,1700000001,purchase,"])
    parsed = read_dataset(path, "events-csv")
    assert parsed.items == [ItemRecord("x", "Item x", None, ()), ItemRecord("y", "Item y", None, ())]
    assert parsed.events[1] == EventRecord("7", "y", 1700000001, "purchase", None)


def test_events_csv_items_by_option(tmp_path):
    """An items CSV given explicitly (headerless) is used."""
    items = files.write_lines(tmp_path / "catalogue" / "films.csv", ["x,Ex Machina,2014,Sci-Fi"])
    path = files.write_lines(tmp_path / "e.csv", ["7,x,1700000000"])
    assert read_dataset(path, items_csv=items).items == [ItemRecord("x", "Ex Machina", 2014, ("Sci-Fi",))]


def test_sequence_both_layouts_concatenate(tmp_path):
    """Pairs per line and a user per line mix; lines of one user concatenate in order."""
    path = files.write_lines(tmp_path / "seq.txt", ["1 10", "2 30 31", "1 11 12", "", "2 10"])
    parsed = read_dataset(path)
    assert parsed.format == "sequence"
    assert [(e.user, e.item) for e in parsed.events] == [
        ("1", "10"), ("2", "30"), ("2", "31"), ("1", "11"), ("1", "12"), ("2", "10"),
    ]
    assert {(e.kind, e.value) for e in parsed.events} == {("rate", None)}
    assert [item.external_id for item in parsed.items] == ["10", "30", "31", "11", "12"]


@pytest.mark.parametrize(("make", "name", "expected"), [
    (files.ml100k, "", "movielens-100k"),
    (files.ml100k, "u.data", "movielens-100k"),
    (files.ml1m_ratings, "", "movielens-1m"),
    (files.ml1m_sasrec, "", "movielens-1m"),
    (files.ml1m_sasrec, "ml-1m.txt", "movielens-1m"),
    (files.ml_latest, "", "movielens-latest"),
    (files.ml_latest, "ratings.csv", "movielens-latest"),
])
def test_detect_movielens(tmp_path, make, name, expected):
    """MovieLens layouts are recognised from a directory or one of its files."""
    make(tmp_path)
    assert detect_format(tmp_path / name) == expected


def test_detect_generic_files(tmp_path):
    """CSV files are events CSVs; white-space id files are sequences; others are refused."""
    assert detect_format(files.write_lines(tmp_path / "log.txt", ["u,i,1"])) == "events-csv"
    assert detect_format(files.write_lines(tmp_path / "x.csv", ["u i 1"])) == "events-csv"
    assert detect_format(files.write_lines(tmp_path / "s.txt", ["1 2 3"])) == "sequence"
    with pytest.raises(ImportFormatError, match="cannot tell the format"):
        detect_format(files.write_lines(tmp_path / "odd.txt", ["hello"]))
    with pytest.raises(ImportFormatError, match="no known data set"):
        detect_format(tmp_path)
    with pytest.raises(ImportFormatError, match="empty.txt: the file is empty"):
        detect_format(files.write_lines(tmp_path / "empty.txt", ["", "  "]))


@pytest.mark.parametrize("case", files.BAD_CASES)
def test_bad_files_name_file_and_line(tmp_path, case):
    """Each kind of malformed input is refused naming the file, the line and the problem."""
    make, name, line, fragment = files.BAD_CASES[case]
    make(tmp_path)
    target = tmp_path / "s.txt" if name == "s.txt" else tmp_path
    with pytest.raises(ImportFormatError) as caught:
        read_dataset(target)
    error = caught.value
    assert Path(error.path).name == name and error.line == line
    assert fragment in str(error) and name in str(error)
    if line is not None:
        assert f"line {line}" in str(error)


def test_a_last_line_without_newline_is_read_when_whole(tmp_path):
    """Many files end without a newline: a last row as wide as the others is an event."""
    (tmp_path / "e.csv").write_bytes(b"1,1,1700000000,rate,4\n1,2,1700000001,like,")
    assert read_dataset(tmp_path / "e.csv").events[-1] == EventRecord("1", "2", 1700000001, "like", None)
    (tmp_path / "s.txt").write_bytes(b"1 10 11\n1 12")
    assert [e.item for e in read_dataset(tmp_path / "s.txt").events] == ["10", "11", "12"]


def _read_in_a_thread(path: Path, **kwargs) -> BaseException | None:
    """Read `path` in a daemon thread; return what it raised, failing if it is still reading
    after 10 s (a reader blocked on a pipe never returns)."""
    outcome: list = []

    def read() -> None:
        try:
            read_dataset(path, **kwargs)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), f"reading {path} hangs"
    return outcome[0]


@pytest.mark.parametrize("layout", ["alone", "alone as events-csv", "u.data", "tags.csv", "items.csv"])
def test_a_pipe_is_refused_at_once(tmp_path, layout):
    """A FIFO (or any file that is not a regular file) is refused without waiting for a writer,
    named as the data set or as one of its files."""
    if layout.startswith("alone"):
        target = path = tmp_path / "events.fifo"
    elif layout == "u.data":
        files.ml100k(tmp_path)
        (tmp_path / "u.data").unlink()
        target, path = tmp_path, tmp_path / "u.data"
    elif layout == "tags.csv":
        files.ml_latest(tmp_path)
        (tmp_path / "tags.csv").unlink()
        target, path = tmp_path, tmp_path / "tags.csv"
    else:
        files.write_lines(tmp_path / "events.csv", ["u,a,1700000000"])
        target, path = tmp_path / "events.csv", tmp_path / "items.csv"
    os.mkfifo(path)
    error = _read_in_a_thread(target, fmt="events-csv" if layout.endswith("events-csv") else "auto")
    assert isinstance(error, ImportFormatError) and "not a regular file" in str(error)
    assert Path(error.path) == path


def test_a_200_mb_line_is_refused_with_bounded_memory(tmp_path):
    """One line of 64 MiB (a stand-in for the 200 MB of the report: it behaves the same past
    the limit) is refused after reading the first 4 MiB of it; Python never holds much more
    (the reader once read the whole file, then decoded and split it: 750 MB for 200 MB)."""
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.write(b"1")
        block = b" 2" * (1 << 19)
        for _ in range(64):
            handle.write(block)
    tracemalloc.start()
    try:
        with pytest.raises(ImportFormatError, match="line 1: the line is longer than 4 MiB"):
            read_dataset(path, "sequence")
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * records.MAX_LINE_BYTES, peak


def test_lines_are_streamed_not_read_whole(tmp_path, monkeypatch):
    """Readers go through the file line by line: no reader reads it whole any more."""
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} was read whole"))
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: pytest.fail(f"{self} was read whole"))
    for make in (files.ml100k, files.ml1m_ratings, files.ml1m_sasrec, files.ml_latest):
        base = tmp_path / make.__name__
        make(base)
        assert read_dataset(base).events


@pytest.mark.parametrize(("bad", "fragment"), [(b"\xff", "byte 0xff is not valid UTF-8"),
                                               (b"\x00", "the file holds NUL bytes")])
def test_errors_name_the_line_deep_in_a_file_read_in_blocks(tmp_path, bad, fragment):
    """Lines are decoded a block of 1 MiB at a time; an error still names its own line,
    and CRLF line ends split across blocks are still ends."""
    lines = [f"{n % 97} item-{n:032d}".encode() for n in range(60_000)]  # 2.6 MB: three blocks
    lines[50_000] += bad
    (tmp_path / "s.txt").write_bytes(b"\r\n".join(lines) + b"\r\n")
    with pytest.raises(ImportFormatError, match=f"line 50001: {fragment}"):
        read_dataset(tmp_path / "s.txt", "sequence")
    lines[50_000] = lines[50_000][:-1]
    (tmp_path / "s.txt").write_bytes(b"\r\n".join(lines) + b"\r\n")
    assert read_dataset(tmp_path / "s.txt", "sequence").events[-1].item == f"item-{59_999:032d}"
