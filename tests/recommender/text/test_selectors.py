"""Tests for search and similar items as pages and the API read them."""
import pytest

from recommender.models import Event, Genre, Item, Tag
from recommender.text import selectors
from recommender.text.links import Link
from recommender.text.selectors import item_search, item_similar, link_phrase, search_index_reset

from .catalogue import FILMS
from .test_services import run_all


@pytest.fixture
def catalogue(db, make_user):
    """The tiny catalogue in the database, embedded, Star Wars and Star Trek the most seen."""
    items = {}
    for pk, title, year, genres, tags, description in FILMS:
        item = Item.objects.create(external_id=f"t:{pk}", title=title, year=year, description=description)
        item.genres.set([Genre.objects.get_or_create(name=g)[0] for g in genres])
        item.tags.set([Tag.objects.get_or_create(name=t)[0] for t in tags])
        items[pk] = item
    viewer = make_user("viewer")
    for pk in (1, 1, 1, 2, 2, 8):
        Event.objects.create(user=viewer, item=items[pk], kind="view")
    run_all()
    return items


def test_search_ranks_titles_then_meaning(catalogue):
    """"star": the exact title, then Star Wars and Star Trek, then other whole words."""
    found = item_search(query="star")
    assert found[:3] == [catalogue[11].pk, catalogue[1].pk, catalogue[2].pk]
    assert found.index(catalogue[4].pk) < found.index(catalogue[3].pk)  # Lone Star before Bastard


def test_search_by_meaning_and_in_chinese(catalogue):
    """No title word needed: a theme, or the film's name in Chinese."""
    assert catalogue[1].pk in item_search(query="space adventure with robots")[:2]
    assert item_search(query="玩具总动员")[0] in {catalogue[8].pk, catalogue[14].pk}  # Toy Story


def test_search_with_a_genre_keeps_only_that_genre(catalogue):
    assert set(item_search(query="star", genre="Drama")) <= {catalogue[k].pk for k in (3, 4, 5, 11)}
    assert item_search(query="star", genre="No such genre") == []


def test_a_new_item_is_found_by_title_once_the_stamp_is_read(catalogue, monkeypatch):
    """An item created after the index was built is found by its title as soon as the
    stamp is read again (STAMP_CHECK_S after the last read), before any vector exists."""
    item_search(query="star")
    monkeypatch.setattr(selectors, "STAMP_CHECK_S", 0.0)
    late = Item.objects.create(external_id="t:late", title="Starship Troopers", year=1997)
    assert late.pk in item_search(query="starship")


def test_search_works_without_the_encoder(catalogue, monkeypatch):
    """The encoder failing costs meaning only: titles still match."""
    def broken():
        raise OSError("weights unreadable")

    monkeypatch.setattr(selectors, "shared_encoder", broken)
    monkeypatch.setattr(selectors, "_encoder_failed_at", 0.0)
    search_index_reset()
    assert item_search(query="star")[0] == catalogue[11].pk
    assert item_search(query="space adventure with robots") == []


def test_similar_items_say_what_links_them(catalogue):
    """Toy Story's nearest is Toy Story 2: same genres, same tags, similar text."""
    similar = item_similar(item_id=catalogue[8].pk, k=3)
    first = similar[0]
    assert first.item == catalogue[14]
    assert first.links[:2] == [Link("genres", ("Animation", "Children", "Comedy")), Link("tags", ("pixar", "toys"))]
    assert first.why[:2] == ["Same genres: Animation, Children, Comedy", "Same tags: pixar, toys"]
    assert catalogue[8] not in [s.item for s in similar]


def test_similar_for_an_unknown_item_is_empty(db):
    assert item_similar(item_id=12345) == []


def test_link_phrases():
    """One phrase per kind; singular and plural."""
    assert link_phrase(Link("genres", ("Drama",))) == "Same genre: Drama"
    assert link_phrase(Link("tags", ("a", "b"))) == "Same tags: a, b"
    assert link_phrase(Link("description", (), 0.8)) == "Similar description"
    assert link_phrase(Link("text", (), 0.7)) == "Close in meaning"
