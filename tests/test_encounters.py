import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from healthcenter.models import AccessLog
from patients.models import Amendment, Encounter, Measurement

from .factories import EncounterFactory


def local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def encounter_form(**overrides):
    data = {
        "kind": "individual",
        "started_at": local(timezone.now() - datetime.timedelta(hours=2)),
        "duration_minutes": "45",
        "what_matters": "At kunne passe mine børnebørn om onsdagen.",
        "note": "Gennemgang af blodsukker. Borger spiser mindre sukker.",
        "agreed_actions": "Gåtur hver dag\n\nRinge om 4 uger\n",
        # The same actions as the form that also makes tasks takes them: one row each.
        "action-0-text": "Gåtur hver dag",
        "action-2-text": "Ringe om 4 uger",
        "m_hba1c": "58",
        "m_weight": "84.5",
        "m_foot_exam": "normal",
        "sign": "1",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.django_db
class TestLogging:
    def test_it_logs_and_signs_an_encounter_with_measurements_and_actions(self, as_member, member, patient):
        response = as_member.post(reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form())
        assert response.status_code == 302
        encounter = Encounter.objects.get(patient=patient)
        assert encounter.professional == member
        assert encounter.is_signed
        assert encounter.what_matters == "At kunne passe mine børnebørn om onsdagen."
        assert [a.text for a in encounter.agreed_actions.all()] == ["Gåtur hver dag", "Ringe om 4 uger"]
        values = {m.type.code: (m.value, m.result) for m in encounter.measurements.select_related("type")}
        assert values == {"hba1c": (58, ""), "weight": (84.5, ""), "foot_exam": (None, "normal")}
        assert all(m.measured_at == encounter.started_at for m in encounter.measurements.all())

    def test_the_encounter_shows_on_the_patient_page(self, as_member, patient):
        as_member.post(reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form())
        page = as_member.get(reverse("patients:detail", args=[patient.public_id]))
        body = page.content.decode()
        assert "At kunne passe mine børnebørn om onsdagen." in body
        assert "Gåtur hver dag" in body
        assert [chart.code for chart in page.context["figures"]] == ["hba1c", "weight"]

    def test_it_saves_a_draft_without_signing(self, as_member, patient):
        as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form(sign=None, draft="1")
        )
        assert not Encounter.objects.get(patient=patient).is_signed

    @pytest.mark.parametrize(
        ("field", "value"),
        [("m_hba1c", "900"), ("m_hba1c", "-3"), ("m_weight", "2000"), ("m_mmse", "31"), ("m_ldl", "abc")],
    )
    def test_it_refuses_an_implausible_measurement_and_saves_nothing(self, as_member, patient, field, value):
        response = as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form(**{field: value})
        )
        assert response.status_code == 200
        assert response.context["form"].errors[field]
        assert not Encounter.objects.exists()
        assert not Measurement.objects.exists()

    def test_the_range_message_names_the_range_in_danish(self, as_member, patient):
        response = as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form(m_hba1c="900")
        )
        assert response.context["form"].errors["m_hba1c"] == ["Skal være mellem 20 og 200 mmol/mol."]

    def test_it_refuses_a_future_time(self, as_member, patient):
        future = local(timezone.now() + datetime.timedelta(days=1))
        response = as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form(started_at=future)
        )
        assert response.context["form"].errors["started_at"]
        assert not Encounter.objects.exists()

    def test_it_refuses_an_empty_encounter(self, as_member, patient):
        response = as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]),
            encounter_form(what_matters="", note="", m_hba1c="", m_weight="", m_foot_exam="", agreed_actions=""),
        )
        assert response.context["form"].non_field_errors()
        assert not Encounter.objects.exists()

    def test_a_tampered_kind_is_refused(self, as_member, patient):
        response = as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form(kind="teleportation")
        )
        assert response.context["form"].errors["kind"]
        assert not Encounter.objects.exists()

    def test_a_rejected_attempt_is_in_the_access_log(self, as_member, member, patient):
        as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form(m_hba1c="900")
        )
        assert AccessLog.objects.filter(user=member, patient_public_id=patient.public_id, outcome="rejected").exists()


