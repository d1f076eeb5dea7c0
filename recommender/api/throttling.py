"""Fixed-window rate limits counted in the shared cache, one counter per client and window.

DRF's SimpleRateThrottle stores the timestamp of every request in the window in one cache
value, which it reads and rewrites whole on each request; a counter is one `incr`.
"""
import logging
import time

from django.core.cache import cache
from rest_framework import throttling
from rest_framework.request import Request

log = logging.getLogger(__name__)

# the time windows are counted in (seconds since the epoch); tests set it
clock = time.time


class FixedWindowThrottle(throttling.SimpleRateThrottle):
    """Allow `num_requests` per `duration`-second window per client."""

    def allow_request(self, request: Request, view) -> bool:
        """Return True if the request should be allowed, False otherwise."""
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        now = clock()
        window = int(now // self.duration)
        key = f"{ident}:{window}"
        try:
            try:
                count = cache.incr(key)
            except ValueError:  # first request of the window
                count = 1 if cache.add(key, 1, self.duration + 1) else cache.incr(key)
        except Exception:  # noqa: BLE001 - the cache (Redis) is down
            # Fail open: rate limits smooth load, they are not what keeps accounts safe
            # (login lockout is, in the database); an outage of Redis must not take the
            # API down with it.
            log.warning("throttle counters unavailable; %s not counted", key, exc_info=True)
            return True
        self.retry_after = (window + 1) * self.duration - now
        return count <= self.num_requests

    def wait(self) -> float:
        """Return the seconds until the window resets."""
        return max(self.retry_after, 0.0)


class AnonThrottle(FixedWindowThrottle):
    scope = "anon"

    def get_cache_key(self, request: Request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return f"throttle:anon:{self.get_ident(request)}"


class UserThrottle(FixedWindowThrottle):
    scope = "user"

    def get_cache_key(self, request: Request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return f"throttle:user:{request.user.pk}"
        return None


class SignInThrottle(FixedWindowThrottle):
    """Limit sign-in attempts per client address, whoever they claim to be."""

    scope = "auth"

    def get_cache_key(self, request: Request, view) -> str | None:
        return f"throttle:auth:{self.get_ident(request)}"
