"""Every error of the API answers JSON with `detail` (or field errors), never an HTML page:
bad cursors, bodies nested too deep, the docs and schema views, Django's own refusals and
unexpected exceptions. Django's test client runs with DEBUG off, as production does, and
`raise_request_exception=False` returns what a client would get instead of raising."""
import base64

import pytest
from django.test import Client

from recommender.catalogue import selectors as catalogue
from recommender.api.parsers import MAX_DEPTH
from recommender.api.tokens import token_create


@pytest.fixture
def signed_in(alice) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token_create(user=alice)[1]}", raise_request_exception=False)


def cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = response.json()
    assert body and isinstance(body, dict)
    return body


@pytest.mark.parametrize("url", ["/api/v1/events/", "/api/v1/controls/"])
@pytest.mark.parametrize("raw", [
    cursor("p=abc"), cursor("p=2024-13-01 00:00:00+00:00"), cursor("p=2024-01-01 00:00:00"),
    cursor("p=0001-01-01 00:00:00+05:00"), cursor("p=2024-01-01\x00"), cursor("o=x"), cursor("r=x"),
    "not base64!", "cD1hYmM=",
])
def test_a_cursor_this_api_never_made_answers_404(signed_in, url, raw):
    """`cD1hYmM=` decodes to `p=abc`: a position that is no time, once a 500. Like a cursor
    DRF cannot decode, it names no page of the list."""
    body = assert_json_error(signed_in.get(url, {"cursor": raw}), 404)
    assert body["detail"].startswith("Invalid cursor")


def test_real_cursors_still_page(signed_in, alice, make_item):
    from recommender.models import Event

    item = make_item()
    for _ in range(3):
        Event.objects.create(user=alice, item=item, kind="view")
    page = signed_in.get("/api/v1/events/", {"page_size": 2}).json()
    assert len(page["results"]) == 2 and signed_in.get(page["next"]).status_code == 200


@pytest.mark.parametrize(("url", "depth"), [
    ("/api/v1/events/", 100_000),  # 200 KB, under this endpoint's 1 MiB
    ("/api/v1/controls/", 30_000),  # under 64 KiB
    ("/api/v1/auth/token/", 30_000),
    ("/api/v1/training-runs/", 30_000),
])
def test_a_body_nested_deep_answers_400(make_user, url, depth):
    """Once a RecursionError (500) on every endpoint that reads a body."""
    root = make_user("root", is_staff=True, is_superuser=True)
    client = Client(HTTP_AUTHORIZATION=f"Token {token_create(user=root)[1]}", raise_request_exception=False)
    body = b"[" * depth + b"]" * depth
    response = client.generic("POST", url, body, content_type="application/json")
    assert "nested deeper" in assert_json_error(response, 400)["detail"]


def test_nesting_is_limited_even_where_the_parser_copes(signed_in):
    """Deeper than MAX_DEPTH is refused whether or not it would exhaust the stack."""
    deep = b'{"item": 1, "kind": "view", "x": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}"
    response = signed_in.generic("POST", "/api/v1/events/", deep, content_type="application/json")
    assert "nested deeper" in assert_json_error(response, 400)["detail"]


@pytest.mark.parametrize("client_kind", ["anonymous", "signed_in"])
def test_the_docs_and_schema_views_answer_errors_in_json(db, signed_in, client_kind):
    """OPTIONS /api/docs/ was a TemplateDoesNotExist (500), anonymous too; other methods and
    unknown formats answer JSON; the page itself and the schema are as before."""
    client = signed_in if client_kind == "signed_in" else Client(raise_request_exception=False)
    for path in ["/api/docs/", "/api/schema/"]:
        response = client.options(path)
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        assert "detail" in assert_json_error(client.post(path), 405)
        assert "detail" in assert_json_error(client.delete(path), 405)
    assert "detail" in assert_json_error(client.get("/api/schema/", {"format": "xml"}), 404)
    assert client.get("/api/docs/")["Content-Type"].startswith("text/html")
    assert client.get("/api/schema/")["Content-Type"].startswith("application/vnd.oai.openapi")


def test_an_unexpected_exception_answers_json_500_under_api_and_html_elsewhere(signed_in, monkeypatch):
    """A bug under /api/ answers {"detail"} with 500; the site's pages keep their 500 page."""
    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(catalogue, "item_list", broken)
    assert "Server error" in assert_json_error(signed_in.get("/api/v1/items/"), 500)["detail"]
    page = signed_in.get("/items/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_a_host_not_allowed_answers_json_400_under_api(db):
    client = Client(HTTP_HOST="evil.example", raise_request_exception=False)
    assert "detail" in assert_json_error(client.get("/api/v1/items/"), 400)
    page = client.get("/items/")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("method", ["put", "patch"])
def test_methods_an_endpoint_lacks_answer_json_405(signed_in, method):
    assert "detail" in assert_json_error(getattr(signed_in, method)("/api/v1/events/"), 405)
