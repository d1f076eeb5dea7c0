"""The "why this?" page in a real browser under the site's real CSP: plots render, controls act."""
import re

import pytest
from playwright.sync_api import expect

from explain import compute
from recommender.models import Recommendation
from recommender.serving.scoring import score_people

from .conftest import log_in
from ..explain.conftest import acting_person, catalogue, model_version, scored_person  # noqa: F401 - fixtures
from ..explain.conftest import verb_mismatches

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
# elements of <main> that reach past the window's right edge, or tables wider than their box
OVERFLOW = """() => [
  ...[...document.querySelectorAll('main *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)),
  ...[...document.querySelectorAll('main table')]
    .filter(t => t.getBoundingClientRect().right > t.parentElement.getBoundingClientRect().right + 1)
    .map(t => 'table ' + (t.dataset.table || '') + ' clipped'),
].slice(0, 8)"""
# Bokeh documents embedded at load: the heatmap and the graph (the heads are in a closed <details>)
AT_LOAD = 2


def top_items(person) -> list[int]:
    return list(Recommendation.objects.filter(user=person).order_by("rank").values_list("item_id", flat=True))


def open_why(page, person) -> None:
    page.goto("/")
    page.locator(".card-why").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Why")
    page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length >= {AT_LOAD}", timeout=30_000)


def test_plots_render_without_console_errors(browser_page, scored_person, console_errors, screenshot):
    """Being prepared first; then heatmap and graph render with drawn canvases, the per-head
    view when its details open; nothing overflows at 1280 or 390 px, in English or Chinese."""
    page = browser_page
    log_in(page, "alice")
    page.goto("/")
    page.locator(".card-why").first.click()
    expect(page.locator("[data-explanation-status]")).to_contain_text("being prepared")
    screenshot("explain-preparing")
    compute.explain_person(scored_person.pk)  # what the explain worker does meanwhile
    page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length >= {AT_LOAD}", timeout=30_000)
    page.wait_for_function(f"() => ({COUNT_CANVASES})() >= {AT_LOAD}")
    assert page.evaluate("""() => Bokeh.documents.map(d => d.roots().length)""") == [1, 1]
    expect(page.locator(".reason-text")).not_to_be_empty()
    assert page.evaluate(OVERFLOW) == []
    screenshot("explain-desktop-en")
    page.locator("details.explain-details > summary").click()
    page.wait_for_function("() => Bokeh.documents.length === 3")
    page.wait_for_function(f"() => ({COUNT_CANVASES})() >= 3")
    screenshot("explain-desktop-en-details")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length >= {AT_LOAD}")
    wide = page.evaluate(OVERFLOW)
    screenshot("explain-phone-en")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1") and wide == [], wide
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": page.url}])
    page.reload()
    page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length >= {AT_LOAD}")
    assert page.evaluate(OVERFLOW) == []
    screenshot("explain-phone-zh")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length >= {AT_LOAD}")
    assert page.evaluate(OVERFLOW) == []
    screenshot("explain-desktop-zh")
    assert console_errors == []


def test_reason_verbs_match_what_was_done_and_no_badge_beside_a_rank_gain(
        browser_page, acting_person, scored_person, console_errors, screenshot):
    """On every explained page of a person who rated (5, 4 and 1 stars), liked and viewed,
    and of a newcomer who only viewed: each named item's verb is its event's kind, and a
    "checked by removal" badge stands only beside a removal that moves the item down (or
    leaves it). Screenshots of one page in English and Chinese, at 1280 and 390 px."""
    page = browser_page
    named_kinds = set()
    for person in (acting_person, scored_person):
        compute.explain_person(person.pk)
        page.context.clear_cookies()
        log_in(page, person.get_username())
        acts = {e.item.title: (e.kind, e.value) for e in person.events.order_by("occurred_at").select_related("item")}
        for rank, item in enumerate(top_items(person)[:12], start=1):
            page.goto(f"/recommendations/{item}/why/")
            reason = page.locator(".reason-text").inner_text()
            assert verb_mismatches(reason, acts) == [], reason
            named_kinds |= {kind for title, (kind, _v) in acts.items() if f"“{title}”" in reason}
            if page.locator("[data-checked]").count():
                check = page.locator(".check-text").inner_text()
                moved = re.search(r"moves it from #(\d+) to #(\d+)", check)
                assert (moved and int(moved[2]) > int(moved[1])) or f"leaves it at #{rank}" in check, check
                assert "moves it up" not in check
    assert named_kinds == {"rate", "like", "view"}

    page.context.clear_cookies()
    log_in(page, "carol")
    open_why(page, acting_person)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for language in ("en", "zh-hans"):
            page.context.add_cookies([{"name": "django_language", "value": language, "url": page.url}])
            page.reload()
            page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length >= {AT_LOAD}")
            page.wait_for_function(f"() => ({COUNT_CANVASES})() >= {AT_LOAD}")
            assert page.evaluate(OVERFLOW) == [], (width, language)
            if language != "en":
                assert "Because" not in page.locator(".reason-text").inner_text()
            screenshot(f"explain-carol-{language}-{width}")
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
    page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length >= {AT_LOAD}")
    item = int(page.url.rstrip("/").split("/")[-2])
    from explain.models import Explanation

    assert excluded not in Explanation.objects.get(user=scored_person, item_id=item).data["history"]
    screenshot("explain-after-controls")
    assert console_errors == []
