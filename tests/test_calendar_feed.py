"""The calendar subscription (issue 13): a professional's personal iCalendar feed, opened by a secret in
its URL, that carries time, kind, place and a link, and nothing about the citizen."""

import datetime
import hashlib
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from healthcenter.models import AccessAction, AccessLog, Role
from patients.models import Programme
from scheduling import feed
from scheduling.models import CalendarFeedToken, Course, CourseSession, CourseStatus

from .conftest import client_for
from .factories import AppointmentFactory, ConditionFactory, PatientFactory, RoomFactory, UserFactory

COPENHAGEN = zoneinfo.ZoneInfo("Europe/Copenhagen")
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=COPENHAGEN)


def from_now(days: int, hour: int = 10) -> datetime.datetime:
    """A moment `days` days from today at `hour` local time: inside or outside the feed's window
    whatever today is."""
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def citizen(team, member):
    """A citizen with everything the feed must never show."""
    citizen = PatientFactory(
        team=team,
        responsible_professional=member,
        first_name="Gudrun",
        last_name="Feedesen",
        cpr="0712504321",
        address="Kastanjevej 17",
        postal_code="8600",
        city="Silkeborg",
        phone="22334455",
        gp_name="Lægehuset Bakken",
    )
    ConditionFactory(patient=citizen, kind="dm2", icd10="E11")
    return citizen


def course_with_session(*, team, teacher, starts_at, room=None, number=1):
    course = Course.objects.create(
        name="Diabetesskole, forår",
        programme=Programme.objects.get(code="diabetes-course"),
        team=team,
        room=room or RoomFactory(name=f"Holdlokalet {number}.{starts_at:%d%H}"),
        weekday=starts_at.weekday(),
        starts_at=datetime.time(10),
        ends_at=datetime.time(12),
        first_day=starts_at.date(),
        session_count=1,
        created_by=teacher,
    )
    course.professionals.set([teacher])
    session = CourseSession.objects.create(
        course=course, number=number, starts_at=starts_at, ends_at=starts_at + datetime.timedelta(hours=2)
    )
    return course, session


def events(content: bytes) -> dict[str, object]:
    calendar = Calendar.from_ical(content)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def fetch(client, secret: str):
    return client.get(reverse("scheduling:ical_feed", args=[secret]))


# --- the feed ------------------------------------------------------------------------------------------


def test_the_feed_holds_my_appointments_and_sessions_by_kind_place_and_link(client, team, member, colleague, citizen):
    room = RoomFactory(name="Samtalerum 2", location="1. sal")
    in_room = AppointmentFactory(patient=citizen, room=room, starts_at=from_now(3), purpose="HbA1c og fodstatus")
    home = AppointmentFactory(patient=citizen, kind="home_visit", starts_at=from_now(5))
    phone = AppointmentFactory(patient=citizen, kind="phone", starts_at=from_now(6))
    cancelled = AppointmentFactory(
        patient=citizen, starts_at=from_now(7), status="cancelled_citizen", cancel_reason="Syg"
    )
    attended = AppointmentFactory(patient=citizen, starts_at=from_now(-10), status="attended")
    too_old = AppointmentFactory(patient=citizen, starts_at=from_now(-40))
    too_far = AppointmentFactory(patient=citizen, starts_at=from_now(200))
    colleagues = AppointmentFactory(patient=citizen, starts_at=from_now(3, 13), professionals=[colleague])
    course, session = course_with_session(team=team, teacher=member, starts_at=from_now(4))
    # A participant's appointment for the session: the session is shown once, as the session.
    participant = AppointmentFactory(
        patient=citizen, kind="group", room=course.room, session=session, starts_at=session.starts_at, professionals=[]
    )

    response = fetch(client, feed.feed_token_issue(actor=member))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    assert b"\r\nX-PUBLISHED-TTL:PT1H\r\n" in response.content
    found = events(response.content)
    uid = f"appointment-{{}}@{feed.UID_DOMAIN}".format
    assert set(found) == {
        uid(in_room.public_id),
        uid(home.public_id),
        uid(phone.public_id),
        uid(cancelled.public_id),
        uid(attended.public_id),
        f"session-{session.public_id}@{feed.UID_DOMAIN}",
    }
    assert not {uid(a.public_id) for a in (too_old, too_far, colleagues, participant)} & set(found)

    event = found[uid(in_room.public_id)]
    assert str(event["SUMMARY"]) == "Samtale"
    assert str(event["LOCATION"]) == "Samtalerum 2, 1. sal"
    link = f"http://testserver{reverse('scheduling:appointment', args=[in_room.public_id])}"
    assert str(event["URL"]) == link
    assert link in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == in_room.starts_at
    assert event.decoded("DTEND") == in_room.ends_at

    assert str(found[uid(home.public_id)]["SUMMARY"]) == "Hjemmebesøg"
    assert str(found[uid(home.public_id)]["LOCATION"]) == "Borgerens hjem"
    assert str(found[uid(phone.public_id)]["SUMMARY"]) == "Telefonsamtale"
    assert str(found[uid(cancelled.public_id)]["STATUS"]) == "CANCELLED"
    assert str(found[uid(attended.public_id)]["STATUS"]) == "CONFIRMED"

    taught = found[f"session-{session.public_id}@{feed.UID_DOMAIN}"]
    assert str(taught["SUMMARY"]) == "Holdundervisning"
    assert str(taught["LOCATION"]) == f"{course.room.name}, Stueetagen"
    assert str(taught["URL"]) == f"http://testserver{reverse('scheduling:course', args=[course.public_id])}"


