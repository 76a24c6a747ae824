import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from reporting.models import RunKind
from reporting.rollups import months_between, oldest_month_kept, run_full, run_incremental, run_rollups


def month(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(f"{value}-01")
    except ValueError as error:
        raise CommandError(f"Give months as YYYY-MM, not {value!r}") from error


class Command(BaseCommand):
    help = (
        "Computes the monthly indicator rollups: by default the months that changed data can affect; "
        "--full recomputes every month kept and records any difference from the stored rows; "
        "--from/--to a chosen range."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", type=month, help="first month, YYYY-MM")
        parser.add_argument("--to", dest="last", type=month, help="last month, YYYY-MM (default: this month)")
        parser.add_argument("--full", action="store_true", help="recompute everything and compare (nightly job)")

    def handle(self, *args, first, last, full, **options):
        this_month = timezone.localdate().replace(day=1)
        show = self.stdout.isatty()
        if full:
            with tqdm(
                total=len(months_between(oldest_month_kept(), this_month)), unit="month", disable=not show
            ) as bar:
                run = run_full(progress=lambda _month: bar.update(1))
        elif first is None and last is None:
            with tqdm(unit="month", disable=not show) as bar:
                run = run_incremental(progress=lambda _month: bar.update(1))
        else:
            first, last = first or oldest_month_kept(), last or this_month
            if first > last:
                raise CommandError("--from must not be after --to")
            with tqdm(total=len(months_between(first, last)), unit="month", disable=not show) as bar:
                run = run_rollups(first, last, kind=RunKind.RANGE, progress=lambda _month: bar.update(1))
        self.stdout.write(
            f"{run.rows} rows for {run.first_month:%Y-%m}..{run.last_month:%Y-%m} (run {run.pk}, {run.kind})"
            + (f"; {run.differences} stored cells differed" if run.kind == RunKind.FULL else "")
        )
