from celery import shared_task

from .caregaps import evaluate_care_gaps
from .services import tasks_from_signed_plans


@shared_task
def evaluate_care_gaps_task(patient_ids: list[int] | None = None) -> dict:
    """Idempotent; also `manage.py evaluate_care_gaps`. With no ids, the periodic job: the citizens
    whose data or recheck day calls for it; it also makes the tasks of agreed actions whose encounter
    was signed outside coordination (services.tasks_from_signed_plans)."""
    result = evaluate_care_gaps(patient_ids=patient_ids)
    made = tasks_from_signed_plans() if patient_ids is None else 0
    return {
        "opened": result.opened,
        "closed": result.closed,
        "open_now": result.open_now,
        "reviewed": result.reviewed,
        "action_tasks": made,
    }
