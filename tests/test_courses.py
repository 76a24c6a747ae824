"""Group courses (issue 13): the schedule from a weekly template, clashes, places and the waiting
list, dropping out, cancelling a session, and the course pages with their personas and budgets.
The register and completion are in test_attendance_register.py."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from healthcenter.models import AccessLog, AccessOutcome, Role
from patients.models import Programme
from scheduling import courses
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    Course,
    CourseSession,
    Holiday,
    ParticipantStatus,
    Reservation,
    WaitingListEntry,
)

from .conftest import client_for
from .factories import AppointmentFactory, PatientFactory, RoomFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

# A Tuesday in the future and one in the past (the register needs sessions that have begun); the
# tests pass the day they act on (`today`), so they do not depend on the day they run.
SPRING_2027 = datetime.date(2027, 3, 2)
SPRING_2025 = datetime.date(2025, 3, 4)


@pytest.fixture
def team():
    return TeamFactory(name="Team Nord")


@pytest.fixture
def coordinator(team):
    return UserFactory(role=Role.COORDINATOR, profession="", teams=[team], first_name="Karin", last_name="Koordinator")


@pytest.fixture
def hanne(team):
    return UserFactory(first_name="Hanne", last_name="Jensen", teams=[team])


@pytest.fixture
def peter(team):
    return UserFactory(first_name="Peter", last_name="Holm", teams=[team])


@pytest.fixture
def room():
    return RoomFactory(name="Store mødelokale", capacity=14)


@pytest.fixture
def programme():
    return Programme.objects.get(code="diabetes-course")


def make_course(coordinator, team, room, professionals, *, first_day=SPRING_2027, count=8, capacity=12, **extra):
    return courses.course_create(
        actor=coordinator,
        name=extra.pop("name", "Diabetesskole, forår"),
        programme=extra.pop("programme", None) or Programme.objects.get(code="diabetes-course"),
        team=team,
        room=room,
        professionals=list(professionals),
        capacity=capacity,
        weekday=first_day.weekday(),
        starts_at=extra.pop("starts_at", datetime.time(10)),
        ends_at=extra.pop("ends_at", datetime.time(12)),
        first_day=first_day,
        session_count=count,
        today=extra.pop("today", first_day),
    )


@pytest.fixture
def course(coordinator, team, room, hanne, peter):
    return make_course(coordinator, team, room, [hanne, peter])


def local_days(course):
    return [timezone.localtime(s.starts_at).date() for s in course.sessions.order_by("number")]


# --- the schedule -------------------------------------------------------------------------------------------


def test_a_holiday_is_skipped_and_pushes_the_schedule_a_week_on(coordinator, team, room, hanne, peter):
    Holiday.objects.create(day=datetime.date(2027, 3, 23), name="Lukkedag")
    course = make_course(coordinator, team, room, [hanne, peter], count=6)
    d = datetime.date
    assert local_days(course) == [
        d(2027, 3, 2),
        d(2027, 3, 9),
        d(2027, 3, 16),
        d(2027, 3, 30),
        d(2027, 4, 6),
        d(2027, 4, 13),
    ]
    first = course.sessions.get(number=1)
    assert timezone.localtime(first.starts_at).time() == datetime.time(10)
    assert timezone.localtime(first.ends_at).time() == datetime.time(12)
    # Each session holds the room and both professionals.
    assert Reservation.objects.filter(session__course=course).count() == 6 * 3


def test_the_first_session_is_the_first_weekday_on_or_after_the_first_day():
    days = courses.session_days(weekday=1, first_day=datetime.date(2027, 2, 27), count=2, holidays=set())
    assert days == [datetime.date(2027, 3, 2), datetime.date(2027, 3, 9)]


def test_a_clash_in_any_session_creates_nothing_and_names_the_clash(coordinator, team, room, hanne, peter):
    other = PatientFactory(team=team)
    taken = timezone.make_aware(datetime.datetime(2027, 3, 16, 11))
    AppointmentFactory(patient=other, booked_by=UserFactory(teams=[team]), room=room, starts_at=taken)
    with pytest.raises(ValidationError) as refused:
        make_course(coordinator, team, room, [hanne, peter])
    message = " ".join(refused.value.messages)
    assert "Store mødelokale" in message and "11:00" in message
    assert not Course.objects.exists() and not CourseSession.objects.exists()


def test_a_professional_taken_by_an_appointment_refuses_the_course(coordinator, team, room, hanne, peter):
    taken = timezone.make_aware(datetime.datetime(2027, 3, 9, 9, 30))
    AppointmentFactory(patient=PatientFactory(team=team), booked_by=peter, starts_at=taken)
    with pytest.raises(ValidationError) as refused:
        make_course(coordinator, team, room, [hanne, peter])
    assert "Peter Holm" in " ".join(refused.value.messages)
    assert not Course.objects.exists()


def test_only_the_teams_coordinators_create_its_courses(team, room, hanne):
    other_coordinator = UserFactory(role=Role.COORDINATOR, profession="", teams=[TeamFactory()])
    for actor in (hanne, other_coordinator):
        with pytest.raises(ValidationError):
            make_course(actor, team, room, [hanne])
    assert not Course.objects.exists()


def test_a_professional_of_another_team_cannot_teach_the_course(coordinator, team, room, hanne):
    stranger = UserFactory(first_name="Sofie", last_name="Udenfor", teams=[TeamFactory()])
    with pytest.raises(ValidationError) as refused:
        make_course(coordinator, team, room, [hanne, stranger])
    assert "Sofie Udenfor" in " ".join(refused.value.messages)


# --- places and the waiting list -----------------------------------------------------------------------------


def test_a_place_books_the_citizen_into_every_session_to_come(course, hanne, peter, room):
    citizen = PatientFactory(team=course.team)
    participant = courses.participant_add(actor=hanne, course=course, patient=citizen, today=SPRING_2027)
    assert participant.status == ParticipantStatus.ENROLLED
    places = Appointment.objects.filter(patient=citizen).order_by("starts_at")
    assert [p.session.number for p in places] == list(range(1, 9))
    first = places[0]
    assert (first.kind, first.place, first.room, first.status) == ("group", "room", room, AppointmentStatus.BOOKED)
    assert set(first.professionals.all()) == {hanne, peter}
    # The session holds the room and the professionals; the places hold nothing of their own.
    assert not Reservation.objects.filter(appointment__in=places).exists()
    assert AccessLog.objects.filter(patient_public_id=citizen.public_id, what="course place given").exists()


def test_a_citizen_who_joins_late_gets_only_the_sessions_to_come(course, hanne):
    citizen = PatientFactory(team=course.team)
    courses.participant_add(actor=hanne, course=course, patient=citizen, today=datetime.date(2027, 3, 10))
    assert Appointment.objects.filter(patient=citizen).count() == 6


def test_a_citizen_too_late_to_complete_is_sent_to_the_waiting_list(course, hanne):
    """6 of 8 sessions left can still make 75 %; 5 of 8 cannot, and would only lower the figure."""
    courses.participant_add(
        actor=hanne,
        course=course,
        patient=PatientFactory(team=course.team),
        today=SPRING_2027 + datetime.timedelta(days=8),
    )
    with pytest.raises(ValidationError) as refused:
        courses.participant_add(
            actor=hanne,
            course=course,
            patient=PatientFactory(team=course.team),
            today=SPRING_2027 + datetime.timedelta(days=15),
        )
    assert refused.value.code == "late"


def test_a_citizen_outside_the_actors_care_is_refused(course, hanne):
    stranger = PatientFactory(team=TeamFactory())
    with pytest.raises(ValidationError):
        courses.participant_add(actor=hanne, course=course, patient=stranger, today=SPRING_2027)
    citizen = PatientFactory(team=course.team)
    courses.participant_add(actor=hanne, course=course, patient=citizen, today=SPRING_2027)
    with pytest.raises(ValidationError) as refused:
        courses.participant_add(actor=hanne, course=course, patient=citizen, today=SPRING_2027)
    assert refused.value.code == "in"


def test_a_full_course_offers_the_waiting_list_and_the_next_cohort_places_them(
    coordinator, team, room, hanne, peter, programme
):
    spring = make_course(coordinator, team, room, [hanne], count=2, capacity=2)
    for _ in range(2):
        courses.participant_add(actor=hanne, course=spring, patient=PatientFactory(team=team), today=SPRING_2027)
    waiting = PatientFactory(team=team, first_name="Vera", last_name="Venter")
    with pytest.raises(ValidationError) as refused:
        courses.participant_add(actor=hanne, course=spring, patient=waiting, today=SPRING_2027)
    assert refused.value.error_list[0].code == "full"
    entry = courses.waiting_list_add(
        actor=hanne, patient=waiting, programme=programme, team=team, wanted=spring, today=SPRING_2027
    )
    autumn = make_course(
        coordinator, team, room, [peter], first_day=datetime.date(2027, 9, 7), count=2, name="Diabetesskole, efterår"
    )
    assert [e.patient for e in courses.waiting_for(autumn)] == [waiting]

    as_coordinator = client_for(coordinator)
    page = as_coordinator.get(reverse("scheduling:course", args=[autumn.public_id]))
    assert "Vera Venter" in page.content.decode()
    added = as_coordinator.post(
        reverse("scheduling:participant_add", args=[autumn.public_id]), {"citizen": waiting.public_id, "action": "add"}
    )
    assert added.status_code == 302
    entry.refresh_from_db()
    assert entry.placed_in == autumn and entry.closed_on == timezone.localdate()
    assert autumn.participants.filter(patient=waiting).exists()
    assert list(courses.waiting_for(autumn)) == []


def test_the_add_page_offers_the_waiting_list_when_the_course_is_full(coordinator, team, room, hanne):
    course = make_course(coordinator, team, room, [hanne], count=2, capacity=1, first_day=datetime.date(2027, 9, 7))
    courses.participant_add(actor=hanne, course=course, patient=PatientFactory(team=team), today=course.first_day)
    late = PatientFactory(team=team)
    url = reverse("scheduling:participant_add", args=[course.public_id])
    as_hanne = client_for(hanne)
    refused = as_hanne.post(url, {"citizen": late.public_id, "action": "add"})
    assert refused.status_code == 200
    assert 'value="wait"' in refused.content.decode()
    assert as_hanne.post(url, {"citizen": late.public_id, "action": "wait"}).status_code == 302
    assert WaitingListEntry.objects.filter(patient=late, wanted=course, closed_on__isnull=True).exists()


# --- dropping out and cancelling a session --------------------------------------------------------------------


def test_dropping_out_needs_a_reason_and_cancels_the_places_to_come(course, hanne):
    citizen = PatientFactory(team=course.team)
    participant = courses.participant_add(actor=hanne, course=course, patient=citizen, today=SPRING_2027)
    now = timezone.make_aware(datetime.datetime(2027, 3, 20, 12))
    with pytest.raises(ValidationError):
        courses.participant_drop_out(
            actor=hanne, participant=participant, expected_version=1, on=now.date(), reason=" ", now=now
        )
    courses.participant_drop_out(
        actor=hanne, participant=participant, expected_version=1, on=now.date(), reason="Er startet på arbejde", now=now
    )
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.DROPPED_OUT
    assert participant.dropout_reason == "Er startet på arbejde"
    statuses = dict(Appointment.objects.filter(patient=citizen).values_list("session__number", "status"))
    assert [statuses[n] for n in (1, 2, 3)] == [AppointmentStatus.BOOKED] * 3
    assert {statuses[n] for n in range(4, 9)} == {AppointmentStatus.CANCELLED_BY_CITIZEN}
    assert AccessLog.objects.filter(patient_public_id=citizen.public_id, what="dropped out of a course").exists()


def test_the_drop_out_page_records_the_reason(course, hanne):
    citizen = PatientFactory(team=course.team)
    # Joined today (the course is in 2027), dropped out the same day.
    participant = courses.participant_add(actor=hanne, course=course, patient=citizen)
    url = reverse("scheduling:participant_drop_out", args=[participant.public_id])
    as_hanne = client_for(hanne)
    assert as_hanne.get(url).status_code == 200
    today = timezone.localdate().isoformat()
    missing = as_hanne.post(url, {"version": 1, "on": today, "reason": ""})
    assert missing.status_code == 200
    saved = as_hanne.post(url, {"version": 1, "on": today, "reason": "For langt at køre"})
    assert saved.status_code == 302
    participant.refresh_from_db()
    assert (participant.status, participant.dropout_reason) == (ParticipantStatus.DROPPED_OUT, "For langt at køre")
    # Before the first session: every place is cancelled; the drop-out is still recorded.
    assert not Appointment.objects.filter(patient=citizen, status=AppointmentStatus.BOOKED).exists()


def test_a_cancelled_session_frees_its_reservations_and_cancels_the_places(course, hanne):
    citizen = PatientFactory(team=course.team)
    courses.participant_add(actor=hanne, course=course, patient=citizen, today=SPRING_2027)
    session = course.sessions.get(number=3)
    url = reverse("scheduling:course", args=[course.public_id])
    as_hanne = client_for(hanne)
    stale = as_hanne.post(
        url, {"cancel-session": session.public_id, "cancel-version": 7, "cancel-reason": "Underviser syg"}
    )
    assert stale.status_code == 200
    done = as_hanne.post(
        url, {"cancel-session": session.public_id, "cancel-version": 1, "cancel-reason": "Underviser syg"}
    )
    assert done.status_code == 302
    session.refresh_from_db()
    assert session.cancelled and session.cancel_reason == "Underviser syg"
    assert not session.reservations.exists()
    place = Appointment.objects.get(patient=citizen, session=session)
    assert (place.status, place.cancel_reason) == (AppointmentStatus.CANCELLED_BY_CENTRE, "Underviser syg")
    assert AccessLog.objects.filter(patient_public_id=citizen.public_id, what="course session cancelled").exists()


def test_a_session_moves_with_its_reservations_and_places_unless_the_new_time_clashes(course, hanne, room):
    citizen = PatientFactory(team=course.team)
    courses.participant_add(actor=hanne, course=course, patient=citizen, today=SPRING_2027)
    session = course.sessions.get(number=4)
    now = timezone.make_aware(datetime.datetime(2027, 3, 1, 12))
    taken = timezone.make_aware(datetime.datetime(2027, 3, 24, 10))
    AppointmentFactory(patient=PatientFactory(team=course.team), booked_by=UserFactory(), room=room, starts_at=taken)
    with pytest.raises(ValidationError, match=room.name):
        courses.session_move(
            actor=hanne,
            session=session,
            expected_version=1,
            starts_at=taken,
            ends_at=taken + datetime.timedelta(hours=2),
            now=now,
        )
    later = timezone.make_aware(datetime.datetime(2027, 3, 25, 13))
    courses.session_move(
        actor=hanne,
        session=session,
        expected_version=1,
        starts_at=later,
        ends_at=later + datetime.timedelta(hours=2),
        now=now,
    )
    assert {r.during.lower for r in session.reservations.all()} == {later}
    assert session.reservations.count() == 3
    assert Appointment.objects.get(patient=citizen, session=session).starts_at == later


# --- the pages --------------------------------------------------------------------------------------------------


def test_the_team_sees_the_course_and_an_outsider_gets_a_logged_404(course, hanne, coordinator):
    citizen = PatientFactory(team=course.team, first_name="Bodil", last_name="Deltager")
    courses.participant_add(actor=hanne, course=course, patient=citizen, today=SPRING_2027)
    url = reverse("scheduling:course", args=[course.public_id])
    for person in (hanne, coordinator):
        page = client_for(person).get(url)
        assert page.status_code == 200 and "Bodil Deltager" in page.content.decode()
    outsider = UserFactory(teams=[TeamFactory()])
    assert client_for(outsider).get(url).status_code == 404
    assert AccessLog.objects.filter(user=outsider, outcome=AccessOutcome.DENIED).exists()
    assert AccessLog.objects.filter(user=hanne, action="search", what__contains=str(course.public_id)).exists()


def test_only_coordinators_get_the_create_form(coordinator, hanne, team, room, programme):
    url = reverse("scheduling:course_create")
    assert client_for(hanne).get(url).status_code == 404
    as_coordinator = client_for(coordinator)
    assert as_coordinator.get(url).status_code == 200
    created = as_coordinator.post(
        url,
        {
            "name": "Diabetesskole, efterår",
            "programme": programme.pk,
            "team": team.pk,
            "room": room.pk,
            "professionals": [hanne.pk],
            "capacity": 10,
            "weekday": 1,
            "starts_at": "10:00",
            "ends_at": "12:00",
            "first_day": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
            "session_count": 8,
        },
    )
    assert created.status_code == 302, created.content.decode()
    assert Course.objects.get(name="Diabetesskole, efterår").sessions.count() == 8


def test_the_course_form_offers_the_coordinators_teams_professionals_with_profession_and_team(coordinator, team, hanne):
    other = TeamFactory(name="Team Syd")
    coordinator.teams.add(other)
    sofie = UserFactory(first_name="Sofie", last_name="Syd", profession="dietitian", teams=[other])
    colleague = UserFactory(role=Role.COORDINATOR, profession="", teams=[team], first_name="Kaj", last_name="Koord")
    far = UserFactory(first_name="Fie", last_name="Fjern", teams=[TeamFactory()])
    field = client_for(coordinator).get(reverse("scheduling:course_create")).context["form"]["professionals"].field
    choices = {label for _, label in field.choices}
    assert f"{hanne.get_full_name()} ({hanne.get_profession_display().lower()}, Team Nord)" in choices
    assert f"Sofie Syd ({sofie.get_profession_display().lower()}, Team Syd)" in choices
    shown = set(field.queryset)
    assert colleague not in shown and coordinator not in shown and far not in shown


def test_a_citizen_named_in_the_link_is_offered_on_the_course_page(course, hanne):
    citizen = PatientFactory(team=course.team, first_name="Ib", last_name="Henvist")
    page = client_for(hanne).get(reverse("scheduling:course", args=[course.public_id]), {"citizen": citizen.public_id})
    assert "Ib Henvist" in page.content.decode()
    assert AccessLog.objects.filter(user=hanne, patient_public_id=citizen.public_id).exists()


def test_the_add_page_searches_the_teams_citizens_only(course, hanne):
    PatientFactory(team=course.team, first_name="Gudrun", last_name="Søgaard")
    PatientFactory(team=TeamFactory(), first_name="Gudrun", last_name="Andetsteds")
    page = client_for(hanne).post(reverse("scheduling:participant_add", args=[course.public_id]), {"q": "gudrun"})
    text = page.content.decode()
    assert "Gudrun Søgaard" in text and "Andetsteds" not in text
    assert not course.participants.exists()


def test_the_search_term_is_posted_never_put_in_the_address(course, hanne):
    PatientFactory(team=course.team, first_name="Gudrun", last_name="Søgaard")
    as_hanne = client_for(hanne)
    url = reverse("scheduling:participant_add", args=[course.public_id])
    # A term in the address is not searched (it would sit in logs and the browser's history).
    assert "Gudrun Søgaard" not in as_hanne.get(url, {"q": "gudrun"}).content.decode()
    for page in (as_hanne.get(url), as_hanne.get(reverse("scheduling:course", args=[course.public_id]))):
        text = page.content.decode()
        assert 'method="get"' not in text.split('role="search"')[0].rsplit("<form", 1)[-1]
        assert 'name="q"' in text


def test_a_citizen_already_on_the_course_is_not_offered_again(course, hanne):
    on_it = PatientFactory(team=course.team, first_name="Gudrun", last_name="Søgaard")
    PatientFactory(team=course.team, first_name="Gudrun", last_name="Ny")
    courses.participant_add(actor=hanne, course=course, patient=on_it, today=SPRING_2027)
    page = client_for(hanne).post(reverse("scheduling:participant_add", args=[course.public_id]), {"q": "gudrun"})
    matches = {p.full_name: p.on_course for p in page.context["results"]}
    assert matches == {"Gudrun Søgaard": True, "Gudrun Ny": False}
    text = page.content.decode()
    assert text.count('value="add"') == 1 and str(on_it.public_id) not in text
    assert gettext("already on the course") in text


def test_after_the_full_refusal_the_matches_for_the_term_still_show(coordinator, team, room, hanne):
    full = make_course(coordinator, team, room, [hanne], capacity=1, first_day=timezone.localdate())
    courses.participant_add(actor=hanne, course=full, patient=PatientFactory(team=team))
    gudrun = PatientFactory(team=team, first_name="Gudrun", last_name="Søgaard")
    PatientFactory(team=team, first_name="Gudrun", last_name="Anden")
    page = client_for(hanne).post(
        reverse("scheduling:participant_add", args=[full.public_id]),
        {"citizen": gudrun.public_id, "action": "add", "q": "gudrun"},
    )
    assert page.status_code == 200 and page.context["full"]
    assert {p.full_name for p in page.context["results"]} == {"Gudrun Søgaard", "Gudrun Anden"}
    assert not full.participants.filter(patient=gudrun).exists()


def test_a_citizen_of_another_team_is_offered_neither_a_place_nor_the_waiting_list(course, hanne):
    other = TeamFactory()
    hanne.teams.add(other)
    stranger = PatientFactory(team=other, first_name="Ib", last_name="Andetsteds")
    as_hanne = client_for(hanne)
    for url in (
        reverse("scheduling:course", args=[course.public_id]),
        reverse("scheduling:participant_add", args=[course.public_id]),
    ):
        text = as_hanne.get(url, {"citizen": stranger.public_id}).content.decode()
        assert 'data-testid="other-team"' in text
        assert 'value="add"' not in text and 'value="wait"' not in text


def test_the_course_list_for_a_citizen_shows_only_their_teams_courses(coordinator, team, room, hanne):
    other, elsewhere = TeamFactory(), TeamFactory()
    for user in (coordinator, hanne):
        user.teams.add(other, elsewhere)
    ours = make_course(coordinator, team, room, [hanne], name="Diabetesskole, Nord")
    theirs = make_course(
        coordinator, other, room, [hanne], name="Diabetesskole, Syd", first_day=SPRING_2027.replace(month=4)
    )
    citizen = PatientFactory(team=other)
    page = client_for(hanne).get(reverse("scheduling:courses"), {"citizen": citizen.public_id})
    text = page.content.decode()
    assert theirs.name in text and ours.name not in text
    nobody = PatientFactory(team=elsewhere)
    text = client_for(hanne).get(reverse("scheduling:courses"), {"citizen": nobody.public_id}).content.decode()
    assert 'data-testid="no-course"' in text and theirs.name not in text and ours.name not in text


@pytest.mark.parametrize("size", [2, 12])
def test_the_course_page_budget_does_not_grow_with_participants(
    size, coordinator, team, room, hanne, programme, django_assert_max_num_queries
):
    course = make_course(coordinator, team, room, [hanne], capacity=12)
    for _ in range(size):
        courses.participant_add(actor=hanne, course=course, patient=PatientFactory(team=team), today=SPRING_2027)
    for _ in range(size):
        courses.waiting_list_add(actor=hanne, patient=PatientFactory(team=team), programme=programme, team=team)
    as_hanne = client_for(hanne)
    url = reverse("scheduling:course", args=[course.public_id])
    as_hanne.get(url)
    with django_assert_max_num_queries(14):
        assert as_hanne.get(url).status_code == 200


@pytest.mark.parametrize("size", [1, 20])
def test_the_course_list_budget_does_not_grow_with_courses(size, coordinator, team, django_assert_max_num_queries):
    for number in range(size):
        first_day = SPRING_2027 + datetime.timedelta(weeks=number)
        make_course(
            coordinator, team, RoomFactory(), [coordinator], count=1, name=f"Kursus {number}", first_day=first_day
        )
    as_coordinator = client_for(coordinator)
    url = reverse("scheduling:courses")
    as_coordinator.get(url)
    with django_assert_max_num_queries(8):
        page = as_coordinator.get(url)
    assert page.content.decode().count("Kursus ") == size
