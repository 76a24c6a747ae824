import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from reporting.models import RollupRun, RunStatus
from reporting.rollups import months_between, months_touched_since, run_rollups


def month(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(f"{value}-01")
    except ValueError as error:
        raise CommandError(f"Give months as YYYY-MM, not {value!r}") from error


class Command(BaseCommand):
    help = "Computes the monthly indicator rollups for a range of months (default: what changed since the last run)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", type=month, help="first month, YYYY-MM")
        parser.add_argument("--to", dest="last", type=month, help="last month, YYYY-MM (default: this month)")

    def handle(self, *args, first, last, **options):
        last = last or timezone.localdate().replace(day=1)
        if first is None:
            previous = RollupRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-started_at").first()
            first = months_touched_since(previous.started_at if previous else None)
        if first > last:
            raise CommandError("--from must not be after --to")
        with tqdm(total=len(months_between(first, last)), unit="month", disable=not self.stdout.isatty()) as bar:
            run = run_rollups(first, last, progress=lambda _month: bar.update(1))
        self.stdout.write(f"{run.rows} rows for {run.first_month:%Y-%m}..{run.last_month:%Y-%m} (run {run.pk})")