@pytest.mark.django_db
class TestSigningAndAmendments:
    @pytest.fixture
    def draft(self, patient, member):
        return EncounterFactory(patient=patient, professional=member, signed_at=None, note="Første udkast")

    def test_the_author_edits_a_draft(self, as_member, draft):
        response = as_member.post(
            reverse("coordination:encounter_edit", args=[draft.public_id]),
            encounter_form(note="Rettet udkast", version=draft.version, sign=None, draft="1"),
        )
        assert response.status_code == 302
        draft.refresh_from_db()
        assert (draft.note, draft.version, draft.is_signed) == ("Rettet udkast", 2, False)
        assert draft.measurements.count() == 3

    def test_two_concurrent_edits_of_a_draft_keep_the_first(self, as_member, draft):
        url = reverse("coordination:encounter_edit", args=[draft.public_id])
        as_member.post(url, encounter_form(note="Første gem", version=1, sign=None, draft="1"))
        response = as_member.post(url, encounter_form(note="Andet gem", version=1, sign=None, draft="1"))
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()
        draft.refresh_from_db()
        assert draft.note == "Første gem"

    def test_the_author_signs_a_draft(self, as_member, draft):
        as_member.post(reverse("coordination:encounter_sign", args=[draft.public_id]), {"version": draft.version})
        draft.refresh_from_db()
        assert draft.is_signed

    def test_a_colleague_cannot_sign_someone_elses_draft(self, as_colleague, draft):
        as_colleague.post(reverse("coordination:encounter_sign", args=[draft.public_id]), {"version": draft.version})
        draft.refresh_from_db()
        assert not draft.is_signed

    def test_a_signed_encounter_cannot_be_edited(self, as_member, member, patient):
        signed = EncounterFactory(patient=patient, professional=member, note="Original")
        response = as_member.post(
            reverse("coordination:encounter_edit", args=[signed.public_id]),
            encounter_form(note="Ændret", version=signed.version),
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("patients:encounter_amend", args=[signed.public_id])
        signed.refresh_from_db()
        assert signed.note == "Original"

    def test_an_amendment_keeps_the_original_visible(self, as_colleague, colleague, member, patient):
        signed = EncounterFactory(patient=patient, professional=member, note="HbA1c var 64")
        as_colleague.post(reverse("patients:encounter_amend", args=[signed.public_id]), {"text": "Skulle være 46"})
        amendment = Amendment.objects.get(encounter=signed)
        assert amendment.author == colleague
        signed.refresh_from_db()
        assert signed.note == "HbA1c var 64"
        body = as_colleague.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
        assert "HbA1c var 64" in body
        assert "Skulle være 46" in body

    def test_an_empty_amendment_is_refused(self, as_member, member, patient):
        signed = EncounterFactory(patient=patient, professional=member)
        response = as_member.post(reverse("patients:encounter_amend", args=[signed.public_id]), {"text": "  "})
        assert response.status_code == 200
        assert not Amendment.objects.exists()


@pytest.mark.django_db
def test_a_dated_signature_is_refused_in_the_future_or_before_the_encounter(member, patient):
    from django.core.exceptions import ValidationError

    from patients.services import encounter_sign

    draft = EncounterFactory(patient=patient, professional=member, signed_at=None)
    for at in (timezone.now() + datetime.timedelta(hours=1), draft.started_at - datetime.timedelta(minutes=1)):
        with pytest.raises(ValidationError):
            encounter_sign(actor=member, encounter=draft, expected_version=draft.version, at=at)
    encounter_sign(actor=member, encounter=draft, expected_version=draft.version, at=draft.started_at)
    draft.refresh_from_db()
    assert draft.signed_at == draft.started_at
    assert AccessLog.objects.filter(user=member, what="encounter signed").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "typed", "accepted"),
    [("mmse", "25,5", False), ("mmse", "25", True), ("systolic_bp", "128,5", False), ("weight", "86,55", True)],
)
def test_a_value_finer_than_the_catalogue_measures_is_refused_not_rounded(member, patient, code, typed, accepted):
    from django.core.exceptions import ValidationError

    from patients.models import MeasurementType
    from patients.services import MeasurementInput, validate_measurement

    value = Decimal(typed.replace(",", "."))
    measurement = MeasurementInput(type=MeasurementType.objects.get(code=code), value=value)
    if accepted:
        validate_measurement(measurement, field="value")
    else:
        with pytest.raises(ValidationError):
            validate_measurement(measurement, field="value")
