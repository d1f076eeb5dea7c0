"""The API's cache of recommendations answers, on a real Redis: a hit costs no query on
the list, and every change a person or a worker makes shows in their next answer."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api.conftest import alice, api_client_for, bob, make_recommendations  # noqa: F401 - fixtures

from recommender.activity import services
from recommender.serving import answer_cache, scoring
from recommender.models import ControlKind, Event, EventKind, ModelVersion, Recommendation
from recommender.activity.services import EventInput

URL = "/api/v1/recommendations/"


def _cache_url(redis_url: str) -> str:
    """Django's Redis cache takes redis-py URLs: unix:// for a socket."""
    return redis_url.replace("redis+socket://", "unix://")


@pytest.fixture
def shared_cache(redis_server, settings):
    """Answers cached in the real Redis, as in production."""
    redis_server.client().flushdb()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": _cache_url(redis_server.url), "KEY_PREFIX": "answer-test"}}
    settings.RECSITE_ANSWER_CACHE_SECONDS = 300
    yield redis_server
    redis_server.client().flushdb()


def _ids(client) -> list[int]:
    return [r["item"]["id"] for r in client.get(URL).json()["results"]]


def _list_queries(client) -> int:
    """Return how many queries one GET made on the stored lists."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return sum("recommender_recommendation" in q["sql"] for q in queries.captured_queries)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_hit_reads_no_list_and_changes_show_at_once(shared_cache, alice, bob, api_client_for, make_item,
                                                      make_recommendations):
    items = [make_item() for _ in range(6)]
    make_recommendations(alice, items)
    make_recommendations(bob, items)
    client, bobs = api_client_for(alice), api_client_for(bob)
    assert _ids(client) == [i.pk for i in items]
    assert _list_queries(client) == 0, "the second read comes from the cache"

    services.event_record(user=alice, data=EventInput(item=items[0], kind=EventKind.VIEW))
    assert _ids(client) == [i.pk for i in items[1:]]
    assert _ids(bobs) == [i.pk for i in items], "another person's change retires only their answer"

    event = Event.objects.get(user=alice)
    services.event_delete(user=alice, event_id=event.pk)
    assert _ids(client) == [i.pk for i in items]

    services.control_set(user=alice, item=items[1], kind=ControlKind.NOT_INTERESTED)
    assert items[1].pk not in _ids(client)
    services.control_remove(user=alice, item=items[1], kind=ControlKind.NOT_INTERESTED)
    assert items[1].pk in _ids(client)

    # A batch from the API, as a phone sends it.
    response = client.post("/api/v1/events/", [{"item": items[2].pk, "kind": "like"}], format="json")
    assert response.status_code == 201
    assert items[2].pk not in _ids(client)
    services.event_like_withdraw(user=alice, item=items[2])
    assert items[2].pk in _ids(client)

    # Staff renaming an item: every cached answer naming it shows the new title.
    items[3].title = "Renamed in the admin"
    items[3].save()
    assert "Renamed in the admin" in [r["item"]["title"] for r in bobs.get(URL).json()["results"]]

    # k and the language are part of the key.
    assert len(client.get(URL, {"k": 2}).json()["results"]) == 2
    assert len(client.get(URL, {"k": 4}).json()["results"]) == 4


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_worker_rescoring_replaces_the_cached_answer(shared_cache, alice, api_client_for, make_item,
                                                      make_recommendations):
    """The scoring task writes through `_score_and_store`-style storage: the next read shows
    the new list (simulated here by the same storage call a worker makes)."""
    items = [make_item() for _ in range(4)]
    make_recommendations(alice, items[:2])
    client = api_client_for(alice)
    assert _ids(client) == [items[0].pk, items[1].pk]
    version = ModelVersion.objects.get(is_active=True)
    scoring._store(  # the worker's storage step, with a list it computed
        {alice.pk: [(str(items[3].pk), 0.9), (str(items[2].pk), 0.5)]}, version, timezone.now(), 0)
    assert _ids(client) == [items[3].pk, items[2].pk]
    assert Recommendation.objects.filter(user=alice).count() == 2


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_redis_down_answers_from_the_database(settings, alice, api_client_for, make_item, make_recommendations):
    """A cache that does not answer never fails a read (nor the throttle counting it)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    settings.RECSITE_ANSWER_CACHE_SECONDS = 300
    items = [make_item() for _ in range(3)]
    make_recommendations(alice, items)
    client = api_client_for(alice)
    assert _ids(client) == [i.pk for i in items]
    services.event_record(user=alice, data=EventInput(item=items[0], kind=EventKind.VIEW))
    assert _ids(client) == [i.pk for i in items[1:]]


def test_off_without_a_shared_cache(settings):
    """With a per-process cache nothing is cached: build runs every time."""
    settings.RECSITE_ANSWER_CACHE_SECONDS = 0
    calls = []
    for _ in range(2):
        body = answer_cache.recommendations_answer(user_id=1, k=10, build=lambda: calls.append(1) or {"a": "é"})
        assert body == '{"a":"é"}'.encode()
    assert len(calls) == 2


@pytest.mark.django_db
def test_cached_bytes_equal_what_drf_renders(alice, api_client_for, make_item, make_recommendations, settings):
    """The pre-rendered answer is byte for byte what DRF's JSON renderer writes."""
    from rest_framework.renderers import JSONRenderer

    make_recommendations(alice, [make_item(title="Amélie"), make_item(title="千と千尋")])
    response = api_client_for(alice).get(URL)
    assert response["Content-Type"] == "application/json"
    assert response.content == JSONRenderer().render(response.json())
