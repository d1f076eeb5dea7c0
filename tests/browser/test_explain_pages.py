"""The "why this?" page in a real browser under the site's real CSP: plots render, controls act."""
import pytest
from playwright.sync_api import expect

from explain import compute
from recommender.models import Recommendation
from recommender.scoring import score_people

from .conftest import log_in
from ..explain.conftest import catalogue, model_version, scored_person  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

COUNT_CANVASES = """() => {
  let n = 0;
  const walk = (root) => {
    n += root.querySelectorAll("canvas").length;
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  return n;
}"""



def top_items(person) -> list[int]:
    return list(Recommendation.objects.filter(user=person).order_by("rank").values_list("item_id", flat=True))


def open_why(page, person) -> None:
    page.goto("/")
    page.locator(".card-why").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Why")
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length >= 3", timeout=30_000)


def test_plots_render_without_console_errors(browser_page, scored_person, console_errors, screenshot):
    """Being prepared first; then heatmap, per-head view and graph render with drawn canvases."""
    page = browser_page
    log_in(page, "alice")
    page.goto("/")
    page.locator(".card-why").first.click()
    expect(page.locator("[data-explanation-status]")).to_contain_text("being prepared")
    screenshot("explain-preparing")
    compute.explain_person(scored_person.pk)  # what the explain worker does meanwhile
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length >= 3", timeout=30_000)
    page.wait_for_function(f"() => ({COUNT_CANVASES})() >= 3")
    drawn = page.evaluate("""() => Bokeh.documents.map(d => d.roots().length)""")
    assert drawn == [1, 1, 1]
    expect(page.locator(".reason-text")).not_to_be_empty()
    screenshot("explain-desktop-en")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length >= 3")
    wide = page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 8)""")
    screenshot("explain-phone-en")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), wide
    screenshot("explain-phone-en")
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": page.url}])
    page.reload()
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length >= 3")
    screenshot("explain-phone-zh")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length >= 3")
    screenshot("explain-desktop-zh")
    assert console_errors == []


def test_controls_change_the_next_recommendations(browser_page, scored_person, console_errors, screenshot):
    """"Not interested" removes the item at once; "don't use X" changes the next scoring."""
    compute.explain_person(scored_person.pk)
    page = browser_page
    log_in(page, "alice")
    first = top_items(scored_person)[0]
    page.goto(f"/recommendations/{first}/why/")
    page.locator("button[data-control=not_interested]").click()
    expect(page.locator(f'.card-grid a[href="/items/{first}/"]')).to_have_count(0)

    score_people([scored_person.pk], version_id=None)  # what the scoring worker does next
    compute.explain_person(scored_person.pk)
    before = dict(Recommendation.objects.filter(user=scored_person).values_list("item_id", "score"))
    page.goto("/")
    page.locator(".card-why").first.click()
    button = page.locator("button[data-control=exclude]").first
    excluded = int(button.locator("xpath=..").locator("input[name=item]").get_attribute("value"))
    button.click()
    expect(page.locator(".messages")).to_contain_text("on")
    score_people([scored_person.pk], version_id=None)
    after = dict(Recommendation.objects.filter(user=scored_person).values_list("item_id", "score"))
    assert after != before
    compute.explain_person(scored_person.pk)
    page.goto("/")
    page.locator(".card-why").first.click()
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length >= 3")
    item = int(page.url.rstrip("/").split("/")[-2])
    from explain.models import Explanation

    assert excluded not in Explanation.objects.get(user=scored_person, item_id=item).data["history"]
    screenshot("explain-after-controls")
    assert console_errors == []
