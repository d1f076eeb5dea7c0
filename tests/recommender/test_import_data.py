"""Tests for the bulk loader and `manage.py import_data` against the database."""
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.http import HttpRequest

from recommender.importing import loader
from recommender.importing.readers import EventRecord, ItemRecord, ParsedDataset, read_dataset
from recommender.models import Event, Genre, Item
from recsite.accounts.models import User

from . import importing_files as files

pytestmark = pytest.mark.django_db


def run_import(*args: str) -> str:
    """Run import_data quietly and return what it printed."""
    out = StringIO()
    call_command("import_data", *map(str, args), "--no-progress", stdout=out)
    return out.getvalue()


def counts() -> tuple[int, int, int, int]:
    """Return the numbers of items, genres, people and events."""
    return Item.objects.count(), Genre.objects.count(), User.objects.count(), Event.objects.count()


def history(username: str) -> list[tuple[str, str]]:
    """Return (item external id, kind) of a person's events, oldest first."""
    events = Event.objects.filter(user__username=username).order_by("occurred_at", "id")
    return list(events.values_list("item__external_id", "kind"))


def test_import_movielens_100k(tmp_path):
    """Items, genres, placeholder people and rated events arrive under the ml-100k source."""
    output = run_import(files.ml100k(tmp_path))
    assert "4 events created" in output
    toy = Item.objects.get(external_id="ml-100k:1")
    assert (toy.title, toy.year) == ("Toy Story", 1995)
    assert sorted(toy.genres.values_list("name", flat=True)) == ["Animation", "Children's", "Comedy"]
    assert list(User.objects.values_list("username", "is_placeholder")) == [("ml-100k:1", True), ("ml-100k:2", True)]
    assert history("ml-100k:1") == [("ml-100k:1", "rate"), ("ml-100k:2", "rate")]
    assert Event.objects.get(user__username="ml-100k:2", item__external_id="ml-100k:3").value == 1.0


def test_reimport_adds_nothing(tmp_path):
    """Running the same import twice leaves every count as after the first run."""
    run_import(files.ml100k(tmp_path))
    before = counts()
    output = run_import(tmp_path)
    assert counts() == before
    assert "0 items, 0 placeholder people and 0 events created; 4 events were already there" in output


def test_appended_events_are_the_only_new_ones(tmp_path):
    """Re-importing a file with one more line adds exactly that event."""
    path = files.write_lines(tmp_path / "log.csv", ["u,a,1700000000", "u,b,1700000100"])
    run_import(path)
    files.write_lines(path, ["u,a,1700000000", "u,b,1700000100", "u,a,1700000200"])
    assert "1 events created; 2 events were already there" in run_import(path)
    assert history("log:u") == [("log:a", "view"), ("log:b", "view"), ("log:a", "view")]


def test_placeholders_cannot_log_in(tmp_path, client):
    """Imported people have unusable passwords and names no sign-up can take."""
    run_import(files.ml100k(tmp_path))
    person = User.objects.get(username="ml-100k:1")
    assert not person.has_usable_password()
    # With a request, as every login path passes one (axes refuses calls without).
    assert authenticate(HttpRequest(), username="ml-100k:1", password="") is None
    assert not client.login(request=HttpRequest(), username="ml-100k:1", password="!")
    with pytest.raises(ValidationError):
        User.username_validator("ml-100k:1")


def test_sequence_times_keep_the_order(tmp_path):
    """Untimed SASRec events get synthetic times that keep each person's order."""
    run_import(files.ml1m_sasrec(tmp_path))
    assert history("ml-1m:7") == [("ml-1m:10", "rate"), ("ml-1m:1", "rate"), ("ml-1m:2", "rate")]
    assert history("ml-1m:1") == [("ml-1m:1", "rate"), ("ml-1m:10", "rate")]
    # The catalogue holds movies.dat, so the untouched film 2 for person 1 is still there.
    assert Item.objects.filter(external_id__startswith="ml-1m:").count() == 3


