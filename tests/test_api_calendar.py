"""The calendar's API (scheduling/api.py): appointments with the personas, booking, moving,
cancelling and "did not attend" through the services, a clash named, stale versions refused,
rooms and courses, bad input and query budgets."""

import datetime
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from healthcenter.api import api_token_issue
from healthcenter.models import AccessLog, AccessOutcome
from patients.models import Programme
from scheduling.models import Appointment, AppointmentStatus, Course, CourseSession

from .factories import AppointmentFactory, PatientFactory, RoomFactory, UserFactory

LIST = "/api/v1/appointments/"


def api(user, administrator, scope: str = "write") -> Client:
    _token, secret = api_token_issue(actor=administrator, user=user, name="test", scope=scope)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="en")


def send(client: Client, method: str, url: str, body: dict | None = None, **headers):
    return client.generic(
        method,
        url,
        json.dumps(body or {}),
        content_type="application/json",
        **{f"HTTP_{k}": v for k, v in headers.items()},
    )


def next_weekday(hour: int, days: int = 1) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=days)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.fixture
def appointment(patient, member):
    return AppointmentFactory(patient=patient, booked_by=member, professionals=[member], purpose="Årskontrol")


# --- reading: the personas ---------------------------------------------------------------------------


def test_the_member_and_a_colleague_read_an_appointment_with_its_etag(appointment, member, colleague, administrator):
    for user in (member, colleague):
        response = api(user, administrator).get(f"{LIST}{appointment.public_id}/")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["citizen"] == {"id": str(appointment.patient.public_id), "name": "Karen Jensen"}
        assert body["purpose"] == "Årskontrol"
        assert body["professionals"] == [{"id": str(member.public_id), "name": member.get_full_name()}]
        assert response["ETag"] == 'W/"1"'
        assert AccessLog.objects.filter(
            user=user, patient_public_id=appointment.patient.public_id, outcome=AccessOutcome.ALLOWED
        ).exists()


def test_an_outsider_gets_404_logged_under_the_citizen(appointment, outsider, administrator):
    client = api(outsider, administrator)
    assert_error_shape(client.get(f"{LIST}{appointment.public_id}/"), 404, "not_found")
    assert_error_shape(client.get(LIST, {"citizen": appointment.patient.public_id}), 404)
    denied = AccessLog.objects.filter(
        user=outsider, patient_public_id=appointment.patient.public_id, outcome=AccessOutcome.DENIED
    )
    assert denied.count() == 2


def test_a_manager_gets_404_for_appointments(appointment, manager, administrator):
    client = api(manager, administrator)
    assert_error_shape(client.get(f"{LIST}{appointment.public_id}/"), 404)
    assert_error_shape(client.get(LIST, {"mine": "true"}), 404)
    assert AccessLog.objects.filter(user=manager, outcome=AccessOutcome.DENIED).count() == 2
    # Refused under the citizen the request names, as the pages refuse a manager.
    assert AccessLog.objects.filter(
        user=manager, outcome=AccessOutcome.DENIED, patient_public_id=appointment.patient.public_id
    ).exists()


def test_anonymous_gets_401(appointment):
    assert_error_shape(Client().get(f"{LIST}{appointment.public_id}/"), 401)


def test_a_citizens_appointments_are_listed_and_logged_under_them(appointment, patient, colleague, administrator):
    other = AppointmentFactory(patient=PatientFactory(team=patient.team), professionals=[colleague])
    response = api(colleague, administrator).get(LIST, {"citizen": patient.public_id})
    assert response.status_code == 200, response.content
    assert [a["id"] for a in response.json()["results"]] == [str(appointment.public_id)]
    assert str(other.public_id) not in response.content.decode()
    assert AccessLog.objects.filter(user=colleague, patient_public_id=patient.public_id).exists()


def test_my_day_names_no_citizen_outside_the_care_relation(appointment, member, other_team, administrator):
    stranger = PatientFactory(team=other_team, first_name="Ukendt", last_name="Borger")
    # Booked when the member was in the other team, say: the member is still on it.
    theirs = AppointmentFactory(
        patient=stranger, professionals=[member], starts_at=appointment.starts_at + datetime.timedelta(hours=2)
    )
    day = timezone.localdate(appointment.starts_at)
    response = api(member, administrator).get(LIST, {"mine": "true", "day": day.isoformat()})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [a["id"] for a in results] == [str(appointment.public_id), str(theirs.public_id)]
    assert results[0]["named"] is True and results[0]["citizen"]["name"] == "Karen Jensen"
    assert results[1]["named"] is False and results[1]["citizen"] is None and results[1]["purpose"] == ""
    assert "Ukendt" not in response.content.decode()
    assert str(stranger.public_id) not in response.content.decode()