def test_a_cancelled_session_and_a_cancelled_courses_sessions_are_sent_as_cancelled(team, member):
    _course, cancelled = course_with_session(team=team, teacher=member, starts_at=local(2027, 3, 2, 10))
    CourseSession.objects.filter(pk=cancelled.pk).update(cancelled=True, cancel_reason="Underviseren er syg")
    course, of_cancelled_course = course_with_session(team=team, teacher=member, starts_at=local(2027, 3, 3, 10))
    Course.objects.filter(pk=course.pk).update(status=CourseStatus.CANCELLED)
    _course, held = course_with_session(team=team, teacher=member, starts_at=local(2027, 3, 4, 10))

    found = events(feed.calendar_for(member, now=local(2027, 3, 1, 12)))

    status = {
        session: str(found[f"session-{session.public_id}@{feed.UID_DOMAIN}"]["STATUS"])
        for session in [cancelled, of_cancelled_course, held]
    }
    assert status == {cancelled: "CANCELLED", of_cancelled_course: "CANCELLED", held: "CONFIRMED"}


def test_times_are_copenhagen_local_on_both_sides_of_summer_time(member, citizen):
    # Summer time begins on Sunday 28 March 2027: 10:00 is 09:00 UTC the week before and 08:00 UTC after.
    winter = AppointmentFactory(patient=citizen, starts_at=local(2027, 3, 25, 10))
    summer = AppointmentFactory(patient=citizen, starts_at=local(2027, 3, 30, 10))

    found = events(feed.calendar_for(member, now=local(2027, 3, 20, 12)))

    before = found[f"appointment-{winter.public_id}@{feed.UID_DOMAIN}"].decoded("DTSTART")
    after = found[f"appointment-{summer.public_id}@{feed.UID_DOMAIN}"].decoded("DTSTART")
    assert before.astimezone(datetime.UTC).hour == 9
    assert after.astimezone(datetime.UTC).hour == 8
    assert before.astimezone(COPENHAGEN).time() == after.astimezone(COPENHAGEN).time() == datetime.time(10)
    assert after.astimezone(COPENHAGEN).date() == datetime.date(2027, 3, 30)
    ends = found[f"appointment-{summer.public_id}@{feed.UID_DOMAIN}"].decoded("DTEND")
    assert ends.astimezone(COPENHAGEN).time() == datetime.time(10, 45)


