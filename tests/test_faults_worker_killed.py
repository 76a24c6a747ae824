"""A Celery worker killed with SIGKILL in the middle of a rollup or a care-gap evaluation: after a
restart the result is the same as after an undisturbed run, and no run stays 'running'.

Real workers (prefork, as in production) on a Redis of the test's own, against the test database.
Each job is stopped at a fixed point (tests/fault_worker.py) and killed there:
- the whole worker, then a new one started: the message, never acknowledged (acks late), comes
  back after the broker's visibility timeout (1 s for these workers; 30 minutes in production);
- only the pool process running the job: the worker hands the message back at once (reject on
  worker lost), with a visibility timeout of an hour to show that it did not come back that way.
The rollup run left behind is found dead because its PostgreSQL session lock went with its
connection, and its months are redone; the care-gap job's transaction died with the worker, and
the unique open gap per citizen and rule stops anything being opened twice."""

import datetime
import os
import signal
import time

import pytest
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from coordination.caregaps import evaluate_care_gaps
from coordination.models import CareGap, Task, TaskOrigin
from reporting.models import IndicatorValue, MonthlyActivity, RollupRun, RunKind, RunStatus
from reporting.rollups import run_rollups, take_stale_months

from .factories import TeamFactory
from .job_faults import RedisServer, Worker, send, wait_for
from .test_indicator_exactness import at, caregiver, citizen, clerk, encounter, measure

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

DEMENTIA = (("dementia-follow-up", datetime.date(2020, 1, 1), None),)


def ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def history() -> dict:
    """Two teams, diabetics measured now and then over two years, citizens with dementia and their
    caregivers: figures in every month kept, and care gaps for most citizens."""
    north, south = TeamFactory(name="north"), TeamFactory(name="south")
    staff = clerk()
    staff.teams.set([north, south])
    for index in range(6):
        p = citizen(north if index % 2 else south)
        for days in (700, 500, 330, 200, 90):
            measure(p, "hba1c", at(ago(days + 7 * index)), 50 + 5 * index)
        if index % 3:
            measure(p, "systolic_bp", at(ago(150 + 40 * index)), 135)
    for index in range(3):
        p = citizen(north, conditions=(("dem_alzheimer", datetime.date(2019, 1, 1)),), programmes=DEMENTIA)
        caregiver(p, ago(700))
        encounter(p, at(ago(60 + 90 * index)), caregiver_present=True)
        measure(p, "mmse", at(ago(100 + 120 * index)), 24)
    # Last measured eleven months ago: a value recorded now for eight months ago changes every month since.
    changed = citizen(south)
    for days in (700, 500, 330):
        measure(changed, "hba1c", at(ago(days)), 55)
    return {"changed": changed}


def stored_figures() -> tuple[list, list]:
    values = IndicatorValue.objects.values_list(
        "indicator__code", "month", "unit_kind", "unit_id", "numerator", "denominator", "value"
    )
    activity = MonthlyActivity.objects.values_list("month", "unit_kind", "unit_id", "contacts", "citizens")
    return sorted(values), sorted(activity)


def gaps_and_their_tasks() -> list[tuple]:
    return sorted(
        (
            gap.patient_id,
            gap.rule.code,
            gap.closed_at is None,
            gap.task.title,
            gap.task.description,
            gap.task.status,
            gap.task.team_id,
            gap.task.assignee_id,
            gap.task.due_on,
            gap.task.priority,
        )
        for gap in CareGap.objects.select_related("rule", "task")
    )


