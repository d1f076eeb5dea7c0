"""Addresses and devices a person has signed in from, which login lockout trusts.

A sign-in with the right password remembers the client's address and gives its browser or
app a device cookie (a random key; only its digest is stored). Both are known for
`RECSITE_KNOWN_CLIENT_DAYS` after the last sign-in. A device keeps its trust until it sends
`AXES_FAILURE_LIMIT` wrong passwords for the account without signing in in between, so a
stolen cookie is no way around the limits.
"""
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .models import KnownClient, User

DEVICE_COOKIE = "recsite_device"
Kind = KnownClient.Kind


class Trust(StrEnum):
    """How well the client of a sign-in is known to the account it names."""

    DEVICE = "device"
    ADDRESS = "address"


def _known_for() -> timedelta:
    return timedelta(days=settings.RECSITE_KNOWN_CLIENT_DAYS)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def device_key(request: HttpRequest) -> str | None:
    """Return the device key of the request's cookie, or None when it has none that could be one."""
    key = request.COOKIES.get(DEVICE_COOKIE, "")
    return key if 32 <= len(key) <= 64 and key.isascii() else None


def client_trust(*, username: str, address: str | None, key: str | None, now: datetime) -> Trust | None:
    """Return DEVICE if this device signed in to the account before and has not failed too often
    since, ADDRESS if this address did, or None for a client the account has never seen."""
    rules = Q(kind=Kind.ADDRESS, value=address) if address else Q(pk__in=[])
    if key is not None:
        rules |= Q(kind=Kind.DEVICE, value=_digest(key), failures__lt=settings.AXES_FAILURE_LIMIT)
    kinds = set(KnownClient.objects.filter(
        rules, user__username=username, last_sign_in_at__gte=now - _known_for(),
    ).values_list("kind", flat=True))
    if Kind.DEVICE in kinds:
        return Trust.DEVICE
    return Trust.ADDRESS if Kind.ADDRESS in kinds else None


def device_failure_record(*, username: str, key: str | None) -> None:
    """Count a wrong password sent for the account from this device."""
    if key is not None:
        KnownClient.objects.filter(user__username=username, kind=Kind.DEVICE, value=_digest(key)).update(
            failures=F("failures") + 1)


def client_remember(*, request: HttpRequest, user: User, address: str | None) -> None:
    """Remember the address of a sign-in with the right password; mark the request so that
    DeviceCookieMiddleware gives its browser or app the device cookie with the answer."""
    now = timezone.now()
    KnownClient.objects.filter(user=user, last_sign_in_at__lt=now - _known_for()).delete()
    if address:
        KnownClient.objects.update_or_create(user=user, kind=Kind.ADDRESS, value=address,
                                             defaults={"last_sign_in_at": now})
    request.recsite_signed_in = user


def device_remember(*, user: User, key: str | None) -> str:
    """Trust this device (a new key when it has none) for the account; return its key."""
    key = key or secrets.token_urlsafe(32)
    KnownClient.objects.update_or_create(user=user, kind=Kind.DEVICE, value=_digest(key),
                                         defaults={"failures": 0, "last_sign_in_at": timezone.now()})
    return key


class DeviceCookieMiddleware:
    """Give the device cookie to a browser or app that just signed in (web, admin or API).

    Set here, on the answer that completes the sign-in, rather than at `login()`: test and
    shell logins that never answer a client leave no device behind.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "recsite_signed_in", None)
        if user is not None and response.status_code < 400:
            key = device_remember(user=user, key=device_key(request))
            response.set_cookie(
                DEVICE_COOKIE, key, max_age=int(_known_for().total_seconds()),
                secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax",
            )
        return response
