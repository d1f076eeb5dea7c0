"""Page tests of search by meaning and "more like this" (the views' hooks)."""
from django.urls import reverse

from .test_selectors import catalogue  # noqa: F401 - fixture


def test_catalogue_search_ranks_star_wars_and_star_trek_first(client, catalogue):  # noqa: F811
    """/items/?q=star lists the exact title, then Star Wars and Star Trek."""
    page = client.get(reverse("item_list"), {"q": "star"}).context["page_obj"]
    assert [item.pk for item in page][:3] == [catalogue[11].pk, catalogue[1].pk, catalogue[2].pk]


def test_catalogue_search_parameter_is_also_called_search(client, catalogue):  # noqa: F811
    """/items/?search= works as the API's parameter does."""
    page = client.get(reverse("item_list"), {"search": "space adventure with robots"}).context["page_obj"]
    assert catalogue[1].pk in [item.pk for item in page][:2]


def test_catalogue_search_and_genre_together(client, catalogue):  # noqa: F811
    """The genre filter applies to ranked results too."""
    page = client.get(reverse("item_list"), {"q": "star", "genre": "Sci-Fi"}).context["page_obj"]
    assert [item.pk for item in page][:2] == [catalogue[1].pk, catalogue[2].pk]
    assert all(any(g.name == "Sci-Fi" for g in item.genres.all()) for item in page)


def test_item_page_shows_more_like_this_with_why(client, catalogue):  # noqa: F811
    """The item page lists similar items, each saying what links them."""
    response = client.get(reverse("item_detail", args=[catalogue[8].pk]))
    assert [s.item for s in response.context["similar"]][0] == catalogue[14]
    assert "More like this" in response.text and "Same tags: pixar, toys" in response.text


def test_item_page_shows_tags_and_description(client, catalogue):  # noqa: F811
    catalogue[9].description = "The aging patriarch of a crime dynasty."
    catalogue[9].save()
    text = client.get(reverse("item_detail", args=[catalogue[9].pk])).text
    assert "mafia" in text and "The aging patriarch of a crime dynasty." in text


def test_item_page_without_vectors_still_offers_neighbours(client, make_item):
    """Before any vector exists, the items sharing most genres are "like this"."""
    first = make_item("One", genres=("Drama", "War"))
    second = make_item("Two", genres=("Drama", "War"))
    make_item("Three", genres=("Comedy",))
    response = client.get(reverse("item_detail", args=[first.pk]))
    assert [s.item for s in response.context["similar"]] == [second]
    assert "Same genres: Drama, War" in response.text
