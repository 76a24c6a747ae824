from celery import shared_task
from django.core.management import call_command


@shared_task
def clear_expired_sessions() -> None:
    """Idempotent: removes only sessions that have already expired. Also `manage.py clearsessions`."""
    call_command("clearsessions")
