from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from healthcenter.accounts.selectors import two_factor_required_by_role
from healthcenter.accounts.services import demo_backup_code
from healthcenter.models import User
from patients.demo import DEMO_PASSWORD, NAMED_USERS


class Command(BaseCommand):
    help = (
        "Prints one demo login per role, with a fresh one-time backup code for the logins that need a "
        "second factor (managers and administrators); their earlier demo codes stop working."
    )

    def handle(self, *args, **options):
        # A backup code is a second factor: printed only for the demo (`make demo` runs with DEBUG on), never
        # for a production database whose administrator happens to be called "admin".
        if not settings.DEBUG:
            raise CommandError("demo_logins mints second factors and runs only for the demo (DEBUG=true).")
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        needs_code = False
        for username, *_rest in NAMED_USERS:
            user = User.objects.filter(username=username).prefetch_related("teams").first()
            if user is None:
                continue
            teams = ", ".join(t.name for t in user.teams.all()) or "-"
            what = user.get_profession_display() or user.get_role_display()
            line = f"  {user.get_role_display():<14} {username:<20} {what} ({teams})"
            if two_factor_required_by_role(user):
                needs_code = True
                line += f"  backup code: {demo_backup_code(user=user)}"
            self.stdout.write(line)
        if needs_code:
            self.stdout.write(
                "  A backup code works once, at the step after the password; run `manage.py demo_logins` "
                "for new ones, or set up an authenticator app under My account."
            )
        self.stdout.write("")
