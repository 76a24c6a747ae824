"""Addresses and forms of the calendar typed or tampered with: a day, a week or a moment that is no
such thing, or one at the edge of what dates can hold, is answered with a page (today's, this week's,
or the form with its error), never a server error."""

import pytest
from django.conf import settings
from django.urls import reverse

from patients.models import Programme

from .conftest import client_for
from .factories import RoomFactory

pytestmark = pytest.mark.django_db

EDGE_WEEKS = ["1-W1", "0001-W01", "9999-W52", "2026-W99", "abc"]
EDGE_DAYS = ["0001-01-01", "9999-12-31", "2026-02-30"]
EDGE_SLOTS = ["0001-01-01T00:00", "9999-12-31T23:30-10:00", "2026-13-01T10:00"]
EDGE_STARTS = ["2026-13-45T10:00", "2026-02-30T10:00", "2026-01-01T25:00", "9999-12-31T23:59-10:00"]


@pytest.fixture
def as_member(member):
    client = client_for(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.mark.parametrize("week", EDGE_WEEKS)
def test_a_week_view_shows_this_week_for_a_week_it_cannot_show(as_member, team, week):
    room = RoomFactory()
    for url in (
        reverse("scheduling:my_week"),
        reverse("scheduling:team_week", args=[team.public_id]),
        reverse("scheduling:room_week", args=[room.public_id]),
    ):
        assert as_member.get(url, {"week": week}).status_code == 200


@pytest.mark.parametrize("day", EDGE_DAYS)
def test_my_day_shows_today_for_a_day_it_cannot_show(as_member, day):
    assert as_member.get(reverse("scheduling:my_day"), {"day": day}).status_code == 200


@pytest.mark.parametrize("slot", EDGE_SLOTS)
def test_a_free_slot_that_is_no_moment_shows_the_week(as_member, member, team, slot):
    room = RoomFactory()
    assert as_member.get(reverse("scheduling:my_week"), {"slot": slot}).status_code == 200
    assert as_member.get(reverse("scheduling:room_week", args=[room.public_id]), {"slot": slot}).status_code == 200
    team_url = reverse("scheduling:team_week", args=[team.public_id])
    assert as_member.get(team_url, {"slot": slot, "professional": member.pk}).status_code == 200


@pytest.mark.parametrize("start", EDGE_STARTS)
def test_the_booking_form_leaves_out_a_start_that_is_no_moment(as_member, patient, start):
    response = as_member.get(reverse("scheduling:book", args=[patient.public_id]), {"start": start})
    assert response.status_code == 200
    assert response.context["form"].initial.get("day") is None


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_booking_on_a_day_outside_the_calendar_is_refused_with_a_message(as_member, member, patient, day):
    room = RoomFactory()
    data = {
        "kind": "individual",
        "day": day,
        "start_time": "23:30",
        "duration": 45,
        "place": "room",
        "room": room.public_id,
        "professionals": [member.pk],
    }
    response = as_member.post(reverse("scheduling:book", args=[patient.public_id]), data)
    assert response.status_code == 200
    assert "Choose a day between 1900 and 2999." in response.context["form"].errors["day"]
    assert not patient.appointments.exists()


def test_a_course_starting_outside_the_calendar_is_refused_with_a_message(coordinator, member, team):
    room = RoomFactory()
    data = {
        "name": "Diabetesskole",
        "programme": Programme.objects.get(code="diabetes-course").pk,
        "team": team.pk,
        "room": room.pk,
        "professionals": [member.pk],
        "capacity": 12,
        "weekday": 1,
        "starts_at": "10:00",
        "ends_at": "12:00",
        "first_day": "9999-12-25",
        "session_count": 52,
    }
    client = client_for(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(reverse("scheduling:course_create"), data)
    assert response.status_code == 200
    assert "Choose a day between 1900 and 2999." in response.context["form"].errors["first_day"]
