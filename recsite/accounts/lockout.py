"""Login lockout (django-axes): one limit per account, a much higher one per address.

Axes counts failures per lockout parameter (here the username and the address) but compares
them all with one limit. A shared address (an office behind one NAT, a phone carrier) must
not be locked by one person's guessing, so the address gets a limit of its own: the handler
below reports an address that reached `RECSITE_LOCKOUT_ADDRESS_LIMIT` as if the account had
reached `AXES_FAILURE_LIMIT`, and otherwise reports the account's own failures. Everything
else (recording failures, the cool-off, the admin pages) is axes' database handler.
"""
from django.conf import settings
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_credentials, get_failure_limit
from axes.models import AccessAttempt

from .models import User

LOCKOUT_TEMPLATE = "registration/lockout.html"


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


def _failures(attempts: QuerySet) -> int:
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


class AccountAndAddressHandler(AxesDatabaseHandler):
    """Axes' database handler with separate account and address limits.

    The database rather than the cache: it is shared by every web process even when no
    Redis is configured (the local cache is per process, so each gunicorn worker would
    count on its own), it outlives a Redis restart, and axes' admin lists and deletes its
    rows, which is how staff see and lift lockouts.
    """

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """Return the account's recent failures, or at least the account limit when the
        request's address has reached the address limit."""
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        account = _failures(recent.filter(username=get_client_username(request, credentials)))
        address = _failures(recent.filter(ip_address=request.axes_ip_address))
        if address >= settings.RECSITE_LOCKOUT_ADDRESS_LIMIT:
            return max(account, get_failure_limit(request, credentials))
        return account

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """Forget the account's failures (from every address) after it logged in.

        Axes would also forget the address's failures; then anyone could clear their
        address's count between guesses by logging in to an account of their own.
        """
        count, _ = AccessAttempt.objects.filter(username=get_client_username(request, credentials)).delete()
        return count


def login_failures_reset(*, request: HttpRequest, user: User) -> int:
    """Forget the account's failures after a sign-in that did not go through `login()`
    (an API token): the same as a web login does through axes' `user_logged_in` handler."""
    return AxesProxyHandler.get_implementation().reset_user_attempts(
        request, get_credentials(user.get_username()))


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """Answer a locked-out sign-in: 429 JSON with `detail` under /api/, else the lockout page."""
    seconds = int(get_cool_off(request).total_seconds())
    minutes = max(1, -(-seconds // 60))
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
