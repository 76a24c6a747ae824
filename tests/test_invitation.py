"""The invitation letter (issue 13): a printable letter to the citizen, in plain Danish whatever the
language of the person printing it, found through the citizen's care relation and logged under them."""

import datetime
import zoneinfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from healthcenter.models import AccessLog, AccessOutcome

from .factories import AppointmentFactory, ConditionFactory, RoomFactory, UserFactory

COPENHAGEN = zoneinfo.ZoneInfo("Europe/Copenhagen")
# A Tuesday in winter.
TUESDAY = datetime.datetime(2026, 12, 15, 10, 0, tzinfo=COPENHAGEN)


@pytest.fixture
def citizen(patient):
    patient.address = "Kastanjevej 17"
    patient.postal_code = "8600"
    patient.city = "Silkeborg"
    patient.phone = "22334455"
    patient.save(update_fields=["address", "postal_code", "city", "phone"])
    return patient


@pytest.fixture
def nurse(team):
    return UserFactory(username="nurse", first_name="Hanne", last_name="Holm", profession="nurse", teams=[team])


def danish(text: str) -> str:
    """The letter's Danish for a msgid (the English while a new msgid awaits its translation in locale/,
    which the lead merges: a test must not depend on whether it has been)."""
    with translation.override("da"):
        return gettext(text)


def letter(client, appointment):
    return client.get(reverse("scheduling:invitation", args=[appointment.public_id]))


def test_the_letter_says_who_when_where_whom_and_how_to_cancel(as_member, member, nurse, citizen):
    room = RoomFactory(name="Samtalerum 2", location="1. sal, Sundhedshuset")
    appointment = AppointmentFactory(patient=citizen, room=room, starts_at=TUESDAY, professionals=[member, nurse])

    response = letter(as_member, appointment)

    assert response.status_code == 200
    text = response.text
    assert "Karen Jensen" in text
    assert "Kastanjevej 17" in text and "8600 Silkeborg" in text
    assert "Invitation til en samtale" in text
    assert "tirsdag den 15. december 2026" in text
    assert "kl. 10.00 til 10.45" in text
    assert "Samtalerum 2" in text and "1. sal, Sundhedshuset" in text
    assert "Hanne Holm, sygeplejerske" in text
    assert member.get_full_name() in text
    assert f"Ring til os på {settings.CENTRE_PHONE}" in text
    assert "Din medicinliste" in text
    assert "data-print" in text and "js/print.js" in text


def test_the_letter_is_danish_under_an_english_ui(as_member, citizen):
    appointment = AppointmentFactory(patient=citizen, starts_at=TUESDAY, kind="home_visit")
    as_member.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    text = letter(as_member, appointment).text

    # The page around the letter is in the reader's language ...
    assert "Back to the appointment" in text
    assert "Worklist" in text
    # ... the letter in Danish.
    assert 'lang="da"' in text
    assert "tirsdag den 15. december 2026" in text
    assert "Invitation til et hjemmebesøg" in text
    assert "Hos dig" in text and "Kastanjevej 17, 8600 Silkeborg" in text
    # We come to them: nobody is asked to bring anything or told what to do if they cannot come.
    assert danish("Please have this ready") in text and danish("If the time does not suit you") in text
    assert "Tag gerne med" not in text and "Hvis du ikke kan komme" not in text
    for english in ["Tuesday", "December", "Please bring", "If you cannot come", "At your home"]:
        assert english not in text


def test_summer_time_shows_the_local_time(as_member, citizen):
    appointment = AppointmentFactory(
        patient=citizen, starts_at=datetime.datetime(2027, 6, 1, 13, 30, tzinfo=COPENHAGEN)
    )

    text = letter(as_member, appointment).text

    assert "tirsdag den 1. juni 2027" in text
    assert "kl. 13.30 til 14.15" in text


