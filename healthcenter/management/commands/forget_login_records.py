from django.conf import settings
from django.core.management.base import BaseCommand

from healthcenter.accounts.services import login_records_forget


class Command(BaseCommand):
    help = (
        "Forgets django-axes' records of sign-ins and failed sign-ins older than LOGIN_RECORD_RETENTION_DAYS. "
        "Safe to run again. Also the Celery beat entry forget-old-login-records."
    )

    def handle(self, *args, **options):
        days = settings.LOGIN_RECORD_RETENTION_DAYS
        removed = login_records_forget(older_than_days=days)
        self.stdout.write(f"Forgot {removed} sign-in records older than {days} days.")
