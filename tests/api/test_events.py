"""Sending events one at a time and in batches: validation, idempotency, limits."""
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from recommender.models import Event, UserControl
from recommender.activity.services import events_record_batch, EventInput

URL = "/api/v1/events/"


def test_one_event_is_stored(alice, api_client_for, make_item):
    """One object is stored through the same service the pages use."""
    item = make_item()
    response = api_client_for(alice).post(URL, {"item": item.pk, "kind": "rate", "value": 4}, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"created": 1, "duplicates": 0}
    event = Event.objects.get()
    assert (event.user, event.item, event.kind, event.value) == (alice, item, "rate", 4.0)


def test_one_event_resent_is_a_duplicate(alice, api_client_for, make_item):
    """The same client event id twice stores one event."""
    client, item = api_client_for(alice), make_item()
    body = {"item": item.pk, "kind": "view", "client_event_id": "e-1"}
    assert client.post(URL, body, format="json").json() == {"created": 1, "duplicates": 0}
    assert client.post(URL, body, format="json").json() == {"created": 0, "duplicates": 1}
    assert Event.objects.count() == 1


def test_a_client_event_id_is_kept_as_sent(alice, api_client_for, make_item):
    """An id is the client's: whitespace around it is part of it, and an id of a control
    character alone (which the schema allows) is stored, not refused as blank."""
    client, item = api_client_for(alice), make_item()
    for key in ("\x1f", " e-1", "e-1"):
        body = {"item": item.pk, "kind": "view", "client_event_id": key}
        assert client.post(URL, body, format="json").json() == {"created": 1, "duplicates": 0}, key
    assert sorted(Event.objects.values_list("client_event_id", flat=True)) == sorted(["\x1f", " e-1", "e-1"])


def test_batch_is_stored(alice, api_client_for, make_item):
    """A batch stores every event and says how many."""
    items = [make_item() for _ in range(3)]
    batch = [{"item": i.pk, "kind": "click", "client_event_id": f"c{i.pk}"} for i in items]
    batch.append({"item": items[0].pk, "kind": "like"})
    response = api_client_for(alice).post(URL, batch, format="json")
    assert response.status_code == 201
    assert response.json() == {"created": 4, "duplicates": 0}
    assert Event.objects.filter(user=alice).count() == 4


def test_batch_with_invalid_events_stores_nothing(alice, api_client_for, make_item):
    """Every invalid event is listed by its index; nothing is stored."""
    item = make_item()
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    batch = [
        {"item": item.pk, "kind": "view"},
        {"item": 999999, "kind": "view"},
        {"item": item.pk, "kind": "dance"},
        {"item": item.pk, "kind": "rate"},
        {"item": item.pk, "kind": "view", "occurred_at": future},
        {"item": item.pk, "kind": "view", "user": 1},
        {"item": "7", "kind": "view"},
        "not an object",
        {"item": item.pk, "kind": "view", "occurred_at": "2024-01-01T00:00:00"},
    ]
    response = api_client_for(alice).post(URL, batch, format="json")
    assert response.status_code == 400
    errors = {e["index"]: e["fields"] for e in response.json()["errors"]}
    assert sorted(errors) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert "item" in errors[1] and "kind" in errors[2] and "value" in errors[3]
    assert "occurred_at" in errors[4] and "user" in errors[5] and "item" in errors[6]
    assert "occurred_at" in errors[8]
    assert not Event.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"kind": "view"}, "item"),
    ({"item": 1, "kind": "view", "id": 5}, "id"),
    ({"item": 1, "kind": "view", "score": 5}, "score"),
    ({"item": True, "kind": "view"}, "item"),
    ({"item": 1, "kind": "rate", "value": "4"}, "value"),
    ({"item": 1, "kind": "view", "client_event_id": ""}, "client_event_id"),
    ({"item": 1, "kind": "view", "client_event_id": "x" * 65}, "client_event_id"),
    ({"item": 1, "kind": "view", "occurred_at": "0001-01-01T00:00:00+05:00"}, "occurred_at"),
    ({"item": 1, "kind": "view", "occurred_at": "yesterday"}, "occurred_at"),
    ({"item": 1.0, "kind": "view"}, "item"),
    ({"item": 1e0, "kind": "view"}, "item"),
])
def test_bad_single_event_is_refused(alice, api_client_for, make_item, body, field):
    """Unknown fields, wrong types, bad times and missing fields answer 400 naming the field."""
    make_item()
    response = api_client_for(alice).post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Event.objects.exists()


