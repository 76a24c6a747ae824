from celery import shared_task

from .rollups import run_full, run_incremental


@shared_task
def compute_rollups_task() -> dict:
    """Idempotent (rows are upserted on their key); also `manage.py compute_rollups`."""
    run = run_incremental()
    return {"run": run.pk, "rows": run.rows, "first_month": run.first_month.isoformat()}


@shared_task
def recompute_rollups_task() -> dict:
    """Nightly: every month kept, compared with the stored rows; also `manage.py compute_rollups --full`."""
    run = run_full()
    return {"run": run.pk, "rows": run.rows, "differences": run.differences}
