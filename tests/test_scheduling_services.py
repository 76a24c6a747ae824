"""The booking services and the database's own refusal of a double booking (issue 13)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from healthcenter.models import AccessLog
from patients.models import Programme
from scheduling import services
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    Course,
    CourseParticipant,
    ParticipantStatus,
    Place,
    Reservation,
)

from .factories import (
    AppointmentFactory,
    EncounterFactory,
    PatientFactory,
    RoomFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def hanne(team):
    return UserFactory(first_name="Hanne", last_name="Jensen", teams=[team])


@pytest.fixture
def peter(team):
    return UserFactory(first_name="Peter", last_name="Holm", teams=[team])


@pytest.fixture
def citizen(team, hanne):
    return PatientFactory(team=team, responsible_professional=hanne)


def tomorrow_at(hour: int, minute: int = 0) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def data(*people, start=None, minutes=45, room=None, kind="individual", place=None) -> services.AppointmentData:
    start = start or tomorrow_at(10)
    return services.AppointmentData(
        kind=kind,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=minutes),
        place=place or (Place.ROOM if room else Place.HOME),
        professionals=list(people),
        room=room,
        purpose="HbA1c-kontrol",
    )


def test_it_books_with_reservations_and_logs_under_the_citizen(citizen, hanne):
    room = RoomFactory()
    appointment = services.appointment_book(actor=hanne, patient=citizen, data=data(hanne, room=room))
    assert appointment.status == AppointmentStatus.BOOKED
    assert list(appointment.professionals.all()) == [hanne]
    assert Reservation.objects.filter(appointment=appointment).count() == 2
    assert AccessLog.objects.filter(patient_public_id=citizen.public_id, what="appointment booked").exists()


def test_it_refuses_a_professional_twice_naming_the_clash(citizen, hanne, peter):
    services.appointment_book(actor=hanne, patient=citizen, data=data(hanne, peter))
    other = PatientFactory(team=citizen.team)
    with pytest.raises(ValidationError) as refused:
        services.appointment_book(actor=peter, patient=other, data=data(peter, start=tomorrow_at(10, 30)))
    message = " ".join(refused.value.messages)
    assert "Peter Holm" in message and "10:00" in message and "10:45" in message
    assert citizen.first_name not in message
    assert Appointment.objects.filter(patient=other).count() == 0


def test_it_refuses_a_room_twice(citizen, hanne, peter):
    room = RoomFactory(name="Mødelokale 2")
    services.appointment_book(actor=hanne, patient=citizen, data=data(hanne, room=room))
    with pytest.raises(ValidationError) as refused:
        services.appointment_book(
            actor=peter,
            patient=PatientFactory(team=citizen.team),
            data=data(peter, room=room, start=tomorrow_at(9, 30)),
        )
    assert "Mødelokale 2" in " ".join(refused.value.messages)


def test_back_to_back_appointments_do_not_clash(citizen, hanne):
    services.appointment_book(actor=hanne, patient=citizen, data=data(hanne))
    services.appointment_book(actor=hanne, patient=citizen, data=data(hanne, start=tomorrow_at(10, 45)))
    assert Appointment.objects.filter(patient=citizen).count() == 2


def test_the_database_itself_refuses_overlapping_reservations(hanne):
    """Whoever writes (the admin, a script, a race between two bookings), PostgreSQL refuses."""
    first = AppointmentFactory(booked_by=hanne, professionals=[hanne])
    during = DateTimeTZRange(first.starts_at + datetime.timedelta(minutes=10), first.ends_at)
    with pytest.raises(IntegrityError, match="professional_not_booked_twice"), transaction.atomic():
        Reservation.objects.create(during=during, professional=hanne, appointment=AppointmentFactory(professionals=[]))


def test_a_race_past_the_check_is_refused_with_the_same_message(citizen, hanne, monkeypatch):
    services.appointment_book(actor=hanne, patient=citizen, data=data(hanne))
    real = services.clash_messages
    calls = []

    def blind_first_time(**kwargs):
        calls.append(1)
        return [] if len(calls) == 1 else real(**kwargs)

    monkeypatch.setattr(services, "clash_messages", blind_first_time)
    with pytest.raises(ValidationError) as refused:
        services.appointment_book(actor=hanne, patient=PatientFactory(team=citizen.team), data=data(hanne))
    assert "Hanne Jensen" in " ".join(refused.value.messages)


def test_a_cancellation_frees_the_time(citizen, hanne):
    appointment = services.appointment_book(actor=hanne, patient=citizen, data=data(hanne))
    services.appointment_cancel(
        actor=hanne, appointment=appointment, expected_version=appointment.version, by_citizen=True, reason="Syg"
    )
    assert appointment.status == AppointmentStatus.CANCELLED_BY_CITIZEN
    services.appointment_book(actor=hanne, patient=citizen, data=data(hanne))


def test_a_stale_change_overwrites_nothing(citizen, hanne):
    appointment = services.appointment_book(actor=hanne, patient=citizen, data=data(hanne))
    services.appointment_reschedule(
        actor=hanne, appointment=appointment, expected_version=1, data=data(hanne, start=tomorrow_at(13))
    )
    with pytest.raises(ValidationError) as refused:
        services.appointment_cancel(
            actor=hanne,
            appointment=Appointment.objects.get(pk=appointment.pk),
            expected_version=1,
            by_citizen=False,
            reason="Sygdom",
        )
    assert refused.value.code == "stale"
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED


def test_it_refuses_an_outsider_and_a_professional_outside_the_team(citizen, hanne):
    outsider = UserFactory(teams=[TeamFactory()])
    with pytest.raises(ValidationError):
        services.appointment_book(actor=outsider, patient=citizen, data=data(outsider))
    with pytest.raises(ValidationError) as refused:
        services.appointment_book(actor=hanne, patient=citizen, data=data(hanne, outsider))
    assert list(refused.value.message_dict) == ["professionals"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"minutes": 0}, "ends_at"),
        ({"minutes": 600}, "ends_at"),
        ({"start": timezone.now() - datetime.timedelta(days=2)}, "starts_at"),
        ({"kind": "home_visit", "place": Place.REMOTE}, "place"),
        ({"kind": "group"}, "kind"),
        ({"place": Place.ROOM}, "room"),
    ],
)
def test_it_explains_bad_input_per_field(citizen, hanne, change, field):
    with pytest.raises(ValidationError) as refused:
        services.appointment_book(actor=hanne, patient=citizen, data=data(hanne, **change))
    assert field in refused.value.message_dict
    assert not Appointment.objects.exists()


def test_a_no_show_only_after_the_start_and_signing_makes_it_attended(citizen, hanne):
    upcoming = services.appointment_book(actor=hanne, patient=citizen, data=data(hanne))
    with pytest.raises(ValidationError):
        services.appointment_did_not_attend(actor=hanne, appointment=upcoming, expected_version=upcoming.version)
    past = AppointmentFactory(patient=citizen, starts_at=timezone.now() - datetime.timedelta(hours=2), booked_by=hanne)
    services.appointment_did_not_attend(actor=hanne, appointment=past, expected_version=past.version)
    assert past.status == AppointmentStatus.DID_NOT_ATTEND

    encounter = EncounterFactory(patient=citizen, professional=hanne)
    services.appointment_link_encounter(actor=hanne, appointment=past, encounter=encounter)
    assert services.appointment_attended(actor=hanne, encounter=encounter).status == AppointmentStatus.ATTENDED


@pytest.mark.parametrize(
    ("status", "reason"), [("discharged", "Borgeren er udskrevet"), ("deceased", "Borgeren er død")]
)
def test_a_citizen_who_leaves_keeps_no_booked_time_and_no_course_place(citizen, hanne, status, reason):
    """Whoever changes the status (here a bare UPDATE, as a script would), the database frees the calendar."""
    coming = services.appointment_book(actor=hanne, patient=citizen, data=data(hanne))
    past = AppointmentFactory(patient=citizen, starts_at=timezone.now() - datetime.timedelta(days=3), booked_by=hanne)
    course = Course.objects.create(
        name="Diabetesskole",
        programme=Programme.objects.get(code="diabetes-course"),
        team=citizen.team,
        room=RoomFactory(),
        weekday=1,
        starts_at=datetime.time(10),
        ends_at=datetime.time(12),
        first_day=timezone.localdate(),
        session_count=1,
        created_by=hanne,
    )
    place = CourseParticipant.objects.create(
        course=course, patient=citizen, joined_on=timezone.localdate(), added_by=hanne
    )
    type(citizen).objects.filter(pk=citizen.pk).update(status=status)

    coming.refresh_from_db()
    assert (coming.status, coming.cancel_reason) == (AppointmentStatus.CANCELLED_BY_CENTRE, reason)
    assert not Reservation.objects.filter(appointment=coming).exists()
    past.refresh_from_db()
    assert past.status == AppointmentStatus.BOOKED
    place.refresh_from_db()
    assert (place.status, place.dropout_reason) == (ParticipantStatus.DROPPED_OUT, reason)
    assert place.dropped_out_on == timezone.localdate()


def test_signing_a_draft_linked_to_a_cancelled_appointment_leaves_it_cancelled(citizen, hanne):
    past = AppointmentFactory(patient=citizen, starts_at=timezone.now() - datetime.timedelta(hours=2), booked_by=hanne)
    draft = EncounterFactory(patient=citizen, professional=hanne, signed_at=None)
    services.appointment_link_encounter(actor=hanne, appointment=past, encounter=draft)
    past.refresh_from_db()
    services.appointment_cancel(
        actor=hanne, appointment=past, expected_version=past.version, by_citizen=True, reason="Indlagt"
    )
    assert services.appointment_attended(actor=hanne, encounter=draft).status == AppointmentStatus.CANCELLED_BY_CITIZEN


def test_a_citizen_who_moves_team_leaves_the_old_teams_course(citizen, hanne):
    course = Course.objects.create(
        name="Diabetesskole",
        programme=Programme.objects.get(code="diabetes-course"),
        team=citizen.team,
        room=RoomFactory(),
        weekday=1,
        starts_at=datetime.time(10),
        ends_at=datetime.time(12),
        first_day=timezone.localdate(),
        session_count=1,
        created_by=hanne,
    )
    place = CourseParticipant.objects.create(
        course=course, patient=citizen, joined_on=timezone.localdate(), added_by=hanne
    )
    own = services.appointment_book(actor=hanne, patient=citizen, data=data(hanne))
    type(citizen).objects.filter(pk=citizen.pk).update(team=TeamFactory())

    place.refresh_from_db()
    assert place.status == ParticipantStatus.DROPPED_OUT
    assert place.dropout_reason == "Borgeren er flyttet til et andet team"
    own.refresh_from_db()
    assert own.status == AppointmentStatus.BOOKED  # the new team decides about the citizen's own appointments
