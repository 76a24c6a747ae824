from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    verbose_name = _("Citizens")
    name = "patients"
