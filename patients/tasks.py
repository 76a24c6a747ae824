from celery import shared_task

from . import labimport
from .models import LabImport, LabImportStatus


@shared_task
def run_lab_import(lab_import_id: int) -> dict:
    """Runs one laboratory import (patients.labimport.run). Idempotent: a finished import is left as
    it is, and one that was interrupted (a worker killed mid-file) is run again from its start, the
    rows it had merged being found by their natural key and not added twice."""
    lab_import = LabImport.objects.filter(pk=lab_import_id).select_related("uploaded_by").first()
    if lab_import is None or lab_import.status == LabImportStatus.DONE:
        return {}
    try:
        outcome = labimport.run(lab_import)
    except ValueError:
        # The file itself cannot be read (no header with the columns, not a FHIR Bundle): the import is marked
        # failed with the reason, and handing the job over again would not help.
        return {"failed": True}
    return {"read": outcome.read, "loaded": outcome.loaded, "known": outcome.known, "rejected": outcome.rejected}
