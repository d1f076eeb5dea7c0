"""Property-based sweep of the whole API from its own OpenAPI schema (schemathesis), signed
in as two different people (one of them staff): no server errors, every answer conforms
to the schema (status code, content type, headers, body, Allow), invalid input is refused,
input the schema allows is accepted, credentials are enforced and undocumented methods
answer 405."""
from collections import Counter

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from recommender.api.tokens import token_create

# Loaded at import time: the fixture-based loader fails under pytest 9.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

# Refusals of schema-valid input that the schema states only in words, because they depend
# on what is stored (an item id that names no item, a genre name that names no genre, a
# wrong password, hyperparameters the
# trainer refuses), on the clock (a time in the future), or on two fields together (only a
# `rate` has a value, and it needs one). Any other 400 for input the schema allows fails.
IN_WORDS = ("No item with id", "No genre named", "A rating needs a value.", "Only a rating has a value",
            "The time is in the future.", "The time is before 1970")


def _refused_for_what_the_schema_says_in_words(case, body: dict) -> bool:
    """Return True if a 400 for schema-valid input refuses only for the reasons above."""
    operation = (case.method.upper(), case.path)
    if operation == ("POST", "/api/v1/auth/token/"):
        return body == {"detail": "Wrong username or password."}
    if operation == ("POST", "/api/v1/training-runs/"):
        return set(body) == {"hyperparams"}
    fields = [e["fields"] for e in body["errors"]] if "errors" in body else [body]
    messages = [m for f in fields for ms in f.values() for m in (ms if isinstance(ms, list) else [ms])]
    return bool(messages) and all(m.startswith(IN_WORDS) for m in messages)


@schemathesis.check
def schema_valid_input_is_accepted(ctx, response, case):
    """positive_data_acceptance, except for the refusals above."""
    if response.status_code == 400 and _refused_for_what_the_schema_says_in_words(case, response.json()):
        return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, allow_header_conformance,
          negative_data_rejection, schema_valid_input_is_accepted, ignored_auth, missing_required_header,
          unsupported_method]
EXAMPLES = 100
calls: Counter = Counter()


@pytest.fixture(autouse=True)
def keep_test_connection():
    """Keep the test's database connection open across requests, as Django's test client
    does: the WSGI handler would otherwise close it after each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# Who the sweep signs in as: set for each test by `signed_in_as`, read by DeviceTokenAuth.
current: dict = {}


@schema.auth(refresh_interval=None)
class DeviceTokenAuth:
    """Sign each generated request in with the current person's token. Registered as the
    sweep's credentials, so `ignored_auth` knows them and checks that the same request
    without them, or with a made-up token, is refused."""

    def get(self, case, ctx) -> str | None:
        if not current:  # schemathesis asks while collecting the tests too
            return None
        if case.method.upper() == "DELETE" and case.path == "/api/v1/auth/token/":
            # Signing out revokes the token: a throwaway one keeps the sweep signed in.
            return token_create(user=current["user"])[1]
        return current["key"]

    def set(self, case, data: str, ctx) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}


@pytest.fixture
def signed_in_as(request, make_user, make_item, make_recommendations) -> str:
    """Two people with a little data each (one of them a superuser, who holds every staff
    permission); the sweep signs in as the one its `who` parameter names."""
    items = [make_item() for _ in range(5)]
    people = {}
    for name, staff in (("person", False), ("staff", True)):
        user = make_user(name, is_staff=staff, is_superuser=staff)
        make_recommendations(user, items[:3] if staff else items[2:])
        people[name] = user
    who = request.node.callspec.params["who"]
    current.update(user=people[who], key=token_create(user=people[who])[1])
    yield who
    current.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["person", "staff"])
@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, who, signed_in_as):
    """Any request the schema allows, or nearly allows, gets a documented, well-formed answer."""
    calls[(who, case.method.upper(), case.path)] += 1
    case.call_and_validate(checks=CHECKS)


def test_sweep_sent_enough_examples_per_operation(request):
    """Runs after the sweep (same module): each person sent at least EXAMPLES requests to
    every documented operation (the sweep also probes undocumented methods)."""
    if not any(item.name.startswith("test_api_conforms_to_its_schema[") for item in request.session.items):
        pytest.skip("the sweep was deselected from this run (e.g. with -k), so there is nothing to count")
    operations = [(method.upper(), path) for path, item in schema.raw_schema["paths"].items()
                  for method in item]
    counts = {(who, *op): calls[(who, *op)] for who in ("person", "staff") for op in operations}
    print(f"\nschemathesis: {len(operations)} operations, requests per person and operation:", counts)
    assert min(counts.values()) >= EXAMPLES
