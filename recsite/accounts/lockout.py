"""Login lockout (django-axes) that slows password guessing without locking the owner out.

Axes records each wrong password in AccessAttempt (one row per username, address and user
agent, kept for a day: AXES_COOLOFF_TIME). A sign-in is refused, with 429 and Retry-After,
while any of these holds:

- **the address**: `RECSITE_LOCKOUT_ADDRESS_LIMIT` (100) failures from it within
  `RECSITE_LOCKOUT_WINDOW` (15 min), whatever the usernames; every account from it waits.
- **the username from this address**: `AXES_FAILURE_LIMIT` (10) within the window. The
  same username from another address is not held by it.
- **the username from a client it has never seen**: once the username has had
  `AXES_FAILURE_LIMIT` failures within the day, from anywhere, each sign-in from an address
  or device that never signed in to it waits `RECSITE_LOCKOUT_SLOWDOWN` (1 min) after the
  last failure, doubling with every further failure up to the window. Guessing from many
  addresses gets about four tries an hour.

An address or device that signed in to the account before (known_clients.py) is not slowed
down, so the owner keeps signing in from home or from their phone while someone else
guesses; a known device is also not held by its address's count for the username, only by
its own failures. Refused attempts are not counted. A successful sign-in forgets the
failures of its username from its address; a password change or reset forgets all of
the username's failures. Staff lift a lock by deleting its AccessAttempt rows in the admin.

The database rather than the cache: it is shared by every web process even when no Redis
is configured, it outlives a Redis restart, and axes' admin lists and deletes its rows.
"""
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import ngettext

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_credentials, get_failure_limit
from axes.models import AccessAttempt

from .known_clients import Trust, client_remember, client_trust, device_failure_record, device_key
from .models import User
from .signals import password_changed

LOCKOUT_TEMPLATE = "registration/lockout.html"
Failures = list[tuple[datetime, int]]  # (time of the latest failure of a row, its failures)


def client_address(request: HttpRequest) -> str | None:
    """Return the client's address: REMOTE_ADDR, or the one `RECSITE_NUM_PROXIES` trusted
    proxies in front of the site saw (their entries in X-Forwarded-For, counted from the right).

    Entries further left are whatever the client sent, so they are never trusted: with the
    default of no proxies a forged header changes nothing.
    """
    proxies = settings.RECSITE_NUM_PROXIES
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def _below_limit_at(rows: Failures, limit: int, window: timedelta) -> datetime | None:
    """Return when these failures drop below `limit` as the oldest leave the window, or None
    when they are below it already."""
    total = sum(n for _, n in rows)
    for when, n in sorted(rows):
        if total < limit:
            break
        total -= n
        if total < limit:
            return when + window
    return None


def slowdown_delay(failures: int) -> timedelta | None:
    """Return how long a sign-in from an unknown client waits after the username's last
    failure, given its failures within the day; None below the limit."""
    over = failures - settings.AXES_FAILURE_LIMIT
    if over < 0:
        return None
    return min(settings.RECSITE_LOCKOUT_WINDOW, settings.RECSITE_LOCKOUT_SLOWDOWN * 2 ** min(over, 20))


def sign_in_refused_until(*, username: str | None, address: str | None, trust: Trust | None,
                          now: datetime) -> datetime | None:
    """Return until when a sign-in as `username` from `address` is refused, or None if it may
    go ahead (the rules are in this module's docstring)."""
    window = settings.RECSITE_LOCKOUT_WINDOW
    recent = Q(ip_address=address, attempt_time__gte=now - window)
    if username is not None:
        recent |= Q(username=username, attempt_time__gte=now - get_cool_off())
    rows = list(AccessAttempt.objects.filter(recent).values_list(
        "username", "ip_address", "attempt_time", "failures_since_start"))
    in_window = [(u, a, t, n) for u, a, t, n in rows if t >= now - window]
    ends = [_below_limit_at([(t, n) for u, a, t, n in in_window if a == address],
                            settings.RECSITE_LOCKOUT_ADDRESS_LIMIT, window)]
    if username is not None and trust is not Trust.DEVICE:
        pair = [(t, n) for u, a, t, n in in_window if u == username and a == address]
        ends.append(_below_limit_at(pair, settings.AXES_FAILURE_LIMIT, window))
    if username is not None and trust is None:
        mine = [(t, n) for u, a, t, n in rows if u == username]
        delay = slowdown_delay(sum(n for _, n in mine))
        if delay is not None:
            ends.append(max(t for t, _ in mine) + delay)
    ends = [end for end in ends if end is not None and end > now]
    return max(ends) if ends else None


class SignInLockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with the rules of this module: it records failures and success
    as axes does, and decides who is refused."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """Return the failure limit when this sign-in is refused, else 0 (axes compares the
        two); remember until when on the request, for the lockout answer."""
        username = get_client_username(request, credentials)
        # Not axes_attempt_time: a new AccessAttempt row takes its time when it is saved.
        now = timezone.now()
        address = request.axes_ip_address
        trust = None if username is None else client_trust(
            username=username, address=address, key=device_key(request), now=now)
        request.recsite_refused_until = sign_in_refused_until(
            username=username, address=address, trust=trust, now=now)
        return get_failure_limit(request, credentials) if request.recsite_refused_until else 0

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        """Record a wrong password (not a refused attempt), also against a known device."""
        if request is not None and not getattr(request, "axes_locked_out", False):
            username = get_client_username(request, credentials)
            if username is not None:
                device_failure_record(username=username, key=device_key(request))
        super().user_login_failed(sender, credentials, request, **kwargs)

    def user_logged_in(self, sender, request, user, **kwargs) -> None:
        """Record a web or admin sign-in as axes does, and remember where it came from."""
        super().user_logged_in(sender, request, user, **kwargs)
        client_remember(request=request, user=user, address=request.axes_ip_address)

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """Forget the username's failures from this address after it signed in here.

        Failures from elsewhere stay: the owner signing in (a phone every few minutes)
        must not hand someone guessing elsewhere a fresh set of tries. Nor does the address
        lose its failures for other usernames, or anyone could clear their address's count
        between guesses by signing in to an account of their own.
        """
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials), ip_address=request.axes_ip_address).delete()
        return count


def sign_in_succeeded(*, request: HttpRequest, user: User) -> None:
    """Record a sign-in that did not go through `login()` (an API token) as a web sign-in is:
    forget this address's failures for the account and remember the address and device."""
    AxesProxyHandler.update_request(request)
    AxesProxyHandler.get_implementation().reset_user_attempts(request, get_credentials(user.get_username()))
    client_remember(request=request, user=user, address=request.axes_ip_address)


def lockout_clear(*, username: str) -> int:
    """Forget every recorded failure of this username, from any address; return the rows."""
    count, _ = AccessAttempt.objects.filter(username=username).delete()
    return count


@receiver(password_changed, dispatch_uid="recsite.accounts.lockout.clear_on_password_change")
def _clear_on_password_change(sender, user: User, **kwargs) -> None:
    # Whoever completed a reset proved they read the account's e-mail: the lock, which
    # only ever stood between them and the old password, has no more purpose.
    lockout_clear(username=user.get_username())


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """Answer a refused sign-in: 429 JSON with `detail` under /api/, else the lockout page;
    Retry-After says when the earliest sign-in from this client may go ahead."""
    until = getattr(request, "recsite_refused_until", None)
    wait = (until - timezone.now()) if until else settings.RECSITE_LOCKOUT_WINDOW
    seconds = max(1, math.ceil(wait.total_seconds()))
    minutes = max(1, math.ceil(seconds / 60))
    status = settings.AXES_HTTP_RESPONSE_CODE
    if request.path_info.startswith("/api/"):
        detail = ngettext(
            "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
            "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
        response: HttpResponse = JsonResponse({"detail": detail}, status=status)
    else:
        response = render(request, LOCKOUT_TEMPLATE, {"minutes": minutes}, status=status)
    response["Retry-After"] = str(seconds)
    return response