def test_an_item_id_written_as_a_float_is_refused_even_when_the_item_exists(alice, api_client_for, make_item):
    """``item: 10.0`` for an existing item 10 is refused as not an integer (not as unknown)."""
    item = make_item()
    for value in (float(item.pk), f"{item.pk}.0"):
        response = api_client_for(alice).post(URL, {"item": value, "kind": "view"}, format="json")
        assert response.status_code == 400 and response.json()["item"] == ["A valid integer is required."], value
    assert not Event.objects.exists()


def test_unknown_item_is_refused(alice, api_client_for):
    response = api_client_for(alice).post(URL, {"item": 12345, "kind": "view"}, format="json")
    assert response.status_code == 400 and "item" in response.json()


def test_future_time_beyond_skew_is_refused_but_small_skew_accepted(alice, api_client_for, make_item):
    """Phones' clocks drift a little: a minute ahead is fine, an hour is not."""
    client, item = api_client_for(alice), make_item()
    soon = (timezone.now() + timedelta(minutes=1)).isoformat()
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    assert client.post(URL, {"item": item.pk, "kind": "view", "occurred_at": soon}, format="json").status_code == 201
    response = client.post(URL, {"item": item.pk, "kind": "view", "occurred_at": later}, format="json")
    assert response.status_code == 400 and "occurred_at" in response.json()


@pytest.mark.parametrize("body", [[], "text", 5, None])
def test_neither_object_nor_list_is_refused(alice, api_client_for, body):
    assert api_client_for(alice).post(URL, body, format="json").status_code == 400


def test_more_than_1000_events_are_refused(alice, api_client_for, make_item):
    item = make_item()
    batch = [{"item": item.pk, "kind": "view"}] * 1001
    response = api_client_for(alice).post(URL, batch, format="json")
    assert response.status_code == 400
    assert not Event.objects.exists()


def test_oversized_body_answers_413(alice, api_client_for, make_item):
    """A body over the limit is refused before it is read."""
    item = make_item()
    batch = [{"item": item.pk, "kind": "view", "client_event_id": "x" * 64}] * 1000
    padded = [dict(e, client_event_id="y" * 64) for e in batch]
    client = api_client_for(alice)
    body = b"[" + b",".join([b'{"item": %d, "kind": "view"}' % item.pk + b" " * 1100] * 1000) + b"]"
    response = client.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 413
    assert client.post(URL, padded, format="json").status_code == 201  # a full batch fits


def test_form_bodies_are_refused(alice, api_client_for):
    response = api_client_for(alice).post(URL, {"item": 1, "kind": "view"})  # multipart
    assert response.status_code == 415


def test_not_interested_event_sets_the_control(alice, api_client_for, make_item):
    item = make_item()
    api_client_for(alice).post(URL, [{"item": item.pk, "kind": "not_interested"}], format="json")
    assert UserControl.objects.filter(user=alice, item=item, kind="not_interested").exists()


def test_same_batch_ten_times_stores_each_event_once(alice, api_client_for, make_item):
    """Retries of a whole batch are no-ops that answer the same counts each time."""
    client, items = api_client_for(alice), [make_item() for _ in range(5)]
    batch = [{"item": i.pk, "kind": "view", "client_event_id": f"batch-{n}"} for n, i in enumerate(items)]
    answers = [client.post(URL, batch, format="json").json() for _ in range(10)]
    assert answers[0] == {"created": 5, "duplicates": 0}
    assert answers[1:] == [{"created": 0, "duplicates": 5}] * 9
    assert Event.objects.filter(user=alice).count() == 5


def test_repeated_client_id_within_a_batch_counts_once(alice, api_client_for, make_item):
    item = make_item()
    batch = [{"item": item.pk, "kind": "view", "client_event_id": "same"}] * 3
    assert api_client_for(alice).post(URL, batch, format="json").json() == {"created": 1, "duplicates": 2}


