from django.core.management.base import BaseCommand

from healthcenter.models import User
from patients.demo import DEMO_PASSWORD, NAMED_USERS


class Command(BaseCommand):
    help = "Prints one demo login per role."

    def handle(self, *args, **options):
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        for username, *_rest in NAMED_USERS:
            user = User.objects.filter(username=username).prefetch_related("teams").first()
            if user is None:
                continue
            teams = ", ".join(t.name for t in user.teams.all()) or "-"
            what = user.get_profession_display() or user.get_role_display()
            self.stdout.write(f"  {user.get_role_display():<14} {username:<20} {what} ({teams})")
        self.stdout.write("")
