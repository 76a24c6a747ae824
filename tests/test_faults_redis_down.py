"""Redis stopped: people sign in, pages serve and encounters are saved, quickly; the jobs asked for
meanwhile wait in the outbox (PostgreSQL) and run once Redis is back. Nothing is lost.

The broker here is a redis-server of the test's own, started and then stopped; the suite's Redis is
never touched. Every connection this process opens to any Redis is recorded: no page opens one,
and saving an encounter opens one attempt to the broker only (the hand-over after the commit)."""

import datetime
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from redis.connection import AbstractConnection

from coordination.caregaps import evaluate_care_gaps
from coordination.models import CareGap
from healthcenter.outbox.models import Job
from healthcenter.outbox.services import HAND_OVER_TIMEOUT, MAX_SENDS, job_enqueue, jobs_relay, resend_after
from patients.models import Encounter, Enrolment, Programme

from .conftest import client_for
from .factories import PASSWORD, ConditionFactory, PatientFactory
from .job_faults import RedisServer, Worker, wait_for
from .test_encounters import encounter_form

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

# A page may do its own work slowly on a busy machine; what it must never do is wait out a broker.
PAGE_SECONDS = 3.0


@pytest.fixture
def stopped_broker(tmp_path, settings):
    """A Redis that was there and is now stopped, named as the broker."""
    server = RedisServer(tmp_path)
    server.start()
    server.stop()
    # The relay reads the broker from the settings when it hands a job over. (Celery's own app, its
    # result backend included, is left alone: it keeps what it was configured with for the whole
    # session, and no page uses it, as the recorded connections show.)
    settings.CELERY_BROKER_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def redis_connections(monkeypatch) -> list:
    """The port (or socket) of every connection this process opens to a Redis from now on."""
    opened = []
    connect = AbstractConnection.connect_check_health

    def recording(self, *args, **kwargs):
        opened.append(getattr(self, "port", None) or getattr(self, "path", None))
        return connect(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "connect_check_health", recording)
    return opened


@pytest.fixture
def diabetic(team, member):
    """A citizen with type 2 diabetes, followed for over a year, whose blood pressure was never measured."""
    citizen = PatientFactory(team=team, responsible_professional=member)
    ConditionFactory(patient=citizen, kind="dm2")
    start = timezone.localdate() - datetime.timedelta(days=400)
    Enrolment.objects.create(
        patient=citizen,
        programme=Programme.objects.get(code="diabetes-follow-up"),
        referral_received_on=start,
        start_on=start,
    )
    evaluate_care_gaps()
    assert CareGap.objects.filter(patient=citizen, rule__code="bp-12m", closed_at__isnull=True).exists()
    return citizen


def timed(request):
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


def test_with_redis_down_pages_serve_an_encounter_is_saved_and_its_job_runs_when_redis_is_back(
    tmp_path, stopped_broker, redis_connections, member, coordinator, manager, diabetic
):
    client = Client()
    response, seconds = timed(
        lambda: client.post(reverse("login"), {"username": member.username, "password": PASSWORD})
    )
    assert response.status_code == 302 and seconds < PAGE_SECONDS
    pages = [
        reverse("home"),
        reverse("coordination:my_tasks"),
        reverse("coordination:worklist"),
        reverse("coordination:board"),
        reverse("patients:list"),
        reverse("patients:detail", args=[diabetic.public_id]),
        reverse("coordination:briefing", args=[diabetic.public_id]),
        reverse("coordination:encounter_create", args=[diabetic.public_id]),
    ]
    others = [
        (client_for(coordinator), [reverse("coordination:referrals"), reverse("coordination:workload")]),
        (client_for(manager), [reverse("reporting:overview"), reverse("reporting:quarterly")]),
    ]
    for someone, urls in [(client, pages), *others]:
        for url in urls:
            response, seconds = timed(lambda someone=someone, url=url: someone.get(url, follow=True))
            assert response.status_code == 200, url
            assert seconds < PAGE_SECONDS, f"{url} took {seconds:.1f} s"
    assert redis_connections == []  # no page needs Redis: sessions, login attempts and caches are elsewhere

    form = encounter_form(m_systolic_bp="132", m_diastolic_bp="80")
    response, seconds = timed(
        lambda: client.post(reverse("coordination:encounter_create", args=[diabetic.public_id]), form)
    )
    assert response.status_code == 302
    assert seconds < PAGE_SECONDS, f"saving took {seconds:.1f} s"
    assert Encounter.objects.get(patient=diabetic).is_signed
    job = Job.objects.get()
    assert (job.task, job.kwargs) == ("coordination.tasks.evaluate_care_gaps_task", {"patient_ids": [diabetic.id]})
    assert job.sent_at is None and job.done_at is None
    assert "OperationalError" in job.error
    assert set(redis_connections) == {stopped_broker.port}  # one attempt to hand it over, to the broker
    assert CareGap.objects.get(patient=diabetic, rule__code="bp-12m").closed_at is None

    # While Redis is still down the sweep says so and keeps the job.
    with pytest.raises(CommandError, match="broker is unavailable"):
        call_command("relay_outbox")
    assert Job.objects.get().sent_at is None

    stopped_broker.start()
    call_command("relay_outbox")
    job.refresh_from_db()
    assert job.sent_at is not None and job.sends == 1 and job.error == ""
    assert stopped_broker.client().llen("celery") == 1
    worker = Worker(redis_url=stopped_broker.url, log=tmp_path / "worker.log", visibility_timeout=60)
    try:
        wait_for(
            lambda: Job.objects.filter(pk=job.pk, done_at__isnull=False).exists(),
            timeout=45,
            what="a worker to run the job",
            worker=worker,
        )
    finally:
        worker.stop()
    gap = CareGap.objects.get(patient=diabetic, rule__code="bp-12m")
    assert gap.closed_at is not None
    assert gap.task.status == "done"


def test_handing_over_to_a_broker_that_is_down_takes_no_longer_than_its_timeout(stopped_broker):
    for _ in range(3):
        job_enqueue(task="healthcenter.tasks.clear_expired_sessions")  # handed over at once: not in a transaction
    started = time.monotonic()
    relayed = jobs_relay()
    assert time.monotonic() - started < HAND_OVER_TIMEOUT + 1
    assert (relayed.sent, relayed.waiting) == (0, 3)
    assert Job.objects.filter(sent_at__isnull=True).count() == 3


def test_a_job_handed_over_that_no_worker_did_is_handed_over_again_a_few_times(stopped_broker):
    stopped_broker.start()
    job = job_enqueue(task="healthcenter.tasks.clear_expired_sessions")
    job.refresh_from_db()
    assert job.sends == 1
    assert jobs_relay().sent == 0  # handed over just now: it is in the queue
    # Redis restarted without its data, say: after a while the job is handed over again.
    for sends in range(2, MAX_SENDS + 1):
        Job.objects.filter(pk=job.pk).update(sent_at=timezone.now() - resend_after() - datetime.timedelta(seconds=1))
        assert jobs_relay().sent == 1
        job.refresh_from_db()
        assert job.sends == sends
    Job.objects.filter(pk=job.pk).update(sent_at=timezone.now() - resend_after() - datetime.timedelta(seconds=1))
    assert jobs_relay().sent == 0  # given up: it stays in the admin
    assert stopped_broker.client().llen("celery") == MAX_SENDS
