"""The outbox: a job exists exactly when the change that asked for it was committed, and a worker
runs it at most once more than needed, and never after it is done. The broker's side (down, back,
lost messages, workers) is in tests/test_faults_redis_down.py."""

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from coordination.models import CareGap
from healthcenter.outbox.models import Job
from healthcenter.outbox.services import KEEP_DONE, job_enqueue, job_run, jobs_clean_up

from .test_encounters import encounter_form

pytestmark = pytest.mark.django_db


def test_a_job_is_kept_only_if_the_change_that_asked_for_it_is_committed():
    with transaction.atomic():
        job_enqueue(task="healthcenter.tasks.clear_expired_sessions")
        transaction.set_rollback(True)
    assert not Job.objects.exists()


def test_only_a_registered_task_can_be_asked_for():
    with pytest.raises(ValueError, match="not a registered Celery task"):
        job_enqueue(task="healthcenter.tasks.no_such_task")


def test_signing_an_encounter_asks_for_the_citizens_care_gaps_to_be_evaluated(as_member, patient):
    as_member.post(reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form())
    job = Job.objects.get()
    assert (job.task, job.kwargs) == ("coordination.tasks.evaluate_care_gaps_task", {"patient_ids": [patient.id]})


def test_saving_a_draft_asks_for_nothing(as_member, patient):
    as_member.post(reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form(sign=None))
    assert not Job.objects.exists()


def test_a_job_delivered_twice_runs_once():
    expired = Session.objects.create(
        session_key="expired", session_data="x", expire_date=timezone.now() - datetime.timedelta(days=1)
    )
    job = job_enqueue(task="healthcenter.tasks.clear_expired_sessions")
    assert job_run(job_id=job.pk) is True
    assert not Session.objects.filter(pk=expired.pk).exists()
    job.refresh_from_db()
    assert job.done_at is not None
    assert job_run(job_id=job.pk) is False


def test_a_message_whose_job_is_gone_does_nothing():
    assert job_run(job_id=987_654_321) is False


def test_a_failing_job_keeps_its_error_and_is_not_done(monkeypatch):
    from coordination import tasks

    def failing(*args, **kwargs):
        raise RuntimeError("the rules table is locked")

    monkeypatch.setattr(tasks, "evaluate_care_gaps", failing)
    job = job_enqueue(task="coordination.tasks.evaluate_care_gaps_task", kwargs={"patient_ids": [1]})
    with pytest.raises(RuntimeError):
        job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.done_at is None
    assert job.error == "RuntimeError: the rules table is locked"
    assert not CareGap.objects.exists()


def test_jobs_done_long_ago_are_removed():
    old = Job.objects.create(task="x", done_at=timezone.now() - KEEP_DONE - datetime.timedelta(minutes=1))
    recent = Job.objects.create(task="x", done_at=timezone.now())
    waiting = Job.objects.create(task="x")
    assert jobs_clean_up() == 1
    assert set(Job.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}
    assert not Job.objects.filter(pk=old.pk).exists()


def test_a_job_given_up_on_is_reported_at_every_sweep(caplog):
    from healthcenter.outbox.services import MAX_SENDS, jobs_relay

    Job.objects.create(task="x", sends=MAX_SENDS, sent_at=timezone.now() - datetime.timedelta(days=1))
    with caplog.at_level("ERROR", logger="healthcenter.outbox.services"):
        assert jobs_relay().sent == 0
    assert [record.levelname for record in caplog.records] == ["ERROR"]
    assert "1 outbox job(s) handed over 5 times and still not done" in caplog.text


def test_a_saves_hand_over_does_not_count_the_given_up_jobs(caplog):
    """The count is the sweep's: a save's own hand-over (jobs_relay with its ids) neither queries nor repeats it."""
    from healthcenter.outbox.services import MAX_SENDS, jobs_relay

    Job.objects.create(task="x", sends=MAX_SENDS, sent_at=timezone.now() - datetime.timedelta(days=1))
    job = Job.objects.create(task="coordination.tasks.evaluate_care_gaps_task", kwargs={"patient_ids": []})
    with caplog.at_level("ERROR", logger="healthcenter.outbox.services"):
        jobs_relay(ids=[job.pk])
    assert "still not done" not in caplog.text


def test_threads_of_a_fresh_process_asking_at_once_all_find_the_task():
    """A threaded web server's first requests import the tasks modules at the same moment; each must
    find its task, not a half-imported registry (reproduced: three of four threads failed)."""
    import subprocess
    import sys

    script = """
import os, threading, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcenter.settings")
django.setup()
from healthcenter.outbox.services import _registered
start, failures = threading.Barrier(4), []
def ask():
    start.wait()
    try:
        _registered("coordination.tasks.evaluate_care_gaps_task")
    except ValueError as error:
        failures.append(error)
threads = [threading.Thread(target=ask) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print(len(failures))
"""
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "0", done.stderr
