import time

from django.core.management.base import BaseCommand

from coordination.caregaps import evaluate_care_gaps
from coordination.services import tasks_from_signed_plans


class Command(BaseCommand):
    help = (
        "Evaluates the care-gap rules for the citizens whose data changed or whose recheck day has come "
        "(--all: everyone): opens a task for each new gap, closes filled ones; makes the tasks of "
        "agreed actions whose encounter was signed outside coordination. Safe to repeat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", dest="everyone", help="Review every citizen, changed or not.")

    def handle(self, *args, everyone: bool, **options):
        started = time.perf_counter()
        result = evaluate_care_gaps(everyone=everyone)
        made = tasks_from_signed_plans()
        self.stdout.write(
            f"{result.reviewed} citizens reviewed, {result.opened} gaps opened, {result.closed} closed, "
            f"{result.open_now} open, "
            f"{made} tasks from agreed actions signed elsewhere "
            f"({time.perf_counter() - started:.1f} s)"
        )
