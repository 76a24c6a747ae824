"""A professional's encounter work in a real browser: find the citizen, log and sign an encounter,
see it in the timeline and the chart; bad values are refused at the field; outsiders get 404;
a signed note is corrected by an amendment that keeps the original.

Elements are found by ids, names, hrefs and data-testid, never by visible text, so the tests hold
while the Danish catalogue is being written."""

import datetime
import re
import zoneinfo
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from patients.models import Amendment, Encounter, Measurement
from tests.factories import MeasurementFactory, PatientFactory

from .conftest import log_in_through_form

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WHAT_MATTERS = "At kunne passe mine børnebørn om onsdagen."


def yesterday_at(hour: int, minute: int) -> str:
    """A past time as a datetime-local input takes it."""
    day = timezone.localdate() - datetime.timedelta(days=1)
    return f"{day:%Y-%m-%d}T{hour:02d}:{minute:02d}"


def detail_path(patient) -> str:
    return reverse("patients:detail", args=[patient.public_id])


def test_it_logs_a_signed_encounter_from_search_to_chart(recorded, live_server, member, team, patient):
    page = recorded.page
    other = PatientFactory(team=team, first_name="Ole", last_name="Hansen")

    log_in_through_form(page, member)
    page.locator(f'nav a[href="{reverse("patients:list")}"]').click()
    expect(page).to_have_url(live_server.url + reverse("patients:list"))
    rows = page.locator("#patient-rows")
    expect(rows.locator(f'a[href="{detail_path(other)}"]')).to_have_count(1)

    page.locator("#id_term").press_sequentially("jens")
    expect(rows.locator(f'a[href="{detail_path(other)}"]')).to_have_count(0)
    rows.locator(f'a[href="{detail_path(patient)}"]').click()
    expect(page).to_have_url(live_server.url + detail_path(patient))

    page.locator('main a[href$="/encounters/new/"]').click()
    page.select_option("#id_kind", "phone")
    page.fill("#id_started_at", yesterday_at(10, 30))
    page.fill("#id_duration_minutes", "45")
    page.fill("#id_what_matters", WHAT_MATTERS)
    page.fill("#id_m_hba1c", "58")
    page.locator("button[name=sign]").click()
    page.locator("#sign-confirm").click()  # "Save and sign" asks for confirmation first

    expect(page).to_have_url(live_server.url + detail_path(patient))
    encounter = page.locator("[data-testid=encounter]")
    expect(encounter).to_have_count(1)
    expect(encounter).to_contain_text(WHAT_MATTERS)
    expect(encounter.locator("li", has_text=re.compile(r"\b58\b"))).to_have_count(1)
    expect(page.locator("#chart-hba1c .main-svg").first).to_be_visible()

    saved = Encounter.objects.get(patient=patient)
    assert saved.is_signed
    assert saved.kind == "phone"
    assert saved.duration_minutes == 45
    assert timezone.localtime(saved.started_at).strftime("%Y-%m-%dT%H:%M") == yesterday_at(10, 30)
    assert Measurement.objects.get(encounter=saved, type__code="hba1c").value == Decimal(58)
    assert recorded.foreign_requests() == []


def test_it_refuses_an_implausible_hba1c_next_to_the_field(page, logged_in, live_server, member, patient):
    logged_in(member)
    # The address the patient page links to; the patient page itself is not what this test is about.
    form_path = detail_path(patient) + "encounters/new/"
    page.goto(form_path)
    page.fill("#id_started_at", yesterday_at(9, 0))
    page.fill("#id_what_matters", WHAT_MATTERS)
    page.fill("#id_m_hba1c", "900")
    page.locator("button[name=sign]").click()
    page.locator("#sign-confirm").click()  # "Save and sign" asks for confirmation first

    field = page.locator(".field-error", has=page.locator("#id_m_hba1c"))
    expect(field.locator(".invalid-feedback")).to_contain_text("200")
    expect(page).to_have_url(live_server.url + form_path)
    expect(page.locator("#id_m_hba1c")).to_have_value("900")
    expect(page.locator("#id_what_matters")).to_have_value(WHAT_MATTERS)
    assert not Encounter.objects.filter(patient=patient).exists()
    assert not Measurement.objects.filter(patient=patient).exists()