def test_a_phone_call_says_we_will_call(as_member, citizen):
    appointment = AppointmentFactory(patient=citizen, starts_at=TUESDAY, kind="phone")

    text = letter(as_member, appointment).text

    assert "Vi ringer til dig" in text and "på 22 33 44 55" in text
    assert "Invitation til en telefonsamtale" in text
    # Nobody comes to a call: no "looking forward to seeing you", nothing to bring, no "if you cannot come".
    assert danish("We will call you at the time below. Here is what you need to know.") in text
    assert danish("Please have this close by") in text and danish("If the time does not suit you") in text
    for meeting in ["Vi glæder os til at se dig", "Tag gerne med", "Hvis du ikke kan komme"]:
        assert meeting not in text


def test_a_video_call_says_we_will_call_by_video(as_member, citizen):
    appointment = AppointmentFactory(patient=citizen, starts_at=TUESDAY, kind="video", place="remote")

    text = letter(as_member, appointment).text

    assert danish("We will call you by video at the time below. Here is what you need to know.") in text
    assert danish("Please have this close by") in text and danish("If the time does not suit you") in text
    for meeting in ["Vi glæder os til at se dig", "Tag gerne med", "Hvis du ikke kan komme"]:
        assert meeting not in text


def test_a_meeting_at_the_centre_keeps_its_wording(as_member, citizen):
    appointment = AppointmentFactory(patient=citizen, starts_at=TUESDAY, room=RoomFactory(name="Samtalerum 2"))

    text = letter(as_member, appointment).text

    assert "Vi glæder os til at se dig" in text and "Tag gerne med" in text and "Hvis du ikke kan komme" in text


def test_a_citizen_with_diabetes_is_asked_to_bring_the_blood_sugar_diary(as_member, citizen):
    ConditionFactory(patient=citizen, kind="dm2", icd10="E11")
    with_diabetes = AppointmentFactory(patient=citizen, starts_at=TUESDAY)

    assert "blodsukkerdagbog" in letter(as_member, with_diabetes).text


def test_a_citizen_without_diabetes_is_not(as_member, citizen):
    appointment = AppointmentFactory(patient=citizen, starts_at=TUESDAY)

    assert "blodsukkerdagbog" not in letter(as_member, appointment).text


def test_a_colleague_in_the_team_may_print_it(as_colleague, citizen):
    assert letter(as_colleague, AppointmentFactory(patient=citizen, starts_at=TUESDAY)).status_code == 200


def test_reading_the_letter_is_logged_under_the_citizen(as_member, member, citizen):
    appointment = AppointmentFactory(patient=citizen, starts_at=TUESDAY)

    letter(as_member, appointment)

    row = AccessLog.objects.get(user=member, what="invitation letter")
    assert (row.patient_public_id, row.outcome) == (citizen.public_id, AccessOutcome.ALLOWED)


def test_an_outsider_gets_404_and_a_denied_row_under_the_citizen(as_outsider, outsider, citizen):
    appointment = AppointmentFactory(patient=citizen, starts_at=TUESDAY)

    response = letter(as_outsider, appointment)

    assert response.status_code == 404
    assert "Karen" not in response.text
    assert AccessLog.objects.filter(
        user=outsider, patient_public_id=citizen.public_id, outcome=AccessOutcome.DENIED
    ).exists()


def test_a_cancelled_appointment_warns_not_to_send_it(as_member, citizen):
    appointment = AppointmentFactory(
        patient=citizen, starts_at=TUESDAY, status="cancelled_centre", cancel_reason="Sygdom"
    )

    assert "Aftalen er aflyst" in letter(as_member, appointment).text


@pytest.mark.parametrize("colleagues", [0, 20])
def test_the_letter_takes_a_fixed_number_of_queries(
    as_member, django_assert_max_num_queries, member, citizen, team, colleagues
):
    people = [member, *(UserFactory(teams=[team], profession="dietitian") for _ in range(colleagues))]
    appointment = AppointmentFactory(patient=citizen, starts_at=TUESDAY, professionals=people)

    with django_assert_max_num_queries(12):
        response = letter(as_member, appointment)

    assert response.text.count("diætist") == colleagues