def test_my_day_is_the_users_own(appointment, colleague, administrator):
    day = timezone.localdate(appointment.starts_at)
    response = api(colleague, administrator).get(LIST, {"mine": "true", "day": day.isoformat()})
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert AccessLog.objects.filter(user=colleague, what=f"API: my day {day.isoformat()}").exists()


# --- writing ---------------------------------------------------------------------------------------------


def booking(patient, people, start: datetime.datetime, room=None) -> dict:
    return {
        "citizen": str(patient.public_id),
        "kind": "individual",
        "starts_at": start.isoformat(),
        "ends_at": (start + datetime.timedelta(minutes=45)).isoformat(),
        "place": "room" if room else "home",
        "room": str(room.public_id) if room else None,
        "professionals": [str(p.public_id) for p in people],
        "purpose": "Opfølgning",
    }


def test_booking_books_through_the_service_and_a_clash_is_400_naming_the_professional(
    patient, member, colleague, administrator
):
    room = RoomFactory()
    client = api(colleague, administrator)
    start = next_weekday(9, days=3)
    response = send(client, "POST", LIST, booking(patient, [member], start, room))
    assert response.status_code == 201, response.content
    assert response["ETag"] == 'W/"1"'
    booked = Appointment.objects.get(public_id=response.json()["id"])
    assert list(booked.professionals.all()) == [member] and booked.room == room and booked.booked_by == colleague

    other = PatientFactory(team=patient.team)
    clash = send(client, "POST", LIST, booking(other, [member], start + datetime.timedelta(minutes=15)))
    body = assert_error_shape(clash, 400, "clash")
    assert member.get_full_name() in body["message"]
    assert Appointment.objects.count() == 1
    # The refused booking is in the citizen's log, as a refused form is.
    assert AccessLog.objects.filter(
        user=colleague, patient_public_id=other.public_id, outcome=AccessOutcome.REJECTED
    ).exists()


def test_booking_for_a_citizen_outside_the_care_relation_is_404(patient, outsider, administrator):
    response = send(api(outsider, administrator), "POST", LIST, booking(patient, [outsider], next_weekday(9)))
    assert_error_shape(response, 404)
    assert not Appointment.objects.exists()
    assert AccessLog.objects.filter(
        user=outsider, patient_public_id=patient.public_id, outcome=AccessOutcome.DENIED
    ).exists()


def test_bad_bookings_are_400_with_fields(patient, member, administrator):
    client = api(member, administrator)
    body = assert_error_shape(send(client, "POST", LIST, {}), 400, "invalid")
    assert {"citizen", "kind", "starts_at", "professionals"} <= set(body["fields"])
    wrong = booking(patient, [member], next_weekday(9))
    wrong.update(kind="phone", place="home", professionals=["not-an-id"])
    body = assert_error_shape(send(client, "POST", LIST, wrong), 400)
    assert "professionals" in body["fields"]
    # The service's rules: a phone call takes place by phone.
    wrong = booking(patient, [member], next_weekday(9))
    wrong.update(kind="phone", place="home")
    body = assert_error_shape(send(client, "POST", LIST, wrong), 400, "invalid")
    assert "place" in body["fields"]
    far = booking(patient, [member], next_weekday(9))
    far["starts_at"] = "9999-12-31T23:00:00+01:00"
    assert "starts_at" in assert_error_shape(send(client, "POST", LIST, far), 400)["fields"]
    broken = client.post(LIST, "{not json", content_type="application/json")
    assert_error_shape(broken, 400, "parse_error")
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"professionals": []},
        {"professionals": "everyone"},
        {"kind": "group"},
        {"kind": "séance"},
        {"place": "room", "room": None},
        {"room": "00000000-0000-0000-0000-000000000000", "place": "room"},
        {"starts_at": "tomorrow"},
        {"starts_at": "0001-01-01T00:00:00Z"},
        {"ends_at": "2026-01-01T00:00:00+01:00"},
        {"purpose": "x" * 500},
        {"citizen": "00000000-0000-0000-0000-000000000000"},
    ],
)
def test_no_booking_input_gives_a_500(change, patient, member, administrator):
    client = api(member, administrator)
    response = send(client, "POST", LIST, {**booking(patient, [member], next_weekday(9)), **change})
    assert response.status_code in (400, 404), response.content
    assert_error_shape(response, response.status_code)
    assert not Appointment.objects.exists()
    if "citizen" not in change:  # a move names no citizen
        existing = AppointmentFactory(patient=patient, professionals=[member])
        moved = send(client, "PATCH", f"{LIST}{existing.public_id}/", {**change, "version": 1})
        assert_error_shape(moved, 400)
        existing.refresh_from_db()
        assert existing.version == 1