def test_it_answers_an_outsider_with_404(page, logged_in, outsider, patient):
    logged_in(outsider)
    response = page.goto(detail_path(patient))
    assert response is not None
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text(patient.last_name)
    expect(page.locator('a[href$="/encounters/new/"]')).to_have_count(0)


def test_it_gives_the_outsider_a_404_page_with_a_way_back(page, logged_in, outsider, patient):
    logged_in(outsider)
    response = page.goto(detail_path(patient))
    assert response is not None
    assert response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "da")
    expect(page.locator(f'nav a[href="{reverse("patients:list")}"]')).to_have_count(1)


def test_it_dates_a_chart_point_by_the_centre_s_clock(page, logged_in, member, patient):
    copenhagen = zoneinfo.ZoneInfo("Europe/Copenhagen")
    MeasurementFactory(
        patient=patient, value=Decimal(61), measured_at=datetime.datetime(2025, 3, 10, 0, 30, tzinfo=copenhagen)
    )

    logged_in(member)
    page.goto(detail_path(patient))
    # plotly's drag layer lies over the points and takes the pointer; the hover goes through it.
    page.locator("#chart-hba1c .scatterlayer .point").first.hover(force=True)
    hover = page.locator("#chart-hba1c .hoverlayer .hovertext")
    expect(hover).to_be_visible()
    assert "10.03.2025" in (hover.text_content() or "")


def test_it_dates_the_axis_of_a_chart_with_one_value(page, logged_in, member, patient):
    MeasurementFactory(patient=patient, value=Decimal(58))

    logged_in(member)
    page.goto(detail_path(patient))
    ticks = page.locator("#chart-hba1c .xtick text")
    expect(ticks.first).to_be_attached()
    labels = ticks.all_text_contents()
    assert not [label for label in labels if re.search(r"\d:\d\d:\d\d", label)], labels


def test_it_signs_a_draft_and_keeps_the_original_beside_the_amendment(page, logged_in, live_server, member, patient):
    note = "Karen fortæller, at hun går 20 minutter hver dag."
    correction = "Rettelse: hun går 20 minutter hver anden dag."

    logged_in(member)
    page.goto(detail_path(patient))
    page.locator('main a[href$="/encounters/new/"]').click()
    page.fill("#id_note", note)
    page.locator("button[name=draft]").click()

    expect(page).to_have_url(live_server.url + detail_path(patient))
    encounter = page.locator("[data-testid=encounter]")
    expect(encounter).to_have_count(1)
    expect(encounter).to_have_class(re.compile(r"\bdraft\b"))
    assert not Encounter.objects.get(patient=patient).is_signed

    # Signing asks for confirmation on a page that says what it means.
    encounter.locator('a[href$="/sign/"]').click()
    page.locator('main form[action$="/sign/"] button[type=submit]').click()
    # Only a signed encounter offers an amendment.
    expect(encounter.locator('a[href*="/amend/"]')).to_be_visible()
    expect(encounter).not_to_have_class(re.compile(r"\bdraft\b"))
    assert Encounter.objects.get(patient=patient).is_signed

    encounter.locator('a[href*="/amend/"]').click()
    page.fill("#id_text", correction)
    page.locator("main form[method=post] button[type=submit]").click()

    expect(page).to_have_url(live_server.url + detail_path(patient))
    expect(encounter).to_contain_text(note)
    expect(encounter.locator(".amendment")).to_contain_text(correction)
    saved = Encounter.objects.get(patient=patient)
    assert saved.note == note
    assert Amendment.objects.get(encounter=saved).text == correction
