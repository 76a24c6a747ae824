import os

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FhirConfig(AppConfig):
    verbose_name = _("FHIR R4")
    name = "fhir"
    # The package's path is extended with the installed fhir.resources' (fhir/__init__.py): the app
    # itself is this directory.
    path = os.path.dirname(os.path.abspath(__file__))
