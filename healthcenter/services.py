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


def access_record_many(*, actor: User, action: AccessAction, what: str, patient_public_ids: list[uuid.UUID]) -> None:
    """One allowed access-log row per citizen, in one query: a page that shows something of
    several citizens at once (the approved stories in a report) logs each of them."""
    AccessLog.objects.bulk_create(
        AccessLog(user=actor, role=actor.role, patient_public_id=public_id, action=action, what=what[:200])
        for public_id in patient_public_ids
    )
