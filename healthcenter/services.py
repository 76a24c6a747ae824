import uuid

from .models import AccessAction, AccessLog, AccessOutcome, User


def access_record(
    *,
    actor: User,
    action: AccessAction,
    what: str,
    outcome: AccessOutcome = AccessOutcome.ALLOWED,
    patient_public_id: uuid.UUID | None = None,
) -> AccessLog:
    """Writes one access-log row. Callers record denied and rejected attempts too, outside any
    transaction that is about to roll back, so that the log keeps them."""
    return AccessLog.objects.create(
        user=actor,
        role=actor.role,
        patient_public_id=patient_public_id,
        action=action,
        what=what[:200],
        outcome=outcome,
    )
