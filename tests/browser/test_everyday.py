"""The everyday controls and pages in a real Chromium, in English and Chinese, at desktop
(1280 px) and phone (390 px) width: the feed switch, less of / never a genre and undo,
reset and undo, not recording views, deleting an item from the history, the settings and
"how recommendations work" pages; the home page updating itself during a first training;
and no page scrolling sideways on a phone or clipping a table on a desktop."""
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from explain import compute
from recommender.activity import selectors as activity
from recommender.models import (
    Event,
    GenreControl,
    ModelVersion,
    Preferences,
    Recommendation,
    RunStatus,
    TrainingRun,
)
from recommender.serving.scoring import score_people
from tests.explain.conftest import catalogue, model_version, scored_person, watch  # noqa: F401 - fixtures

from .conftest import log_in

pytestmark = pytest.mark.browser

SIZES = [("en", 1280), ("en", 390), ("zh-hans", 1280), ("zh-hans", 390)]
NO_SIDEWAYS_JS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# Tables wider than the window, or than a scrolling box around them (which hides a part).
CLIPPED_TABLES_JS = """() => {
  const name = (t) => (t.caption?.textContent || t.querySelector("th")?.textContent || t.className).trim().slice(0, 40);
  const bad = [];
  for (const table of document.querySelectorAll("table")) {
    if (!table.offsetParent) continue;
    if (table.getBoundingClientRect().right > document.documentElement.clientWidth + 1) {
      bad.push(`${name(table)}: beyond the window`); continue;
    }
    for (let box = table.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== "visible" && box.scrollWidth > box.clientWidth + 1) {
        bad.push(`${name(table)}: ${box.scrollWidth - box.clientWidth} px hidden in .${box.className}`); break;
      }
    }
  }
  return bad;
}"""


def open_as(page, username: str, language: str, width: int) -> None:
    """Size the window, choose the language, and log in through the site's form."""
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, username)
    page.context.add_cookies([{"name": "django_language", "value": language, "url": page.url}])


def fits(page) -> None:
    assert page.evaluate(NO_SIDEWAYS_JS), f"{page.url} scrolls sideways"


def listed_ids(page) -> list[int]:
    hrefs = page.locator("#feed-slot .card-link").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    return [int(h.rstrip("/").split("/")[-1]) for h in hrefs]


