"""API tests of search by meaning and GET /api/v1/items/{id}/similar/."""
from rest_framework.test import APIClient

from tests.recommender.text.test_selectors import catalogue  # noqa: F401 - fixture


def test_api_search_ranks_titles_first(catalogue):  # noqa: F811
    """?search=star answers the exact title, then Star Wars and Star Trek, paginated."""
    body = APIClient().get("/api/v1/items/", {"search": "star"}).json()
    assert [r["id"] for r in body["results"]][:3] == [catalogue[11].pk, catalogue[1].pk, catalogue[2].pk]
    assert body["results"][1]["title"] == "Star Wars: Episode IV - A New Hope"


def test_api_search_by_meaning(catalogue):  # noqa: F811
    body = APIClient().get("/api/v1/items/", {"search": "dinosaurs"}).json()
    assert body["results"][0]["id"] == catalogue[10].pk  # Jurassic Park


def test_similar_endpoint_answers_items_with_why(catalogue):  # noqa: F811
    """Nearest items with their similarity and the links in words; only linked ones."""
    response = APIClient().get(f"/api/v1/items/{catalogue[8].pk}/similar/", {"k": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["item"] == catalogue[8].pk and 1 <= len(body["results"]) <= 2
    assert all(result["why"] for result in body["results"])
    first = body["results"][0]
    assert first["item"]["id"] == catalogue[14].pk and 0 < first["similarity"] <= 1
    assert {"kind": "tags", "names": ["pixar", "toys"], "text": "Same tags: pixar, toys"} in first["why"]


def test_similar_endpoint_in_chinese(catalogue):  # noqa: F811
    """The phrases follow the request's language."""
    body = APIClient().get(f"/api/v1/items/{catalogue[8].pk}/similar/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    texts = [why["text"] for why in body["results"][0]["why"]]
    assert any(text.startswith("相同标签") for text in texts)


def test_similar_endpoint_refuses_bad_input(catalogue):  # noqa: F811
    """Unknown item 404; k must be a whole number of at least 1 (capped at 50)."""
    client = APIClient()
    assert client.get("/api/v1/items/999999/similar/").status_code == 404
    assert client.get(f"/api/v1/items/{catalogue[8].pk}/similar/", {"k": "0"}).status_code == 400
    assert client.get(f"/api/v1/items/{catalogue[8].pk}/similar/", {"k": "x"}).status_code == 400
    many = client.get(f"/api/v1/items/{catalogue[8].pk}/similar/", {"k": "500"}).json()["results"]
    assert 1 <= len(many) <= 13
