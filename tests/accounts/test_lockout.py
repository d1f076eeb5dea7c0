"""Login lockout (django-axes) on the web login, the admin login and the API token endpoint."""
import io
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse

from axes.models import AccessAttempt
from recommender.api.tokens import token_create
from recsite.accounts.known_clients import DEVICE_COOKIE
from recsite.accounts.lockout import client_address
from recsite.accounts.models import KnownClient
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


def time_passes(delta: timedelta) -> None:
    """Move every recorded failure and sign-in back by `delta`, as if that much time went by."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - delta)
    KnownClient.objects.update(last_sign_in_at=F("last_sign_in_at") - delta)


def cool_off_passes() -> None:
    """Let the lockout window pass since the last failure."""
    time_passes(settings.RECSITE_LOCKOUT_WINDOW + timedelta(seconds=1))


def test_settings_lock_an_account_after_ten_failures_and_an_address_much_later():
    """Ten failures lock a username at one address and start slowing it elsewhere; an address
    takes ten times as many; both count 15 minutes; a slow-down starts at one minute and
    counts a day of failures; a known client stays known for 90 days."""
    assert settings.AXES_FAILURE_LIMIT == ACCOUNT_LIMIT
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.RECSITE_LOCKOUT_ADDRESS_LIMIT == 10 * ACCOUNT_LIMIT
    assert settings.RECSITE_LOCKOUT_WINDOW == timedelta(minutes=15)
    assert settings.RECSITE_LOCKOUT_SLOWDOWN == timedelta(minutes=1)
    assert settings.AXES_COOLOFF_TIME == timedelta(days=1)
    assert settings.RECSITE_KNOWN_CLIENT_DAYS == 90
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
    # From an address alice never signed in from, the account is slowed down: refused too.
    assert login(Client(), "alice", PASSWORD, REMOTE_ADDR="10.9.8.7") == 429
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


# ---- attacks on one account from many places ---------------------------------------------
HOME = "198.51.100.4"
ATTACKERS = [f"203.0.113.{n}" for n in range(1, 11)]


def checked_guesses(username: str) -> int:
    """Wrong passwords for this username that were checked (refused attempts are not)."""
    return sum(AccessAttempt.objects.filter(username=username).values_list("failures_since_start", flat=True))


@pytest.mark.parametrize("entrance", ENTRANCES)
def test_owner_signs_in_from_home_while_ten_addresses_guess(entrance, make_user):
    """50 wrong passwords from 10 addresses: the first 10 are checked and the rest refused
    unchecked; the owner signs in from the address they used before, a stranger's waits."""
    login, ok, refused = ENTRANCES[entrance]
    make_user("alice", is_staff=True)
    assert login(Client(), "alice", PASSWORD, REMOTE_ADDR=HOME) in ok  # some day before
    statuses = [login(Client(), "alice", f"guess-{n}", REMOTE_ADDR=ATTACKERS[n % 10]) for n in range(50)]
    assert statuses == [refused] * (ACCOUNT_LIMIT - 1) + [429] * (50 - ACCOUNT_LIMIT + 1)
    assert checked_guesses("alice") == ACCOUNT_LIMIT

    assert login(Client(), "alice", PASSWORD, REMOTE_ADDR=HOME) in ok
    assert login(Client(), "alice", PASSWORD, REMOTE_ADDR="192.0.2.99") == 429
    assert checked_guesses("alice") == ACCOUNT_LIMIT  # the owner's sign-in forgave no guess


def test_guessing_from_new_addresses_gets_a_few_tries_an_hour(make_user):
    """Someone who waits exactly as long as Retry-After says, from a new address each time,
    gets 10 guesses at once, then one per doubling wait up to 15 minutes: at most about 105
    in 23 hours. The owner signs in from home at the end."""
    make_user("alice")
    assert web_login(Client(), "alice", PASSWORD, REMOTE_ADDR=HOME) == 302
    waited, attempts, waits = timedelta(0), 0, []
    while waited < timedelta(hours=23):
        attempts += 1
        address = f"10.{attempts // 250}.{attempts % 250}.1"
        response = Client().post(reverse("login"), {"username": "alice", "password": f"guess-{attempts}"},
                                 REMOTE_ADDR=address)
        if response.status_code == 429:
            wait = timedelta(seconds=int(response["Retry-After"]))
            assert Client().post(reverse("login"), {"username": "alice", "password": "again"},
                                 REMOTE_ADDR=address + "0").status_code == 429  # no way around the wait
            waits.append(wait)
            time_passes(wait)
            waited += wait
    assert [w.total_seconds() for w in waits[:6]] == [60, 120, 240, 480, 900, 900]
    guesses = checked_guesses("alice")
    assert 10 + 4 + 4 * 22 <= guesses <= 10 + 4 + 4 * 23
    assert web_login(Client(), "alice", PASSWORD, REMOTE_ADDR=HOME) == 302


