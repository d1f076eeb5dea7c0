"""Every page a visitor, a person and staff can reach, in Chromium, under the production CSP:
no CSP violation, no console error, no uncaught exception, and every document carries the
exact Content-Security-Policy header that `recsite.settings.production` sends."""
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from playwright.sync_api import expect

from axes.models import AccessFailureLog
from explain import compute
from explain.models import Explanation, ExplanationStatus
from recommender.activity import services
from recommender.api.tokens import token_create
from recommender.models import (
    ControlKind,
    FeedKind,
    Genre,
    GenreControl,
    GenreControlKind,
    Preferences,
    Recommendation,
    RunStatus,
    Tag,
    TrainingRun,
    UserControl,
)
from recommender.serving.scoring import score_people
from recommender.text import services as text_services
from recsite.accounts.models import User

from tests.conftest import PASSWORD

from .conftest import log_in
from ..explain.conftest import catalogue, model_version, scored_person  # noqa: F401 - fixtures
from ..recsite.production_probe import production_probe

pytestmark = pytest.mark.browser

# Runs in every document before its own scripts (not subject to the page's CSP) and reports
# each violation to Python at once, so a page that reloads itself loses none.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => window.reportCspViolation({
  page: location.href, directive: e.violatedDirective, blocked: e.blockedURI,
  source: e.sourceFile, line: e.lineNumber, sample: e.sample,
}));
"""
PLOTS_DRAWN = """() => {
  // a plot in a closed <details> is embedded when it is opened (static/js/bokeh-embed.js)
  const targets = [...document.querySelectorAll("[data-bokeh-item]")]
    .filter(t => !t.closest("details:not([open])")).length;
  return targets === 0 || (window.Bokeh && Bokeh.documents.length >= targets);
}"""


@dataclass
class Watch:
    """What the browser reported: CSP violations, console errors, page errors, documents."""

    violations: list[dict] = field(default_factory=list)
    console: list[dict] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    documents: list[tuple[str, int, str | None]] = field(default_factory=list)
    expected_status: dict[str, int] = field(default_factory=dict)

    def console_errors(self) -> list[dict]:
        """Console errors, less the one Chromium logs for a document answered with the
        status the test asked for (a 404 page, the 429 lockout page)."""
        return [m for m in self.console
                if not (m["text"].startswith("Failed to load resource: the server responded with a status of ")
                        and m["url"] in self.expected_status
                        and f"status of {self.expected_status[m['url']]} " in m["text"])]


@pytest.fixture(scope="module")
def production_csp() -> str:
    """Return the Content-Security-Policy header production sends."""
    return production_probe()["headers"]["Content-Security-Policy"]


@pytest.fixture
def watched(browser_page) -> tuple[object, Watch]:
    """Return the page and what it reports."""
    page, watch = browser_page, Watch()
    page.context.expose_function("reportCspViolation", lambda violation: watch.violations.append(violation))
    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda m: watch.console.append({"text": m.text, "url": m.location.get("url", "")})
            if m.type == "error" else None)
    page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
    page.on("response", lambda r: watch.documents.append(
        (r.url, r.status, r.headers.get("content-security-policy"))) if r.request.resource_type == "document" else None)
    return page, watch


def visit(page, watch: Watch, path: str, status: int = 200) -> None:
    """Open `path`, expect `status`, and wait until its plots (if any) are drawn."""
    response = page.goto(path)
    assert response is not None and response.status == status, (path, response and response.status)
    if status != 200:
        watch.expected_status[response.url] = status
    page.wait_for_load_state("load")
    page.wait_for_function(PLOTS_DRAWN, timeout=30_000)


def assert_clean(watch: Watch, production_csp: str) -> None:
    """No violation, no console or page error; every document sent production's CSP."""
    assert watch.violations == [], "\n".join(
        f"{v['page']}: {v['directive']} blocked {v['blocked']} ({v['source']}:{v['line']}) {v['sample']!r}"
        for v in watch.violations)
    assert watch.console_errors() == [], "\n".join(f"{m['url']}: {m['text']}" for m in watch.console_errors())
    assert watch.page_errors == []
    assert watch.documents, "no document was loaded"
    wrong = [(url, status, csp) for url, status, csp in watch.documents if csp != production_csp]
    assert wrong == []



def test_the_watch_sees_a_violation(watched):
    """Sanity check of the listener: an inline script added to a page is blocked and reported."""
    page, watch = watched
    visit(page, watch, "/")
    page.evaluate("""() => { const s = document.createElement("script");
                             s.textContent = "window.inlineRan = true"; document.body.append(s); }""")
    for _ in range(50):
        if watch.violations:
            break
        page.wait_for_timeout(100)
    assert [v["directive"] for v in watch.violations] == ["script-src-elem"]
    assert page.evaluate("() => window.inlineRan === undefined")


