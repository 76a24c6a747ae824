import uuid

from django.db.models import QuerySet

from .models import AccessLog


def access_log_for_patient(*, patient_public_id: uuid.UUID) -> QuerySet[AccessLog]:
    return AccessLog.objects.filter(patient_public_id=patient_public_id).select_related("user").order_by("-at", "-id")