@pytest.fixture
def broker(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workers(tmp_path, broker):
    """Starts workers on the test's Redis; stops every one of them before the database is emptied."""
    started: list[Worker] = []

    def start(name: str, *, pause: str | None = None, visibility_timeout: int = 1) -> Worker:
        worker = Worker(
            redis_url=broker.url, log=tmp_path / f"{name}.log", visibility_timeout=visibility_timeout, pause=pause
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def a_rollup_stopped_after_three_months(tmp_path, broker, workers, **worker_options):
    """A stored history, a change dated eight months back, and an incremental run stopped (not yet
    killed) in a worker right after it stored its third month of nine."""
    h = history()
    # The figures of the last eleven months stored, and the history's own marks taken, as a run would.
    run_rollups(ago(330), timezone.localdate())
    take_stale_months()
    measure(h["changed"], "hba1c", at(ago(240)), 91)
    marker = tmp_path / "paused"
    worker = workers("first", pause=f"rollup-month:3:{marker}", **worker_options)
    send(broker.url, "reporting.tasks.compute_rollups_task")
    wait_for(marker.exists, timeout=45, what="the run to store its third month", worker=worker)
    interrupted = RollupRun.objects.get(status=RunStatus.RUNNING)
    assert interrupted.kind == RunKind.INCREMENTAL
    assert interrupted.first_month == ago(240).replace(day=1)
    return worker, marker, interrupted


def assert_redone_as_if_undisturbed(interrupted: RollupRun, when_killed: tuple) -> None:
    interrupted.refresh_from_db()
    assert interrupted.status == RunStatus.FAILED
    assert "interrupted" in interrupted.error
    redone = RollupRun.objects.get(pk__gt=interrupted.pk)
    assert (redone.kind, redone.status) == (RunKind.INCREMENTAL, RunStatus.SUCCEEDED)
    assert redone.first_month == interrupted.first_month  # its months, although their marks were taken
    assert not RollupRun.objects.filter(status=RunStatus.RUNNING).exists()
    recovered = stored_figures()
    assert recovered != when_killed  # the kill did leave months undone
    # An undisturbed run of the same months, compared with what is stored, finds no difference.
    undisturbed = run_rollups(interrupted.first_month, timezone.localdate(), compare=True)
    assert undisturbed.differences == 0, undisturbed.difference_detail
    assert stored_figures() == recovered


def test_a_rollup_whose_worker_is_killed_is_redone_by_the_next_worker_as_if_undisturbed(tmp_path, broker, workers):
    first, _marker, interrupted = a_rollup_stopped_after_three_months(tmp_path, broker, workers)
    first.kill()
    when_killed = stored_figures()
    assert RollupRun.objects.get(pk=interrupted.pk).status == RunStatus.RUNNING  # nobody has noticed yet
    time.sleep(1.5)  # the visibility timeout of these workers' messages
    second = workers("second")
    wait_for(
        lambda: RollupRun.objects.filter(pk__gt=interrupted.pk, status=RunStatus.SUCCEEDED).exists(),
        timeout=45,
        what="the new worker to redo the run",
        worker=second,
    )
    second.stop()
    assert_redone_as_if_undisturbed(interrupted, when_killed)


def test_a_rollup_whose_pool_process_is_killed_is_handed_back_at_once(tmp_path, broker, workers):
    # An hour's visibility timeout: the job can only come back at once because the worker hands it back.
    worker, marker, interrupted = a_rollup_stopped_after_three_months(
        tmp_path, broker, workers, visibility_timeout=3600
    )
    os.kill(int(marker.read_text()), signal.SIGKILL)  # the pool process running the job, not the worker
    when_killed = stored_figures()
    wait_for(
        lambda: RollupRun.objects.filter(pk__gt=interrupted.pk, status=RunStatus.SUCCEEDED).exists(),
        timeout=45,
        what="the worker to run the job again",
        worker=worker,
    )
    assert worker.process.poll() is None  # the same worker, still running
    worker.stop()
    assert_redone_as_if_undisturbed(interrupted, when_killed)


def test_a_care_gap_evaluation_whose_worker_is_killed_opens_nothing_twice_and_is_redone(tmp_path, broker, workers):
    history()
    with transaction.atomic():
        evaluate_care_gaps()
        undisturbed = gaps_and_their_tasks()
        transaction.set_rollback(True)
    assert len(undisturbed) >= 10
    marker = tmp_path / "paused"
    first = workers("first", pause=f"care-gap-task:5:{marker}")
    send(broker.url, "coordination.tasks.evaluate_care_gaps_task")
    wait_for(marker.exists, timeout=45, what="the job to open its fifth gap", worker=first)
    first.kill()
    # The five gaps and tasks made so far were never committed: they went with the worker's connection.
    assert not CareGap.objects.exists()
    assert not Task.objects.filter(origin=TaskOrigin.RULE).exists()
    time.sleep(1.5)  # the visibility timeout of these workers' messages
    second = workers("second")
    wait_for(CareGap.objects.exists, timeout=45, what="the new worker to evaluate the gaps", worker=second)
    second.stop()
    assert gaps_and_their_tasks() == undisturbed
    twice = Task.objects.filter(origin=TaskOrigin.RULE).values("patient", "title").annotate(n=Count("id"))
    assert not twice.filter(n__gt=1).exists()
    assert Task.objects.filter(origin=TaskOrigin.RULE).count() == len(undisturbed)
    assert evaluate_care_gaps().opened == 0  # and running it once more changes nothing
