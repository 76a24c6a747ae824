"""Agreed actions in a real browser: two actions agreed at one encounter go to two colleagues, each
with its own due date, and a third row added on the spot (htmx) becomes a task too.

Elements are found by ids, names and data-testid, never by visible text."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from coordination.models import Task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_date(page, selector: str, day: datetime.date) -> None:
    """A date input as the page renders it: the browser's own date field, or a text field in the
    locale's format."""
    if page.get_attribute(selector, "type") == "date":
        page.fill(selector, day.isoformat())
    else:
        page.fill(selector, day.strftime("%d.%m.%Y"))


def test_two_agreed_actions_go_to_two_colleagues_each_with_its_own_due_date(
    recorded, logged_in, live_server, member, colleague, coordinator, patient
):
    page = recorded.page
    soon = timezone.localdate() + datetime.timedelta(days=5)
    later = timezone.localdate() + datetime.timedelta(days=30)
    logged_in(member)
    page.goto(live_server.url + reverse("coordination:encounter_create", args=[patient.public_id]))
    page.fill("#id_what_matters", "At kunne gå til svømning igen")
    expect(page.locator("[data-testid=agreed-action]")).to_have_count(3)

    page.fill("#id_action-0-text", "Bestil fodterapeut")
    page.select_option("#id_action-0-assignee", str(colleague.id))
    fill_date(page, "#id_action-0-due_on", soon)
    page.fill("#id_action-1-text", "Ring til datteren om aftenerne")
    page.select_option("#id_action-1-assignee", str(coordinator.id))
    fill_date(page, "#id_action-1-due_on", later)

    page.locator("#add-agreed-action button").click()
    expect(page.locator("[data-testid=agreed-action]")).to_have_count(4)
    page.fill("#id_action-3-text", "Gåtur hver dag")  # left to the author, due in two weeks

    page.locator("button[name=sign]").click()
    page.locator("#sign-confirm").click()  # "Save and sign" asks for confirmation first
    confirm = page.locator("#sign-confirm")  # signing may ask for confirmation first
    if confirm.count() and confirm.is_visible():
        confirm.click()
    expect(page).to_have_url(live_server.url + reverse("patients:detail", args=[patient.public_id]))
    expect(page.locator("#coordination-panel")).to_contain_text("Bestil fodterapeut")

    tasks = {t.title: (t.assignee, t.due_on) for t in Task.objects.filter(origin="agreed_action")}
    assert tasks == {
        "Bestil fodterapeut": (colleague, soon),
        "Ring til datteren om aftenerne": (coordinator, later),
        "Gåtur hver dag": (member, timezone.localdate() + datetime.timedelta(days=14)),
    }
    actions = [a.text for a in patient.encounters.get().agreed_actions.order_by("position")]
    assert actions == ["Bestil fodterapeut", "Ring til datteren om aftenerne", "Gåtur hver dag"]
    assert recorded.foreign_requests() == []


def test_a_drafts_actions_are_edited_row_by_row_and_become_tasks_only_when_signed(
    recorded, logged_in, live_server, member, colleague, coordinator, patient
):
    page = recorded.page
    soon = timezone.localdate() + datetime.timedelta(days=14)
    later = timezone.localdate() + datetime.timedelta(days=30)
    logged_in(member)
    page.goto(live_server.url + reverse("coordination:encounter_create", args=[patient.public_id]))
    page.fill("#id_note", "LDL lidt højt. Aftalt opfølgning.")
    page.fill("#id_action-0-text", "Ring om 2 uger om LDL")
    page.select_option("#id_action-0-assignee", str(colleague.id))
    fill_date(page, "#id_action-0-due_on", soon)
    page.fill("#id_action-1-text", "Bestil fodterapeut")
    page.select_option("#id_action-1-assignee", str(coordinator.id))
    fill_date(page, "#id_action-1-due_on", later)
    page.locator("button[name=draft]").click()
    expect(page).to_have_url(live_server.url + reverse("patients:detail", args=[patient.public_id]))
    assert not Task.objects.exists()  # a draft is not the record: no live task yet

    # The draft's form has the same rows, each with its owner and due date, and no "one per line" box.
    encounter = page.locator("[data-testid=encounter]")
    encounter.locator('a[href$="/edit/"]').click()
    expect(page.locator("#id_agreed_actions")).to_have_count(0)
    expect(page.locator("#id_action-0-text")).to_have_value("Ring om 2 uger om LDL")
    expect(page.locator("#id_action-0-assignee")).to_have_value(str(colleague.id))
    expect(page.locator("#id_action-1-assignee")).to_have_value(str(coordinator.id))
    page.select_option("#id_action-1-assignee", str(member.id))
    page.locator("button[name=draft]").click()
    expect(page).to_have_url(live_server.url + reverse("patients:detail", args=[patient.public_id]))
    assert not Task.objects.exists()

    # Signed from the timeline's sign page, which says what the actions become.
    encounter.locator("[data-testid=sign-draft]").click()
    expect(page.locator("[data-testid=planned-tasks]")).to_contain_text("Ring om 2 uger om LDL")
    page.locator('main form[action$="/sign/"] button[type=submit]').click()
    expect(page).to_have_url(live_server.url + reverse("patients:detail", args=[patient.public_id]))
    expect(page.locator("#coordination-panel")).to_contain_text("Ring om 2 uger om LDL")
    tasks = {t.title: (t.assignee, t.due_on) for t in Task.objects.filter(origin="agreed_action")}
    assert tasks == {"Ring om 2 uger om LDL": (colleague, soon), "Bestil fodterapeut": (member, later)}
    assert recorded.foreign_requests() == []
