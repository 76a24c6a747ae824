"""Recording exactly, in a real browser (issue 9): a decimal comma is saved as typed, also from a
browser that speaks English; a draft's value stays off the chart and opens no care-gap task until
it is signed; a mistyped HbA1c is corrected and the original stays visible, crossed out; the
citizen list finds people as they are typed.

Elements are found by ids, names, hrefs and data-testid, not by visible text."""

import datetime
import re
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from coordination.caregaps import evaluate_care_gaps
from coordination.models import Task
from patients.models import Encounter, Enrolment, Measurement, MeasurementType, Programme
from tests.factories import ConditionFactory, EncounterFactory, MeasurementFactory, PatientFactory

from .conftest import TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def detail_path(patient) -> str:
    return reverse("patients:detail", args=[patient.public_id])


def encounter_path(patient) -> str:
    return reverse("coordination:encounter_create", args=[patient.public_id])


def yesterday_at(hour: int, minute: int) -> str:
    """A past time as a Danish page writes it: 27.11.2026 10:30."""
    day = timezone.localdate() - datetime.timedelta(days=1)
    return f"{day:%d.%m.%Y} {hour:02d}:{minute:02d}"


def days_ago(days: int) -> datetime.datetime:
    day = timezone.localdate() - datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(10), tzinfo=timezone.get_current_timezone())


def plotted(page, chart: str) -> list[float]:
    """The y values plotly drew in a chart of the page."""
    page.locator(f"#{chart} .main-svg").first.wait_for()
    return page.evaluate(f"document.getElementById('{chart}').data.flatMap(trace => trace.y)")


def test_a_decimal_comma_in_weight_and_ldl_is_saved_as_typed(page, logged_in, live_server, member, patient):
    logged_in(member)
    page.goto(encounter_path(patient))
    page.fill("#id_started_at", yesterday_at(10, 30))
    page.fill("#id_note", "Vejning og blodprøve.")
    page.fill("#id_m_weight", "86,5")
    page.fill("#id_m_ldl", "3,3")
    page.locator("button[name=sign]").click()
    # Signing asks first, and says what signing means.
    expect(page.locator("#sign-dialog")).to_be_visible()
    expect(page.locator("#sign-dialog")).to_contain_text(re.compile(r"\S"))
    page.locator("#sign-confirm").click()

    expect(page).to_have_url(live_server.url + detail_path(patient))
    values = page.locator("[data-testid=encounter-values]")
    expect(values).to_contain_text("86,5 kg")
    expect(values).to_contain_text("3,3 mmol/L")
    saved = {m.type.code: m.value for m in Measurement.objects.filter(patient=patient).select_related("type")}
    assert saved == {"weight": Decimal("86.5"), "ldl": Decimal("3.3")}
    assert Encounter.objects.get(patient=patient).is_signed


def test_a_number_with_a_thousands_separator_is_refused_at_the_field(page, logged_in, member, patient):
    logged_in(member)
    page.goto(encounter_path(patient))
    page.fill("#id_started_at", yesterday_at(9, 0))
    page.fill("#id_m_weight", "1.234,5")
    page.locator("button[name=draft]").click()
    field = page.locator(".field-error", has=page.locator("#id_m_weight"))
    expect(field.locator(".invalid-feedback")).to_be_visible()
    expect(page.locator("#id_m_weight")).to_have_value("1.234,5")
    assert not Measurement.objects.exists()


