from celery import shared_task
from django.conf import settings
from django.core.management import call_command

from .retention import access_log_archive


@shared_task
def clear_expired_sessions() -> None:
    """Idempotent: removes only sessions that have already expired. Also `manage.py clearsessions`."""
    call_command("clearsessions")


@shared_task
def archive_access_log() -> int:
    """Idempotent: archives only entries older than the retention period, as the owner (the worker's
    DATABASE_OWNER_URL). Also `manage.py archive_access_log`. Returns how many entries left the log."""
    return access_log_archive().entries


@shared_task
def forget_old_login_records() -> int:
    """Idempotent: removes django-axes' sign-in records older than LOGIN_RECORD_RETENTION_DAYS. Also
    `manage.py forget_login_records`."""
    from .accounts.services import login_records_forget

    return login_records_forget(older_than_days=settings.LOGIN_RECORD_RETENTION_DAYS)
