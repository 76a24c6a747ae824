import time

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from coordination.caregaps import evaluate_care_gaps
from coordination.demo import book_some_care_gaps, seed_coordination
from coordination.models import Task, TaskOrigin
from healthcenter.outbox.services import job_enqueue
from patients.demo import Seeder
from patients.models import Encounter, Measurement, Patient
from reporting import large_demo
from reporting.demo import seed_stories
from scheduling.demo import seed_calendar


class Command(BaseCommand):
    help = (
        "Seeds the demo centre: teams, staff, ~500 citizens with two years of history, tasks, referrals. "
        "--profile large: 50,000 citizens in 15 teams written in bulk (reporting.large_demo)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if citizens already exist.")
        parser.add_argument("--profile", choices=["demo", "large"], default="demo")
        parser.add_argument(
            "--citizens", type=int, default=None, help="Citizens to make (demo: 500, large: 50,000, staff in step)."
        )

    def handle(self, *args, if_empty: bool, citizens: int | None, profile: str, **options):
        if if_empty and Patient.objects.exists():
            self.stdout.write("Demo data already present; not seeding again.")
            return
        if profile == "large":
            self._large(citizens or large_demo.CITIZENS)
            return
        citizens = citizens or 500
        started = timezone.now()
        with transaction.atomic():
            Seeder(citizens=citizens).run()
            seed_coordination()
        # The calendar (issue 13): rooms, holidays, four weeks back and ahead for every professional,
        # a thinner year behind them, the running and the past year's finished courses, through the
        # scheduling services, once citizens and teams exist. Its own transaction: over the rows of
        # the one above (thousands of savepoints in it) every service took twice as long.
        calendar_started = time.monotonic()
        with transaction.atomic():
            calendar = seed_calendar()
        calendar_seconds = time.monotonic() - calendar_started
        gaps = evaluate_care_gaps()
        # Some of the open measurement gaps booked in the next fortnight (the worklist's "booket"),
        # once the job has run on today.
        with transaction.atomic():
            booked = book_some_care_gaps()
        with transaction.atomic():
            seed_stories()
        seconds = (timezone.now() - started).total_seconds()
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {Patient.objects.count()} citizens, {Encounter.objects.count()} encounters, "
                f"{Measurement.objects.count()} measurements, {Task.objects.count()} tasks "
                f"({Task.objects.filter(origin=TaskOrigin.RULE).count()} from care gaps, {gaps.open_now} open) "
                f"and {calendar.appointments} appointments in the calendar "
                f"({calendar.older} of them in the older history, {len(calendar.finished)} finished courses, "
                f"{booked.booked} care gaps booked; {calendar_seconds:.0f} s) "
                f"in {seconds:.0f} s."
            )
        )
        # The Celery worker computes two years of monthly indicators (about half a minute); asked for
        # in the outbox, so that seeding needs no broker and the worker finds the job when it starts.
        job_enqueue(task="reporting.tasks.compute_rollups_task")
        self.stdout.write("The worker is computing two years of monthly indicators for the dashboard.")

    def _large(self, citizens: int) -> None:
        started = time.monotonic()
        with tqdm(total=citizens, unit="citizen", file=self.stderr, disable=None) as bar:
            result = large_demo.seed_large(citizens=citizens, step=bar.set_description, progress=bar.update)
        seconds = time.monotonic() - started
        counts = large_demo.counts()
        self.stdout.write(
            self.style.SUCCESS(
                ", ".join(f"{number} {name}" for name, number in counts.items())
                + f" in {seconds:.0f} s (phases: {result['timings']})."
            )
        )