def test_a_browser_in_english_still_reads_the_danish_comma_and_date(browser, live_server, member, patient):
    """The browser's own number and date inputs follow the browser's language; these do not."""
    client = Client()
    client.force_login(member)
    context = browser.new_context(base_url=live_server.url, locale="en-US", timezone_id="Europe/Copenhagen")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    try:
        page = context.new_page()
        page.goto(encounter_path(patient))
        # The time is shown the Danish way, whatever the browser's language.
        expect(page.locator("#id_started_at")).to_have_value(re.compile(r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}$"))
        expect(page.locator("#id_started_at")).to_have_attribute("placeholder", re.compile(r"^dd\.mm\."))
        page.fill("#id_started_at", yesterday_at(8, 15))
        page.locator("#id_m_weight").press_sequentially("86,5")
        page.locator("button[name=draft]").click()
        expect(page).to_have_url(live_server.url + detail_path(patient))
    finally:
        context.close()
    measurement = Measurement.objects.get(patient=patient)
    assert measurement.value == Decimal("86.5")
    started = timezone.localtime(measurement.encounter.started_at)
    assert (started.hour, started.minute) == (8, 15)


def test_a_drafts_value_is_off_the_chart_and_opens_no_task_until_signed(page, logged_in, live_server, member, team):
    citizen = PatientFactory(team=team, responsible_professional=member, first_name="Bent", last_name="Lund")
    ConditionFactory(patient=citizen, kind="dm2")
    start = timezone.localdate() - datetime.timedelta(days=400)
    Enrolment.objects.create(
        patient=citizen,
        programme=Programme.objects.get(code="diabetes-follow-up"),
        referral_received_on=start,
        start_on=start,
    )
    MeasurementFactory(patient=citizen, value=Decimal(60), measured_at=days_ago(90), recorded_by=member)
    evaluate_care_gaps(patient_ids=[citizen.id])

    logged_in(member)
    page.goto(encounter_path(citizen))
    page.fill("#id_started_at", yesterday_at(11, 0))
    page.fill("#id_m_hba1c", "75")
    page.locator("button[name=draft]").click()
    expect(page).to_have_url(live_server.url + detail_path(citizen))

    # The author sees the draft's value, marked as a draft; the chart does not plot it.
    expect(page.locator(".draft-values")).to_contain_text("75 mmol/mol")
    assert plotted(page, "chart-hba1c") == [60]
    evaluate_care_gaps(patient_ids=[citizen.id])  # the periodic job sees no rise
    assert not Task.objects.filter(patient=citizen, care_gap__rule__code="hba1c-rising").exists()

    page.locator("[data-testid=sign-draft]").click()
    expect(page.locator("[data-testid=signing-means]")).to_be_visible()
    page.locator('main form[action$="/sign/"] button[type=submit]').click()
    expect(page).to_have_url(live_server.url + detail_path(citizen))
    assert plotted(page, "chart-hba1c") == [60, 75]
    evaluate_care_gaps(patient_ids=[citizen.id])
    task = Task.objects.get(patient=citizen, care_gap__rule__code="hba1c-rising")
    assert task.description == "60 → 75"


def test_a_signed_hba1c_is_corrected_and_the_original_stays_crossed_out(
    page, logged_in, live_server, member, colleague, patient
):
    encounter = EncounterFactory(patient=patient, professional=member, started_at=days_ago(3), note="Blodprøve")
    Measurement.objects.create(
        patient=patient,
        type=MeasurementType.objects.get(code="hba1c"),
        value=Decimal(86),
        measured_at=encounter.started_at,
        source="encounter",
        encounter=encounter,
        recorded_by=member,
    )

    logged_in(colleague)
    page.goto(detail_path(patient))
    assert plotted(page, "chart-hba1c") == [86]
    page.locator("[data-testid=correct-hba1c]").click()
    expect(page.locator("[data-testid=original-value]")).to_contain_text("86 mmol/mol")
    page.fill("#id_value", "68")
    page.fill("#id_reason", "Tastefejl: 86 for 68")
    page.locator("main form[method=post] button[type=submit]").click()

    expect(page).to_have_url(live_server.url + detail_path(patient))
    values = page.locator("[data-testid=encounter-values]")
    expect(values.locator("s[data-testid=superseded]")).to_have_text("HbA1c: 86 mmol/mol")
    expect(values.locator("[data-testid=correction]")).to_have_text("HbA1c: 68 mmol/mol")
    expect(values).to_contain_text("Tastefejl: 86 for 68")
    expect(values).to_contain_text(str(colleague))
    assert plotted(page, "chart-hba1c") == [68]
    # The corrected value offers no second correction; the correction does.
    expect(page.locator("[data-testid=correct-hba1c]")).to_have_count(1)

    page.locator(f'a[href="{reverse("patients:history", args=[patient.public_id])}"]').click()
    expect(page.locator("main table")).to_contain_text("86 mmol/mol")
    expect(page.locator("main table")).to_contain_text("68 mmol/mol")
    expect(page.locator("main table")).to_contain_text(str(colleague))


@pytest.mark.parametrize("typed", ["Nielsen, Thomas", "aase"])
def test_the_list_finds_citizens_as_people_type(page, logged_in, live_server, member, team, typed):
    thomas = PatientFactory(team=team, first_name="Thomas", last_name="Nielsen")
    aase = PatientFactory(team=team, first_name="Åse", last_name="Mørk")
    other = PatientFactory(team=team, first_name="Karl", last_name="Hansen")
    wanted = thomas if typed.startswith("Nielsen") else aase

    logged_in(member)
    page.goto(reverse("patients:list"))
    rows = page.locator("#patient-rows")
    expect(rows.locator(f'a[href="{detail_path(other)}"]')).to_have_count(1)
    page.locator("#id_term").press_sequentially(typed)
    expect(rows.locator(f'a[href="{detail_path(other)}"]')).to_have_count(0)
    expect(rows.locator(f'a[href="{detail_path(wanted)}"]')).to_have_count(1)
    expect(rows.locator("tbody tr")).to_have_count(1)
