"""Login lockout (django-axes) on the web login, the admin login and the API token endpoint."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import F
from django.test import Client
from django.urls import reverse

from axes.models import AccessAttempt
from recsite.accounts.lockout import client_address
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ACCOUNT_LIMIT = 10


def web_login(client: Client, username: str, password: str, **extra) -> int:
    """Post the site's login form; return the status (302 is logged in)."""
    return client.post(reverse("login"), {"username": username, "password": password}, **extra).status_code


def admin_login(client: Client, username: str, password: str, **extra) -> int:
    """Post the admin's login form; return the status (302 is logged in)."""
    return client.post(reverse("admin:login"), {"username": username, "password": password}, **extra).status_code


def token_login(client: Client, username: str, password: str, **extra) -> int:
    """Ask the API for a token; return the status (201 is signed in)."""
    return client.post(reverse("api-token"), {"username": username, "password": password},
                       content_type="application/json", **extra).status_code


ENTRANCES = {
    "web": (web_login, {302}, 200),
    "admin": (admin_login, {302}, 200),
    "token": (token_login, {201}, 400),
}


def cool_off_passes() -> None:
    """Move every recorded failure back past the cool-off, as if that much time went by."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))


def test_settings_lock_an_account_after_ten_failures_and_an_address_much_later():
    """Ten failures lock an account; an address takes ten times as many; 15 minutes cool-off."""
    assert settings.AXES_FAILURE_LIMIT == ACCOUNT_LIMIT
    assert settings.RECSITE_LOCKOUT_ADDRESS_LIMIT == 10 * ACCOUNT_LIMIT
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert settings.AXES_ENABLED


@pytest.mark.parametrize("entrance", ENTRANCES)
def test_eleven_wrong_passwords_lock_the_account_not_the_others(entrance, make_user):
    """The tenth and eleventh wrong passwords answer 429; others log in; the right password
    is refused until the cool-off has passed."""
    login, ok, refused = ENTRANCES[entrance]
    make_user("alice", is_staff=True)
    make_user("bob", is_staff=True)
    statuses = [login(Client(), "alice", f"wrong-{n}") for n in range(11)]
    assert statuses == [refused] * (ACCOUNT_LIMIT - 1) + [429, 429]

    assert login(Client(), "bob", PASSWORD) in ok  # same address, another account
    assert login(Client(), "alice", PASSWORD) == 429
    assert login(Client(), "alice", PASSWORD, REMOTE_ADDR="10.9.8.7") == 429  # the account, anywhere
    cool_off_passes()
    assert login(Client(), "alice", PASSWORD) in ok


def test_web_lockout_page_is_translated_and_styled(make_user):
    """The lockout page is the site's page, in the visitor's language, with a reset link."""
    make_user("alice")
    for n in range(ACCOUNT_LIMIT):
        web_login(Client(), "alice", f"wrong-{n}")
    response = Client().post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.text and "15 minutes" in response.text
    assert 'href="/static/css/site.css"' in response.text
    assert reverse("password_reset") in response.text
    assert int(response["Retry-After"]) == 15 * 60

    chinese = Client()
    chinese.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = chinese.post(reverse("admin:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert '<html lang="zh-hans">' in response.text and "登录失败次数过多" in response.text


def test_api_lockout_answers_json_with_detail(make_user):
    """A locked-out token request answers 429 JSON with `detail` and Retry-After."""
    make_user("alice")
    for n in range(ACCOUNT_LIMIT):
        token_login(Client(), "alice", f"wrong-{n}")
    response = Client().post(reverse("api-token"), {"username": "alice", "password": PASSWORD},
                             content_type="application/json")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert "Try again in 15 minutes" in response.json()["detail"]
    assert int(response["Retry-After"]) == 15 * 60


def test_failures_count_across_entrances(make_user):
    """Web, admin and API failures add up for one account."""
    make_user("alice")
    for n in range(ACCOUNT_LIMIT - 1):
        [web_login, admin_login, token_login][n % 3](Client(), "alice", f"wrong-{n}")
    assert token_login(Client(), "alice", "wrong-last") == 429


@pytest.mark.parametrize("entrance", ["web", "token"])
def test_a_successful_login_resets_the_account(entrance, make_user):
    """After a success, the account has ten fresh tries again."""
    login, ok, refused = ENTRANCES[entrance]
    make_user("alice")
    for n in range(ACCOUNT_LIMIT - 1):
        assert login(Client(), "alice", f"wrong-{n}") == refused
    assert login(Client(), "alice", PASSWORD) in ok
    assert not AccessAttempt.objects.filter(username="alice").exists()
    for n in range(ACCOUNT_LIMIT - 1):
        assert login(Client(), "alice", f"again-{n}") == refused


def test_an_address_locks_only_after_many_more_failures(make_user):
    """Guessing across many accounts from one address locks that address at 100 failures,
    for every account from it; other addresses are unaffected."""
    make_user("carol")
    office, home = "203.0.113.7", "198.51.100.4"
    limit = settings.RECSITE_LOCKOUT_ADDRESS_LIMIT
    for n in range(limit - 1):  # nine per name, so no single account locks
        assert token_login(Client(), f"guess-{n // 9}", "wrong", REMOTE_ADDR=office) == 400
    assert web_login(Client(), "carol", PASSWORD, REMOTE_ADDR=office) == 302
    assert token_login(Client(), "guess-x", "wrong", REMOTE_ADDR=office) == 429  # the 100th
    assert web_login(Client(), "carol", PASSWORD, REMOTE_ADDR=office) == 429
    assert web_login(Client(), "carol", PASSWORD, REMOTE_ADDR=home) == 302
    cool_off_passes()
    assert web_login(Client(), "carol", PASSWORD, REMOTE_ADDR=office) == 302


def test_logging_in_to_ones_own_account_does_not_clear_the_address(make_user):
    """Someone guessing cannot reset their address's count by logging in to their own account."""
    make_user("mallory")
    limit = settings.RECSITE_LOCKOUT_ADDRESS_LIMIT
    for n in range(limit - 1):
        token_login(Client(), f"victim-{n // 9}", "wrong")
        if n % 30 == 0:
            assert token_login(Client(), "mallory", PASSWORD) == 201
    assert token_login(Client(), "victim-x", "wrong") == 429


