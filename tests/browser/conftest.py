"""Playwright against Debian's Chromium and pytest-django's live server.

Every test gets a new page, logged out (cookies cleared), in a browser context that speaks Danish,
the product's default language. Every request the page makes is recorded so that a test can prove
nothing left the closed network. A failing or expected-to-fail test leaves a full-page screenshot in
test-artifacts/."""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.test import Client, override_settings
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from healthcenter.accounts.selectors import two_factor_required_by_role
from healthcenter.accounts.services import backup_codes_replace
from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 5_000
BROWSER_TESTS = Path(__file__).resolve().parent
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Playwright's sync API marks an event loop as running in this thread, and Django refuses ORM calls
    next to a running loop. The browser tests, their fixtures and the database set-up and flush around
    them may make those calls, so the variable is set around each browser test and not at import: left in
    os.environ it reaches the tests that run later and the processes they start (`manage.py check --deploy`
    fails on it)."""
    if not item.path.is_relative_to(BROWSER_TESTS):
        return (yield)
    before = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        return (yield)
    finally:
        if before is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = before


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session", autouse=True)
def _plain_http_live_server() -> Iterator[None]:
    """The live server speaks plain HTTP on localhost. SecurityMiddleware reads SECURE_SSL_REDIRECT once,
    when the session-scoped server builds its handler, so the per-test override in tests/conftest.py
    comes too late for it; this one is in place before the server starts."""
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings) -> None:
    # The production hash costs most of a second per factory user and per login; these tests are not about it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for all the browser tests. Package scope rather than session: while Playwright's sync
    API is open it marks an event loop as running in this thread, and every ORM call in the tests that
    run after these (pytest-django runs the transactional ones together) would fail with
    SynchronousOnlyOperation."""
    if not Path(CHROMIUM).exists():
        message = f"Debian's Chromium is not at {CHROMIUM}: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run the browser tests (.ci/run installs Chromium)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # The connections opened while the loop was marked running live in their own storage and would
        # be out of reach once it stops; left open, they keep the test database from being dropped.
        connections.close_all()


class RecordedPage:
    """The page and every URL it requested."""

    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.requested: list[str] = []
        page.on("request", lambda request: self.requested.append(request.url))

    def foreign_requests(self) -> list[str]:
        own = urlsplit(self.base_url).netloc
        return [
            url
            for url in self.requested
            if urlsplit(url).scheme not in {"data", "blob", "about"} and urlsplit(url).netloc != own
        ]


@pytest.fixture(scope="package")
def browser_context(browser: Browser, django_db_setup, live_server) -> Iterator[BrowserContext]:
    """One context for the browser tests, so that plotly.js (almost 5 MB) is fetched and compiled once;
    each test starts without cookies, that is logged out and with an empty session. The context keeps
    HTTP connections alive, and with them the live server's database connections, so it closes before
    the test database is dropped (hence django_db_setup)."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="da-DK",
        timezone_id="Europe/Copenhagen",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def recorded(browser_context: BrowserContext, live_server, request) -> Iterator[RecordedPage]:
    browser_context.clear_cookies()
    page = browser_context.new_page()
    recorded = RecordedPage(page, live_server.url)
    yield recorded
    call = getattr(request.node, "report_call", None)
    if call is not None and (call.failed or hasattr(call, "wasxfail")):
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.close()


@pytest.fixture
def page(recorded: RecordedPage) -> Page:
    return recorded.page


@pytest.fixture
def logged_in(browser_context: BrowserContext, live_server, recorded: RecordedPage) -> Callable[[object], None]:
    """Gives the browser a session for the user without the form, for tests about something else
    (the form costs a page load, a post and a redirect each time). Managers and administrators then
    give a backup code on the real second-step page, as they must before any other page opens."""

    def log_in_as(user) -> None:
        client = Client()
        client.force_login(user)
        session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        browser_context.add_cookies(
            [
                {
                    "name": django_settings.SESSION_COOKIE_NAME,
                    "value": session,
                    "url": live_server.url,
                    "httpOnly": True,
                    "sameSite": "Lax",
                }
            ]
        )
        if two_factor_required_by_role(user):
            code = backup_codes_replace(user=user)[0]
            # On to a light page: the test's own first page may be a dashboard that loads plotly.js.
            recorded.page.goto("/accounts/two-factor/?next=/accounts/")
            enter_backup_code(recorded.page, code)

    return log_in_as


def enter_backup_code(page: Page, code: str) -> None:
    """The second step of signing in, with a backup code, as a newcomer to the demo does."""
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/(\?|$)"))
    page.fill("#id_code", code)
    page.locator("main form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/two-factor/"))
    page.wait_for_load_state()


def log_in_through_form(page: Page, user) -> None:
    """Through the login form, as a person would. The nav holds a language-switch submit button too,
    so the form is found inside main. Managers and administrators go on with a backup code."""
    code = backup_codes_replace(user=user)[0] if two_factor_required_by_role(user) else None
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    if code is not None:
        enter_backup_code(page, code)