@pytest.mark.parametrize("entrance", ["web", "token"])
def test_a_device_that_signed_in_before_gets_in_from_anywhere(entrance, make_user):
    """The owner's browser or app, known by the cookie its sign-in gave it, signs in from a
    new address where the account is both locked (10 failures there) and slowed down."""
    login, ok, refused = ENTRANCES[entrance]
    make_user("alice")
    device = Client()
    assert login(device, "alice", PASSWORD, REMOTE_ADDR=HOME) in ok
    cookie = device.cookies[DEVICE_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and int(cookie["max-age"]) == 90 * 24 * 3600
    cafe = "192.0.2.50"
    for n in range(ACCOUNT_LIMIT):
        login(Client(), "alice", f"guess-{n}", REMOTE_ADDR=cafe)
    assert login(Client(), "alice", PASSWORD, REMOTE_ADDR=cafe) == 429
    assert login(device, "alice", PASSWORD, REMOTE_ADDR=cafe) in ok
    assert KnownClient.objects.filter(user__username="alice", kind="device").count() == 1


def test_a_device_that_keeps_failing_is_a_stranger_again(make_user):
    """Ten wrong passwords from a known device (a stolen cookie), wherever it moves, end its
    trust: it is slowed down like any stranger. The owner's home address is still known."""
    make_user("alice")
    device = Client()
    assert web_login(device, "alice", PASSWORD, REMOTE_ADDR=HOME) == 302
    statuses = [web_login(device, "alice", f"guess-{n}", REMOTE_ADDR=f"192.0.2.{n}") for n in range(ACCOUNT_LIMIT)]
    assert statuses == [200] * (ACCOUNT_LIMIT - 1) + [429]
    assert web_login(device, "alice", PASSWORD, REMOTE_ADDR="192.0.2.200") == 429
    assert web_login(Client(), "alice", PASSWORD, REMOTE_ADDR=HOME) == 302


def test_a_completed_password_reset_lifts_the_lock(make_user):
    """The lockout page's reset link ends the lock: the new password works at once, here."""
    make_user("alice", email="alice@example.com")
    for n in range(ACCOUNT_LIMIT):
        web_login(Client(), "alice", f"guess-{n}")
    assert web_login(Client(), "alice", PASSWORD) == 429
    client = Client()
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    link = re.search(r"https?://[^/]+(/\S+)", mail.outbox[0].body).group(1)
    new = "n3w-Passw0rd!x"
    client.post(client.get(link)["Location"], {"new_password1": new, "new_password2": new})
    assert not AccessAttempt.objects.filter(username="alice").exists()
    assert web_login(Client(), "alice", new) == 302


def test_a_password_change_from_a_signed_in_browser_lifts_the_lock(make_user):
    """Changing the password where one is still signed in ends the lock too (docs/operations.md)."""
    user = make_user("alice")
    browser = Client()
    browser.force_login(user)
    for n in range(ACCOUNT_LIMIT):
        web_login(Client(), "alice", f"guess-{n}")
    assert web_login(Client(), "alice", PASSWORD) == 429
    new = "n3w-Passw0rd!x"
    response = browser.post(reverse("password_change"),
                            {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="alice").exists()
    assert web_login(Client(), "alice", new) == 302


def test_sessions_and_tokens_keep_working_while_the_account_is_locked(make_user):
    """A lock refuses new sign-ins only: a browser already signed in and a device's token go on."""
    user = make_user("alice")
    browser = Client()
    browser.force_login(user)
    key = token_create(user=user)[1]
    for n in range(ACCOUNT_LIMIT):
        web_login(Client(), "alice", f"guess-{n}")
    assert web_login(Client(), "alice", PASSWORD) == 429
    assert browser.get(reverse("history")).status_code == 200
    assert Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


@pytest.mark.parametrize("proxies", [0, 1])
def test_forged_forwarded_for_gets_around_no_lock(settings, make_user, proxies):
    """A client that forges X-Forwarded-For is still one address: claiming the owner's home
    address lends it no trust, and a new forged address per guess still locks it at the
    100th failure."""
    settings.RECSITE_NUM_PROXIES = proxies
    make_user("alice")
    make_user("carol")

    def seen(address: str, forged: str) -> dict:
        """What reaches the site from `address`, with `forged` in its header, behind the proxies."""
        if proxies:  # the proxy appends the address it saw
            return {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": f"{forged}, {address}"}
        return {"REMOTE_ADDR": address, "HTTP_X_FORWARDED_FOR": forged}

    attacker = "203.0.113.66"
    assert web_login(Client(), "alice", PASSWORD, **seen(HOME, "192.0.2.1")) == 302
    for n in range(ACCOUNT_LIMIT):
        web_login(Client(), "alice", f"guess-{n}", **seen(attacker, HOME))
    assert web_login(Client(), "alice", PASSWORD, **seen(attacker, HOME)) == 429
    assert web_login(Client(), "alice", PASSWORD, **seen(HOME, "192.0.2.1")) == 302

    limit = settings.RECSITE_LOCKOUT_ADDRESS_LIMIT
    statuses = [token_login(Client(), f"other-{n // 9}", "wrong", **seen(attacker, f"198.18.{n // 250}.{n % 250}"))
                for n in range(limit - ACCOUNT_LIMIT)]
    assert statuses == [400] * (limit - ACCOUNT_LIMIT - 1) + [429]
    assert web_login(Client(), "carol", PASSWORD, **seen(attacker, "198.18.9.9")) == 429
    assert web_login(Client(), "carol", PASSWORD, **seen(HOME, "198.18.9.9")) == 302


def test_staff_lift_a_lock_and_slow_down_from_a_shell(make_user):
    """`axes_reset_username` (docs/operations.md) ends both the lock here and the slow-down elsewhere."""
    make_user("alice")
    for n in range(ACCOUNT_LIMIT):
        web_login(Client(), "alice", f"guess-{n}", REMOTE_ADDR=ATTACKERS[0])
    assert web_login(Client(), "alice", PASSWORD, REMOTE_ADDR=ATTACKERS[0]) == 429
    assert web_login(Client(), "alice", PASSWORD, REMOTE_ADDR="192.0.2.7") == 429
    call_command("axes_reset_username", "alice", stdout=io.StringIO())
    assert web_login(Client(), "alice", PASSWORD, REMOTE_ADDR="192.0.2.7") == 302
    assert web_login(Client(), "alice", PASSWORD, REMOTE_ADDR=ATTACKERS[0]) == 302
