"""Per-person rate limits counted in the shared cache."""
from django.core.cache import cache

from recommender.api import throttling


def test_person_over_the_limit_gets_429(alice, bob, api_client_for, monkeypatch):
    """The limit counts per person: Alice is stopped, Bob is not."""
    monkeypatch.setattr(throttling.UserThrottle, "get_rate", lambda self: "5/min")
    cache.clear()
    client = api_client_for(alice)
    codes = [client.get("/api/v1/recommendations/").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    assert api_client_for(bob).get("/api/v1/recommendations/").status_code == 200
