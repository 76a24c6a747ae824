from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from coordination.caregaps import evaluate_care_gaps
from coordination.demo import seed_coordination
from coordination.models import Task, TaskOrigin
from healthcenter.outbox.services import job_enqueue
from patients.demo import Seeder
from patients.models import Encounter, Measurement, Patient
from reporting.demo import seed_stories


class Command(BaseCommand):
    help = "Seeds the demo centre: teams, staff, ~500 citizens with two years of history, tasks, referrals."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if citizens already exist.")
        parser.add_argument("--citizens", type=int, default=500)

    def handle(self, *args, if_empty: bool, citizens: int, **options):
        if if_empty and Patient.objects.exists():
            self.stdout.write("Demo data already present; not seeding again.")
            return
        started = timezone.now()
        with transaction.atomic():
            Seeder(citizens=citizens).run()
            seed_coordination()
        gaps = evaluate_care_gaps()
        with transaction.atomic():
            seed_stories()
        seconds = (timezone.now() - started).total_seconds()
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {Patient.objects.count()} citizens, {Encounter.objects.count()} encounters, "
                f"{Measurement.objects.count()} measurements, {Task.objects.count()} tasks "
                f"({Task.objects.filter(origin=TaskOrigin.RULE).count()} from care gaps, {gaps.open_now} open) "
                f"in {seconds:.0f} s."
            )
        )
        # The Celery worker computes two years of monthly indicators (about half a minute); asked for
        # in the outbox, so that seeding needs no broker and the worker finds the job when it starts.
        job_enqueue(task="reporting.tasks.compute_rollups_task")
        self.stdout.write("The worker is computing two years of monthly indicators for the dashboard.")
