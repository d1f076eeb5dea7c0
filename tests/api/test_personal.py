"""The person's own settings over the API: preferences (feed, view recording), reset and its
undo, genre controls, the state of their list, and their history item by item; each
changes what GET /recommendations/ answers next."""
import pytest
from django.utils import timezone

from recommender.models import Event, Genre, GenreControl, Preferences, RunStatus, TrainingRun
from tests.explain.conftest import catalogue, model_version, scored_person  # noqa: F401 - fixtures

RECS = "/api/v1/recommendations/"


def ids(body: dict) -> list[int]:
    return [r["item"]["id"] for r in body["results"]]


def test_preferences_default_then_patch_and_the_feed_is_remembered(scored_person, api_client_for):
    """GET gives the defaults; PATCH changes only what it names; the feed is what the next
    GET /recommendations/ answers (and `?feed=` overrides it once)."""
    client = api_client_for(scored_person)
    assert client.get("/api/v1/preferences/").json() == {
        "feed": "personal", "record_views": True, "reset_at": None, "can_undo_reset": False}
    personal = client.get(RECS).json()
    assert personal["feed"] == "personal" and personal["model_version"] is not None
    body = client.patch("/api/v1/preferences/", {"feed": "popular"}, format="json").json()
    assert body["feed"] == "popular" and body["record_views"] is True
    popular = client.get(RECS).json()
    assert popular["feed"] == "popular" and popular["model_version"] is None
    assert all(r["score"] is None for r in popular["results"])
    assert client.get(RECS, {"feed": "personal"}).json() == personal
    assert client.get(RECS, {"feed": "newest"}).json()["feed"] == "newest"
    client.patch("/api/v1/preferences/", {"record_views": False}, format="json")
    assert Preferences.objects.get(user=scored_person).feed == "popular"
    assert Preferences.objects.get(user=scored_person).record_views is False


@pytest.mark.parametrize("body", [{"feed": "loud"}, {"record_views": "no"}, {"owner": 1}, {"feed": 3}])
def test_bad_preferences_answer_400_and_change_nothing(alice, api_client_for, body):
    response = api_client_for(alice).patch("/api/v1/preferences/", body, format="json")
    assert response.status_code == 400
    assert not Preferences.objects.exists()


def test_bad_feed_query_answers_400(alice, api_client_for):
    assert api_client_for(alice).get(RECS, {"feed": "loud"}).status_code == 400


def test_reset_then_undo(scored_person, api_client_for):
    """POST reset empties the list at once (history kept); DELETE undoes it; a second
    DELETE answers 404."""
    client = api_client_for(scored_person)
    events = Event.objects.filter(user=scored_person).count()
    body = client.post("/api/v1/recommendations/reset/").json()
    assert body["reset_at"] and body["can_undo_reset"] is True
    assert client.get(RECS).json()["results"] == []
    assert Event.objects.filter(user=scored_person).count() == events
    status = client.get("/api/v1/recommendations/status/").json()
    assert status["state"] == "fresh_start" and status["refresh"] is False
    undone = client.delete("/api/v1/recommendations/reset/")
    assert undone.status_code == 200 and undone.json() == {
        "feed": "personal", "record_views": True, "reset_at": None, "can_undo_reset": False}
    assert client.get("/api/v1/recommendations/status/").json()["state"] == "scoring"
    assert client.delete("/api/v1/recommendations/reset/").status_code == 404


def test_genre_controls_change_the_next_answer_and_undo(scored_person, api_client_for):
    """POST exclude: the next answer holds no item of the genre; POST less replaces it
    (200); DELETE removes it (204), again 404; an unknown genre is 400."""
    client = api_client_for(scored_person)
    before = client.get(RECS, {"k": 12}).json()
    assert any("Drama" in r["item"]["genres"] for r in before["results"])
    response = client.post("/api/v1/genre-controls/", {"genre": "Drama", "control": "exclude"}, format="json")
    assert response.status_code == 201 and response.json()["control"] == "exclude"
    after = client.get(RECS, {"k": 12}).json()
    assert after["results"] and not any("Drama" in r["item"]["genres"] for r in after["results"])
    response = client.post("/api/v1/genre-controls/", {"genre": "Drama", "control": "less"}, format="json")
    assert response.status_code == 200
    less = client.get(RECS, {"k": 12}).json()["results"]
    flags = ["Drama" in r["item"]["genres"] for r in less]
    assert all(sum(flags[i:i + 5]) <= 1 for i in range(len(flags)))
    assert [c["genre"] for c in client.get("/api/v1/genre-controls/").json()["results"]] == ["Drama"]
    assert client.delete("/api/v1/genre-controls/", {"genre": "Drama"}, format="json").status_code == 204
    assert ids(client.get(RECS, {"k": 12}).json()) == ids(before)
    assert client.delete("/api/v1/genre-controls/", {"genre": "Drama"}, format="json").status_code == 404
    bad = client.post("/api/v1/genre-controls/", {"genre": "Nope", "control": "less"}, format="json")
    assert bad.status_code == 400 and "genre" in bad.json()
    assert not GenreControl.objects.exists()


