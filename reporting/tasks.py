from celery import shared_task

from .rollups import run_incremental


@shared_task
def compute_rollups_task() -> dict:
    """Idempotent (rows are upserted on their key); also `manage.py compute_rollups`."""
    run = run_incremental()
    return {"run": run.pk, "rows": run.rows, "first_month": run.first_month.isoformat()}
