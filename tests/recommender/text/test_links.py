"""Tests for what links two items: only what the data holds."""
from recommender.text.links import TEXT_LINK_THRESHOLD, ItemFacts, Link, item_links

ALIEN = ItemFacts(1, "Alien", ("Horror", "Sci-Fi"), ("space", "monster"), True)
ALIENS = ItemFacts(2, "Aliens", ("Action", "Horror", "Sci-Fi"), ("Space",), True)
TITANIC = ItemFacts(3, "Titanic", ("Drama", "Romance"), (), False)


def test_shared_genres_and_tags_are_links_in_the_first_items_order():
    """Genres and tags both items carry (tags compared ignoring case)."""
    assert item_links(ALIEN, ALIENS) == [Link("genres", ("Horror", "Sci-Fi")), Link("tags", ("space",))]


def test_nothing_shared_and_no_similarity_is_no_link():
    """Two items with nothing in common are not linked, whatever their titles."""
    assert item_links(ALIEN, TITANIC) == []
    assert item_links(ALIEN, TITANIC, similarity=TEXT_LINK_THRESHOLD - 0.01) == []


def test_similar_text_is_a_link_only_above_the_threshold():
    """"Similar description" needs both descriptions; without, it is similar text."""
    assert item_links(ALIEN, ALIENS, similarity=0.9)[-1] == Link("description", (), 0.9)
    assert item_links(ALIEN, TITANIC, similarity=TEXT_LINK_THRESHOLD) == [Link("text", (), TEXT_LINK_THRESHOLD)]
