from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FhirConfig(AppConfig):
    verbose_name = _("FHIR R4")
    name = "fhirserver"
    label = "fhir"
