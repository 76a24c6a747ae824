"""My day in a real browser (issue 13): a professional signs in and lands on the day's appointments,
reads the briefing of the first, logs the encounter from the appointment (pre-filled), signs it, and
the appointment shows attended. Screenshots of the day at desktop and tablet width go to /tmp/day-*.png."""

import datetime
import re
import tempfile
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from patients.models import Encounter, Programme
from scheduling.models import AppointmentStatus, Course, CourseParticipant, CourseSession
from tests.browser.conftest import log_in_through_form
from tests.factories import AppointmentFactory, PatientFactory, RoomFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Screenshots to look at (the desktop's and the tablet's width), not compared.
SCREENSHOTS = Path(tempfile.gettempdir())


def danish(text: str) -> str:
    with translation.override("da"):
        return gettext(text)


def begun_today() -> datetime.datetime:
    """A start that is today and has begun, whatever the time of day: an hour ago, or midnight."""
    now = timezone.localtime().replace(second=0, microsecond=0)
    midnight = now.replace(hour=0, minute=0)
    return max(midnight, now - datetime.timedelta(hours=1))


def the_rest_of_the_day(after: datetime.datetime, count: int) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """`count` slots one after the other from `after` to midnight at most, an hour each when the day has
    room for it: the rest of the day's lines, never overlapping (the calendar refuses that)."""
    midnight = (after + datetime.timedelta(days=1)).replace(hour=0, minute=0)
    slot = min(datetime.timedelta(hours=1), (midnight - after) / (count + 1))
    starts = [after + slot * (i + 1) for i in range(count)]
    return [(start, start + slot * 3 / 4) for start in starts]


def test_from_my_day_to_a_signed_encounter_and_the_appointment_attended(
    page, live_server, member, colleague, coordinator, team, patient
):
    patient.address = "Søndergade 12, 8000 Aarhus C"
    patient.save(update_fields=["address"])
    start = begun_today()
    first = AppointmentFactory(
        patient=patient,
        professionals=[member, colleague],
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=45),
        room=RoomFactory(name="Samtalerum Lærken"),
        purpose="Opfølgning på HbA1c og fødder",
    )
    # The rest of the day, for the screenshot and to see that the first line is the first.
    visit, call, cancelled, session = the_rest_of_the_day(first.ends_at, 4)
    AppointmentFactory(
        patient=PatientFactory(team=team, first_name="Ole", last_name="Madsen", address="Vestergade 3, 8000 Aarhus C"),
        professionals=[member],
        kind="home_visit",
        starts_at=visit[0],
        ends_at=visit[1],
        purpose="Medicingennemgang",
    )
    AppointmentFactory(
        patient=PatientFactory(team=team, first_name="Birthe", last_name="Nielsen", phone="20304050"),
        professionals=[member],
        kind="phone",
        starts_at=call[0],
        ends_at=call[1],
        purpose="Svar på blodprøver",
    )
    AppointmentFactory(
        patient=PatientFactory(team=team, first_name="Jens", last_name="Holm"),
        professionals=[member],
        starts_at=cancelled[0],
        ends_at=cancelled[1],
        status=AppointmentStatus.CANCELLED_BY_CITIZEN,
        cancel_reason="Syg",
    )
    course = Course.objects.create(
        name="Diabetesskole, efterår",
        programme=Programme.objects.get(code="diabetes-course"),
        team=team,
        room=RoomFactory(name="Store sal"),
        weekday=session[0].weekday(),
        starts_at=session[0].time(),
        ends_at=session[1].time(),
        first_day=session[0].date(),
        session_count=1,
        created_by=coordinator,
    )
    course.professionals.set([member])
    for citizen in [PatientFactory(team=team) for _ in range(4)]:
        CourseParticipant.objects.create(
            course=course, patient=citizen, joined_on=session[0].date(), added_by=coordinator
        )
    CourseSession.objects.create(course=course, number=1, starts_at=session[0], ends_at=session[1])

    log_in_through_form(page, member)
    expect(page).to_have_url(live_server.url + reverse("scheduling:my_day"))
    lines = page.locator("[data-testid=day-items] > [data-testid=day-item]")
    expect(lines).to_have_count(4)
    expect(lines.first).to_contain_text("Karen Jensen")
    expect(lines.first).to_contain_text("Samtalerum Lærken")
    expect(page.locator("[data-testid=participants]")).to_contain_text("4")
    page.screenshot(path=str(SCREENSHOTS / "day-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.screenshot(path=str(SCREENSHOTS / "day-tablet.png"), full_page=True)
    # Nothing spills sideways on a tablet.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Moving between days swaps the list (htmx) and keeps the address; back to today the same way.
    page.locator("[data-testid=next-day]").click()
    expect(page).to_have_url(re.compile(r"\?day=" + (start.date() + datetime.timedelta(days=1)).isoformat()))
    expect(page.locator("[data-testid=empty-day]")).to_be_visible()
    page.locator("[data-testid=previous-day]").click()
    expect(lines).to_have_count(4)

    lines.first.locator("[data-testid=briefing]").click()
    expect(page).to_have_url(live_server.url + reverse("coordination:briefing", args=[patient.public_id]))
    expect(page.locator("h1")).to_contain_text("Karen Jensen")
    page.go_back()
    expect(page).to_have_url(re.compile(re.escape(reverse("scheduling:my_day"))))

    page.locator(f"#appointment-{first.public_id} [data-testid=log-encounter]").click()
    expect(page.locator("[data-testid=from-appointment]")).to_contain_text("Opfølgning på HbA1c og fødder")
    expect(page.locator("#id_kind")).to_have_value("individual")
    expect(page.locator("#id_started_at")).to_have_value(start.strftime("%d.%m.%Y %H:%M"))
    expect(page.locator("#id_duration_minutes")).to_have_value("45")
    page.screenshot(path=str(SCREENSHOTS / "day-encounter-form.png"), full_page=True)
    page.fill("#id_note", "Gennemgang af blodsukker og fødder. Ingen sår.")
    page.locator("button[name=sign]").click()
    page.locator("#sign-confirm").click()
    # Back on My day, on the appointment's day, at its line.
    day = re.escape(reverse("scheduling:my_day")) + r"\?day=" + start.date().isoformat()
    expect(page).to_have_url(re.compile(day + f"#appointment-{first.public_id}$"))
    line = page.locator(f"#appointment-{first.public_id}")
    expect(line.locator("[data-testid=status]")).to_have_text(danish("Attended"))
    expect(line.locator("[data-testid=logged]")).to_be_visible()
    first.refresh_from_db()
    assert first.status == AppointmentStatus.ATTENDED
    assert first.encounter == Encounter.objects.get(patient=patient) and first.encounter.is_signed