def test_a_read_only_token_cannot_book(patient, member, administrator):
    response = send(api(member, administrator, scope="read"), "POST", LIST, booking(patient, [member], next_weekday(9)))
    assert_error_shape(response, 403, "read_only_token")


def test_moving_needs_the_current_version(appointment, member, administrator):
    client = api(member, administrator)
    url = f"{LIST}{appointment.public_id}/"
    later = appointment.starts_at + datetime.timedelta(hours=3)
    change = {"starts_at": later.isoformat(), "ends_at": (later + datetime.timedelta(minutes=30)).isoformat()}
    assert "version" in assert_error_shape(send(client, "PATCH", url, change), 400)["fields"]
    moved = send(client, "PATCH", url, {**change, "version": 1})
    assert moved.status_code == 200, moved.content
    assert moved.json()["version"] == 2 and moved["ETag"] == 'W/"2"'
    appointment.refresh_from_db()
    assert appointment.starts_at == later and appointment.purpose == "Årskontrol"
    # The version read before the move is stale now: 409 with the body's version, 412 with If-Match.
    assert_error_shape(send(client, "PATCH", url, {**change, "version": 1}), 409, "conflict")
    assert_error_shape(send(client, "PATCH", url, change, IF_MATCH='W/"1"'), 412, "precondition_failed")
    appointment.refresh_from_db()
    assert appointment.version == 2


def test_moving_onto_a_taken_time_is_a_clash(appointment, patient, member, administrator):
    other = AppointmentFactory(
        patient=patient, professionals=[member], starts_at=appointment.starts_at + datetime.timedelta(hours=2)
    )
    change = {"starts_at": other.starts_at.isoformat(), "ends_at": other.ends_at.isoformat(), "version": 1}
    body = assert_error_shape(send(api(member, administrator), "PATCH", f"{LIST}{appointment.public_id}/", change), 400)
    assert body["code"] == "clash" and member.get_full_name() in body["message"]


def test_cancelling_by_the_citizen_with_a_reason(appointment, colleague, administrator):
    client = api(colleague, administrator)
    url = f"{LIST}{appointment.public_id}/cancel/"
    assert "reason" in assert_error_shape(send(client, "POST", url, {"by_citizen": True, "version": 1}), 400)["fields"]
    response = send(client, "POST", url, {"by_citizen": True, "reason": "Syg", "version": 1})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == AppointmentStatus.CANCELLED_BY_CITIZEN
    assert not appointment.reservations.exists()
    # Cancelled is closed: cancelling again is refused with the service's code.
    assert_error_shape(send(client, "POST", url, {"by_citizen": False, "reason": "Igen", "version": 2}), 400, "closed")


def test_did_not_attend_once_begun(appointment, patient, member, outsider, administrator):
    client = api(member, administrator)
    future = assert_error_shape(
        send(client, "POST", f"{LIST}{appointment.public_id}/did-not-attend/", {"version": 1}), 400
    )
    assert future["message"]
    past = AppointmentFactory(
        patient=patient, professionals=[member], starts_at=timezone.now() - datetime.timedelta(hours=2)
    )
    url = f"{LIST}{past.public_id}/did-not-attend/"
    assert_error_shape(send(api(outsider, administrator), "POST", url, {"version": 1}), 404)
    response = send(client, "POST", url, {"version": 1})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == AppointmentStatus.DID_NOT_ATTEND
    # Closed now: refused whatever the version, with the service's code.
    assert_error_shape(send(client, "POST", url, {"version": 2}), 400, "closed")


def test_put_and_delete_are_not_allowed(appointment, member, administrator):
    client = api(member, administrator)
    url = f"{LIST}{appointment.public_id}/"
    assert_error_shape(send(client, "PUT", url, {}), 405)
    assert_error_shape(send(client, "DELETE", url), 405)
    assert Appointment.objects.filter(pk=appointment.pk).exists()


def test_bad_list_questions_are_400(member, patient, administrator):
    client = api(member, administrator)
    assert "citizen" in assert_error_shape(client.get(LIST), 400, "invalid")["fields"]
    assert "day" in assert_error_shape(client.get(LIST, {"mine": "true", "day": "2026-13-01"}), 400)["fields"]
    assert "day" in assert_error_shape(client.get(LIST, {"mine": "true", "day": "9999-12-31"}), 400)["fields"]
    assert "citizen" in assert_error_shape(client.get(LIST, {"citizen": "nobody"}), 400)["fields"]
    assert_error_shape(client.get(LIST, {"citizen": patient.public_id, "status": "lost"}), 400)


# --- rooms and courses ---------------------------------------------------------------------------------------


