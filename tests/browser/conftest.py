"""Browser fixtures: one headless Chromium per test module, a fresh page per test.

Use `browser_page` (a Playwright page whose relative URLs resolve against the live
server), `console_errors` (every console error and uncaught exception of that page) and
`screenshot(name)` (saves test-artifacts/<name>.png). Pages that ask `window.confirm`
(deleting a history event) need `browser_page.on("dialog", lambda d: d.accept())`.
"""
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

CHROMIUM = Path(os.environ.get("RECSITE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# A cold Chromium start took ~50 s on this machine kind.
LAUNCH_TIMEOUT_MS = 120_000
ACTION_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator["object"]:
    """Return a headless Chromium shared by the test module; fail if none is installed.

    While it runs, Playwright's sync API keeps an event loop in this thread, so Django
    would refuse ORM calls from tests and fixtures: DJANGO_ALLOW_ASYNC_UNSAFE is set for
    exactly that time (module scope, so it never leaks into other tests or their
    subprocesses, where `check --deploy` warns about it).
    """
    from playwright import sync_api

    if not CHROMIUM.exists():
        # A missing browser is a broken setup, not a passing page: say how to fix it.
        pytest.fail(f"no Chromium at {CHROMIUM}: `apt-get install chromium`, or point "
                    "RECSITE_CHROMIUM at one", pytrace=False)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                timeout=LAUNCH_TIMEOUT_MS,
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def console_errors() -> list[str]:
    """Return the list that `browser_page` fills with console errors and page errors."""
    return []


@pytest.fixture
def browser_page(browser, live_server, console_errors) -> Iterator["object"]:
    """Return a new page in a fresh context (no cookies) whose base URL is the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    yield page
    context.close()


@pytest.fixture
def screenshot(browser_page) -> Callable[[str], Path]:
    """Return a function that saves a full-page screenshot as test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        browser_page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, username: str) -> None:
    """Log in through the site's own form and wait until the page names the person."""
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.locator(".whoami")).to_have_text(username)
