"""The Content-Security-Policy in Chromium: the main pages, with their plotly charts, htmx requests and
dialogs, run without a single violation, and the policy does refuse what it is there to refuse.

Violations are caught two ways: a listener for `securitypolicyviolation` that Playwright installs before
any of the page's scripts (its init scripts are not subject to the page's policy), and Chromium's console
errors, which also cover what a listener cannot see. htmx reports an attribute it would have evaluated
(hx-on, a trigger filter) as `htmx:evalDisallowedError`; that counts as a violation too."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from coordination.services import task_create
from reporting.rollups import run_rollups
from tests.factories import PatientFactory, UserFactory
from tests.test_briefing import citizen  # noqa: F401 - the seeded citizen fixture, with charts
from tests.test_dashboard import diabetic_citizens
from tests.test_query_budgets import add_history
from tests.test_rollups import MONTH

from .conftest import RecordedPage, log_in_through_form

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS_MS = 20_000

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} refused ${event.blockedURI || "inline"} at ` +
    `${event.sourceFile}:${event.lineNumber}:${event.columnNumber} ${event.sample}`
  );
});
document.addEventListener("htmx:evalDisallowedError", (event) => {
  window.__cspViolations.push(`htmx would have evaluated code on ${event.target.outerHTML.slice(0, 120)}`);
});
"""


class Watched:
    def __init__(self, recorded: RecordedPage):
        self.page = recorded.page
        self.console: list[str] = []
        self.page.add_init_script(WATCH)
        self.page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.console.append(message.text)

    def violations(self) -> list[str]:
        """Of the document now shown, plus every console report since the start."""
        return self.page.evaluate("window.__cspViolations || []") + self.console

    def visit(self, url: str) -> None:
        response = self.page.goto(url, wait_until="domcontentloaded")
        assert response is not None and response.status == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"]
        # Everything loaded, so that a refused resource is reported; plotly.js is almost 5 MB, hence the time.
        self.page.wait_for_load_state("load", timeout=CHARTS_MS)


@pytest.fixture
def watched(recorded) -> Watched:
    return Watched(recorded)


def charts_drawn(page: Page) -> None:
    """Every chart on the page drawn (charts.js marks each one), with time for a busy machine."""
    figures = page.locator("[data-figure]")
    expect(figures.first).to_be_attached()
    expect(page.locator("[data-figure][data-rendered]")).to_have_count(figures.count(), timeout=CHARTS_MS)


def test_a_professional_s_pages_run_without_a_violation(watched, logged_in, live_server, member, citizen):  # noqa: F811
    page = watched.page
    add_history(citizen, member, 20)  # more than a page of timeline: "Show earlier" appears
    logged_in(member)

    watched.visit(live_server.url + reverse("patients:detail", args=[citizen.public_id]))
    charts_drawn(page)
    page.locator("#chart-hba1c .scatterlayer .point").first.hover(force=True)
    expect(page.locator("#chart-hba1c .hoverlayer .hovertext")).to_be_visible()
    # The button that was an hx-on attribute: it loads the earlier page and goes (htmx-behaviours.js).
    entries = page.locator(".timeline-item")
    shown = entries.count()
    earlier = page.locator("button[hx-get*='/timeline/']")
    earlier.click()
    expect(entries).not_to_have_count(shown)
    assert watched.violations() == []
    expect(earlier).to_have_count(0)

    watched.visit(live_server.url + reverse("coordination:briefing", args=[citizen.public_id]))
    charts_drawn(page)
    assert watched.violations() == []

    watched.visit(live_server.url + reverse("coordination:encounter_create", args=[citizen.public_id]))
    page.locator("button[name=sign]").click()  # the confirmation dialog of sign-confirm.js
    expect(page.locator("#sign-dialog")).to_be_visible()
    page.locator("#sign-cancel").click()
    expect(page.locator("#sign-dialog")).to_be_hidden()
    assert watched.violations() == []

    for name in ["coordination:worklist", "coordination:my_tasks", "patients:list", "coordination:news"]:
        watched.visit(live_server.url + reverse(name))
        assert watched.violations() == [], name


