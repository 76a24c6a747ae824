from django.apps import AppConfig
from django.core.checks import Tags, register
from django.utils.translation import gettext_lazy as _


class HealthcenterConfig(AppConfig):
    verbose_name = _("Health centre")
    name = "healthcenter"

    def ready(self):
        from . import checks

        register(checks.check_secret_key, Tags.security, deploy=True)
        register(checks.check_runtime_role, Tags.security, Tags.database, deploy=True)

        # Database roles (issue 10): after every migrate, run as the owner, the runtime role's privileges
        # follow the tables as they now are (healthcenter/dbroles.py).
        from django.db.models.signals import post_migrate

        from .dbroles import grant_runtime_role_after_migrate

        post_migrate.connect(grant_runtime_role_after_migrate, sender=self)
        # Stamps each login's time in its session (the absolute session limit counts from it).
        from .accounts import signals  # noqa: F401
