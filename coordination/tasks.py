from celery import shared_task

from .caregaps import evaluate_care_gaps


@shared_task
def evaluate_care_gaps_task(patient_ids: list[int] | None = None) -> dict:
    """Idempotent; also `manage.py evaluate_care_gaps`."""
    result = evaluate_care_gaps(patient_ids=patient_ids)
    return {"opened": result.opened, "closed": result.closed, "open_now": result.open_now}