@pytest.mark.parametrize(("language", "width"), SIZES)
def test_every_control_in_the_browser(browser_page, scored_person, console_errors, screenshot, language, width):
    """Feed switch (popular, newest, back to "for you"), never a genre and undo, less of a
    genre and undo, reset and undo, view recording, delete from history, the settings and
    "how it works" pages: each changes what the next page shows."""
    page, tag = browser_page, f"{language}-{width}"
    page.on("dialog", lambda dialog: dialog.accept())
    open_as(page, "alice", language, width)
    person = scored_person

    page.goto("/settings/")
    fits(page)
    screenshot(f"everyday-settings-{tag}")
    page.locator("[data-feed=popular]").click()
    expect(page.locator("[data-feed=popular]")).to_have_attribute("aria-pressed", "true")
    assert Preferences.objects.get(user=person).feed == "popular"
    page.goto("/")
    expect(page.locator("#feed-slot")).to_have_attribute("data-feed", "popular")
    fits(page)
    screenshot(f"everyday-home-popular-{tag}")
    page.goto("/settings/")
    page.locator("[data-feed=newest]").click()
    expect(page.locator("[data-feed=newest]")).to_have_attribute("aria-pressed", "true")
    page.goto("/")
    expect(page.locator("#feed-slot")).to_have_attribute("data-feed", "newest")
    assert listed_ids(page) == [i.pk for i in activity.item_newest(user=person, limit=12)]
    fits(page)
    screenshot(f"everyday-home-newest-{tag}")
    page.locator(".feed-switch button[value=personal]").click()
    expect(page.locator("#feed-slot")).to_have_attribute("data-state", "ready")
    personal = listed_ids(page)
    assert personal == [r.item_id for r in Recommendation.objects.filter(user=person).order_by("rank")][:12]

    first = Recommendation.objects.filter(user=person).order_by("rank").first().item
    genre = first.genres.get()
    page.goto(f"/items/{first.pk}/")
    fits(page)
    page.locator(f"form:has(input[name=genre][value='{genre.pk}']) [data-genre-control=exclude]").click()
    expect(page.locator(".messages")).to_be_visible()
    expect(page.locator(f"form:has(input[name=genre][value='{genre.pk}']) [data-genre-control=exclude]")) \
        .to_have_attribute("aria-pressed", "true")
    screenshot(f"everyday-item-genre-never-{tag}")
    page.goto("/")
    shown = listed_ids(page)
    assert shown and not set(shown) & set(genre.items.values_list("pk", flat=True))
    page.goto("/settings/")
    page.locator(f"[data-genre-undo='{genre.name}']").click()
    expect(page.locator(".messages")).to_be_visible()
    assert not GenreControl.objects.filter(user=person).exists()
    page.goto("/")
    shown = listed_ids(page)  # the stored list again, less the item whose page was opened
    assert shown == [i for i in [r.item_id for r in Recommendation.objects.filter(user=person).order_by("rank")]
                     if i != first.pk][:12]
    assert set(shown) & set(genre.items.values_list("pk", flat=True))

    page.goto(f"/items/{first.pk}/")
    page.locator(f"form:has(input[name=genre][value='{genre.pk}']) [data-genre-control=less]").click()
    expect(page.locator(f"form:has(input[name=genre][value='{genre.pk}']) [data-genre-control=less]")) \
        .to_have_attribute("aria-pressed", "true")
    screenshot(f"everyday-item-genre-less-{tag}")
    page.goto("/")
    shown = listed_ids(page)
    of_genre = set(genre.items.values_list("pk", flat=True))
    ranked = [i for i in Recommendation.objects.filter(user=person).order_by("rank").values_list("item_id", flat=True)
              if i != first.pk]
    assert shown == activity.demote_genres(ranked, lambda i: {genre.pk} if i in of_genre else set(),
                                            {genre.pk})[:12]
    assert all(sum(i in of_genre for i in shown[k:k + 5]) <= 1 for k in range(len(shown)))  # one in five at most
    page.goto("/settings/")
    page.locator(f"[data-genre-undo='{genre.name}']").click()
    expect(page.locator(".messages")).to_be_visible()
    assert not GenreControl.objects.filter(user=person).exists()

    page.goto("/settings/")
    page.locator("[data-action=reset]").click()
    expect(page.locator("[data-action=undo-reset]")).to_be_visible()
    screenshot(f"everyday-settings-after-reset-{tag}")
    page.goto("/")
    expect(page.locator("#feed-slot")).to_have_attribute("data-state", "fresh_start")
    fits(page)
    screenshot(f"everyday-home-fresh-start-{tag}")
    page.goto("/settings/")
    page.locator("[data-action=undo-reset]").click()
    expect(page.locator("[data-action=undo-reset]")).to_have_count(0)
    assert Preferences.objects.get(user=person).reset_at is None
    score_people([person.pk], version_id=None)  # what the scoring worker does after the undo
    page.goto("/")
    expect(page.locator("#feed-slot")).to_have_attribute("data-state", "ready")

    page.goto(f"/items/{first.pk}/")
    views = Event.objects.filter(user=person, item=first, kind="view").count()
    page.locator("form[action='/settings/views/'] button").click()
    expect(page.locator(".view-notice")).to_be_visible()
    page.reload()
    assert Event.objects.filter(user=person, item=first, kind="view").count() == views
    screenshot(f"everyday-item-views-off-{tag}")
    page.locator("form[action='/settings/views/'] button").click()
    expect(page.locator(".messages")).to_be_visible()
    assert Preferences.objects.get(user=person).record_views is True

    page.goto("/history/")
    fits(page)
    screenshot(f"everyday-history-{tag}")
    row = page.locator(".history-row").first
    item_id = int(row.get_attribute("data-item"))
    rows = page.locator(".history-row").count()
    row.locator("[data-control=delete]").click()
    expect(page.locator(".history-row")).to_have_count(rows - 1)
    assert not Event.objects.filter(user=person, item_id=item_id).exists()

    page.goto("/how-recommendations-work/")
    fits(page)
    expect(page.locator("h1")).to_have_text("How recommendations work here" if language == "en" else "本站的推荐是如何运作的")
    screenshot(f"everyday-how-it-works-{tag}")
    assert console_errors == []