def test_nothing_about_the_citizen_is_in_the_feed(team, member, citizen):
    room = RoomFactory(name="Samtalerum 3")
    AppointmentFactory(patient=citizen, room=room, starts_at=local(2027, 5, 3, 9), purpose="Diabetes, blodsukker")
    AppointmentFactory(patient=citizen, kind="home_visit", starts_at=local(2027, 5, 4, 9), purpose="Fodsår")
    AppointmentFactory(patient=citizen, kind="phone", starts_at=local(2027, 5, 5, 9), purpose="Demens, pårørende")
    AppointmentFactory(
        patient=citizen, starts_at=local(2027, 5, 6, 9), status="cancelled_centre", cancel_reason="Indlagt med KOL"
    )
    course_with_session(team=team, teacher=member, starts_at=local(2027, 5, 7, 10))

    content = feed.calendar_for(member, now=local(2027, 5, 1, 12))

    # Unfolded (a long line is folded after 75 octets) so that no word hides across a fold, and
    # without the events' ids, whose hex digits could spell "e11" or a number by chance.
    without_ids = UUID.sub(b"", content.replace(b"\r\n ", b""))
    text = without_ids.decode().lower()
    assert len(events(content)) == 5
    for word in [
        "gudrun",
        "feedesen",
        "kastanjevej",
        "silkeborg",
        "8600",
        "22334455",
        "bakken",
        "diabetes",
        "blodsukker",
        "fodsår",
        "demens",
        "pårørende",
        "indlagt",
        "kol",
        "e11",
        "opfølgning",
    ]:
        assert word not in text, word
    assert not re.search(rb"\d{10}", re.sub(rb"\d{8}T\d{6}Z?", b"", without_ids)), "a ten-digit number"
    assert not re.search(rb"\d{6}-\d{4}", without_ids), "a CPR number"
    assert b"0712504321" not in content


def test_the_queries_do_not_grow_with_the_calendar(client, django_assert_max_num_queries, team, member, citizen):
    secret = feed.feed_token_issue(actor=member)
    AppointmentFactory(patient=citizen, starts_at=from_now(1))
    course_with_session(team=team, teacher=member, starts_at=from_now(2))

    # The token and its user, its last use, the log row, the appointments, the sessions.
    with django_assert_max_num_queries(5):
        assert len(events(fetch(client, secret).content)) == 2

    room = RoomFactory()
    for day in range(3, 31):
        AppointmentFactory(patient=citizen, room=room, starts_at=from_now(day))
    course_with_session(team=team, teacher=member, starts_at=from_now(2, 14), room=room)
    with django_assert_max_num_queries(5):
        assert len(events(fetch(client, secret).content)) == 31


# --- the token -----------------------------------------------------------------------------------------


def test_an_unknown_and_a_revoked_token_get_the_same_404(client, member, citizen):
    AppointmentFactory(patient=citizen)
    secret = feed.feed_token_issue(actor=member)
    assert fetch(client, secret).status_code == 200

    assert feed.feed_token_revoke(actor=member) is True
    revoked = fetch(client, secret)
    unknown = fetch(client, "x" * 43)

    assert revoked.status_code == unknown.status_code == 404

    # The same page, but for the address asked for (which a debug page shows).
    def page(response, asked: str) -> bytes:
        # Without the address asked for and the CSRF tokens (masked anew for every page).
        return re.sub(rb"[A-Za-z0-9]{64}", b"", response.content.replace(asked.encode(), b"{token}"))

    assert page(revoked, secret) == page(unknown, "x" * 43)


def test_a_new_token_revokes_the_one_before(client, member):
    first = feed.feed_token_issue(actor=member)
    second = feed.feed_token_issue(actor=member)

    assert fetch(client, first).status_code == 404
    assert fetch(client, second).status_code == 200
    assert CalendarFeedToken.objects.filter(user=member, revoked_at__isnull=True).count() == 1


def test_the_secret_is_kept_only_as_its_digest(client, member):
    secret = feed.feed_token_issue(actor=member)
    fetch(client, secret)

    token = CalendarFeedToken.objects.get(user=member)
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    stored = [str(value) for row in CalendarFeedToken.objects.values() for value in row.values()]
    stored += [row.what for row in AccessLog.objects.all()]
    assert not any(secret in value for value in stored)
    assert len(secret) >= 43  # 32 random bytes