def test_genre_controls_are_private(scored_person, make_user, api_client_for):
    """Another person sees none of mine, and removing mine from their account is a 404."""
    GenreControl.objects.create(user=scored_person, genre=Genre.objects.get(name="Drama"), kind="exclude")
    other = api_client_for(make_user("eve"))
    assert other.get("/api/v1/genre-controls/").json()["results"] == []
    assert other.delete("/api/v1/genre-controls/", {"genre": "Drama"}, format="json").status_code == 404
    assert GenreControl.objects.count() == 1


def test_history_by_item_and_deleting_one_item(scored_person, catalogue, make_user, api_client_for):  # noqa: F811
    """One entry per item, latest first; DELETE removes all of that item's events (mine
    only); an item not in my history is 404."""
    from recommender.activity.services import EventInput, event_record

    client = api_client_for(scored_person)
    event_record(user=scored_person, data=EventInput(item=catalogue[0], kind="rate", value=4))
    event_record(user=make_user("bob"), data=EventInput(item=catalogue[0], kind="view"))
    rows = client.get("/api/v1/history/").json()["results"]
    assert [r["item"] for r in rows] == [catalogue[0].pk] + [i.pk for i in reversed(catalogue[1:6])]
    assert rows[0] | {"last_at": None} == {"item": catalogue[0].pk, "last_at": None, "rating": 4.0, "liked": False,
                                           "views": 1, "clicks": 0, "purchases": 0, "not_interested": False,
                                           "events": 2, "before_reset": False}
    assert client.delete(f"/api/v1/history/{catalogue[0].pk}/").status_code == 204
    assert not Event.objects.filter(user=scored_person, item=catalogue[0]).exists()
    assert Event.objects.filter(item=catalogue[0]).count() == 1  # bob's
    assert client.delete(f"/api/v1/history/{catalogue[0].pk}/").status_code == 404
    assert client.delete(f"/api/v1/history/{10**30}/").status_code == 404


def test_status_during_a_first_training(make_user, make_item, api_client_for):
    """With no model yet, the state says so and carries the run's progress and estimate."""
    person = make_user("early")
    Event.objects.create(user=person, item=make_item(), kind="like")
    TrainingRun.objects.create(status=RunStatus.RUNNING, epoch=3, max_epochs=200, horizon=12.0, progress=0.25,
                               eta_s=540.0, started_at=timezone.now())
    body = api_client_for(person).get("/api/v1/recommendations/status/").json()
    assert body["state"] == "training" and body["refresh"] is True and body["message"]
    assert body["training"] | {"started_at": None} == {
        "run": TrainingRun.objects.get().pk, "status": "running", "epoch": 3, "planned_epochs": 12.0,
        "max_epochs": 200, "progress": 0.25, "eta_s": 540.0, "eta_is_bound": False, "eta_text": "about 9 min 00 s",
        "started_at": None}


def test_new_paths_are_in_the_schema(db):
    from django.test import Client

    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = {(p, m) for p, item in schema["paths"].items() for m in item}
    assert {("/api/v1/preferences/", "get"), ("/api/v1/preferences/", "patch"),
            ("/api/v1/recommendations/reset/", "post"), ("/api/v1/recommendations/reset/", "delete"),
            ("/api/v1/recommendations/status/", "get"), ("/api/v1/genre-controls/", "get"),
            ("/api/v1/genre-controls/", "post"), ("/api/v1/genre-controls/", "delete"),
            ("/api/v1/history/", "get"), ("/api/v1/history/{item_id}/", "delete")} <= paths
    feed = next(p for p in schema["paths"]["/api/v1/recommendations/"]["get"]["parameters"] if p["name"] == "feed")
    assert sorted(feed["schema"]["enum"]) == ["newest", "personal", "popular"]