def test_visitor_pages(watched, catalogue, make_user, production_csp):  # noqa: F811
    """Home, catalogue, an item, log in, sign up, password reset, API docs and schema, a 404,
    the lockout page, then sign up and log out."""
    page, watch = watched
    make_user("bob")
    item = catalogue[0]
    for path in ["/", "/items/", "/items/?search=Film&genre=Drama", f"/items/{item.pk}/",
                 reverse("login"), reverse("signup"), reverse("password_reset"),
                 reverse("password_reset_done"), reverse("password_reset_complete"), reverse("api-docs")]:
        visit(page, watch, path)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("recsite API")
    # The docs page fetched the schema under its CSP; opened directly, the schema (YAML) is a
    # download, not a page, but it carries the same header.
    schema = page.request.get(reverse("api-schema"))
    assert schema.ok and "openapi:" in schema.text()
    watch.documents.append((schema.url, schema.status, schema.headers.get("content-security-policy")))
    visit(page, watch, "/no-such-page/", status=404)

    for n in range(9):  # nine wrong passwords from this address; the browser sends the tenth
        Client().post(reverse("login"), {"username": "bob", "password": f"wrong-{n}"})
    visit(page, watch, reverse("login"))
    page.locator("#id_username").fill("bob")
    page.locator("#id_password").fill("wrong-again")
    with page.expect_navigation() as navigation:
        page.locator("main").get_by_role("button", name="Log in").click()
    assert navigation.value.status == 429
    watch.expected_status[navigation.value.url] = 429
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many failed sign-in attempts")

    visit(page, watch, reverse("signup"))
    page.locator("#id_username").fill("carol")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".whoami")).to_have_text("carol")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()
    assert_clean(watch, production_csp)


def test_person_pages(watched, scored_person, production_csp):  # noqa: F811
    """Home, history with controls, rating, password change, and every recommendation's
    "why this?" page, first being prepared and then with its plots, in both languages."""
    page, watch = watched
    compute.explain_person(scored_person.pk)
    log_in(page, "alice")
    visit(page, watch, "/")
    visit(page, watch, "/history/")
    page.locator("form[action='/history/controls/'] button").first.click()
    expect(page.locator(".messages")).to_be_visible()
    events = scored_person.events.count()
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("form[data-confirm] button").first.click()
    expect(page.locator(".messages")).to_be_visible()
    assert scored_person.events.count() == events - 1
    item = Recommendation.objects.filter(user=scored_person).order_by("rank").first().item_id
    visit(page, watch, f"/items/{item}/")
    page.get_by_role("button", name="4 stars").click()
    expect(page.get_by_text("You rated this 4 out of 5.")).to_be_visible()
    visit(page, watch, reverse("password_change"))

    # Rating changed nothing stored yet (no worker runs here): the list is still the same.
    items = list(Recommendation.objects.filter(user=scored_person).order_by("rank").values_list("item_id", flat=True))
    for item_id in items:  # the ones outside the explained top few are queued and "being prepared"
        visit(page, watch, f"/recommendations/{item_id}/why/")
    compute.explain_person(scored_person.pk)  # what the explain worker does meanwhile
    assert Explanation.objects.filter(user=scored_person, status=ExplanationStatus.READY).count() == len(items)
    for item_id in items:
        visit(page, watch, f"/recommendations/{item_id}/why/")
        expect(page.locator(".reason-text")).not_to_be_empty()
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": page.url}])
    visit(page, watch, f"/recommendations/{items[0]}/why/")
    page.locator("details.explain-details > summary").click()  # its plot is embedded on opening
    page.wait_for_function(PLOTS_DRAWN, timeout=30_000)
    page.wait_for_function("() => Bokeh.documents.length === 3")
    visit(page, watch, "/history/")
    assert UserControl.objects.filter(user=scored_person).exists()

    # The settings, "how it works", the feed switch, and the home list refreshing itself in
    # place (static/js/feed-refresh.js) while the person's list is being computed.
    visit(page, watch, reverse("preferences"))
    page.locator("[data-feed=newest]").click()
    expect(page.locator("[data-feed=newest]")).to_have_attribute("aria-pressed", "true")
    page.locator("[data-feed=personal]").click()
    visit(page, watch, reverse("how_it_works"))
    services.recommendations_reset(user=scored_person)
    services.recommendations_reset_undo(user=scored_person)  # the list is dropped; a new one is asked for
    visit(page, watch, "/")
    expect(page.locator("#feed-slot")).to_have_attribute("data-state", "scoring")
    score_people([scored_person.pk], version_id=None)  # the scoring worker
    expect(page.locator("#feed-slot")).to_have_attribute("data-state", "ready", timeout=15_000)
    assert_clean(watch, production_csp)


