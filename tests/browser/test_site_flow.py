"""The main path through the site in a real browser: sign up to history, in two languages."""
import re

import pytest
from playwright.sync_api import expect

from recommender.models import EventKind
from recommender.activity.services import EventInput, event_record
from recsite.accounts.models import User

pytestmark = pytest.mark.browser

PASSWORD = "a-Strong-passw0rd!"


@pytest.fixture
def catalogue(make_item, make_user) -> None:
    """Create a small catalogue in which one item is popular."""
    heat = make_item("Heat", genres=("Crime", "Thriller"), year=1995)
    make_item("Toy Story", genres=("Animation", "Comedy"), year=1995)
    make_item("Spirited Away", genres=("Animation", "Fantasy"), year=2001)
    event_record(user=make_user("bob"), data=EventInput(item=heat, kind=EventKind.VIEW))


def test_sign_up_rate_and_find_it_in_history(browser_page, catalogue, console_errors, screenshot):
    """Sign up, log in again, search, rate, see it in history, then switch to Chinese."""
    page = browser_page
    page.goto("/accounts/signup/")
    page.locator("#id_username").fill("carol")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    screenshot("01-signup")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Rate a few items to get recommendations")).to_be_visible()
    assert User.objects.filter(username="carol").exists()
    screenshot("02-home-newcomer")

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Log in").first.click()
    page.locator("#id_username").fill("carol")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.locator(".whoami")).to_have_text("carol")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalogue").click()
    page.get_by_role("searchbox").fill("toy")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".card")).to_have_count(1)
    screenshot("03-catalogue-search")
    page.get_by_role("link", name="Toy Story").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Toy Story")

    page.get_by_role("button", name="4 stars").click()
    expect(page.get_by_text("You rated this 4 out of 5.")).to_be_visible()
    screenshot("04-item-rated")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    row = page.locator(".history-row").filter(has_text="Toy Story").first
    expect(row).to_contain_text("rated 4★")
    screenshot("05-history")

    page.get_by_label("Language").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的历史")
    expect(page).to_have_url(re.compile(r"/history/$"))
    screenshot("06-history-zh-hans")

    assert console_errors == []


NO_OVERFLOW_JS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def test_pages_fit_a_phone(browser_page, catalogue, make_user, console_errors, screenshot):
    """At phone width the pages scroll only vertically and the nav stays usable."""
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 740})
    make_user("dave")
    page.goto("/accounts/login/")
    page.locator("#id_username").fill("dave")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    for name, path in [("home", "/"), ("catalogue", "/items/"), ("history", "/history/")]:
        page.goto(path)
        assert page.evaluate(NO_OVERFLOW_JS), f"{path} scrolls sideways"
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalogue")).to_be_visible()
        screenshot(f"phone-{name}")
    page.get_by_role("link", name="Catalogue").first.click()
    page.get_by_role("link", name="Spirited Away").click()
    assert page.evaluate(NO_OVERFLOW_JS)
    screenshot("phone-item")
    assert console_errors == []