def test_equal_times_keep_file_order(tmp_path):
    """Events with the same time stay in file order (a stable sort by time)."""
    path = files.write_lines(tmp_path / "ties.csv", ["u,c,1700000000", "u,a,1700000000", "u,b,1699999999"])
    run_import(path, "--source", "ties")
    assert [ext for ext, _ in history("ties:u")] == ["ties:b", "ties:c", "ties:a"]


def test_sources_keep_data_sets_apart(tmp_path):
    """Film 1 of MovieLens 100K and of MovieLens 1M are two items, each with its people."""
    run_import(files.ml100k(tmp_path / "a"))
    run_import(files.ml1m_ratings(tmp_path / "b"))
    assert set(Item.objects.filter(external_id__endswith=":1").values_list("external_id", flat=True)) == {
        "ml-100k:1", "ml-1m:1"}
    assert User.objects.filter(username__startswith="ml-1m:").count() == 2


def test_items_csv_option_and_progress(tmp_path):
    """--items-csv names the catalogue; the loader reports progress for every event."""
    items = files.write_lines(tmp_path / "cat" / "films.csv", ["item,title,year,genres", "x,Ex,2014,Sci-Fi"])
    path = files.write_lines(tmp_path / "e.csv", ["7,x,1700000000", "8,x,1700000001,like"])
    run_import(path, "--items-csv", items, "--source", "shop")
    assert Item.objects.get(external_id="shop:x").title == "Ex"
    ticks: list[int] = []
    loader.dataset_import(read_dataset(path, items_csv=items), source="shop2", progress=ticks.append)
    assert sum(ticks) == 2


@pytest.mark.parametrize("case", ["bad int", "field count", "id not in map", "encoding", "empty file", "kind",
                                  "cut off", "value on a view"])
def test_bad_file_changes_nothing(tmp_path, case):
    """A malformed file is refused naming file and line, and the database stays as it was."""
    run_import(files.ml100k(tmp_path / "earlier"))
    before = counts()
    make, name, line, fragment = files.BAD_CASES[case]
    make(tmp_path / "bad")
    with pytest.raises(CommandError) as caught:
        run_import(tmp_path / "bad")
    message = str(caught.value)
    assert name in message and fragment in message and (line is None or f"line {line}" in message)
    assert counts() == before


def test_failure_while_writing_rolls_back(tmp_path, monkeypatch):
    """An error after items and people were written undoes the whole import."""
    parsed = read_dataset(files.ml100k(tmp_path))
    before = counts()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(loader, "_event_batches", explode)
    with pytest.raises(RuntimeError):
        loader.dataset_import(parsed, source="ml-100k")
    assert counts() == before


def test_loader_refuses_inconsistent_records():
    """Records naming unknown items or kinds, or a bad source, are refused before writing."""
    item = ItemRecord("a", "A", None, ())
    for events in ([EventRecord("u", "zz", 1, "view", None)], [EventRecord("u", "a", 1, "poke", None)]):
        with pytest.raises(ValueError):
            loader.dataset_import(ParsedDataset("x", [item], events), source="x")
    with pytest.raises(ValueError, match="Source"):
        loader.dataset_import(ParsedDataset("x", [item], []), source="Bad:Source")
    assert counts() == (0, 0, 0, 0)


def test_postgresql_bulk_mode_keeps_foreign_keys(tmp_path, monkeypatch):
    """The bulk path drops and re-adds the events' foreign keys exactly as they were."""
    if connection.vendor != "postgresql":
        pytest.skip("bulk mode is PostgreSQL only")
    query = ("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
             "WHERE conrelid = 'recommender_event'::regclass AND contype = 'f' ORDER BY conname")
    with connection.cursor() as cursor:
        cursor.execute(query)
        before = cursor.fetchall()
    monkeypatch.setattr(loader, "PG_BULK_ROWS", 1)
    run_import(files.ml100k(tmp_path))
    with connection.cursor() as cursor:
        cursor.execute(query)
        assert cursor.fetchall() == before and len(before) == 2
    assert Event.objects.count() == 4
