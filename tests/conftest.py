"""Shared fixtures: people and items made in the database."""
import pytest
from django.conf import settings
from django.core.cache import cache

from recommender.models import Genre, Item
from recsite.accounts.models import User

PASSWORD = "a-Strong-passw0rd!"


@pytest.fixture(autouse=True)
def _fresh_shared_cache():
    """Forget this run's cache keys after each test, as the database forgets its rows: ids
    are reused after a rollback, so a cached answer or throttle counter must not outlive
    its test. Only this run's keys (its KEY_PREFIX) in a shared Redis are touched."""
    yield
    from recommender.text.selectors import search_index_reset

    search_index_reset()  # the search index is a per-process cache of the catalogue too
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture
def make_user(db):
    """Return a factory that creates a person who can log in with PASSWORD."""

    def make(username: str = "alice", **extra) -> User:
        return User.objects.create_user(username=username, password=PASSWORD, **extra)

    return make


@pytest.fixture
def make_item(db):
    """Return a factory that creates an item with the given genres."""
    counter = iter(range(1, 10**6))

    def make(title: str | None = None, genres: tuple[str, ...] = ("Drama",), year: int | None = 1999) -> Item:
        n = next(counter)
        item = Item.objects.create(external_id=f"test-{n}", title=title or f"Item {n}", year=year)
        item.genres.set([Genre.objects.get_or_create(name=g)[0] for g in genres])
        return item

    return make
