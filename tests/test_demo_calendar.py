"""The demo's calendar (issue 13): every professional's day is full on the first login, the history
went through the services as it happened, two courses run with their attendance registered, the months
behind have no-shows and finished courses for the dashboard, and some care gaps are booked.

The small demo is seeded once for the module (a few days back and one ahead instead of four weeks, seven
months of older history instead of twelve) on a fixed Wednesday morning, so that nothing here depends on
the weekday or the hour the tests run."""

import datetime

import pytest
from django.db import transaction
from django.db.models import Count, Q
from django.test import override_settings
from django.utils import timezone

from coordination.demo import book_some_care_gaps, seed_coordination
from coordination.models import CareGap
from healthcenter.models import AccessLog, Role, User
from patients.demo import Seeder
from patients.models import Encounter, EncounterKind
from scheduling.demo import CalendarSeeder, danish_holidays, easter_sunday
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    Course,
    CourseParticipant,
    CourseStatus,
    Holiday,
    ParticipantStatus,
    Place,
    Reservation,
    WaitingListEntry,
)


def last_wednesday_morning() -> datetime.datetime:
    """A Wednesday at 10:00 in the last week before now, whatever day the tests run."""
    today = timezone.localdate()
    back = (today.weekday() - 2) % 7 or 7
    return timezone.make_aware(datetime.datetime.combine(today - datetime.timedelta(days=back), datetime.time(10)))


@pytest.fixture(scope="module")
def calendar(django_db_setup, django_db_blocker):
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=fast), transaction.atomic():
        Seeder(citizens=80).run()
        seed_coordination()
        seeder = CalendarSeeder(now=last_wednesday_morning(), days_back=5, days_ahead=1, months_back=7)
        seeder.summary = seeder.run()
        seeder.gaps = book_some_care_gaps()
        yield seeder
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def test_easter_and_the_holidays_are_the_danish_ones():
    assert easter_sunday(2026) == datetime.date(2026, 4, 5)
    assert easter_sunday(2027) == datetime.date(2027, 3, 28)
    holidays = dict(danish_holidays(2026))
    assert holidays[datetime.date(2026, 4, 2)] == "Skærtorsdag"
    assert holidays[datetime.date(2026, 4, 3)] == "Langfredag"
    assert holidays[datetime.date(2026, 4, 6)] == "2. påskedag"
    assert holidays[datetime.date(2026, 5, 14)] == "Kristi himmelfartsdag"
    assert holidays[datetime.date(2026, 5, 25)] == "2. pinsedag"
    assert holidays[datetime.date(2026, 6, 5)] == "Grundlovsdag"
    assert {datetime.date(2026, 12, d) for d in (24, 25, 26)} <= holidays.keys()


def test_a_saturday_is_still_a_day_of_the_calendar_so_my_day_is_never_empty():
    saturday = timezone.make_aware(datetime.datetime(2026, 12, 5, 9))
    seeder = CalendarSeeder(now=saturday, days_back=7, days_ahead=7)
    seeder.holidays = set()

    days = seeder.working_days()

    assert datetime.date(2026, 12, 5) in days
    assert datetime.date(2026, 12, 6) not in days
    assert datetime.date(2026, 11, 28) not in days
    assert datetime.date(2026, 12, 4) in days


def test_the_rooms_and_this_years_holidays_exist(calendar):
    assert Holiday.objects.filter(day=datetime.date(2026, 6, 5), name="Grundlovsdag").exists()
    assert Holiday.objects.filter(day=datetime.date(2027, 3, 26), name="Langfredag").exists()
    assert calendar.rooms["Undervisningslokalet"].capacity == 14
    assert {"Samtalerum 1", "Samtalerum 2", "Træningssalen"} <= calendar.rooms.keys()


def test_every_professional_has_four_to_six_appointments_of_their_own_on_the_first_day(calendar):
    day = calendar.today
    own = (
        User.objects.filter(role=Role.PROFESSIONAL)
        .annotate(
            n=Count(
                "appointments",
                filter=Q(appointments__starts_at__date=day, appointments__session__isnull=True),
            )
        )
        .values_list("username", "n")
    )
    assert own
    assert [(username, n) for username, n in own if not 4 <= n <= 6] == []


def test_every_appointment_is_with_a_citizen_of_the_professionals_team_within_working_hours(calendar):
    appointments = Appointment.objects.filter(session__isnull=True).prefetch_related("professionals__teams")
    for appointment in appointments.select_related("patient"):
        start, end = timezone.localtime(appointment.starts_at), timezone.localtime(appointment.ends_at)
        assert datetime.time(8) <= start.time() and end.time() <= datetime.time(15, 30)
        for professional in appointment.professionals.all():
            assert appointment.patient.team_id in {t.pk for t in professional.teams.all()}
        assert (appointment.place == Place.ROOM) == (appointment.kind == EncounterKind.INDIVIDUAL)


