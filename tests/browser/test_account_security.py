"""Account security in a real browser: the owner gets in while their account is attacked,
the lockout page in both languages and widths, a duplicate e-mail at sign-up, and item
pages that record a view only when the person opened them."""
import pytest
from django.test import Client
from playwright.sync_api import expect

from recommender.models import Event
from recsite.accounts.known_clients import DEVICE_COOKIE
from tests.conftest import PASSWORD

from .conftest import log_in

pytestmark = pytest.mark.browser

WIDTHS = {"wide": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def guess_from_elsewhere(username: str, times: int) -> None:
    """Send wrong passwords for `username` from ten other addresses (the test process talks
    to the same database as the live server)."""
    for n in range(times):
        Client().post("/accounts/login/", {"username": username, "password": f"guess-{n}"},
                      REMOTE_ADDR=f"203.0.113.{n % 10 + 1}")


def test_the_owner_signs_in_while_strangers_are_slowed_down(browser_page, make_user, screenshot):
    """The owner's browser signed in before (its cookie and its address are known): after 50
    guesses from ten addresses it still signs in; the account is not locked for it."""
    make_user("alice")
    page = browser_page
    log_in(page, "alice")
    assert any(c["name"] == DEVICE_COOKIE and c["httpOnly"] for c in page.context.cookies())
    page.get_by_role("button", name="Log out").click()
    guess_from_elsewhere("alice", 50)
    log_in(page, "alice")
    screenshot("security-01-owner-signed-in-while-attacked")
    stranger = Client().post("/accounts/login/", {"username": "alice", "password": PASSWORD},
                             REMOTE_ADDR="192.0.2.99")
    assert stranger.status_code == 429


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("width", WIDTHS)
def test_the_lockout_page_reads_well(browser_page, make_user, screenshot, console_errors, language, width):
    """Ten wrong passwords here show the site's lockout page, translated, with a reset link."""
    make_user("bob")
    page = browser_page
    page.set_viewport_size(WIDTHS[width])
    page.goto("/accounts/login/")
    page.context.add_cookies([{"name": "django_language", "value": language,
                               "url": page.url}])
    for n in range(10):
        page.goto("/accounts/login/")
        page.locator("#id_username").fill("bob")
        page.locator("#id_password").fill(f"guess-{n}")
        page.locator("main form button[type=submit]").click()
    heading = "登录失败次数过多" if language == "zh-hans" else "Too many failed sign-in attempts"
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator("main a[href='/accounts/password_reset/']")).to_be_visible()
    screenshot(f"security-02-lockout-{language}-{width}")
    # Chromium reports the page's own 429 status as a console error; nothing else may fail.
    assert [e for e in console_errors if "status of 429" not in e] == []


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_signup_with_a_taken_email_says_so(browser_page, make_user, screenshot, language):
    make_user("alice", email="alice@example.com")
    page = browser_page
    page.set_viewport_size(WIDTHS["phone"])
    page.goto("/accounts/signup/")
    page.context.add_cookies([{"name": "django_language", "value": language, "url": page.url}])
    page.goto("/accounts/signup/")
    page.locator("#id_username").fill("mallory")
    page.locator("#id_email").fill("Alice@Example.com")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    message = "已有另一个账户使用此电子邮件地址" if language == "zh-hans" else "Another account already uses this e-mail"
    expect(page.locator("main")).to_contain_text(message)
    screenshot(f"security-03-signup-email-taken-{language}")


def test_a_link_from_another_site_records_no_view(browser_page, live_server, make_user, make_item):
    """Another site (here http://127.0.0.1:port, a different site from localhost) links to an
    item page: the browser sends the session cookie (SameSite=Lax) but Sec-Fetch-Site says
    cross-site, so nothing is recorded. Opening the item from the catalogue records a view."""
    alice = make_user("alice")
    item = make_item("Heat")
    page = browser_page
    log_in(page, "alice")
    evil = live_server.url.replace("localhost", "127.0.0.1") + "/elsewhere.html"
    target = f"{live_server.url}/items/{item.pk}/"
    page.route(evil, lambda route: route.fulfill(
        content_type="text/html", body=f'<a id="go" href="{target}">a film you may like</a>'))
    page.goto(evil)
    page.locator("#go").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Heat")
    assert not Event.objects.filter(user=alice).exists()

    page.goto("/items/")
    page.get_by_role("link", name="Heat").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Heat")
    assert Event.objects.filter(user=alice, item=item, kind="view").count() == 1
