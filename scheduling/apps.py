from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulingConfig(AppConfig):
    """Appointments, rooms and group courses: what is planned (issue 13). Sits between patients and
    coordination: it books on a citizen's record (patients), and the briefing, the worklist and the
    referral triage (coordination) show and make bookings."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "scheduling"
    verbose_name = _("Calendar")
