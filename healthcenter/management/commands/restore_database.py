from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from healthcenter import backups


class Command(BaseCommand):
    # A backup or a restore must work even when the code around it does not pass its checks.
    requires_system_checks = []
    help = (
        "Restores a backup made by backup_database (pg_restore --no-owner --exit-on-error, in one "
        "transaction) into the database in DATABASE_URL, or into --database-name on the same server "
        "(created when missing). Refuses a database that is not empty unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path, help="the .dump file")
        parser.add_argument("--database-name", help="restore into this database on the same server")
        parser.add_argument("--database-url", help="connect with this URL instead (its database is the target)")
        parser.add_argument(
            "--force", action="store_true", help="replace the objects the backup holds in a database that is not empty"
        )
        parser.add_argument(
            "--no-privileges",
            action="store_true",
            help="leave out the backup's grants (when the roles they name do not exist on this server)",
        )

    def handle(self, *args, backup: Path, database_name, database_url, force, no_privileges, **options):
        server = backups.database_to_use(url=database_url, settings_databases=_settings_of_each_alias())
        target = server.named(database_name) if database_name else server
        try:
            backups.restore(target, backup, replace=force, privileges=not no_privileges, maintenance_name=server.name)
        except backups.BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Restored {backup} into {target}."))


def _settings_of_each_alias() -> dict:
    # Through the connections, which carry the test database's name while the tests run.
    return {alias: connections[alias].settings_dict for alias in connections}
