from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from healthcenter.dbroles import APPEND_ONLY, READ_WRITE, role_from_url, runtime_role_grant


class Command(BaseCommand):
    help = (
        "Creates or updates the runtime role named by RUNTIME_DATABASE_URL and sets its privileges "
        "(healthcenter/dbroles.py). Run as the owner; `migrate` does the same after every run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="The owner's connection (default: default).")

    def handle(self, *args, database: str, **options):
        if not settings.RUNTIME_DATABASE_URL:
            raise CommandError("Set RUNTIME_DATABASE_URL to the URL the application logs in with.")
        role, password = role_from_url(settings.RUNTIME_DATABASE_URL)
        granted = runtime_role_grant(role=role, password=password, using=database)
        for table, privileges in granted.items():
            if privileges != READ_WRITE and options["verbosity"] >= 1:
                self.stdout.write(f"{table}: {', '.join(privileges)}")
        append_only = sum(1 for privileges in granted.values() if privileges == APPEND_ONLY)
        self.stdout.write(
            self.style.SUCCESS(
                f"Runtime role {role}: privileges set on {len(granted)} tables, {append_only} of them append-only."
            )
        )
