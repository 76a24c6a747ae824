"""Goals, relatives, consents, conditions, enrolments and measurements outside encounters."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from healthcenter.formatting import number
from patients.models import Condition, Consent, Enrolment, Goal, Measurement, MeasurementType, Programme, Relative

from .factories import MeasurementFactory


def today(offset_days=0) -> str:
    return (timezone.localdate() + datetime.timedelta(days=offset_days)).isoformat()


@pytest.mark.django_db
class TestGoals:
    def goal(self, **overrides):
        hba1c = MeasurementType.objects.get(code="hba1c")
        data = {
            "text": "At undgå at få insulin",
            "measurement_type": hba1c.id,
            "target_low": "53",
            "target_high": "70",
            "review_on": today(90),
            "status": "active",
        }
        data.update(overrides)
        return data

    def test_it_records_a_goal_with_an_individual_range(self, as_member, patient):
        response = as_member.post(reverse("patients:goal_create", args=[patient.public_id]), self.goal())
        assert response.status_code == 302
        goal = Goal.objects.get(patient=patient)
        assert (goal.text, goal.target_low, goal.target_high) == ("At undgå at få insulin", 53, 70)

    def test_the_goal_range_is_drawn_on_the_chart(self, as_member, patient):
        MeasurementFactory(patient=patient, value=64)
        as_member.post(reverse("patients:goal_create", args=[patient.public_id]), self.goal())
        page = as_member.get(reverse("patients:detail", args=[patient.public_id]))
        (chart,) = page.context["figures"]
        assert (chart.figure["layout"]["shapes"][0]["y0"], chart.figure["layout"]["shapes"][0]["y1"]) == (53, 70)

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"target_low": "80", "target_high": "60"}, "target_high"),
            ({"target_low": "900", "target_high": ""}, "target_low"),
            ({"measurement_type": ""}, "measurement_type"),
            ({"review_on": today(-1)}, "review_on"),
            ({"text": ""}, "text"),
            ({"status": "achieved"}, "achieved_on"),
        ],
    )
    def test_it_refuses_an_inconsistent_goal(self, as_member, patient, overrides, field):
        response = as_member.post(reverse("patients:goal_create", args=[patient.public_id]), self.goal(**overrides))
        assert response.status_code == 200
        assert field in response.context["form"].errors
        assert not Goal.objects.exists()

    def test_a_goal_is_marked_achieved(self, as_member, patient):
        as_member.post(reverse("patients:goal_create", args=[patient.public_id]), self.goal())
        goal = Goal.objects.get()
        response = as_member.post(
            reverse("patients:goal_edit", args=[goal.public_id]),
            self.goal(status="achieved", achieved_on=today(), version=goal.version),
        )
        assert response.status_code == 302
        goal.refresh_from_db()
        assert (goal.status, goal.achieved_on, goal.version) == ("achieved", timezone.localdate(), 2)

    def test_a_stale_goal_edit_is_refused(self, as_member, patient):
        as_member.post(reverse("patients:goal_create", args=[patient.public_id]), self.goal())
        goal = Goal.objects.get()
        url = reverse("patients:goal_edit", args=[goal.public_id])
        as_member.post(url, self.goal(text="Først", version=1))
        response = as_member.post(url, self.goal(text="Sidst", version=1))
        assert response.context["form"].non_field_errors()
        goal.refresh_from_db()
        assert goal.text == "Først"


@pytest.mark.django_db
class TestConsentsAndRelatives:
    def give(self, client, patient, kind="share_relatives", given_on=None):
        return client.post(
            reverse("patients:consent_give", args=[patient.public_id]),
            {"kind": kind, "given_on": given_on or today(), "given_by": "Borgeren"},
        )

    def add_relative(self, client, patient, **overrides):
        data = {"name": "Hanne Jensen", "relation": "datter", "phone": "20202020", "is_primary_caregiver": "on"}
        data.update(overrides)
        return client.post(reverse("patients:relative_add", args=[patient.public_id]), data)

    def test_a_relative_may_receive_information_only_with_consent(self, as_member, patient):
        response = self.add_relative(as_member, patient, may_receive_information="on")
        assert response.context["form"].errors["may_receive_information"]
        assert not Relative.objects.exists()
        self.give(as_member, patient)
        self.add_relative(as_member, patient, may_receive_information="on")
        assert Relative.objects.get().may_receive_information

    def test_a_new_primary_caregiver_takes_over(self, as_member, patient):
        self.add_relative(as_member, patient)
        self.add_relative(as_member, patient, name="Bo Jensen", relation="søn")
        assert list(Relative.objects.filter(is_primary_caregiver=True).values_list("name", flat=True)) == ["Bo Jensen"]

    def test_withdrawing_consent_stops_information_to_relatives(self, as_member, patient):
        self.give(as_member, patient, given_on=today(-10))
        self.add_relative(as_member, patient, may_receive_information="on")
        consent = Consent.objects.get()
        response = as_member.post(
            reverse("patients:consent_withdraw", args=[consent.public_id]),
            {"withdrawn_on": today(), "withdrawn_by": "Borgeren"},
        )
        assert response.status_code == 302
        consent.refresh_from_db()
        assert consent.withdrawn_on == timezone.localdate()
        assert not Relative.objects.get().may_receive_information

    def test_a_consent_cannot_be_withdrawn_twice(self, as_member, patient):
        self.give(as_member, patient)
        consent = Consent.objects.get()
        url = reverse("patients:consent_withdraw", args=[consent.public_id])
        as_member.post(url, {"withdrawn_on": today(), "withdrawn_by": "Borgeren"})
        response = as_member.post(url, {"withdrawn_on": today(), "withdrawn_by": "Borgeren"})
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()

    def test_a_consent_given_twice_is_refused(self, as_member, patient):
        self.give(as_member, patient)
        response = self.give(as_member, patient)
        assert response.context["form"].errors["kind"]
        assert Consent.objects.count() == 1

    def test_a_future_consent_date_is_refused(self, as_member, patient):
        response = self.give(as_member, patient, given_on=today(3))
        assert response.context["form"].errors["given_on"]


@pytest.mark.django_db
class TestConditionsAndEnrolments:
    def test_a_condition_gets_its_usual_icd10_code(self, as_member, patient):
        as_member.post(
            reverse("patients:condition_add", args=[patient.public_id]), {"kind": "mci", "diagnosed_on": "2024-03-01"}
        )
        assert Condition.objects.get().icd10 == "F06.7"

    def test_a_condition_without_its_diagnosis_date_is_refused(self, as_member, patient):
        response = as_member.post(reverse("patients:condition_add", args=[patient.public_id]), {"kind": "dm2"})
        assert response.context["form"].errors["diagnosed_on"]
        assert not Condition.objects.exists()

    def test_a_malformed_icd10_code_is_refused(self, as_member, patient):
        response = as_member.post(
            reverse("patients:condition_add", args=[patient.public_id]), {"kind": "dm2", "icd10": "diabetes"}
        )
        assert response.context["form"].errors["icd10"]

    def test_a_diagnosis_before_birth_is_refused(self, as_member, patient):
        response = as_member.post(
            reverse("patients:condition_add", args=[patient.public_id]), {"kind": "dm2", "diagnosed_on": "1900-01-01"}
        )
        assert response.context["form"].errors["diagnosed_on"]

    def test_an_enrolment_starts_and_ends(self, as_member, patient):
        programme = Programme.objects.get(code="diabetes-follow-up")
        url = reverse("patients:enrolment_create", args=[patient.public_id])
        as_member.post(url, {"programme": programme.id, "referral_received_on": today(-30), "start_on": today(-20)})
        enrolment = Enrolment.objects.get()
        response = as_member.post(
            url, {"programme": programme.id, "referral_received_on": today(), "start_on": today()}
        )
        assert response.context["form"].errors["programme"]
        as_member.post(
            reverse("patients:enrolment_end", args=[enrolment.public_id]),
            {"end_on": today(), "end_reason": "completed"},
        )
        enrolment.refresh_from_db()
        assert (enrolment.end_on, enrolment.end_reason) == (timezone.localdate(), "completed")

    def test_an_enrolment_cannot_start_before_its_referral(self, as_member, patient):
        programme = Programme.objects.get(code="dementia-follow-up")
        response = as_member.post(
            reverse("patients:enrolment_create", args=[patient.public_id]),
            {"programme": programme.id, "referral_received_on": today(-5), "start_on": today(-10)},
        )
        assert response.context["form"].errors["start_on"]
        assert not Enrolment.objects.exists()


@pytest.mark.django_db
class TestMeasurements:
    def test_a_lab_value_is_recorded_outside_an_encounter(self, as_member, patient):
        hba1c = MeasurementType.objects.get(code="hba1c")
        moment = (timezone.localtime() - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        as_member.post(
            reverse("patients:measurement_add", args=[patient.public_id]),
            {"type": hba1c.id, "value": "61", "measured_at": moment},
        )
        measurement = Measurement.objects.get()
        assert (measurement.value, measurement.source, measurement.encounter) == (61, "manual", None)

    def test_a_procedure_needs_a_result_not_a_value(self, as_member, patient):
        eye = MeasurementType.objects.get(code="eye_screening")
        moment = (timezone.localtime() - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        response = as_member.post(
            reverse("patients:measurement_add", args=[patient.public_id]),
            {"type": eye.id, "value": "5", "measured_at": moment},
        )
        assert response.context["form"].errors["value"]
        assert not Measurement.objects.exists()


def test_numbers_are_written_without_exponent_and_with_the_languages_separator():
    from decimal import Decimal

    with override("da"):
        assert number(Decimal("20.00")) == "20"
        assert number(Decimal("84.50")) == "84,5"
    with override("en"):
        assert number(Decimal("84.50")) == "84.5"
        assert number(Decimal("200")) == "200"


@pytest.mark.django_db
def test_services_refuse_a_choice_the_form_never_offered(member, patient):
    from django.core.exceptions import ValidationError

    from patients import services

    with pytest.raises(ValidationError):
        services.consent_give(
            actor=member, patient=patient, kind="sell_data", given_on=timezone.localdate(), given_by="x"
        )
    with pytest.raises(ValidationError):
        services.condition_add(actor=member, patient=patient, kind="flu", icd10="", diagnosed_on=timezone.localdate())
    assert not Consent.objects.exists()
    assert not Condition.objects.exists()