def test_the_past_is_mostly_attended_with_no_shows_and_cancellations_with_reasons(calendar):
    past = Appointment.objects.filter(session__isnull=True, starts_at__date__lt=calendar.today)
    counts = dict(past.values_list("status").annotate(n=Count("id")))
    total = sum(counts.values())
    assert total > 50
    assert 0.75 <= counts[AppointmentStatus.ATTENDED] / total <= 0.95
    assert counts[AppointmentStatus.DID_NOT_ATTEND] > 0
    cancelled = past.filter(status__in=[AppointmentStatus.CANCELLED_BY_CITIZEN, AppointmentStatus.CANCELLED_BY_CENTRE])
    assert cancelled.exists()
    assert not cancelled.filter(cancel_reason="").exists()
    # Cancelled appointments gave their time back; every other one holds its professional.
    assert not Reservation.objects.filter(appointment__in=cancelled).exists()
    assert not past.filter(status=AppointmentStatus.BOOKED).exists()


def first_moment(calendar) -> datetime.datetime:
    """The start of the calendar's four weeks (here: days); the older history lies before it."""
    return calendar.at(calendar.first_day, datetime.time(0))


def test_an_attended_appointment_has_its_signed_encounter_signed_after_the_meeting(calendar):
    attended = Appointment.objects.filter(session__isnull=True, status=AppointmentStatus.ATTENDED).select_related(
        "encounter"
    )
    assert attended.filter(starts_at__lt=first_moment(calendar)).exists()
    assert attended.filter(starts_at__gte=first_moment(calendar)).exists()
    for appointment in attended.prefetch_related("professionals"):
        encounter = appointment.encounter
        assert encounter is not None and encounter.is_signed
        assert encounter.started_at == appointment.starts_at
        assert encounter.kind == appointment.kind
        assert appointment.ends_at <= encounter.signed_at <= calendar.now
        assert appointment.status_changed_at == encounter.signed_at
        assert [p.pk for p in appointment.professionals.all()] == [encounter.professional_id]
        if appointment.starts_at >= first_moment(calendar):
            # Logged from the appointment; the older history's encounters were there before.
            assert encounter.note.startswith(appointment.purpose)
        assert appointment.booked_at < appointment.starts_at


def test_the_older_history_has_no_shows_in_every_month_around_eight_percent(calendar):
    older = Appointment.objects.filter(session__isnull=True, starts_at__lt=first_moment(calendar))
    by_month: dict[tuple[int, int], list[int]] = {}
    for starts_at, status in older.values_list("starts_at", "status"):
        local = timezone.localtime(starts_at)
        counts = by_month.setdefault((local.year, local.month), [0, 0])
        if status in (AppointmentStatus.ATTENDED, AppointmentStatus.DID_NOT_ATTEND):
            counts[1] += 1
            counts[0] += status == AppointmentStatus.DID_NOT_ATTEND
    assert len([month for month, (_n, d) in by_month.items() if d > 0]) >= 6, by_month
    missed, counted = (sum(column) for column in zip(*by_month.values(), strict=True))
    assert 0.04 <= missed / counted <= 0.14, by_month
    assert len([month for month, (n, _d) in by_month.items() if n > 0]) >= 3, by_month
    assert calendar.summary.older == older.count()
    # The older history is thinner: at most two of a professional's appointments a day.
    per_day = older.values("professionals", "starts_at__date").annotate(n=Count("id")).order_by("-n").first()
    assert per_day["n"] <= 4  # two held or missed, and a time cancelled before


def test_a_citizen_who_missed_a_time_met_the_professional_later(calendar):
    missed = Appointment.objects.filter(
        session__isnull=True, starts_at__lt=first_moment(calendar), status=AppointmentStatus.DID_NOT_ATTEND
    )
    assert missed.exists()
    for appointment in missed.prefetch_related("professionals"):
        professional = appointment.professionals.get()
        assert Appointment.objects.filter(
            patient=appointment.patient,
            professionals=professional,
            status=AppointmentStatus.ATTENDED,
            starts_at__gt=appointment.starts_at,
            starts_at__lte=appointment.starts_at + datetime.timedelta(days=22),
        ).exists()


