"""The booking form on the night the clocks go forward: a time the Copenhagen clock skips is an
error on the time field, not a 500 and not an appointment silently an hour later."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from scheduling.forms import local_moment
from scheduling.models import Appointment

from .conftest import client_for

pytestmark = pytest.mark.django_db

SPRING_FORWARD = datetime.date(2027, 3, 28)  # 02:00 becomes 03:00 in Copenhagen


def test_a_time_the_clock_skips_has_no_local_moment():
    assert local_moment(SPRING_FORWARD, datetime.time(2, 30)) is None
    three = local_moment(SPRING_FORWARD, datetime.time(3, 0))
    assert timezone.localtime(three).replace(tzinfo=None) == datetime.datetime(2027, 3, 28, 3, 0)
    assert three.utcoffset() == datetime.timedelta(hours=2)


def test_booking_at_a_time_the_clock_skips_is_refused_on_the_time_field(member, patient):
    client = client_for(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    data = {
        "kind": "individual",
        "day": SPRING_FORWARD.strftime("%d-%m-%Y"),
        "start_time": "02:30",
        "duration": "45",
        "place": "home",
        "room": "",
        "professionals": [str(member.pk)],
        "purpose": "",
    }
    response = client.post(reverse("scheduling:book", args=[patient.public_id]), data)
    assert response.status_code == 200
    assert "so 02:30 does not exist" in response.content.decode()
    assert not Appointment.objects.exists()
