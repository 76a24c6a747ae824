"""The coordinator's board and workload in a real browser: a card is reassigned in place (htmx, the
page is not reloaded), a long column loads more cards with its count exact from the start, and a
colleague's open tasks are handed on at once from the workload page.

Elements are found by ids, names and data-testid, never by visible text, so the tests hold while
the Danish catalogue is being written. A marker set on `window` survives only if the page is not
reloaded."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from coordination.models import Notification, Task, TaskTransition
from coordination.selectors import BOARD_PAGE
from coordination.services import task_create
from tests.factories import PatientFactory, UserFactory

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def mark_page(page) -> None:
    page.evaluate("window.__sameDocument = true")


def still_same_page(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def test_a_task_is_reassigned_from_its_card_without_a_reload(
    recorded, logged_in, live_server, coordinator, member, colleague, team
):
    page = recorded.page
    patient = PatientFactory(team=team, responsible_professional=member)
    task = task_create(
        actor=coordinator,
        title="Ring til datteren",
        team=team,
        patient=patient,
        assignee=member,
        due_on=timezone.localdate() + datetime.timedelta(days=2),
    )
    logged_in(coordinator)
    page.goto(live_server.url + reverse("coordination:board"))
    mark_page(page)
    assign = page.locator(f"#card-{task.public_id} [data-testid=assign]")
    with page.expect_response(lambda response: response.url.endswith("/assign/")):
        assign.select_option(str(colleague.id))

    expect(page.locator(f"#card-{task.public_id} [data-testid=assigned]")).to_be_visible()
    expect(page.locator(f"#card-{task.public_id} [data-testid=assign]")).to_have_value(str(colleague.id))
    assert still_same_page(page)
    task.refresh_from_db()
    assert (task.assignee, task.version) == (colleague, 2)
    assert TaskTransition.objects.filter(
        task=task, from_assignee=member, to_assignee=colleague, by=coordinator
    ).exists()
    assert Notification.objects.filter(user=colleague, task=task, kind="assigned").exists()

    # The card carries the new version: a second change from the same card goes through too.
    with page.expect_response(lambda response: response.url.endswith("/assign/")):
        assign.select_option(str(member.id))
    expect(page.locator(f"#card-{task.public_id} [data-testid=assign]")).to_have_value(str(member.id))
    expect(page.locator(f"#card-{task.public_id} [data-testid=assigned]")).to_be_visible()
    assert still_same_page(page)
    task.refresh_from_db()
    assert (task.assignee, task.version) == (member, 3)
    assert recorded.foreign_requests() == []


def test_a_long_column_shows_its_exact_count_and_loads_more_in_place(
    recorded, logged_in, live_server, coordinator, team
):
    page = recorded.page
    total = BOARD_PAGE + 7
    for i in range(total):
        task_create(
            actor=coordinator,
            title=f"Opgave {i:02d}",
            team=team,
            due_on=timezone.localdate() + datetime.timedelta(days=1 + i % 5),
        )
    logged_in(coordinator)
    page.goto(live_server.url + reverse("coordination:board"))
    mark_page(page)
    column = page.locator("[data-testid=column-open]")
    expect(column.locator("[data-testid=count-open]")).to_have_text(str(total))
    expect(column.locator("[data-testid=task]")).to_have_count(BOARD_PAGE)
    shown = column.locator("[data-testid=shown-open]")
    expect(shown).to_have_text(re.compile(rf"\b{BOARD_PAGE}\b\D+\b{total}\b"))
    column.locator("[data-testid=load-more-open] button").click()
    expect(column.locator("[data-testid=task]")).to_have_count(total)
    expect(column.locator("[data-testid=load-more-open]")).to_have_count(0)
    # "Showing 25 of 32" does not stay behind once more are loaded.
    expect(shown).to_have_text(re.compile(rf"\b{total}\b\D+\b{total}\b"))
    assert still_same_page(page)


# The width a select needs to show its longest option whole: the text in the select's own font, plus
# its padding (Bootstrap's right padding holds the arrow).
NEEDED_AND_GIVEN = """select => {
  const style = getComputedStyle(select);
  const context = document.createElement("canvas").getContext("2d");
  context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const text = Math.max(...[...select.options].map(option => context.measureText(option.text).width));
  const needed = text + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
  return [Math.ceil(needed), select.clientWidth];
}"""


def test_the_assignee_names_on_the_cards_are_whole_at_1280_px(recorded, logged_in, live_server, coordinator, team):
    page = recorded.page
    assert page.viewport_size["width"] == 1280
    people = [
        UserFactory(first_name=first, last_name=last, teams=[team])
        for first, last in [("Carina", "Henriksen"), ("Anne-Mette", "Kristiansen"), ("Henrik", "Østergaard")]
    ]
    patient = PatientFactory(team=team)
    for i, person in enumerate(people):
        task_create(
            actor=coordinator,
            title=f"Ring til borger {i}",
            team=team,
            patient=patient,
            assignee=person,
            due_on=timezone.localdate() + datetime.timedelta(days=i + 1),
        )
    logged_in(coordinator)
    page.goto(live_server.url + reverse("coordination:board"))
    selects = page.locator("[data-testid=column-open] [data-testid=assign]")
    expect(selects).to_have_count(3)
    for select in selects.all():
        needed, given = select.evaluate(NEEDED_AND_GIVEN)
        assert given >= needed, f"the assignee select is {given} px wide, its names need {needed} px"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("[data-testid=column-open]").screenshot(path=str(ARTIFACTS / "board-open-column-1280.png"))


def test_a_colleague_on_leave_hands_on_all_38_tasks_in_one_step(recorded, logged_in, live_server, coordinator, team):
    page = recorded.page
    on_leave = UserFactory(username="on_leave", teams=[team])
    stand_in = UserFactory(username="stand_in", teams=[team])
    for i in range(38):
        task_create(
            actor=coordinator,
            title=f"Opgave {i:02d}",
            team=team,
            assignee=on_leave,
            due_on=timezone.localdate() + datetime.timedelta(days=i % 9),
        )
    logged_in(coordinator)
    page.goto(live_server.url + reverse("coordination:workload"))
    mark_page(page)
    page.locator("[data-testid=workload-on_leave] [data-testid=hand-on]").click()
    panel = page.locator("[data-testid=hand-on-panel]")
    expect(panel.locator("input[name=task]")).to_have_count(38)
    panel.locator("input[data-select-all]").check()
    expect(panel.locator("input[name=task]:checked")).to_have_count(38)
    panel.locator("select[name=to]").select_option(str(stand_in.public_id))
    panel.locator("[data-testid=move]").click()

    expect(page.locator("[data-testid=moved]")).to_be_visible()
    expect(page.locator("[data-testid=workload-on_leave] [data-testid=open]")).to_have_text("0")
    expect(page.locator("[data-testid=workload-stand_in] [data-testid=open]")).to_have_text("38")
    assert still_same_page(page)
    assert Task.objects.filter(assignee=stand_in, status="open").count() == 38
    assert TaskTransition.objects.filter(from_assignee=on_leave, to_assignee=stand_in).count() == 38


def test_handing_on_says_what_is_missing_and_does_not_offer_the_holder(
    recorded, logged_in, live_server, coordinator, team
):
    page = recorded.page
    on_leave = UserFactory(username="on_leave", teams=[team])
    stand_in = UserFactory(username="stand_in", teams=[team])
    for i in range(3):
        task_create(actor=coordinator, title=f"Opgave {i}", team=team, assignee=on_leave, due_on=timezone.localdate())
    logged_in(coordinator)
    page.goto(live_server.url + reverse("coordination:workload"))
    page.locator("[data-testid=workload-on_leave] [data-testid=hand-on]").click()
    panel = page.locator("[data-testid=hand-on-panel]")
    expect(panel.locator("input[name=task]")).to_have_count(3)
    expect(panel.locator(f'select[name=to] option[value="{stand_in.public_id}"]')).to_have_count(1)
    expect(panel.locator(f'select[name=to] option[value="{on_leave.public_id}"]')).to_have_count(0)

    # Nothing chosen at all: the page says so instead of ignoring the click.
    panel.locator("[data-testid=move]").click()
    expect(panel.locator("[data-testid=hand-on-error]")).to_be_visible()
    expect(panel.locator("[data-testid=to-error]")).to_be_visible()
    # A colleague but no task.
    panel.locator("select[name=to]").select_option(str(stand_in.public_id))
    panel.locator("[data-testid=move]").click()
    expect(panel.locator("[data-testid=to-error]")).to_have_count(0)
    expect(panel.locator("[data-testid=hand-on-error]")).to_be_visible()
    expect(panel.locator("[data-testid=moved]")).to_have_count(0)
    assert TaskTransition.objects.filter(from_assignee=on_leave).count() == 0
