"""Booking, reading, moving and cancelling an appointment through the HTTP client (issue 13), the
clash message a person sees, and the citizen's appointments on the patient page."""

import datetime
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from healthcenter.models import AccessLog, AccessOutcome
from scheduling import services
from scheduling.models import Appointment, AppointmentStatus, Place

from .conftest import client_for
from .factories import AppointmentFactory, PatientFactory, RoomFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST_BUDGET = 10


def english(client):
    """English pages: the new texts' Danish is merged into locale/ by the lead (see test_week_views)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def as_member(member):
    return english(client_for(member))


@pytest.fixture
def as_outsider(outsider):
    return english(client_for(outsider))


def chosen_day() -> datetime.date:
    """A Tuesday 8 to 14 days ahead: bookable whatever day the tests run."""
    today = timezone.localdate()
    return today + datetime.timedelta(days=15 - today.weekday())


DAY = chosen_day()


def at(hour: int, minute: int = 0, day: datetime.date = DAY) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def hanne(team):
    return UserFactory(first_name="Hanne", last_name="Lund", teams=[team])


@pytest.fixture
def peter(team):
    return UserFactory(first_name="Peter", last_name="Holm", teams=[team])


@pytest.fixture
def room():
    return RoomFactory(name="Samtalerum 2")


def form_data(*people, hour=10, minute=0, minutes=45, room=None, kind="individual", place=None, **extra) -> dict:
    return {
        "kind": kind,
        "day": DAY.strftime("%d-%m-%Y"),
        "start_time": f"{hour:02d}:{minute:02d}",
        "duration": str(minutes),
        "place": place or ("room" if room else "home"),
        "room": str(room.public_id) if room else "",
        "professionals": [str(p.pk) for p in people],
        "purpose": "Årskontrol",
        **extra,
    }


def book_url(patient) -> str:
    return reverse("scheduling:book", args=[patient.public_id])


# --- booking -----------------------------------------------------------------------------------------------


def test_the_form_is_filled_from_the_link_in_danish_formats(member, patient, hanne, room):
    client = client_for(member)  # Danish, the default
    url = book_url(patient) + f"?start={DAY:%Y-%m-%d}T14:30&professional={hanne.pk}&room={room.public_id}&purpose=HbA1c"
    html = client.get(url).content.decode()
    assert f'value="{DAY:%d.%m.%Y}"' in html and 'value="14:30"' in html
    assert re.search(rf'value="{hanne.pk}"[^>]*checked', html)
    assert re.search(rf'value="{room.public_id}"[^>]*selected', html)
    assert re.search(r'value="room"[^>]*selected', html)
    assert 'value="HbA1c"' in html


def test_the_signed_in_professional_is_the_default_and_the_choices_are_the_citizens_team(
    as_member, member, colleague, outsider, patient
):
    html = as_member.get(book_url(patient)).content.decode()
    # The professionals' boxes (a bare value="<pk>" could be a duration's or another select's option).
    assert re.search(rf'name="professionals" value="{member.pk}"[^>]*checked', html)
    assert f'name="professionals" value="{colleague.pk}"' in html
    assert f'name="professionals" value="{outsider.pk}"' not in html


def test_a_coordinator_is_not_offered_as_a_professional_nor_preselected(coordinator, member, patient):
    html = english(client_for(coordinator)).get(book_url(patient)).content.decode()
    assert f'name="professionals" value="{member.pk}"' in html
    assert f'name="professionals" value="{coordinator.pk}"' not in html


def test_it_books_and_shows_the_appointment_with_a_message(as_member, member, patient, room):
    response = as_member.post(book_url(patient), form_data(member, hour=9, minute=30, room=room), follow=True)
    appointment = Appointment.objects.get(patient=patient)
    assert response.redirect_chain[-1][0] == reverse("scheduling:appointment", args=[appointment.public_id])
    assert timezone.localtime(appointment.starts_at) == at(9, 30)
    assert appointment.ends_at - appointment.starts_at == datetime.timedelta(minutes=45)
    assert appointment.room == room and appointment.place == Place.ROOM
    html = response.content.decode()
    assert "is booked" in html and "Karen Jensen" in html


def test_a_clash_is_shown_at_the_top_naming_the_professional_the_room_and_the_time(
    as_member, member, hanne, peter, patient, room
):
    """Two professionals, one room: Hanne is in the room 10:00-10:45; booking Hanne and Peter in the same
    room at 10:30 is refused with both clashes as a person reads them, and nothing is booked."""
    other = PatientFactory(team=patient.team)
    services.appointment_book(
        actor=member,
        patient=other,
        data=services.AppointmentData(
            kind="individual", starts_at=at(10), ends_at=at(10, 45), place="room", professionals=[hanne], room=room
        ),
    )
    response = as_member.post(book_url(patient), form_data(hanne, peter, hour=10, minute=30, room=room))
    assert response.status_code == 200
    html = response.content.decode()
    # The messages are the alert at the top of the form.
    errors = re.search(r'data-testid="booking-errors">(.*?)</div>\s*</div>', html, re.S).group(1)
    day = DAY.strftime("%d-%m-%Y")
    assert f"Hanne Lund already has an appointment on {day} from 10:00 to 10:45." in errors
    assert f"The room Samtalerum 2 is taken by an appointment on {day} from 10:00 to 10:45." in errors
    assert "Peter Holm" not in errors  # Peter is free
    assert not Appointment.objects.filter(patient=patient).exists()
    # What the person typed is still there.
    assert 'value="10:30"' in html
    assert AccessLog.objects.filter(patient_public_id=patient.public_id, outcome=AccessOutcome.REJECTED).exists()


def test_a_clash_with_a_citizen_of_another_team_names_no_citizen(as_member, member, patient, other_team, room):
    stranger = PatientFactory(team=other_team, first_name="Vibeke", last_name="Fremmed")
    AppointmentFactory(patient=stranger, room=room, starts_at=at(13), ends_at=at(14))
    html = as_member.post(book_url(patient), form_data(member, hour=13, room=room)).content.decode()
    assert "The room Samtalerum 2 is taken by an appointment" in html
    assert "Vibeke" not in html and "Fremmed" not in html


def test_field_errors_of_the_service_are_shown_on_the_fields(as_member, member, patient):
    # A phone call at the citizen's home: the service refuses the place.
    html = as_member.post(book_url(patient), form_data(member, kind="phone", place="home")).content.decode()
    assert "A phone or video call takes place by phone or video." in html
    assert not Appointment.objects.exists()


def test_a_date_that_is_not_a_date_is_refused_with_the_format(member, patient):
    client = client_for(member)
    data = form_data(member)
    data["day"] = "31.02.2027"
    response = client.post(book_url(patient), data)
    assert response.status_code == 200
    assert not Appointment.objects.exists()
    data["day"] = DAY.strftime("%d.%m.%Y")
    data["start_time"] = "10.15"  # as many Danes write it
    client.post(book_url(patient), data)
    assert timezone.localtime(Appointment.objects.get().starts_at) == at(10, 15)


def test_after_booking_it_goes_back_to_a_local_next(as_member, member, patient):
    week = reverse("scheduling:my_week") + "?week=2027-W01"
    response = as_member.post(book_url(patient), {**form_data(member), "next": week})
    assert response.status_code == 302 and response["Location"] == week


def test_a_next_to_another_site_is_ignored(as_member, member, patient):
    response = as_member.post(book_url(patient), {**form_data(member), "next": "https://evil.example/"})
    appointment = Appointment.objects.get()
    assert response["Location"] == reverse("scheduling:appointment", args=[appointment.public_id])
    response = as_member.post(book_url(patient), {**form_data(member, hour=12), "next": "//evil.example/"})
    assert "evil" not in response["Location"]


def test_the_booking_form_is_404_outside_the_care_team(as_outsider, outsider, patient, member):
    assert as_outsider.get(book_url(patient)).status_code == 404
    assert as_outsider.post(book_url(patient), form_data(outsider)).status_code == 404
    assert not Appointment.objects.exists()
    assert AccessLog.objects.filter(
        user=outsider, outcome=AccessOutcome.DENIED, patient_public_id=patient.public_id
    ).exists()


# --- the appointment page, moving and cancelling -------------------------------------------------------------


@pytest.fixture
def booked(member, colleague, patient, room):
    return services.appointment_book(
        actor=colleague,
        patient=patient,
        data=services.AppointmentData(
            kind="individual",
            starts_at=at(10),
            ends_at=at(10, 45),
            place="room",
            professionals=[member, colleague],
            room=room,
            purpose="Fodundersøgelse",
        ),
    )


def test_the_appointment_page_says_everything_and_leads_on(as_member, booked, member, colleague, patient):
    response = as_member.get(reverse("scheduling:appointment", args=[booked.public_id]))
    html = response.content.decode()
    for text in ["Karen Jensen", "Samtalerum 2", "Fodundersøgelse", "Booked", member.get_full_name(), "Booked by"]:
        assert text in html, text
    assert colleague.get_full_name() in html
    assert reverse("scheduling:invitation", args=[booked.public_id]) in html
    assert reverse("scheduling:appointment_move", args=[booked.public_id]) in html
    assert reverse("coordination:briefing", args=[patient.public_id]) in html
    # It has not begun: nothing to log yet (the next test).
    assert reverse("coordination:encounter_create", args=[patient.public_id]) not in html
    assert AccessLog.objects.filter(user=member, patient_public_id=patient.public_id, what="appointment").exists()


def test_the_appointment_page_offers_log_encounter_only_once_the_appointment_has_begun(as_member, member, patient):
    coming = AppointmentFactory(patient=patient, professionals=[member], starts_at=at(10))
    page = as_member.get(reverse("scheduling:appointment", args=[coming.public_id])).content.decode()
    assert 'data-testid="log-encounter"' not in page
    begun_at = timezone.now() - datetime.timedelta(hours=2)
    begun = AppointmentFactory(
        patient=patient, professionals=[member], starts_at=begun_at, ends_at=begun_at + datetime.timedelta(minutes=30)
    )
    page = as_member.get(reverse("scheduling:appointment", args=[begun.public_id])).content.decode()
    assert 'data-testid="log-encounter"' in page


def test_the_appointment_page_is_404_outside_the_care_team(as_outsider, outsider, booked, patient):
    assert as_outsider.get(reverse("scheduling:appointment", args=[booked.public_id])).status_code == 404
    assert AccessLog.objects.filter(
        user=outsider, outcome=AccessOutcome.DENIED, patient_public_id=patient.public_id
    ).exists()


def move_data(appointment, *people, hour, room, version=None) -> dict:
    return {**form_data(*people, hour=hour, room=room), "version": str(version or appointment.version)}


def test_it_moves_the_appointment(as_member, member, booked, room):
    url = reverse("scheduling:appointment_move", args=[booked.public_id])
    form = as_member.get(url).content.decode()
    assert f'name="version" value="{booked.version}"' in form and 'value="10:00"' in form
    response = as_member.post(url, move_data(booked, member, hour=14, room=room))
    assert response.status_code == 302
    booked.refresh_from_db()
    assert timezone.localtime(booked.starts_at) == at(14)
    assert list(booked.professionals.all()) == [member]


def test_a_stale_move_changes_nothing_and_says_so(as_member, member, colleague, booked, room):
    url = reverse("scheduling:appointment_move", args=[booked.public_id])
    old_version = booked.version
    # Someone else moved it meanwhile.
    services.appointment_reschedule(
        actor=colleague,
        appointment=booked,
        expected_version=old_version,
        data=services.AppointmentData(
            kind="individual", starts_at=at(11), ends_at=at(11, 45), place="room", professionals=[colleague], room=room
        ),
    )
    response = as_member.post(url, move_data(booked, member, hour=15, room=room, version=old_version))
    assert response.status_code == 200
    assert "Someone else saved this record while you were editing it" in response.content.decode()
    booked.refresh_from_db()
    assert timezone.localtime(booked.starts_at) == at(11)


def test_cancelling_needs_a_reason_and_then_frees_the_time(as_member, member, booked):
    url = reverse("scheduling:appointment_cancel", args=[booked.public_id])
    response = as_member.post(url, {"by": "citizen", "reason": "", "version": booked.version})
    assert response.status_code == 200
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED
    response = as_member.post(url, {"by": "citizen", "reason": "Borgeren er syg", "version": booked.version})
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CANCELLED_BY_CITIZEN and booked.cancel_reason == "Borgeren er syg"
    assert not booked.reservations.exists()
    page = as_member.get(reverse("scheduling:appointment", args=[booked.public_id])).content.decode()
    assert "Cancelled by the citizen" in page and "Borgeren er syg" in page
    assert reverse("scheduling:appointment_move", args=[booked.public_id]) not in page


def test_cancelling_by_the_centre_with_a_stale_version_changes_nothing(as_member, booked):
    url = reverse("scheduling:appointment_cancel", args=[booked.public_id])
    response = as_member.post(url, {"by": "centre", "reason": "Sygdom", "version": booked.version - 1 or 99})
    assert response.status_code == 200
    assert "Someone else saved this record" in response.content.decode()
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED
    as_member.post(url, {"by": "centre", "reason": "Sygdom", "version": booked.version})
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CANCELLED_BY_CENTRE


def test_moving_and_cancelling_are_404_outside_the_care_team(as_outsider, outsider, booked, room):
    move = reverse("scheduling:appointment_move", args=[booked.public_id])
    cancel = reverse("scheduling:appointment_cancel", args=[booked.public_id])
    assert as_outsider.get(move).status_code == 404
    assert as_outsider.post(move, move_data(booked, outsider, hour=14, room=room)).status_code == 404
    assert as_outsider.post(cancel, {"by": "centre", "reason": "x", "version": booked.version}).status_code == 404
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED and timezone.localtime(booked.starts_at) == at(10)


# --- the citizen's appointments on the patient page -----------------------------------------------------------


def test_the_patient_page_loads_the_appointments_fragment(as_member, patient):
    html = as_member.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    assert f'hx-get="{reverse("scheduling:patient_appointments", args=[patient.public_id])}"' in html


def test_the_fragment_lists_coming_and_past_appointments_with_a_book_button(as_member, member, patient, booked):
    past = AppointmentFactory(
        patient=patient,
        starts_at=at(10, day=DAY - datetime.timedelta(days=40)),
        ends_at=at(11, day=DAY - datetime.timedelta(days=40)),
        status=AppointmentStatus.DID_NOT_ATTEND,
    )
    url = reverse("scheduling:patient_appointments", args=[patient.public_id])
    html = as_member.get(url, **HTMX).content.decode()
    assert "<html" not in html
    assert reverse("scheduling:appointment", args=[booked.public_id]) in html
    assert reverse("scheduling:appointment", args=[past.public_id]) in html
    assert "Did not attend" in html and "Earlier" in html
    assert reverse("scheduling:book", args=[patient.public_id]) in html
    # Without htmx: a page of its own.
    assert "<html" in as_member.get(url).content.decode()


def test_the_fragment_is_404_outside_the_care_team(as_outsider, patient):
    url = reverse("scheduling:patient_appointments", args=[patient.public_id])
    assert as_outsider.get(url, **HTMX).status_code == 404


@pytest.mark.parametrize("count", [1, 20])
def test_the_fragments_queries_do_not_grow_with_the_appointments(
    count, as_member, member, colleague, patient, django_assert_max_num_queries
):
    for index in range(count):
        AppointmentFactory(
            patient=patient,
            professionals=[member, colleague],
            starts_at=at(8 + index % 9, day=DAY + datetime.timedelta(days=index // 9)),
            ends_at=at(8 + index % 9, 30, day=DAY + datetime.timedelta(days=index // 9)),
            room=RoomFactory(),
        )
        AppointmentFactory(
            patient=patient,
            professionals=[member],
            starts_at=at(8 + index % 9, day=DAY - datetime.timedelta(days=30 + index)),
            ends_at=at(9 + index % 9, day=DAY - datetime.timedelta(days=30 + index)),
        )
    url = reverse("scheduling:patient_appointments", args=[patient.public_id])
    with django_assert_max_num_queries(LIST_BUDGET):
        response = as_member.get(url, **HTMX)
    links = re.findall(r'href="/appointments/[0-9a-f-]{36}/"', response.content.decode())
    assert len(links) == count + min(count, 5)  # every coming one, the last five past ones
