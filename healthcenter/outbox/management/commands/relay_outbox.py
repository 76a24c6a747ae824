from django.core.management.base import BaseCommand, CommandError

from healthcenter.outbox.services import jobs_clean_up, jobs_relay


class Command(BaseCommand):
    help = (
        "Hands to Celery the queued jobs that could not be handed over when they were asked for (the broker "
        "was down) or that no worker has done; removes jobs done more than a week ago. Safe to repeat."
    )

    def handle(self, *args, **options):
        total = 0
        while True:
            relayed = jobs_relay()
            total += relayed.sent
            if relayed.waiting:
                raise CommandError(f"{total} jobs handed over; the broker is unavailable, {relayed.waiting} wait")
            if not relayed.sent:
                break
        self.stdout.write(f"{total} jobs handed over; {jobs_clean_up()} done jobs removed")
