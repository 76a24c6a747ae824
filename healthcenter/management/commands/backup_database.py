from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone

from healthcenter import backups


class Command(BaseCommand):
    # A backup or a restore must work even when the code around it does not pass its checks.
    requires_system_checks = []
    help = (
        "Backs up the whole database with pg_dump in custom format (-Fc) to "
        "backups/healthcenter-<time>.dump (readable by its owner only). Connects with --database-url, "
        "else the 'owner' database alias (DATABASE_OWNER_URL), else DATABASE_URL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, help="the file to write (default: backups/healthcenter-<time>.dump)")
        parser.add_argument("--database-url", help="back up this database instead")

    def handle(self, *args, output: Path | None, database_url: str | None, **options):
        database = backups.database_to_use(url=database_url, settings_databases=_settings_of_each_alias())
        path = output or backups.default_backup_path(settings.BASE_DIR / "backups", timezone.localtime())
        try:
            written = backups.backup(database, path)
        except backups.BackupError as error:
            raise CommandError(str(error)) from error
        size = written.stat().st_size
        self.stdout.write(self.style.SUCCESS(f"Backed up {database} to {written} ({size / 1_000_000:.1f} MB)."))


def _settings_of_each_alias() -> dict:
    # Through the connections, which carry the test database's name while the tests run.
    return {alias: connections[alias].settings_dict for alias in connections}
