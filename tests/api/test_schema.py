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
        if name.endswith("Request") and "oneOf" in component:  # one of several such bodies
            for shape in component["oneOf"]:
                assert _refs(shape) and all(ref.endswith("Request") for ref in _refs(shape)), name
        elif name.endswith("Request"):
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


def _refs(node) -> list[str]:
    """Return every `$ref` in a part of the schema."""
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_every_reference_resolves(schema):
    """No `$ref` points at a component that is not there (EventInRequest once did not)."""
    refs = set(_refs(schema))
    assert "#/components/schemas/EventInRequest" in refs
    missing = {ref for ref in refs if ref.removeprefix("#/components/schemas/") not in schema["components"]["schemas"]}
    assert not missing


def test_counts_and_pages_are_at_least_one(schema):
    """`page`, `page_size` and `k` say what the API accepts: 1 to 999,999,999."""
    seen = set()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in ("page", "page_size", "k"):
                    assert parameter["schema"]["minimum"] == 1, (method, path, parameter)
                    assert parameter["schema"]["maximum"] == 999_999_999, (method, path, parameter)
                    seen.add(parameter["name"])
    assert seen == {"page", "page_size", "k"}


def test_bodies_that_must_be_sent_are_required(schema):
    """POST /events/ takes one event or 1 to 1000 of them; DELETE /controls/ names the control."""
    events = schema["paths"]["/api/v1/events/"]["post"]["requestBody"]
    assert events["required"] is True
    shapes = schema["components"]["schemas"]["EventsInRequest"]["oneOf"]
    assert shapes == [{"$ref": "#/components/schemas/EventInRequest"},
                      {"type": "array", "items": {"$ref": "#/components/schemas/EventInRequest"},
                       "minItems": 1, "maxItems": 1000}]
    delete = schema["paths"]["/api/v1/controls/"]["delete"]["requestBody"]
    assert delete["required"] is True
    assert delete["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ControlInRequest"}
    for path, method in [("/api/v1/auth/token/", "post"), ("/api/v1/controls/", "post")]:
        assert schema["paths"][path][method]["requestBody"]["required"] is True, path
    assert "required" not in schema["paths"]["/api/v1/training-runs/"]["post"]["requestBody"]  # all optional
    assert "requestBody" not in schema["paths"]["/api/v1/events/{event_id}/"]["delete"]
