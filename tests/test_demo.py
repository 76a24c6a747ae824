"""The demo data: its dated facts are consistent with each other, as the figures read them."""

import datetime

import pytest
from django.db import models
from django.db.models import Max, Min
from django.utils import timezone

from coordination.caregaps import evaluate_care_gaps
from coordination.demo import seed_coordination
from coordination.models import Task, TaskOrigin, TaskStatus, TaskTransition
from patients.demo import Seeder, routine_change_on
from patients.models import Encounter, Enrolment, Goal, GoalStatus, Patient, PatientStatus, TeamResponsibility


@pytest.fixture
def demo(db):
    Seeder(citizens=40).run()
    seed_coordination()


def test_a_citizen_who_left_has_no_enrolment_open(demo):
    left = Patient.objects.exclude(status=PatientStatus.ACTIVE)
    assert left.exists()
    assert not Enrolment.objects.filter(patient__in=left, end_on__isnull=True).exists()
    # The service ends every open enrolment on the day of the discharge or death: the same day.
    for patient in left:
        ends = set(patient.enrolments.values_list("end_on", flat=True))
        last = max(ends)
        assert all(end <= last for end in ends)
        assert patient.enrolments.filter(end_on=last).exclude(end_reason="").exists()


def test_every_task_ends_in_the_state_its_last_transition_set(demo):
    now = timezone.now()
    tasks = Task.objects.filter(origin__in=[TaskOrigin.AGREED_ACTION, TaskOrigin.RULE])
    assert tasks.filter(status=TaskStatus.DONE).exists()
    assert tasks.filter(status__in=[TaskStatus.OPEN, TaskStatus.IN_PROGRESS]).exists()
    for task in tasks.prefetch_related("transitions"):
        steps = sorted(task.transitions.all(), key=lambda t: (t.at, t.id))
        assert steps[0].to_status == TaskStatus.OPEN
        assert steps[0].at == task.created_at
        assert steps[-1].to_status == task.status
        assert all(step.at <= now for step in steps)
        assert [s.at for s in steps] == sorted(s.at for s in steps)
        if task.status == TaskStatus.DONE:
            assert steps[-1].at == task.completed_at


def test_an_agreed_action_becomes_a_task_when_its_encounter_is_signed(demo):
    tasks = Task.objects.filter(origin=TaskOrigin.AGREED_ACTION).select_related("agreed_action__encounter")
    assert tasks.exists()
    for task in tasks:
        assert task.created_at == task.agreed_action.encounter.signed_at
    drafts_with_tasks = Encounter.objects.filter(signed_at__isnull=True, agreed_actions__task__isnull=False)
    assert not drafts_with_tasks.exists()


def test_the_history_is_dated_in_the_past(demo):
    today = timezone.localdate()
    moved = TeamResponsibility.objects.filter(valid_from__isnull=False).aggregate(last=Max("valid_from"))["last"]
    assert moved is None or moved <= today
    assert Goal.objects.filter(status=GoalStatus.DROPPED, dropped_on__isnull=True).count() == 0
    first_goal = Goal.objects.aggregate(first=Min("created_at"))["first"]
    assert timezone.localdate(first_goal) < today - datetime.timedelta(days=365)
    assert not TaskTransition.objects.filter(at__gt=timezone.now()).exists()
    assert routine_change_on(today) < today - datetime.timedelta(days=240)


def test_the_care_gap_job_finds_the_gaps_the_demo_left_open(demo):
    result = evaluate_care_gaps()

    assert (result.opened, result.closed) == (0, 0)
    assert result.open_now > 0


def test_every_signature_went_through_the_signing_service(demo):
    from healthcenter.models import AccessLog

    signed = Encounter.objects.filter(signed_at__isnull=False)
    assert signed.exists()  # (a small demo need not leave a recent draft)
    logged = AccessLog.objects.filter(what="encounter signed").count()
    assert logged == signed.count()
    assert not signed.filter(signed_at__lt=models.F("started_at")).exists()