@pytest.fixture
def course(team, member, coordinator):
    room = RoomFactory(name="Kursuslokalet")
    course = Course.objects.create(
        name="Diabetesskolen",
        programme=Programme.objects.get(code="diabetes-course"),
        team=team,
        room=room,
        weekday=1,
        starts_at=datetime.time(10),
        ends_at=datetime.time(12),
        first_day=timezone.localdate(),
        session_count=1,
        created_by=coordinator,
    )
    course.professionals.set([member])
    start = next_weekday(10, days=7)
    CourseSession.objects.create(course=course, number=1, starts_at=start, ends_at=start + datetime.timedelta(hours=2))
    return course


def test_courses_of_the_users_teams(course, member, outsider, administrator):
    response = api(member, administrator).get("/api/v1/courses/")
    assert [c["name"] for c in response.json()["results"]] == ["Diabetesskolen"]
    detail = api(member, administrator).get(f"/api/v1/courses/{course.public_id}/")
    assert detail.status_code == 200 and [s["number"] for s in detail.json()["sessions"]] == [1]
    outside = api(outsider, administrator)
    assert outside.get("/api/v1/courses/").json()["results"] == []
    assert_error_shape(outside.get(f"/api/v1/courses/{course.public_id}/"), 404)
    assert AccessLog.objects.filter(user=outsider, outcome=AccessOutcome.DENIED).exists()


def test_my_sessions_are_the_course_sessions_i_teach_on_a_day(course, member, colleague, manager, administrator):
    session = course.sessions.get()
    day = timezone.localdate(session.starts_at).isoformat()
    [shown] = cells_of(api(member, administrator).get("/api/v1/my-sessions/", {"day": day}))
    assert (shown["id"], shown["course_name"], shown["participants"]) == (str(session.public_id), "Diabetesskolen", 0)
    assert cells_of(api(colleague, administrator).get("/api/v1/my-sessions/", {"day": day})) == []
    assert (
        "day" in assert_error_shape(api(member, administrator).get("/api/v1/my-sessions/", {"day": "x"}), 400)["fields"]
    )
    assert_error_shape(api(manager, administrator).get("/api/v1/my-sessions/"), 404)


def cells_of(response) -> list:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_rooms_are_listed_for_those_who_book(member, manager, administrator):
    RoomFactory(name="Rum A")
    RoomFactory(name="Rum B", is_active=False)
    response = api(member, administrator).get("/api/v1/rooms/", {"is_active": "true"})
    assert [r["name"] for r in response.json()["results"]] == ["Rum A"]
    assert_error_shape(api(manager, administrator).get("/api/v1/rooms/"), 404)


# --- query budgets: the same number of queries for 1 and for 20 appointments -----------------------------


def _queries(client: Client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(captured)


@pytest.mark.parametrize("question", ["citizen", "mine"])
def test_the_appointment_lists_budget_does_not_grow(question, patient, member, colleague, administrator):
    client = api(member, administrator)
    first = next_weekday(8, days=2)
    day = timezone.localdate(first)
    params = {"citizen": patient.public_id} if question == "citizen" else {"mine": "true", "day": day.isoformat()}

    def book(n: int) -> None:
        start = first + datetime.timedelta(minutes=20 * n)
        AppointmentFactory(
            patient=patient,
            professionals=[member, colleague],
            starts_at=start,
            ends_at=start + datetime.timedelta(minutes=15),
        )

    book(0)
    one = _queries(client, LIST, params)
    for n in range(1, 20):
        book(n)
    twenty = _queries(client, LIST, params)
    assert twenty == one
    assert one <= 12


@pytest.mark.parametrize("url", ["/api/v1/rooms/", "/api/v1/courses/"])
def test_rooms_and_courses_budget_does_not_grow(url, course, member, administrator, team, coordinator):
    client = api(member, administrator)
    one = _queries(client, url, {})
    for n in range(20):
        room = RoomFactory()
        extra = Course.objects.create(
            name=f"Kursus {n}",
            programme=course.programme,
            team=team,
            room=room,
            weekday=2,
            starts_at=datetime.time(10),
            ends_at=datetime.time(12),
            first_day=timezone.localdate(),
            session_count=1,
            created_by=coordinator,
        )
        extra.professionals.set([UserFactory(teams=[team])])
    assert _queries(client, url, {}) == one
    assert one <= 10


def test_my_sessions_budget_does_not_grow(course, member, administrator):
    client = api(member, administrator)
    session = course.sessions.get()
    day = timezone.localdate(session.starts_at).isoformat()
    one = _queries(client, "/api/v1/my-sessions/", {"day": day})
    for n in range(2, 21):
        start = session.starts_at + datetime.timedelta(minutes=10 * n)
        CourseSession.objects.create(
            course=course, number=n, starts_at=start, ends_at=start + datetime.timedelta(hours=1)
        )
    assert _queries(client, "/api/v1/my-sessions/", {"day": day}) == one
    assert one <= 10