@pytest.fixture
def admin_rows(scored_person, make_user) -> User:  # noqa: F811
    """Return a superuser, with at least one row of every model registered in the admin."""
    compute.explain_person(scored_person.pk)
    root = make_user("root", is_staff=True, is_superuser=True)
    token_create(user=scored_person, device="phone")
    Group.objects.create(name="editors")
    now = timezone.now()
    TrainingRun.objects.create(status=RunStatus.SUCCEEDED, epoch=3, max_epochs=3, progress=1.0,
                               finished_at=now, history=[{"epoch": e, "loss": 9 - e, "val_ndcg@10": 0.05 * e}
                                                         for e in (1, 2, 3)])
    TrainingRun.objects.create(status=RunStatus.RUNNING, epoch=1, max_epochs=4, progress=0.25)
    interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="sweep", task="recommender.tasks.scoring_sweep", interval=interval)
    crontab = CrontabSchedule.objects.create(minute="0", hour="3")
    PeriodicTask.objects.create(name="nightly", task="recommender.tasks.training_start", crontab=crontab)
    SolarSchedule.objects.create(event="sunrise", latitude=52.5, longitude=13.4)
    ClockedSchedule.objects.create(clocked_time=now + timedelta(days=1))
    Client().post(reverse("login"), {"username": "nobody", "password": "wrong"})  # an access attempt
    Client().post(reverse("login"), {"username": "alice", "password": PASSWORD})  # an access log
    AccessFailureLog.objects.create(username="alice", ip_address="127.0.0.1", user_agent="test",
                                    http_accept="*/*", path_info="/accounts/login/")
    UserControl.objects.create(user=scored_person, item=scored_person.events.first().item, kind=ControlKind.EXCLUDE)
    GenreControl.objects.create(user=scored_person, genre=Genre.objects.first(), kind=GenreControlKind.LESS)
    Preferences.objects.create(user=scored_person, feed=FeedKind.PERSONAL, record_views=False)
    Tag.objects.create(name="space").items.add(scored_person.events.first().item)
    run = text_services.text_run_schedule(reason="test", enqueue=False)  # a text run, item vectors
    text_services.text_run_chunk(run.pk, run.cursor)
    return root


def test_staff_pages(watched, admin_rows, scored_person, production_csp):  # noqa: F811
    """The admin index, every registered model's list and a change form, each person's
    explanation pages as staff, the model page, and the training-run pages."""
    page, watch = watched
    page.goto(reverse("admin:login"))
    page.locator("#id_username").fill(admin_rows.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_be_visible()
    visit(page, watch, reverse("admin:index"))
    visited = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        visit(page, watch, reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        row = model._default_manager.order_by("pk").first()
        assert row is not None, f"no {opts.label} row to open"
        visit(page, watch, reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))
        visited.append(opts.label)
    assert {"accounts.User", "axes.AccessAttempt", "django_celery_beat.PeriodicTask",
            "explain.Explanation", "recommender.TrainingRun"} <= set(visited)
    for periodic in PeriodicTask.objects.all():
        visit(page, watch, reverse("admin:django_celery_beat_periodictask_change", args=[periodic.pk]))
    visit(page, watch, reverse("admin:django_celery_beat_periodictask_add"))
    page.locator("#id_crontab").select_option(str(CrontabSchedule.objects.get().pk))
    expect(page.locator(".field-crontab .help")).to_contain_text("Translation: At 03:00")
    visit(page, watch, reverse("admin:accounts_user_add"))

    for record in Explanation.objects.filter(user=scored_person, status=ExplanationStatus.READY):
        visit(page, watch, reverse("admin:explain_explanation_page", args=[record.user_id, record.item_id]))
    visit(page, watch, reverse("admin:explain_model"))
    expect(page.locator("#model-curves")).to_be_visible()
    running = TrainingRun.objects.get(status=RunStatus.RUNNING)
    visit(page, watch, reverse("admin:recommender_trainingrun_change", args=[running.pk]))
    page.wait_for_event("load", timeout=10_000)  # admin-refresh.js reloads it after 3 s
    visit(page, watch, "/")
    assert_clean(watch, production_csp)
