"""An incremental run after a change leaves the stored rows exactly as a full recomputation would.

A history of the last two years is built and rolled up once for the module (the first incremental
run, with nothing stored, computes all the months kept). Each case then makes one change to one kind
of source, dated more than a month back but made now, runs `run_incremental()`, and compares every
stored row with a full recomputation of the same months. Each case also proves that its change moved
a figure of a past month, so an incremental run that recomputed only the current month would fail."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from coordination.models import Task, TaskTransition
from coordination.services import referral_decline, task_change_status
from healthcenter.models import Role
from patients.models import Consent, Encounter, Goal, Measurement, MeasurementType, Relative
from patients.services import (
    MeasurementInput,
    condition_add,
    consent_withdraw,
    encounter_sign,
    enrolment_end,
    measurement_record,
)
from reporting.models import CitizenMonth, IndicatorValue, Story
from reporting.rollups import MONTHS_KEPT, OPERATIONAL_CODES, oldest_month_kept, run_incremental, run_rollups

from . import reference_indicators as ref
from .factories import RelativeFactory, TeamFactory, UserFactory
from .test_indicator_exactness import (
    agreed_action_task,
    at,
    caregiver,
    citizen,
    clerk,
    consent,
    encounter,
    goal,
    measure,
    move_by_service,
    referral,
    story,
    task,
)

DEM = (("dementia-follow-up", datetime.date(2020, 1, 1), None),)


def ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def recent_history() -> dict:
    """Background citizens, and for each case the record its change is made to."""
    north, south = TeamFactory(name="north"), TeamFactory(name="south")
    staff = clerk()
    staff.teams.set([north, south])
    coordinator = UserFactory(username="coordinator", role=Role.COORDINATOR, profession="", password=None)
    coordinator.teams.set([north, south])
    for index in range(8):
        p = citizen(north if index % 2 else south)
        for days in (650, 420, 260, 120, 45):
            measure(p, "hba1c", at(ago(days + index)), 48 + 5 * index)
            measure(p, "systolic_bp", at(ago(days + index)), 130)
        measure(p, "foot_exam", at(ago(300 + 40 * index)))
    for index in range(4):
        p = citizen(north, conditions=(("dem_alzheimer", ago(900)),), programmes=DEM)
        caregiver(p, ago(700))
        encounter(p, at(ago(100 + 60 * index)), caregiver_present=True)
        measure(p, "mmse", at(ago(200 + 60 * index)), 24)
    h = {"north": north, "south": south, "staff": staff, "coordinator": coordinator}

    h["unmeasured"] = citizen(north)
    p = citizen(north)
    measure(p, "hba1c", at(ago(400)), 50)
    h["moved_measurement"] = measure(p, "hba1c", at(ago(200)), 80)
    h["deleted_measurement"] = measure(citizen(south), "hba1c", at(ago(150)), 60)
    p = citizen(south)
    h["draft"] = encounter(p, at(ago(120)), signed=False)
    measure(p, "hba1c", at(ago(120)), 70, encounter=h["draft"])
    h["undiagnosed"] = citizen(north, conditions=())
    h["enrolled"] = citizen(south, programmes=(("diabetes-follow-up", ago(300), None),)).enrolments.get()
    h["mover"] = citizen(north)
    p = citizen(north, conditions=(("dem_vascular", ago(900)),), programmes=DEM)
    encounter(p, at(ago(120)), caregiver_present=True)
    h["relative"] = RelativeFactory(patient=p)
    p = citizen(south)
    measure(p, "hba1c", at(ago(130)), 60)
    h["goal"] = goal(p, at(ago(300)), 55, 65)
    p = citizen(north)
    h["task_to_finish"] = agreed_action_task(p, at(ago(120)), ago(90))
    h["task_to_cancel"] = agreed_action_task(p, at(ago(120)), ago(80))
    h["task_cancelled_late"] = task(north, at(ago(200)), ago(180), (at(ago(40)), "cancelled"), patient=p)
    p = citizen(south)
    h["referral"] = referral(patient=p, received_on=ago(130))
    encounter(p, at(ago(120)))
    p = citizen(north)
    consent(patient=p)
    h["submitted_story"] = story(p, None, status="submitted")
    p = citizen(south)
    h["story_consent"] = consent(patient=p)
    story(p, at(ago(75)))
    return h


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker):
    """Built and rolled up once; every test runs inside its own savepoint and leaves it as it was."""
    with django_db_blocker.unblock(), transaction.atomic():
        h = recent_history()
        run_incremental()
        h["before"] = ref.stored_rows()
        yield h
        transaction.set_rollback(True)


def insert_measurement(h):
    measurement_record(
        actor=h["staff"],
        patient=h["unmeasured"],
        measurement=MeasurementInput(type=MeasurementType.objects.get(code="hba1c"), value=Decimal(70)),
        measured_at=at(ago(70)),
    )


def move_measurement(h):
    Measurement.objects.filter(pk=h["moved_measurement"].pk).update(measured_at=at(ago(80)))


def delete_measurement(h):
    Measurement.objects.filter(pk=h["deleted_measurement"].pk).delete()


def sign_encounter(h):
    draft = Encounter.objects.get(pk=h["draft"].pk)
    encounter_sign(actor=h["staff"], encounter=draft, expected_version=draft.version)


def add_condition(h):
    condition_add(actor=h["staff"], patient=h["undiagnosed"], kind="dm2", icd10="", diagnosed_on=ago(200))


def end_enrolment(h):
    enrolment_end(actor=h["staff"], enrolment=h["enrolled"], end_on=ago(100), end_reason="moved")


def move_team(h):
    move_by_service(h["mover"], h["south"], ago(100), actor=h["staff"])


def make_primary_caregiver(h):
    Relative.objects.filter(pk=h["relative"].pk).update(is_primary_caregiver=True, primary_caregiver_from=ago(150))


def drop_goal(h):
    Goal.objects.filter(pk=h["goal"].pk).update(status="dropped", dropped_on=ago(90))


def finish_task(h):
    # Recorded late: done on the day it happened, entered now.
    done = at(ago(95))
    Task.objects.filter(pk=h["task_to_finish"].pk).update(status="done", completed_at=done)
    transition = TaskTransition.objects.create(task=h["task_to_finish"], from_status="open", to_status="done")
    TaskTransition.objects.filter(pk=transition.pk).update(at=done)


def cancel_task(h):
    made = Task.objects.get(pk=h["task_to_cancel"].pk)
    task_change_status(actor=h["staff"], task=made, to_status="cancelled", expected_version=made.version)


def add_transition(h):
    # The cancellation really happened earlier than it was first recorded.
    transition = TaskTransition.objects.create(task=h["task_cancelled_late"], from_status="open", to_status="cancelled")
    TaskTransition.objects.filter(pk=transition.pk).update(at=at(ago(100)))


def decline_referral(h):
    referral_decline(actor=h["coordinator"], referral=h["referral"], reason="Ikke i målgruppen")


def approve_story(h):
    Story.objects.filter(pk=h["submitted_story"].pk).update(status="approved", decided_at=at(ago(70)))


def withdraw_story_consent(h):
    given = Consent.objects.get(pk=h["story_consent"].pk)
    consent_withdraw(actor=h["staff"], consent=given, withdrawn_on=timezone.localdate(), withdrawn_by="Borgeren")


CHANGES = [
    insert_measurement,
    move_measurement,
    delete_measurement,
    sign_encounter,
    add_condition,
    end_enrolment,
    move_team,
    make_primary_caregiver,
    drop_goal,
    finish_task,
    cancel_task,
    add_transition,
    decline_referral,
    approve_story,
    withdraw_story_consent,
]


def months_kept() -> dict:
    return {"first_month": oldest_month_kept(), "last_month": timezone.localdate().replace(day=1)}


@pytest.mark.django_db
def test_the_first_run_with_nothing_stored_computes_every_month_kept(history):
    assert len({month for _code, month, _kind, _unit in history["before"]}) == MONTHS_KEPT
    problems = ref.differences(ref.reference_rows(**months_kept()), history["before"])
    assert not problems, "\n" + problems


@pytest.mark.django_db
@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__ for c in CHANGES])
def test_an_incremental_run_after_a_change_leaves_every_month_as_a_full_recomputation(history, change):
    # The full recomputation here is the independent one (tests/reference_indicators.py, held against
    # run_rollups by test_indicator_exactness): 24 stored months per case would take too long to
    # recompute with run_rollups. When they disagree, run_rollups recomputes to show whose fault it is.
    change(history)
    run_incremental()
    incremental = ref.stored_rows()
    expected = ref.reference_rows(**months_kept())

    this_month = timezone.localdate().replace(day=1)
    moved = {
        key[1] for key in expected.keys() | history["before"].keys() if expected.get(key) != history["before"].get(key)
    }
    assert any(month < this_month for month in moved), "the change moved no figure of a past month"
    problems = ref.differences(expected, incremental, expected_name="recomputed", actual_name="incremental")
    if problems:
        run_rollups(oldest_month_kept(), timezone.localdate())
        full = ref.differences(ref.stored_rows(), incremental, expected_name="run_rollups", actual_name="incremental")
        problems += "\n\nrun_rollups over all months kept against the incremental run:\n" + (full or "the same rows")
    assert not problems, "\n" + problems


@pytest.mark.django_db
def test_an_incremental_run_after_every_kind_of_change_equals_run_rollups_over_all_months_kept(history):
    for change in CHANGES:
        change(history)
    run_incremental()
    incremental = ref.stored_rows()
    run_rollups(oldest_month_kept(), timezone.localdate())
    full = ref.stored_rows()

    assert full != history["before"]
    problems = ref.differences(full, incremental, expected_name="full", actual_name="incremental")
    assert not problems, "\n" + problems


@pytest.mark.django_db
def test_with_nothing_changed_an_incremental_run_computes_nothing(history):
    run = run_incremental()
    assert run.rows == 0
    assert ref.stored_rows() == history["before"]


@pytest.mark.django_db
def test_a_new_measurement_recomputes_only_its_citizens_facts_and_the_shares_of_the_months_it_moves(history):
    facts = dict(CitizenMonth.objects.values_list("id", "patient_id"))
    operational = set(
        IndicatorValue.objects.filter(indicator__code__in=OPERATIONAL_CODES).values_list("id", "computed_at")
    )
    insert_measurement(history)  # for a citizen never measured, 70 days ago
    run = run_incremental()
    remade = {patient for pk, patient in facts.items() if not CitizenMonth.objects.filter(pk=pk).exists()}
    assert remade == {history["unmeasured"].id}
    assert run.first_month == ago(70).replace(day=1)
    assert set(CitizenMonth.objects.values_list("month", flat=True)) == {
        month for _code, month, _kind, _unit in history["before"]
    }
    # The operational figures have no source among measurements: not one of their rows was touched.
    assert operational == set(
        IndicatorValue.objects.filter(indicator__code__in=OPERATIONAL_CODES).values_list("id", "computed_at")
    )
    problems = ref.differences(ref.reference_rows(**months_kept()), ref.stored_rows())
    assert not problems, "\n" + problems
