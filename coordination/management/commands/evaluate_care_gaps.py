import time

from django.core.management.base import BaseCommand

from coordination.caregaps import evaluate_care_gaps
from coordination.services import tasks_from_signed_plans


class Command(BaseCommand):
    help = (
        "Evaluates the care-gap rules: opens a task for each new gap, closes filled ones; makes the tasks of "
        "agreed actions whose encounter was signed outside coordination. Safe to repeat."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        result = evaluate_care_gaps()
        made = tasks_from_signed_plans()
        self.stdout.write(
            f"{result.opened} gaps opened, {result.closed} closed, {result.open_now} open, "
            f"{made} tasks from agreed actions signed elsewhere "
            f"({time.perf_counter() - started:.1f} s)"
        )