def test_client_ids_are_per_person(alice, bob, api_client_for, make_item):
    """Bob may use the id Alice used: his event is stored."""
    body = [{"item": make_item().pk, "kind": "view", "client_event_id": "shared"}]
    assert api_client_for(alice).post(URL, body, format="json").json()["created"] == 1
    assert api_client_for(bob).post(URL, body, format="json").json()["created"] == 1


@pytest.mark.django_db(transaction=True)
def test_same_batch_twice_at_once_stores_each_event_once(make_user, make_item):
    """Two concurrent deliveries of one batch: each event stored once, counts add up."""
    alice = make_user("alice")
    items = [make_item() for _ in range(50)]
    inputs = [EventInput(item=i, kind="view", client_event_id=f"race-{i.pk}") for i in items]
    barrier = threading.Barrier(2)
    results: list = []

    def send() -> None:
        try:
            barrier.wait()
            results.append(events_record_batch(user=alice, inputs=inputs))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [(0, 50), (50, 0)]
    assert Event.objects.filter(user=alice).count() == 50


def test_my_events_newest_first_with_cursor(alice, bob, api_client_for, make_item):
    """Cursor pages list only my events, newest first, without repeats."""
    item = make_item()
    now = timezone.now()
    for n in range(5):
        Event.objects.create(user=alice, item=item, kind="view", occurred_at=now - timedelta(minutes=n))
    Event.objects.create(user=bob, item=item, kind="view")
    client = api_client_for(alice)
    page = client.get(URL, {"page_size": 2}).json()
    seen = [e["id"] for e in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [e["id"] for e in page["results"]]
    expected = list(Event.objects.filter(user=alice).order_by("-occurred_at", "-id").values_list("id", flat=True))
    assert seen == expected


def test_delete_my_event(alice, api_client_for, make_item):
    event = Event.objects.create(user=alice, item=make_item(), kind="view")
    client = api_client_for(alice)
    assert client.delete(f"{URL}{event.pk}/").status_code == 204
    assert not Event.objects.exists()
    assert client.delete(f"{URL}{event.pk}/").status_code == 404


@pytest.mark.parametrize("kind", ["view", "click", "like", "purchase", "not_interested"])
@pytest.mark.parametrize("value", [-5, 3, 1e308])
def test_only_a_rating_has_a_value(alice, api_client_for, make_item, kind, value):
    """A value on any other kind is refused, alone and in a batch; nothing is stored."""
    client, item = api_client_for(alice), make_item()
    response = client.post(URL, {"item": item.pk, "kind": kind, "value": value}, format="json")
    assert response.status_code == 400 and "value" in response.json()
    response = client.post(URL, [{"item": item.pk, "kind": "view"},
                                 {"item": item.pk, "kind": kind, "value": value}], format="json")
    assert response.status_code == 400
    assert [e["index"] for e in response.json()["errors"]] == [1] and "value" in response.json()["errors"][0]["fields"]
    assert not Event.objects.exists()
    body = {"item": item.pk, "kind": kind, "value": None}
    assert client.post(URL, body, format="json").status_code == 201  # null is no value


@pytest.mark.parametrize("moment", ["1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1900-06-01T12:00:00+02:00"])
def test_times_before_1970_are_refused(alice, api_client_for, make_item, moment):
    item = make_item()
    response = api_client_for(alice).post(URL, {"item": item.pk, "kind": "view", "occurred_at": moment}, format="json")
    assert response.status_code == 400 and "occurred_at" in response.json()
    body = {"item": item.pk, "kind": "view", "occurred_at": "1970-01-01T00:00:00Z"}
    assert api_client_for(alice).post(URL, body, format="json").status_code == 201


@pytest.mark.parametrize("body", [
    b'{"item": %d, "kind": "view", "kind": "rate"}',
    b'[{"item": %d, "kind": "view"}, {"item": 1, "item": %d, "kind": "view"}]',
    b'{"item": %d, "kind": "rate", "value": NaN}',
])
def test_duplicate_keys_and_non_json_numbers_are_refused(alice, api_client_for, make_item, body):
    """A key given twice in one object (which one would count?) or NaN answers 400."""
    item = make_item()
    payload = body % ((item.pk,) * body.count(b"%d"))
    response = api_client_for(alice).generic("POST", URL, payload, content_type="application/json")
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]
    assert not Event.objects.exists()