def test_the_history_went_through_the_services_with_its_access_log_rows(calendar):
    assert (
        AccessLog.objects.filter(what="appointment booked").count()
        == Appointment.objects.filter(session__isnull=True).count()
    )
    assert AccessLog.objects.filter(what="appointment attended").count() == calendar.summary.attended
    assert AccessLog.objects.filter(what="appointment marked as not attended").count() == calendar.summary.missed


def test_the_days_ahead_are_booked_and_nothing_ahead_is_attended(calendar):
    ahead = Appointment.objects.filter(starts_at__date__gt=calendar.today)
    assert ahead.filter(status=AppointmentStatus.BOOKED).exists()
    assert not ahead.filter(status__in=[AppointmentStatus.ATTENDED, AppointmentStatus.DID_NOT_ATTEND]).exists()
    assert not Encounter.objects.filter(appointment__isnull=False, started_at__gt=calendar.now).exists()


def test_two_courses_run_with_registered_sessions_a_dropout_and_a_next_cohort_with_a_waiting_list(calendar):
    running = Course.objects.filter(status=CourseStatus.RUNNING)
    assert running.count() == 2, calendar.summary
    for course in running:
        registered = course.sessions.filter(registered_at__isnull=False)
        assert registered.exists()
        assert not registered.filter(note="").exists()
        assert not registered.filter(starts_at__date__gte=calendar.today).exists()
        attended = Appointment.objects.filter(session__course=course, status=AppointmentStatus.ATTENDED)
        assert attended.exists()
        assert not attended.filter(Q(encounter__isnull=True) | Q(encounter__signed_at__isnull=True)).exists()
        assert attended.filter(encounter__kind=EncounterKind.GROUP).count() == attended.count()
    school = running.get(programme__code="diabetes-course")
    dropped = school.participants.get(status=ParticipantStatus.DROPPED_OUT)
    assert dropped.dropout_reason
    planned = Course.objects.get(status=CourseStatus.PLANNED, programme=school.programme, team=school.team)
    assert planned.sessions.first().starts_at > calendar.now
    assert WaitingListEntry.objects.filter(
        team=school.team, programme=school.programme, closed_on__isnull=True
    ).exists()


def test_the_citizens_the_history_lost_stay_lost_and_are_only_booked_ahead(calendar):
    in_contact = set(
        Encounter.objects.filter(
            Q(appointment__isnull=True) | Q(started_at__lt=first_moment(calendar)),
            signed_at__isnull=False,
            started_at__gte=calendar.now - datetime.timedelta(weeks=8),
        ).values_list("patient_id", flat=True)
    )
    met = Appointment.objects.filter(
        starts_at__gte=first_moment(calendar),
        starts_at__lt=calendar.now,
        status__in=[AppointmentStatus.ATTENDED, AppointmentStatus.DID_NOT_ATTEND],
    )
    assert met.exists()
    assert set(met.values_list("patient_id", flat=True)) <= in_contact


def test_the_past_year_has_finished_courses_with_completers_non_completers_and_a_dropout(calendar):
    finished = Course.objects.filter(status=CourseStatus.FINISHED)
    assert finished.count() >= 2, calendar.summary
    for course in finished:
        assert not course.sessions.filter(registered_at__isnull=True, cancelled=False).exists()
        assert course.sessions.order_by("-starts_at").first().ends_at < calendar.now
        assert not course.participants.filter(status=ParticipantStatus.ENROLLED).exists()
    statuses = set(CourseParticipant.objects.filter(course__in=finished).values_list("status", flat=True))
    assert {ParticipantStatus.COMPLETED, ParticipantStatus.NOT_COMPLETED} <= statuses
    dropped = CourseParticipant.objects.filter(course__in=finished, status=ParticipantStatus.DROPPED_OUT)
    assert dropped.exists()
    assert not dropped.filter(dropout_reason="").exists()
    school = finished.filter(programme__code="diabetes-course").order_by("-first_day").first()
    assert school is not None and school.name.startswith("Diabetesskole, ")


def test_some_open_measurement_gaps_are_booked_with_the_citizens_professional_in_the_next_fortnight(calendar):
    today = timezone.localdate()
    booked = CareGap.objects.filter(closed_at__isnull=True, appointment__isnull=False).select_related(
        "appointment", "patient"
    )
    assert calendar.gaps.booked == booked.count() > 0
    assert CareGap.objects.filter(closed_at__isnull=True, appointment__isnull=True).count() > booked.count()
    for gap in booked:
        assert gap.booked_on(today) is not None
        assert today < timezone.localdate(gap.appointment.starts_at) <= today + datetime.timedelta(days=14)
        assert list(gap.appointment.professionals.all()) == [gap.patient.responsible_professional]
        assert gap.appointment.reservations.count() == 2  # the professional and the room
