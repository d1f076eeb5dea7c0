"""Tests for the search index: title tiers, corrections, meaning, similar items."""
import numpy as np
import pytest

from recommender.text.encoder import shared_encoder
from recommender.text.itemtext import item_text
from recommender.text.links import ItemFacts
from recommender.text.matching import SearchIndex, edit_distance, fold, match_form, title_names

from .catalogue import FILMS, facts


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    """The tiny catalogue with real text vectors and a little popularity."""
    texts = [item_text(title=t, year=y, genres=g, tags=tags, description=d) for _pk, t, y, g, tags, d in FILMS]
    popularity = np.array([1.0 if pk in (1, 2, 8) else 0.2 for pk, *_rest in FILMS], dtype=np.float32)
    return SearchIndex(facts(), shared_encoder().encode(texts), popularity)


def ids(index: SearchIndex, query: str, **kwargs) -> list[int]:
    return [hit.item_id for hit in index.search(query, shared_encoder().encode([query])[0], **kwargs)]


def test_folding_and_title_names():
    """Case, accents and punctuation fold away; a moved article comes back to the front."""
    assert fold("Amélie: LE Fabuleux!") == "amelie le fabuleux"
    assert match_form("Aliens") == "alien"
    assert title_names("Star Maker, The (Uomo delle stelle, L')") == ["the star maker", "l uomo delle stelle"]


def test_edit_distance_counts_a_swap_as_one_edit():
    assert edit_distance("wras", "wars") == 1
    assert edit_distance("godfater", "godfather") == 1
    assert edit_distance("kitten", "sitting") == 3


def test_exact_title_comes_first(index):
    """"star" is the exact title of one film: it leads, before every Star Wars."""
    assert ids(index, "star")[0] == 11


def test_star_puts_star_wars_and_star_trek_first(index):
    """After the exact title, the titles starting with "Star" lead, the popular ones first."""
    assert ids(index, "star")[1:3] == [1, 2]


def test_title_start_and_whole_word_before_substring(index):
    """Whole-word matches ("Lone Star", "A Star Is Born") come before "Stardust",
    "Mustard Seed" and "Bastard Out of Carolina", which only hold the letters."""
    order = ids(index, "star")
    whole = [order.index(pk) for pk in (1, 2, 4, 5)]
    inside = [order.index(pk) for pk in (3, 6, 12)]
    assert max(whole) < min(inside)


def test_reading_order_title_matches_exactly(index):
    """"the godfather" is the exact title of "Godfather, The"."""
    hits = index.search("The Godfather")
    assert (hits[0].item_id, hits[0].match) == (9, "exact")


def test_misspelt_title_word_is_corrected(index):
    """"godfater" and "star wras" find their films through a one-edit correction."""
    assert ids(index, "godfater")[0] == 9
    assert ids(index, "star wras")[0] == 1
    assert index.corrected_query("tytanic") == "titanic"
    assert index.corrected_query("titanic") is None


def test_plural_matches_singular(index):
    """"alien" finds "Aliens" as a title match, not only by meaning."""
    hits = index.search("alien")
    assert hits and hits[0].item_id == 13 and hits[0].match == "title"


def test_space_adventure_with_robots_finds_star_wars(index):
    """A description of a film, with no title word in it, finds it by meaning."""
    assert 1 in ids(index, "space adventure with robots")[:2]


def test_chinese_query_finds_english_titles(index):
    """"星球大战" (Star Wars) and "泰坦尼克号" (Titanic) find the English titles."""
    assert ids(index, "星球大战")[0] == 1
    assert ids(index, "泰坦尼克号")[0] == 7


def test_genre_filter_restricts_results(index):
    """`allowed` keeps only those ids, in the same order."""
    assert ids(index, "star", allowed={2, 4}) == [2, 4]


def test_without_vectors_titles_still_match(index):
    """No query vector (encoder away): title matches only, in the same tiers."""
    hits = index.search("star")
    assert {hit.match for hit in hits} <= {"exact", "title", "words", "substring", "corrected"}
    assert hits[0].item_id == 11


def test_similar_items_are_nearest_by_meaning(index):
    """Toy Story's nearest item is Toy Story 2, with its cosine similarity."""
    nearest = index.similar(8, 3)
    assert nearest[0][0] == 14 and 0.5 < nearest[0][1] <= 1.0
    assert 8 not in [pk for pk, _s in nearest]


def test_similar_without_vector_falls_back_to_shared_genres_and_tags():
    """An item not embedded yet gets the items sharing most of its genres and tags."""
    items = [ItemFacts(1, "A", ("Drama",), ("x",)), ItemFacts(2, "B", ("Drama",), ("x",)),
             ItemFacts(3, "C", ("Drama",)), ItemFacts(4, "D", ("Comedy",))]
    assert SearchIndex(items).similar(1, 5) == [(2, None), (3, None)]
    assert SearchIndex(items).similar(99, 5) == []


def test_empty_catalogue_and_empty_query():
    """Nothing to search gives nothing, without errors."""
    assert SearchIndex([]).search("star") == []
    assert SearchIndex([ItemFacts(1, "Star")]).search("") == []
