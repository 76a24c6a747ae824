from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoordinationConfig(AppConfig):
    verbose_name = _("Coordination")
    name = "coordination"