@pytest.mark.parametrize(("language", "width"), SIZES)
def test_home_shows_a_first_training_and_updates_without_a_reload(
        browser_page, make_user, catalogue, model_version, console_errors, screenshot, language, width):  # noqa: F811
    """No model yet: the home page shows the run's progress with an honest estimate (a
    bound while only max_epochs limits it), popular items meanwhile, and updates itself as
    the run goes on and when the list is ready, without reloading."""
    page, tag = browser_page, f"{language}-{width}"
    person = make_user("early")
    watch(person, catalogue[:5])
    ModelVersion.objects.update(is_active=False)
    run = TrainingRun.objects.create(status=RunStatus.RUNNING, epoch=1, max_epochs=200, progress=0.005,
                                     eta_s=5970.0, elapsed_s=30.0, started_at=timezone.now())
    open_as(page, "early", language, width)
    page.goto("/")
    figures = page.locator(".training-figures")
    expect(figures).to_contain_text("at most" if language == "en" else "最多")
    expect(page.locator("#popular-heading")).to_be_visible()
    fits(page)
    screenshot(f"first-training-bound-{tag}")
    page.evaluate("() => { window.sameDocument = true; }")

    TrainingRun.objects.filter(pk=run.pk).update(epoch=4, horizon=10.0, progress=0.4, eta_s=180.0, elapsed_s=120.0)
    expect(figures).to_contain_text("about 3 min 00 s" if language == "en" else "约 3 分 00 秒", timeout=15_000)
    expect(page.locator(".training-progress progress")).to_have_attribute("value", "40")
    assert page.evaluate("() => window.sameDocument === true"), "the page reloaded"
    screenshot(f"first-training-estimate-{tag}")

    TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, progress=1.0, eta_s=0.0)
    ModelVersion.objects.update(is_active=True)
    score_people([person.pk], version_id=None)  # the rescoring after activation
    expect(page.locator("#feed-slot")).to_have_attribute("data-state", "ready", timeout=15_000)
    assert page.locator("#feed-slot .card").count() > 0
    assert page.evaluate("() => window.sameDocument === true"), "the page reloaded"
    fits(page)
    screenshot(f"first-training-ready-{tag}")
    assert console_errors == []


def test_no_page_scrolls_sideways_on_a_phone_or_clips_a_table_on_a_desktop(
        browser_page, scored_person, make_user, catalogue, console_errors):  # noqa: F811
    """Every page a person and staff open, at 390 px: no sideways scrolling; at 1280 px: no
    table wider than its box."""
    compute.explain_person(scored_person.pk)
    make_user("root", is_staff=True, is_superuser=True)
    now = timezone.now()
    TrainingRun.objects.create(
        status=RunStatus.SUCCEEDED, epoch=12, max_epochs=200, progress=1.0, finished_at=now, loss=5.123456,
        val_ndcg=0.1234567, elapsed_s=754.3, hyperparams={"max_epochs": 200, "lr": 0.002},
        metrics={"val_ndcg@10": 0.1234567, "test_ndcg@10": 0.1111111, "test_hr@10": 0.2222222, "best_epoch": 7,
                 "epochs": 12, "train_seconds": 123.456},
        history=[{"epoch": e, "loss": 9.87654321 - e / 10, "elapsed_s": 61.2345 * e, "val_ndcg@10": 0.0123456 * e,
                  "val_hr@10": 0.0234567 * e, "lr": 0.002} for e in range(1, 13)])
    running = TrainingRun.objects.create(
        status=RunStatus.RUNNING, epoch=3, max_epochs=200, progress=0.015, eta_s=6720.0, elapsed_s=183.2,
        loss=6.1234, val_ndcg=0.05, started_at=now,
        error="RuntimeError: a long error message from an earlier attempt of this chunk that goes on and on")
    version = ModelVersion.objects.get()
    ModelVersion.objects.filter(pk=version.pk).update(
        metrics={"val_ndcg@10": 0.1234567, "test_ndcg@10": 0.1111111, "test_hr@10": 0.2222222, "best_epoch": 7,
                 "epochs": 12, "train_seconds": 123.456})
    item = Recommendation.objects.filter(user=scored_person).order_by("rank").first().item_id
    person_pages = ["/", "/items/", f"/items/{item}/", "/history/", "/settings/", "/how-recommendations-work/",
                    f"/recommendations/{item}/why/", "/accounts/password_change/"]
    staff_pages = ["/admin/", "/admin/recommender/trainingrun/", f"/admin/recommender/trainingrun/{running.pk}/change/",
                   f"/admin/recommender/trainingrun/{running.pk - 1}/change/", "/admin/recommender/modelversion/",
                   f"/admin/recommender/modelversion/{version.pk}/change/", "/admin/explain/explanation/model/",
                   "/admin/axes/accessattempt/", "/admin/recommender/event/"]
    page = browser_page
    problems = []
    for who, paths in (("alice", person_pages), ("root", staff_pages)):
        page.context.clear_cookies()
        log_in(page, who) if who == "alice" else _admin_log_in(page, who)
        for language in ("en", "zh-hans"):
            page.context.add_cookies([{"name": "django_language", "value": language, "url": page.url}])
            for width in (390, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                for path in paths:
                    page.goto(path)
                    page.wait_for_load_state("load")
                    if width == 390 and not page.evaluate(NO_SIDEWAYS_JS):
                        problems.append(f"{language} {width}px {path}: scrolls sideways")
                    if width == 1280:
                        problems += [f"{language} {width}px {path}: {p}" for p in page.evaluate(CLIPPED_TABLES_JS)]
    assert problems == [], "\n".join(problems)
    assert console_errors == []


def _admin_log_in(page, username: str) -> None:
    from tests.conftest import PASSWORD

    page.goto("/admin/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