def test_the_coordinator_s_board_and_workload_run_without_a_violation(
    watched, logged_in, live_server, coordinator, member, colleague, team
):
    page = watched.page
    on_leave = UserFactory(username="on_leave", teams=[team])
    patient = PatientFactory(team=team, responsible_professional=member)
    task = task_create(
        actor=coordinator,
        title="Ring til datteren",
        team=team,
        patient=patient,
        assignee=member,
        due_on=timezone.localdate() + datetime.timedelta(days=2),
    )
    for i in range(3):
        task_create(actor=coordinator, title=f"Opgave {i}", team=team, assignee=on_leave, due_on=timezone.localdate())
    logged_in(coordinator)

    watched.visit(live_server.url + reverse("coordination:board"))
    # An htmx post whose CSRF header comes from hx-headers (JSON, not evaluated).
    with page.expect_response(lambda response: response.url.endswith("/assign/")) as answer:
        page.locator(f"#card-{task.public_id} [data-testid=assign]").select_option(str(colleague.id))
    assert answer.value.status == 200
    expect(page.locator(f"#card-{task.public_id} [data-testid=assigned]")).to_be_visible()
    assert watched.violations() == []

    watched.visit(live_server.url + reverse("coordination:workload"))
    page.locator("[data-testid=workload-on_leave] [data-testid=hand-on]").click()
    panel = page.locator("[data-testid=hand-on-panel]")
    panel.locator("input[data-select-all]").check()  # select-all.js
    expect(panel.locator("input[name=task]:checked")).to_have_count(3)
    assert watched.violations() == []


def test_the_manager_s_dashboard_and_report_run_without_a_violation(watched, logged_in, live_server, manager, team):
    page = watched.page
    diabetic_citizens(team, 10, measured=5)
    run_rollups(MONTH, MONTH)
    logged_in(manager)

    watched.visit(live_server.url + reverse("reporting:overview"))
    charts_drawn(page)
    assert watched.violations() == []

    watched.visit(live_server.url + reverse("reporting:quarterly"))
    page.wait_for_selector("body[data-charts-rendered='1']", timeout=CHARTS_MS)
    assert watched.violations() == []


def test_the_login_form_and_the_administration_run_without_a_violation(watched, live_server, administrator):
    page = watched.page
    log_in_through_form(page, administrator)  # form-action 'self' lets the login post and its redirect through
    watched.visit(live_server.url + reverse("admin:index"))
    watched.visit(live_server.url + reverse("admin:healthcenter_accesslog_changelist"))
    assert watched.violations() == []


def test_the_policy_refuses_inline_script_inline_handlers_and_eval(watched, logged_in, live_server, member):
    """The control: what injected markup would try is refused, and the checks above would see it. The
    markup is added from the test; the clicks are real ones, because code that DevTools runs (page.evaluate)
    may itself eval."""
    page = watched.page
    logged_in(member)
    watched.visit(live_server.url + reverse("coordination:worklist"))
    page.evaluate("window.__ran = []")
    add = """html => {
      const template = document.createElement("template");
      template.innerHTML = html;
      const element = template.content.firstElementChild;
      document.body.prepend(element);
      htmx.process(element);
    }"""

    page.evaluate("""() => {
      const script = document.createElement("script");
      script.textContent = "window.__ran.push('inline script')";
      document.body.append(script);
    }""")
    page.evaluate(add, """<button id="handler" onclick="window.__ran.push('inline handler')">x</button>""")
    page.locator("#handler").click()
    # htmx as configured in base.html does not evaluate hx-on ...
    page.evaluate(add, """<button id="hx-on" hx-on:click="window.__ran.push('hx-on')">x</button>""")
    page.locator("#hx-on").click()
    # ... and were it told to, the policy refuses eval to htmx's own code.
    page.evaluate("htmx.config.allowEval = true")
    page.evaluate(add, """<button id="eval" hx-on:click="window.__ran.push('eval')">x</button>""")
    page.locator("#eval").click()

    assert page.evaluate("window.__ran") == []
    # The violation events are dispatched after the fact: on a busy machine the last (eval) can still be queued.
    page.wait_for_function("(window.__cspViolations || []).some(v => v.startsWith('script-src '))", timeout=CHARTS_MS)
    reported = page.evaluate("window.__cspViolations")
    directives = {violation.split(" ", 1)[0] for violation in reported}
    assert {"script-src-elem", "script-src-attr", "script-src"} <= directives, reported
    assert any(violation.startswith("htmx would have evaluated") for violation in reported), reported
