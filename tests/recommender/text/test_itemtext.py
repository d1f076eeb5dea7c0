"""Tests for the text an item is read as."""
from recommender.text.itemtext import MAX_TAGS, item_text, text_hash


def test_item_text_puts_title_in_reading_order_then_genres_tags_description():
    """Title in reading order with its year, genres, tags, then the description."""
    text = item_text(title="Godfather, The", year=1972, genres=["Crime", "Drama"], tags=["mafia"],
                     description="  A crime family's\n  patriarch hands over.  ")
    assert text == "The Godfather (1972). Crime, Drama. mafia. A crime family's patriarch hands over."


def test_item_text_leaves_out_what_is_missing_and_caps_tags():
    """No year, genres or description: only what exists; at most MAX_TAGS tags."""
    assert item_text(title="Babylon 5") == "Babylon 5"
    tags = [f"t{n}" for n in range(MAX_TAGS + 5)]
    assert item_text(title="X", tags=tags).endswith(f"t{MAX_TAGS - 1}")


def test_text_hash_changes_with_the_text():
    """The hash is the sha256 of the text: equal texts, equal hashes."""
    assert text_hash("a") == text_hash("a") != text_hash("b")
    assert len(text_hash("a")) == 64
