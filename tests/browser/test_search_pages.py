"""Search by meaning and "more like this" in a real browser, in English and Chinese, at
desktop and phone widths."""
import pytest
from playwright.sync_api import expect

from tests.recommender.text.test_selectors import catalogue  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

NO_OVERFLOW_JS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.mark.parametrize("width", [1280, 390])
def test_search_by_meaning_and_more_like_this(browser_page, catalogue, console_errors, screenshot, width):  # noqa: F811
    """A theme typed in the search box finds Star Wars; its page lists similar films with why;
    the Chinese page says the same in Chinese; nothing scrolls sideways."""
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/items/")
    page.get_by_role("searchbox").fill("space adventure with robots")
    page.get_by_role("button", name="Search").click()
    first = page.locator(".card-grid .card").first
    expect(page.locator(".card-grid .card-title").first).to_have_text("Star Wars: Episode IV - A New Hope")
    assert page.evaluate(NO_OVERFLOW_JS)
    screenshot(f"search-meaning-{width}")

    first.get_by_role("link").click()
    similar = page.get_by_role("region", name="More like this")
    expect(similar).to_be_visible()
    expect(similar.locator(".card").first).to_contain_text("Same genres: Action, Adventure, Sci-Fi")
    assert page.evaluate(NO_OVERFLOW_JS)
    screenshot(f"similar-{width}")

    page.get_by_label("Language").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    similar = page.get_by_role("region", name="相似条目")
    expect(similar.locator(".card").first).to_contain_text("相同类型：动作、冒险、科幻")
    assert page.evaluate(NO_OVERFLOW_JS)
    screenshot(f"similar-zh-{width}")

    page.goto("/items/?q=%E6%98%9F%E7%90%83%E5%A4%A7%E6%88%98")  # 星球大战, Star Wars in Chinese
    expect(page.locator(".card-grid .card-title").first).to_have_text("Star Wars: Episode IV - A New Hope")
    screenshot(f"search-zh-{width}")
    assert console_errors == []
