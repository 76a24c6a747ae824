"""Asking for a job, handing jobs to Celery and running them.

`job_enqueue` writes the job in the caller's transaction; once that commits, `jobs_relay` hands it
to the broker at once if it can, briefly, and otherwise leaves it for the sweep (every minute, by
Celery beat, and `manage.py relay_outbox`). A worker runs it through `job_run`, which marks it done.
Delivery is at least once: the relay hands a job over again when no worker has done it after a
while (Redis may have lost it), and the broker hands a message out again when the worker that took
it died. Every job is therefore idempotent, and `job_run` skips a job already done."""

import datetime
import logging
import threading
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import Job

logger = logging.getLogger(__name__)

RUN_JOB = "healthcenter.outbox.tasks.run_job"
# How long a page waits, at most, for a broker that does not answer, before leaving the job to the sweep.
HAND_OVER_TIMEOUT = 1.0
# A job is handed over at most this many times; one that keeps failing stays in the admin with its error.
MAX_SENDS = 5
# Done jobs are kept this long, to answer "did it run, and when?".
KEEP_DONE = datetime.timedelta(days=7)


def resend_after() -> datetime.timedelta:
    """A job handed over but not done after this long is handed over again. Twice the broker's
    visibility timeout: a message a killed worker held comes back from the broker first."""
    return datetime.timedelta(seconds=2 * settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"])


# Celery's autodiscovery imports the apps' tasks modules on demand, and threads of one web process
# asking at once would each see a half-imported registry (a threaded gunicorn answered 500 on its first
# saves): one import at a time.
_discovery = threading.Lock()


def _registered(task: str):
    if task not in current_app.tasks:
        with _discovery:
            current_app.loader.import_default_modules()
    if task not in current_app.tasks:
        raise ValueError(f"{task} is not a registered Celery task")
    return current_app.tasks[task]


def job_enqueue(*, task: str, kwargs: dict | None = None) -> Job:
    """Asks for `task(**kwargs)` to run on a worker once the current transaction commits."""
    _registered(task)
    job = Job.objects.create(task=task, kwargs=kwargs or {})
    transaction.on_commit(lambda: jobs_relay(ids=[job.pk]), robust=True)
    return job


@dataclass(frozen=True)
class Relayed:
    sent: int
    waiting: int  # could not be handed over: the broker did not answer


def _broker():
    """A connection to the broker named in the settings that gives up at once when it is down,
    instead of retrying for seconds as a worker would."""
    return current_app.connection_for_write(
        settings.CELERY_BROKER_URL,
        connect_timeout=HAND_OVER_TIMEOUT,
        transport_options={
            "max_retries": 0,
            "socket_connect_timeout": HAND_OVER_TIMEOUT,
            "socket_timeout": HAND_OVER_TIMEOUT,
        },
    )


def _report_given_up() -> None:
    """Said at every sweep (not at every save's hand-over) until someone looks: a job handed over
    MAX_SENDS times and never done is not tried again by itself (the admin lists it with its error)."""
    given_up = Job.objects.filter(done_at__isnull=True, sends__gte=MAX_SENDS).count()
    if given_up:
        logger.error("%d outbox job(s) handed over %d times and still not done: see the admin", given_up, MAX_SENDS)


def jobs_relay(*, ids: list[int] | None = None, limit: int = 500) -> Relayed:
    """Hands to the broker the jobs not yet handed over, and those handed over long ago and still
    not done. Two relays at once never hand over the same job (the rows are locked, skipping those
    another relay holds). A broker that is down leaves the jobs as they were, with the error."""
    now = timezone.now()
    if ids is None:
        _report_given_up()
    due = Job.objects.filter(done_at__isnull=True, sends__lt=MAX_SENDS).filter(
        Q(sent_at__isnull=True) | Q(sent_at__lt=now - resend_after())
    )
    if ids is not None:
        due = due.filter(pk__in=ids)
    with transaction.atomic():
        jobs = list(due.select_for_update(skip_locked=True).order_by("created_at", "id")[:limit])
        if not jobs:
            return Relayed(sent=0, waiting=0)
        sent: list[int] = []
        try:
            with _broker() as connection:
                for job in jobs:
                    current_app.send_task(
                        RUN_JOB, args=[job.pk], connection=connection, ignore_result=True, retry=False
                    )
                    sent.append(job.pk)
        except Exception as error:  # whatever the broker's failure, the jobs stay in the outbox for the sweep
            logger.warning("Broker unavailable, %d job(s) left in the outbox: %s", len(jobs) - len(sent), error)
            Job.objects.filter(pk__in=[job.pk for job in jobs if job.pk not in sent]).update(
                error=f"{type(error).__name__}: {error}"[:2000]
            )
        Job.objects.filter(pk__in=sent).update(sent_at=now, sends=F("sends") + 1, error="")
    return Relayed(sent=len(sent), waiting=len(jobs) - len(sent))


def job_run(*, job_id: int) -> bool:
    """Runs a job in this process unless it is done or gone (a message delivered twice, or left in
    the broker by a database that was since emptied); marks it done. False when there was nothing to do."""
    job = Job.objects.filter(pk=job_id, done_at__isnull=True).first()
    if job is None:
        return False
    try:
        _registered(job.task)(**job.kwargs)
    except Exception as error:
        Job.objects.filter(pk=job.pk).update(error=f"{type(error).__name__}: {error}"[:2000])
        raise
    Job.objects.filter(pk=job.pk, done_at__isnull=True).update(done_at=timezone.now(), error="")
    return True


def jobs_clean_up() -> int:
    """Removes the jobs done more than KEEP_DONE ago."""
    deleted, _by_model = Job.objects.filter(done_at__lt=timezone.now() - KEEP_DONE).delete()
    return deleted
