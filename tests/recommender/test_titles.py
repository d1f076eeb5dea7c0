"""Titles in reading order: the stored, sortable form is "Usual Suspects, The"."""
import pytest

from recommender.catalogue.titles import reading_order


@pytest.mark.parametrize(("stored", "shown"), [
    ("Usual Suspects, The", "The Usual Suspects"),
    ("Good, the Bad and the Ugly, The", "The Good, the Bad and the Ugly"),
    ("Postino, Il (The Postman)", "Il Postino (The Postman)"),
    ("Hate (Haine, La)", "Hate (La Haine)"),
    ("Star Maker, The (Uomo delle stelle, L')", "The Star Maker (L'Uomo delle stelle)"),
    ("Last of the High Kings, The (a.k.a. Summer Fling)", "The Last of the High Kings (a.k.a. Summer Fling)"),
    ("Few Good Men, A", "A Few Good Men"),
    ("Toy Story", "Toy Story"),
    ("Love, Actually", "Love, Actually"),
    ("Seven (Se7en)", "Seven (Se7en)"),
    ("Weird (nested (brackets))", "Weird (nested (brackets))"),
])
def test_reading_order(stored, shown):
    assert reading_order(stored) == shown


def test_pages_show_reading_order_and_sort_by_the_stored_title(client, make_item):
    """The catalogue shows "The Usual Suspects" among the U's (sorted by the stored form)."""
    make_item("Usual Suspects, The")
    make_item("Toy Story")
    make_item("Zorro")
    html = client.get("/items/").content.decode()
    assert "The Usual Suspects" in html and "Usual Suspects, The" not in html
    assert html.index("Toy Story") < html.index("The Usual Suspects") < html.index("Zorro")
