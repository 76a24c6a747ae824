import time

from django.core.management.base import BaseCommand

from coordination.caregaps import evaluate_care_gaps


class Command(BaseCommand):
    help = "Evaluates the care-gap rules: opens a task for each new gap, closes filled ones. Safe to repeat."

    def handle(self, *args, **options):
        started = time.perf_counter()
        result = evaluate_care_gaps()
        self.stdout.write(
            f"{result.opened} gaps opened, {result.closed} closed, {result.open_now} open "
            f"({time.perf_counter() - started:.1f} s)"
        )
