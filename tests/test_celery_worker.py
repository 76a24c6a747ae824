"""A real Celery worker, consuming from the real Redis broker, runs a periodic job."""

import datetime

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.sessions.models import Session
from django.utils import timezone

from healthcenter.celery import app
from healthcenter.tasks import clear_expired_sessions


@pytest.mark.django_db(transaction=True)
def test_a_worker_clears_expired_sessions_through_redis():
    now = timezone.now()
    Session.objects.create(session_key="expired", session_data="x", expire_date=now - datetime.timedelta(days=1))
    Session.objects.create(session_key="current", session_data="x", expire_date=now + datetime.timedelta(days=1))
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        result = clear_expired_sessions.delay()
        result.get(timeout=30)
        clear_expired_sessions.delay().get(timeout=30)  # idempotent: a second run changes nothing
    assert list(Session.objects.values_list("session_key", flat=True)) == ["current"]


def test_every_periodic_job_is_a_registered_task():
    from django.conf import settings

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
