from django.core.management.base import BaseCommand, CommandError

from healthcenter.retention import ArchiveError, access_log_archive


class Command(BaseCommand):
    help = (
        "Moves access-log entries older than ACCESS_LOG_RETENTION_DAYS into a verified gzip archive in "
        "ACCESS_LOG_ARCHIVE_DIR and removes them from the database. Runs as the owner (DATABASE_OWNER_URL); "
        "safe to run again. Also the Celery beat entry archive-access-log."
    )

    def handle(self, *args, **options):
        try:
            result = access_log_archive()
        except ArchiveError as error:
            raise CommandError(str(error)) from error
        if result.path is None:
            self.stdout.write(f"No access-log entries before {result.cutoff:%Y-%m-%d %H:%M %Z}; nothing archived.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Archived {result.entries} access-log entries before {result.cutoff:%Y-%m-%d %H:%M %Z} "
                    f"to {result.path} (SHA-256 in {result.path.name}.sha256)."
                )
            )
        for path in result.unlisted:
            self.stdout.write(
                self.style.WARNING(
                    f"{path} is not listed as an archive: a run that did not finish wrote it, and its entries "
                    "were archived again later or are still in the database. It can be removed."
                )
            )