def test_attempts_while_locked_do_not_count(make_user):
    """A device retrying a locked account does not extend its lockout or fill the address."""
    make_user("alice")
    for n in range(ACCOUNT_LIMIT):
        token_login(Client(), "alice", f"wrong-{n}")
    for _ in range(5):
        assert token_login(Client(), "alice", "stale") == 429
    assert AccessAttempt.objects.get(username="alice").failures_since_start == ACCOUNT_LIMIT


def test_staff_see_and_lift_a_lockout_in_the_admin(make_user):
    """The locked account is listed in the admin; deleting its attempts lets it log in."""
    make_user("alice")
    staff = Client()
    staff.force_login(make_user("root", is_staff=True, is_superuser=True))
    for n in range(ACCOUNT_LIMIT):
        web_login(Client(), "alice", f"wrong-{n}")
    changelist = reverse("admin:axes_accessattempt_changelist")
    response = staff.get(changelist)
    assert response.status_code == 200 and "alice" in response.text and "Locked Out" in response.text
    attempt = AccessAttempt.objects.get(username="alice")
    response = staff.post(changelist, {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"})
    assert response.status_code == 302
    assert web_login(Client(), "alice", PASSWORD) == 302


@pytest.mark.parametrize(("proxies", "meta", "expected"), [
    (0, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}, "10.0.0.1"),
    (1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.2.3.4"}, "1.2.3.4"),
    (2, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.2.3.4, 10.0.0.2"}, "1.2.3.4"),
    (1, {"REMOTE_ADDR": "10.0.0.1"}, "10.0.0.1"),
])
def test_client_address_trusts_only_the_configured_proxies(rf, settings, proxies, meta, expected):
    """Only entries added by trusted proxies count; what the client put in the header does not."""
    settings.RECSITE_NUM_PROXIES = proxies
    assert client_address(rf.get("/", **meta)) == expected
