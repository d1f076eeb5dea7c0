"""Import tests for what item texts are made of: tags, descriptions, extra columns, and
the text run an import queues."""
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command

from recommender.importing import loader
from recommender.importing.readers import ImportFormatError, ItemRecord, read_dataset
from recommender.models import Genre, Item, ItemText, Tag, TextRun
from recommender.text import services

from .. import importing_files as files
from .test_services import run_all

pytestmark = pytest.mark.django_db(transaction=True)


def test_items_csv_keeps_tags_description_and_extra_columns(tmp_path):
    """A headed items CSV: tags apart from genres, a description, and other columns as text."""
    files.write_lines(tmp_path / "items.csv", [
        "item,title,year,genres,tags,description,director,country",
        'a,Alien,1979,Horror|Sci-Fi,space|monster,"A crew meets a creature.",Ridley Scott,UK',
        "b,Heat,1995,Crime,,,,",
    ])
    path = files.write_lines(tmp_path / "events.csv", ["user,item,timestamp", "u1,a,1700000000"])
    items = {r.external_id: r for r in read_dataset(path).items}
    assert items["a"] == ItemRecord("a", "Alien", 1979, ("Horror", "Sci-Fi"), ("space", "monster"),
                                    "A crew meets a creature.\ndirector: Ridley Scott\ncountry: UK")
    assert items["b"] == ItemRecord("b", "Heat", 1995, ("Crime",))


def test_items_csv_extra_column_twice_and_short_rows_are_refused(tmp_path):
    """An extra column named twice, or a row without every column, is refused with its line."""
    files.write_lines(tmp_path / "items.csv", ["item,title,director,Director", "a,Alien,x,y"])
    path = files.write_lines(tmp_path / "events.csv", ["user,item,timestamp", "u1,a,1700000000"])
    with pytest.raises(ImportFormatError, match="items.csv, line 1: column 'Director' appears twice"):
        read_dataset(path)
    files.write_lines(tmp_path / "items.csv", ["item,title,director", "a,Alien"])
    with pytest.raises(ImportFormatError, match="items.csv, line 2: expected 3 fields, found 2"):
        read_dataset(path)


def test_movielens_latest_import_stores_tags_apart_from_genres(tmp_path):
    """Genres stay the catalogue's list; tags.csv becomes the items' tags."""
    with mock.patch.object(services, "_send_chunk"):
        call_command("import_data", str(files.ml_latest(tmp_path)), "--no-progress", stdout=StringIO())
    toy = Item.objects.get(external_id="ml-latest:1")
    assert [g.name for g in toy.genres.all()] == ["Adventure", "Animation"]
    assert [t.name for t in toy.tags.all()] == ["pixar"]
    assert not Genre.objects.filter(name__iexact="pixar").exists()


def test_import_queues_a_text_run_and_the_run_embeds_the_catalogue(tmp_path):
    """After an import commits, a text run for its items is queued on the text queue."""
    with mock.patch.object(services, "_send_chunk") as send:
        call_command("import_data", str(files.ml_latest(tmp_path)), "--no-progress", stdout=StringIO())
    run = TextRun.objects.get()
    assert send.call_args.args == (run,) and run.total == 3
    run_all_from(run)
    assert ItemText.objects.get(item__external_id="ml-latest:1").text == "Toy Story (1995). Adventure, Animation. pixar"


def run_all_from(run: TextRun) -> None:
    cursor = run.cursor
    while (outcome := services.text_run_chunk(run.pk, cursor)).startswith("continue:"):
        cursor = int(outcome.split(":")[1])


def test_reimport_adds_new_tags_and_re_embeds_what_changed(tmp_path):
    """A re-import with a new tag gives it to the item and re-embeds that item only."""
    base = files.ml_latest(tmp_path)
    with mock.patch.object(services, "_send_chunk"):
        call_command("import_data", str(base), "--no-progress", stdout=StringIO())
        run_all_from(TextRun.objects.get())
        files.write_lines(base / "tags.csv", [
            "userId,movieId,tag,timestamp", "1,1,pixar,1445714994", "2,3,space,1445715000",
            "3,3,Station,1445715001",
        ], newline="\r\n")
        call_command("import_data", str(base), "--no-progress", stdout=StringIO())
    babylon = Item.objects.get(external_id="ml-latest:3")
    assert {t.name for t in babylon.tags.all()} == {"space", "Station"}
    run = TextRun.objects.order_by("-pk").first()
    assert run.total == 3  # every item of the file re-read...
    run_all_from(run)
    run.refresh_from_db()
    assert run.embedded == 1  # ...and only the changed one encoded again
    assert ItemText.objects.get(item=babylon).text == "Babylon 5. Sci-Fi. space, Station"


def test_loader_fills_an_empty_description_but_keeps_a_written_one(db):
    """Existing items gain a description only where they had none (staff may have written one)."""
    from recommender.importing.records import EventRecord, ParsedDataset

    events = [EventRecord("u1", "a", 1700000000, "view", None), EventRecord("u1", "b", 1700000001, "view", None)]
    with mock.patch.object(services, "_send_chunk"):
        loader.dataset_import(ParsedDataset("events-csv", [ItemRecord("a", "A", None, ()), ItemRecord("b", "B", None, ())],
                                            events), source="shop")
        Item.objects.filter(external_id="shop:b").update(description="Written by staff.")
        loader.dataset_import(ParsedDataset("events-csv", [
            ItemRecord("a", "A", None, (), ("new",), "From the file."),
            ItemRecord("b", "B", None, (), (), "From the file.")], events), source="shop")
    assert Item.objects.get(external_id="shop:a").description == "From the file."
    assert Item.objects.get(external_id="shop:b").description == "Written by staff."
    assert Tag.objects.get(name="new").items.get().external_id == "shop:a"


def test_generate_demo_is_embedded_by_a_run(db):
    """The demo catalogue gets vectors like any import (what `make run` shows)."""
    with mock.patch.object(services, "_send_chunk"):
        call_command("generate_demo", "--items", "40", "--users", "5", stdout=StringIO())
    run = run_all()
    assert run.done == 40 and ItemText.objects.count() == 40
