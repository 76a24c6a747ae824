"""The manager in a real browser: filters the dashboard, exports CSV and approves a good story,
all without reaching a citizen's record."""

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from patients.models import Consent
from reporting.models import Story
from reporting.rollups import run_rollups
from reporting.stories import story_create, story_submit
from tests.test_dashboard import diabetic_citizens
from tests.test_rollups import MONTH

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_manager_filters_exports_and_approves(page, logged_in, live_server, manager, member, team, patient):
    diabetic_citizens(team, 10, measured=5)
    run_rollups(MONTH, MONTH)
    Consent.objects.create(
        patient=patient, kind="story_reports", given_on=timezone.localdate(), given_by="x", recorded_by=member
    )
    story = story_create(
        actor=member,
        patient=patient,
        title="Karen går igen",
        what_happened="Karen Jensen kunne ikke gå.",
        what_made_the_difference="Gåture.",
    )
    story_submit(
        actor=member,
        story=story,
        expected_version=1,
        title=story.title,
        published_text=story.published_text,
        show_chart=False,
    )

    logged_in(manager)
    page.goto(live_server.url + reverse("reporting:overview"))
    expect(page.locator("[data-testid=last-run]")).to_be_visible()
    page.select_option("#id_unit", f"team:{team.public_id}")
    page.locator("main form button[type=submit]").click()
    table = page.locator("[data-testid=indicator-table]")
    expect(table.locator("tr[data-code=DM-HBA1C-MEASURED] [data-testid=value]")).to_have_text("50,0 %")
    point = page.locator("#chart-run-dm-hba1c-measured .scatterlayer .trace .points path").first
    expect(point).to_be_visible()
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    # plotly's drag layer lies over the points and shows the hover label on mouse moves
    page.mouse.move(box["x"] - 20, box["y"] - 20)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
    expect(page.locator("#chart-run-dm-hba1c-measured .hovertext")).to_contain_text("50,0 %")
    expect(page.locator("[data-testid=teams]")).to_contain_text("Diabetes Nord")

    with page.expect_download() as download:
        page.locator("[data-testid=export-csv]").click()
    content = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    assert "DM-HBA1C-MEASURED" in content

    page.goto(live_server.url + reverse("reporting:stories"))
    page.locator("[data-testid=story-to-review]").click()
    expect(page.locator("[data-testid=story-text]")).to_contain_text("Borgeren kunne ikke gå")
    expect(page.locator("body")).not_to_contain_text("Jensen")
    page.locator("button[name=approve]").click()
    expect(page).to_have_url(live_server.url + reverse("reporting:stories"))
    story.refresh_from_db()
    assert story.status == "approved"
    assert page.goto(live_server.url + reverse("patients:detail", args=[patient.public_id])).status == 404
    assert Story.objects.filter(status="approved").count() == 1
