from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HealthcenterConfig(AppConfig):
    verbose_name = _("Health centre")
    name = "healthcenter"
