"""Per-person rate limits counted in the shared cache."""
from django.core.cache import cache

from recommender.api import throttling


def test_person_over_the_limit_gets_429(alice, bob, api_client_for, monkeypatch):
    """The limit counts per person: Alice is stopped, Bob is not."""
    monkeypatch.setattr(throttling.UserThrottle, "get_rate", lambda self: "5/min")
    monkeypatch.setattr(throttling, "clock", lambda: 1_800_000_030.0)  # mid-minute: one window
    cache.clear()
    client = api_client_for(alice)
    codes = [client.get("/api/v1/recommendations/").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    assert api_client_for(bob).get("/api/v1/recommendations/").status_code == 200


def test_a_new_window_starts_a_new_count(alice, api_client_for, monkeypatch):
    """The count is per fixed window: stopped at the end of one minute, let through at the
    start of the next, with Retry-After saying how long is left."""
    monkeypatch.setattr(throttling.UserThrottle, "get_rate", lambda self: "5/min")
    now = [1_800_000_058.0]  # two seconds before a minute ends
    monkeypatch.setattr(throttling, "clock", lambda: now[0])
    cache.clear()
    client = api_client_for(alice)
    assert [client.get("/api/v1/recommendations/").status_code for _ in range(5)] == [200] * 5
    stopped = client.get("/api/v1/recommendations/")
    assert stopped.status_code == 429 and stopped["Retry-After"] == "2"
    now[0] = 1_800_000_060.5  # the next minute
    assert client.get("/api/v1/recommendations/").status_code == 200
