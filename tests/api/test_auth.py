"""Signing devices in and out with per-device tokens; the session for the browser."""
import re

import pytest
from django.contrib.auth.hashers import make_password
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from recommender.api import throttling
from recommender.api.models import DeviceToken
from recsite.accounts.models import User
from tests.conftest import PASSWORD

URL = "/api/v1/auth/token/"
ME = "/api/v1/events/"


def sign_in(username: str, password: str = PASSWORD, **extra):
    return APIClient().post(URL, {"username": username, "password": password, **extra}, format="json")


def test_sign_in_returns_a_working_token(alice):
    """The token works as `Authorization: Token <key>`; only its digest is stored."""
    response = sign_in("alice", device="Pixel 8")
    assert response.status_code == 201
    key = response.json()["token"]
    token = DeviceToken.objects.get()
    assert token.device == "Pixel 8" and key not in token.digest
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(ME).status_code == 200


@pytest.mark.parametrize("username, password", [("alice", "wrong"), ("nobody", PASSWORD)])
def test_wrong_credentials_answer_400(alice, username, password):
    response = sign_in(username, password)
    assert response.status_code == 400 and "detail" in response.json()
    assert not DeviceToken.objects.exists()


def test_inactive_person_cannot_sign_in_or_use_a_token(alice, api_client_for):
    client = api_client_for(alice)
    alice.is_active = False
    alice.save()
    assert sign_in("alice").status_code == 400
    assert client.get(ME).status_code == 401


def test_revoking_signs_out_only_that_device(alice):
    """DELETE revokes the token it was sent with; the other device stays signed in."""
    phone, tablet = APIClient(), APIClient()
    phone.credentials(HTTP_AUTHORIZATION=f"Token {sign_in('alice').json()['token']}")
    tablet.credentials(HTTP_AUTHORIZATION=f"Token {sign_in('alice').json()['token']}")
    assert phone.delete(URL).status_code == 204
    assert phone.get(ME).status_code == 401
    assert tablet.get(ME).status_code == 200


@pytest.mark.parametrize("header", ["Token nonsense", "Token", "Token a b", "Token \u00e9"])
def test_bad_tokens_answer_401_with_challenge(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_no_credentials_answer_401(db):
    assert APIClient().get(ME).status_code == 401


def test_session_works_for_the_browser_with_csrf(alice, make_item):
    """A logged-in browser reads with its session; writes need the CSRF token."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(ME).status_code == 200
    assert client.post(ME, {"item": make_item().pk, "kind": "view"}, format="json").status_code == 403
    assert client.delete(URL).status_code in (400, 403)


def test_sign_in_attempts_are_throttled(alice, monkeypatch):
    """Guessing passwords meets 429 with Retry-After."""
    monkeypatch.setattr(throttling.SignInThrottle, "rate", "3/min", raising=False)
    monkeypatch.setattr(throttling.SignInThrottle, "get_rate", lambda self: "3/min")
    from django.core.cache import cache

    cache.clear()
    codes = [sign_in("alice", "wrong").status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    assert int(sign_in("alice").headers["Retry-After"]) >= 0


def test_me_names_the_signed_in_person(alice, api_client_for):
    assert api_client_for(alice).get("/api/v1/me/").json() == {"id": alice.pk, "username": "alice", "is_staff": False}


NEW_PASSWORD = "n3w-Passw0rd!x"


def test_a_password_change_signs_every_device_out(alice, api_client_for):
    """Changing the password on the site revokes every token: each device must sign in again
    (the browser that changed it stays signed in, as Django keeps that session)."""
    phone, tablet = api_client_for(alice), api_client_for(alice)
    browser = Client()
    browser.force_login(alice)
    response = browser.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == reverse("password_change_done")
    assert phone.get(ME).status_code == 401 and tablet.get(ME).status_code == 401
    assert not DeviceToken.objects.filter(user=alice).exists()
    assert browser.get(reverse("history")).status_code == 200
    assert sign_in("alice", NEW_PASSWORD).status_code == 201


def test_a_password_reset_signs_every_device_out(make_user, api_client_for):
    """Resetting a forgotten password by e-mail revokes every token too."""
    alice = make_user("alice", email="alice@example.com")
    phone = api_client_for(alice)
    client = Client()
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    link = re.search(r"https?://[^/]+(/\S+)", mail.outbox[0].body).group(1)
    client.post(client.get(link)["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert phone.get(ME).status_code == 401


def test_a_password_set_by_staff_signs_every_device_out_but_others_keep_theirs(alice, bob, api_client_for):
    """Any new password (the admin, `changepassword`) revokes that person's tokens only."""
    phone, bobs = api_client_for(alice), api_client_for(bob)
    alice.set_password(NEW_PASSWORD)
    alice.save()
    assert phone.get(ME).status_code == 401 and bobs.get(ME).status_code == 200


def test_saving_other_fields_or_rehashing_keeps_the_tokens(alice, api_client_for, settings):
    """Editing a person, or Django re-hashing the same password with a newer hasher when
    they sign in, is no password change: their devices stay signed in."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    phone = api_client_for(alice)
    alice.first_name = "Alice"
    alice.save()
    User.objects.filter(pk=alice.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    assert sign_in("alice").status_code == 201
    assert User.objects.get(pk=alice.pk).password.startswith("md5$")  # it was re-hashed
    assert phone.get(ME).status_code == 200