def test_a_fetch_records_its_use_and_one_log_row_without_a_citizen(client, member):
    secret = feed.feed_token_issue(actor=member)
    before = AccessLog.objects.filter(user=member).count()

    fetch(client, secret)

    assert CalendarFeedToken.objects.get(user=member).last_used_at is not None
    rows = AccessLog.objects.filter(user=member).order_by("pk")[before:]
    assert [(row.action, row.what, row.patient_public_id) for row in rows] == [
        (AccessAction.EXPORT, "calendar feed fetched", None)
    ]


def test_someone_who_no_longer_works_with_citizens_gets_404(client, member):
    secret = feed.feed_token_issue(actor=member)
    member.role = Role.MANAGER
    member.save(update_fields=["role"])

    assert fetch(client, secret).status_code == 404


def test_a_deactivated_user_gets_404(client, member):
    secret = feed.feed_token_issue(actor=member)
    member.is_active = False
    member.save(update_fields=["is_active"])

    assert fetch(client, secret).status_code == 404


# --- the subscription page -----------------------------------------------------------------------------


def test_the_page_says_there_is_no_subscription_yet(as_member):
    response = as_member.get(reverse("scheduling:subscription"))

    assert response.status_code == 200
    assert "Du har ikke noget kalenderabonnement." in response.text
    assert "Outlook" in response.text


def test_making_a_subscription_shows_the_address_once(as_member, member, client):
    response = as_member.post(reverse("scheduling:subscription"), {"action": "issue"})

    assert response.status_code == 200
    match = re.search(r'value="(http://testserver/[^"]+\.ics)"', response.text)
    assert match, "the address is shown"
    address = match.group(1)
    assert client.get(address.removeprefix("http://testserver")).status_code == 200
    again = as_member.get(reverse("scheduling:subscription"))
    assert address not in again.text
    assert "Du har et abonnement" in again.text
    assert "Senest hentet af en kalender" in again.text
    created = AccessLog.objects.get(user=member, what="calendar subscription created")
    assert (created.action, created.patient_public_id) == (AccessAction.CREATE, None)


def test_revoking_stops_the_feed_at_once_and_is_logged(as_member, member, client):
    secret = feed.feed_token_issue(actor=member)

    response = as_member.post(reverse("scheduling:subscription"), {"action": "revoke"})

    assert response.status_code == 302
    assert fetch(client, secret).status_code == 404
    assert AccessLog.objects.filter(user=member, what="calendar subscription revoked", patient_public_id=None).exists()
    assert "Du har ikke noget kalenderabonnement." in as_member.get(reverse("scheduling:subscription")).text


def test_a_manager_has_no_subscription_page(manager):
    client = client_for(manager)

    assert client.get(reverse("scheduling:subscription")).status_code == 404
    assert client.post(reverse("scheduling:subscription"), {"action": "issue"}).status_code == 404
    assert not CalendarFeedToken.objects.filter(user=manager).exists()


def test_a_coordinator_may_subscribe(coordinator):
    client = client_for(coordinator)

    response = client.post(reverse("scheduling:subscription"), {"action": "issue"})

    assert response.status_code == 200
    assert CalendarFeedToken.objects.filter(user=coordinator, revoked_at__isnull=True).exists()


def test_each_persons_feed_is_their_own(client, member, colleague, citizen):
    mine = AppointmentFactory(patient=citizen, starts_at=from_now(2))
    theirs = AppointmentFactory(patient=citizen, starts_at=from_now(2, 14), professionals=[colleague])
    UserFactory()  # someone without a subscription

    found = events(fetch(client, feed.feed_token_issue(actor=colleague)).content)

    assert set(found) == {f"appointment-{theirs.public_id}@{feed.UID_DOMAIN}"}
    assert f"appointment-{mine.public_id}@{feed.UID_DOMAIN}" not in found
