"""One writer per state change: every change of a task's status or assignee, whoever makes it (a
person, the care-gap rules, the demo), goes through the task services, which keep the allowed
moves, check the version, record the transition and tell the assignee; signing an encounter writes
its own access-log row naming the signer, in a web request or not."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from coordination.caregaps import evaluate_care_gaps
from coordination.models import CareGap, Notification, Task, TaskTransition
from coordination.services import task_change_status, task_create
from healthcenter.models import AccessLog
from patients import services as patient_services
from patients.models import Enrolment, MeasurementType, Programme

from .conftest import client_for
from .factories import ConditionFactory, EncounterFactory, MeasurementFactory, PatientFactory


@pytest.fixture
def diabetic(team, member):
    patient = PatientFactory(team=team, responsible_professional=member)
    ConditionFactory(patient=patient, kind="dm2")
    start = timezone.localdate() - datetime.timedelta(days=400)
    Enrolment.objects.create(
        patient=patient,
        programme=Programme.objects.get(code="diabetes-follow-up"),
        referral_received_on=start,
        start_on=start,
    )
    return patient


@pytest.mark.django_db
class TestTheCareGapRulesActThroughTheTaskServices:
    def test_the_responsible_professional_is_told_of_each_task_the_rules_open(self, diabetic, member):
        evaluate_care_gaps()
        tasks = Task.objects.filter(origin="rule", patient=diabetic)
        assert tasks.exists()
        told = Notification.objects.filter(user=member, kind="assigned", actor__isnull=True)
        assert set(told.values_list("task", flat=True)) == set(tasks.values_list("id", flat=True))

    def test_the_news_names_the_rules_as_who_acted(self, diabetic, member):
        evaluate_care_gaps()
        news = client_for(member).get(reverse("coordination:news"))
        assert news.status_code == 200
        assert "None" not in news.content.decode()

    def test_each_rule_task_starts_with_a_creation_transition_and_a_gap(self, diabetic):
        evaluate_care_gaps()
        for gap in CareGap.objects.filter(patient=diabetic).select_related("task"):
            assert list(gap.task.transitions.values_list("from_status", "to_status", "by")) == [("", "open", None)]
            assert (gap.task.created_by, gap.task.version) == (None, 1)

    def test_closing_a_filled_gap_moves_its_task_on_with_a_new_version(self, diabetic, member):
        evaluate_care_gaps()
        gap = CareGap.objects.get(patient=diabetic, rule__code="hba1c-12m")
        task = gap.task
        client_for(member).post(
            reverse("coordination:task_status", args=[task.public_id]), {"status": "in_progress", "version": 1}
        )
        MeasurementFactory(patient=diabetic, type=MeasurementType.objects.get(code="hba1c"), value=Decimal(52))
        evaluate_care_gaps(patient_ids=[diabetic.id])
        task.refresh_from_db()
        assert (task.status, task.version) == ("done", 3)
        assert list(task.transitions.values_list("from_status", "to_status", "by"))[-1] == (
            "in_progress",
            "done",
            None,
        )
        # Someone still looking at the old version cannot undo it unnoticed.
        response = client_for(member).post(
            reverse("coordination:task_status", args=[task.public_id]), {"status": "open", "version": 2}, follow=True
        )
        assert response.context["messages"]
        task.refresh_from_db()
        assert task.status == "done"

    def test_the_system_actor_keeps_the_allowed_moves(self, team, member):
        task = task_create(actor=None, title="Regel", team=team, due_on=timezone.localdate(), assignee=member)
        task_change_status(actor=None, task=task, to_status="cancelled", expected_version=task.version)
        with pytest.raises(ValidationError):
            task_change_status(actor=None, task=task, to_status="done", expected_version=task.version)
        assert TaskTransition.objects.filter(task=task, to_status="done").count() == 0


@pytest.mark.django_db
class TestSigningIsAccountedFor:
    def data(self, **overrides):
        fields = {
            "kind": "individual",
            "started_at": timezone.now() - datetime.timedelta(hours=1),
            "duration_minutes": 30,
            "note": "Samtale om kost",
        }
        fields.update(overrides)
        return patient_services.EncounterData(**fields)

    def signed_rows(self, patient):
        return AccessLog.objects.filter(patient_public_id=patient.public_id, what="encounter signed")

    def test_signing_a_draft_outside_a_request_names_the_signer(self, member, patient):
        draft = EncounterFactory(patient=patient, professional=member, signed_at=None)
        patient_services.encounter_sign(actor=member, encounter=draft, expected_version=draft.version)
        (row,) = self.signed_rows(patient)
        assert (row.user, row.role, row.action, row.outcome) == (member, member.role, "update", "allowed")

    def test_an_encounter_signed_when_it_is_written_is_accounted_for_once(self, member, patient):
        patient_services.encounter_create(actor=member, patient=patient, data=self.data(), sign=True)
        assert [row.user for row in self.signed_rows(patient)] == [member]

    def test_a_draft_is_not_a_signature(self, member, patient):
        patient_services.encounter_create(actor=member, patient=patient, data=self.data(), sign=False)
        assert not self.signed_rows(patient).exists()

    def test_saving_a_draft_as_signed_is_accounted_for(self, member, patient):
        draft = patient_services.encounter_create(actor=member, patient=patient, data=self.data(), sign=False)
        patient_services.encounter_update_draft(
            actor=member, encounter=draft, expected_version=draft.version, data=self.data(), sign=True
        )
        assert [row.user for row in self.signed_rows(patient)] == [member]

    def test_a_refused_signature_writes_no_signing_row(self, member, colleague, patient):
        draft = EncounterFactory(patient=patient, professional=member, signed_at=None)
        with pytest.raises(ValidationError):
            patient_services.encounter_sign(actor=colleague, encounter=draft, expected_version=draft.version)
        assert not self.signed_rows(patient).exists()
