"""The OpenAPI schema documents every answer; the Swagger UI needs no CDN."""
import re

import pytest
from django.test import Client

ERRORS = {"400", "401", "403", "404", "429"}


@pytest.fixture
def schema(db) -> dict:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_every_operation_documents_the_errors(schema):
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert len(operations) >= 14
    for path, method, op in operations:
        assert ERRORS <= set(op["responses"]), (method, path)
        assert any(code.startswith("2") for code in op["responses"]), (method, path)


def test_request_bodies_refuse_unknown_fields_and_never_take_owner_or_score(schema):
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            assert component["additionalProperties"] is False, name
            assert not {"user", "id", "is_staff", "score", "rank", "model_version"} & set(
                component.get("properties", {})), name


def test_contract_paths_exist(schema):
    expected = {
        ("/api/v1/auth/token/", "post"), ("/api/v1/auth/token/", "delete"), ("/api/v1/items/", "get"),
        ("/api/v1/items/{item_id}/", "get"), ("/api/v1/events/", "post"), ("/api/v1/events/", "get"),
        ("/api/v1/events/{event_id}/", "delete"), ("/api/v1/recommendations/", "get"),
        ("/api/v1/recommendations/{item_id}/explanation/", "get"), ("/api/v1/controls/", "post"),
        ("/api/v1/controls/", "delete"), ("/api/v1/training-runs/", "post"),
        ("/api/v1/training-runs/{run_id}/", "get"), ("/api/v1/model-versions/", "get"),
    }
    assert expected <= {(p, m) for p, item in schema["paths"].items() for m in item}


def test_swagger_ui_is_served_offline(db):
    """The docs page loads its scripts and styles from this site's static files only."""
    client = Client()
    html = client.get("/api/docs/").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r'"(https?://[^"]+)"', html)
    assert urls and not [u for u in urls if u.startswith(("http://", "https://", "//"))]
    for url in [u for u in urls if u.startswith("/static/")]:
        assert client.get(url).status_code == 200, url


def test_unknown_api_paths_answer_json_404(db):
    response = Client().get("/api/v1/nope/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
