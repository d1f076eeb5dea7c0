"""A shared cache of each person's recommendations answer, for the API's hottest read.

`GET /api/v1/recommendations/` is read far more often than a person's list changes, and
building it costs several queries (the list, the explained reasons and their items). The
answer is cached per person, `k` and language, tagged with two version tokens:

- the person's token, replaced (on commit) whenever anything the answer depends on
  changes for them: their events and controls, their stored list, their explanations;
- the catalogue's token, replaced when items or genres change.

A read fetches both tokens and the answer in one round trip and uses the answer only if
its tags equal the current tokens. A miss reads the tokens *before* the database, so a
change committed after that read replaces a token and the answer written with the old
one is never used. Tokens are random and only ever replaced, never restored.

The cache must be shared by every process (Redis): with a per-process cache a worker's
change could not reach the web processes, so caching is off unless
`RECSITE_ANSWER_CACHE_SECONDS` is positive (it is when REDIS_URL is set). Any cache error
falls back to the database: Redis being down never fails a read.
"""
from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import translation

log = logging.getLogger(__name__)

CATALOGUE_KEY = "recs:catalogue"


def _person_key(user_id: int) -> str:
    return f"recs:person:{user_id}"


def _answer_key(user_id: int, k: int, language: str) -> str:
    return f"recs:answer:{user_id}:{k}:{language}"


def _enabled() -> bool:
    return settings.RECSITE_ANSWER_CACHE_SECONDS > 0


def recommendations_answer(*, user_id: int, k: int, build: Callable[[], dict]) -> bytes:
    """Return this person's answer for `k` as JSON bytes: cached, or `build()` and cache it.

    The JSON is stored rendered, as DRF's JSON renderer writes it (compact, UTF-8), so a
    hit costs neither unpickling a structure nor rendering it again.
    """
    if not _enabled():
        return _render(build())
    language = translation.get_language() or settings.LANGUAGE_CODE
    person_key, answer_key = _person_key(user_id), _answer_key(user_id, k, language)
    try:
        found = cache.get_many([person_key, CATALOGUE_KEY, answer_key])
        tags = (found.get(person_key), found.get(CATALOGUE_KEY))
        cached = found.get(answer_key)
        if None not in tags and cached is not None and cached[0] == tags:
            return cached[1]
        tags = (_token(person_key, found), _token(CATALOGUE_KEY, found))
    except Exception:  # noqa: BLE001 - any cache failure: answer from the database
        log.warning("answer cache unavailable; reading from the database", exc_info=True)
        return _render(build())
    answer = _render(build())
    try:
        cache.set(answer_key, (tags, answer), settings.RECSITE_ANSWER_CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        log.warning("answer cache unavailable; answer not cached", exc_info=True)
    return answer


def _render(answer: dict) -> bytes:
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _token(key: str, found: dict) -> str:
    """Return the current token under `key`, creating one if there is none."""
    if found.get(key) is not None:
        return found[key]
    cache.add(key, secrets.token_hex(8), None)
    return cache.get(key)


def people_changed(user_ids: Iterable[int]) -> None:
    """Retire the cached answers of these people once the current transaction commits."""
    if not _enabled():
        return
    keys = [_person_key(uid) for uid in set(user_ids)]
    if keys:
        transaction.on_commit(lambda: _replace(keys))


def catalogue_changed() -> None:
    """Retire every cached answer (items or genres changed) once the transaction commits."""
    if _enabled():
        transaction.on_commit(lambda: _replace([CATALOGUE_KEY]))


def catalogue_signal(**_kwargs) -> None:
    """Receiver of the item and genre change signals (connected in apps.py)."""
    catalogue_changed()


def _replace(keys: list[str]) -> None:
    try:
        cache.set_many({key: secrets.token_hex(8) for key in keys}, None)
    except Exception:  # noqa: BLE001
        # The change is committed; a stale answer lives at most the cache timeout.
        log.warning("answer cache unavailable; %d tokens not replaced", len(keys), exc_info=True)
