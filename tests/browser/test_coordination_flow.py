"""Coordination in a real browser: an agreed action becomes a task for a colleague in the same
step as the encounter; the colleague sees it as new, comments and completes it; the coordinator's
board shows the change."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from coordination.models import Task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agreed_action_travels_from_encounter_to_done(
    page, logged_in, live_server, member, colleague, coordinator, patient
):
    logged_in(member)
    page.goto(live_server.url + reverse("coordination:encounter_create", args=[patient.public_id]))
    day = timezone.localdate() - datetime.timedelta(days=1)
    page.fill("#id_started_at", f"{day:%Y-%m-%d}T09:15")
    page.fill("#id_what_matters", "At kunne gå til svømning igen")
    page.fill("#id_action-0-text", "Bestil fodterapeut")
    page.select_option("#id_action-0-assignee", str(colleague.id))
    page.locator("button[name=sign]").click()
    page.locator("#sign-confirm").click()  # "Save and sign" asks for confirmation first
    expect(page).to_have_url(live_server.url + reverse("patients:detail", args=[patient.public_id]))
    # The citizen's page shows the open task in the coordination panel.
    expect(page.locator("#coordination-panel")).to_contain_text("Bestil fodterapeut")
    task = Task.objects.get()
    assert (task.assignee, task.origin) == (colleague, "agreed_action")

    logged_in(colleague)
    page.goto(live_server.url + reverse("coordination:my_tasks"))
    expect(page.locator("[data-testid=news-count]")).to_have_text("1")
    page.locator('nav a[href="{}"]'.format(reverse("coordination:news"))).click()
    expect(page.locator("[data-testid=news-item]")).to_contain_text("Bestil fodterapeut")
    page.locator(f'a[href="{reverse("coordination:task", args=[task.public_id])}"]').first.click()
    page.fill("#id_text", "Tid bestilt til tirsdag")
    page.locator("button[name=comment]").click()
    expect(page.locator("[data-testid=comment]")).to_contain_text("Tid bestilt til tirsdag")
    page.locator("button[name=status][value=done]").click()
    expect(page.locator("[data-testid=task-status]")).to_have_text("Udført")

    logged_in(coordinator)
    page.goto(live_server.url + reverse("coordination:board"))
    expect(page.locator("[data-testid=column-done]")).to_contain_text("Bestil fodterapeut")
    expect(page.locator("[data-testid=column-open]")).not_to_contain_text("Bestil fodterapeut")
    task.refresh_from_db()
    assert task.status == "done"
    assert task.comments.get().author == colleague
