from celery import shared_task

from .services import job_run, jobs_clean_up, jobs_relay


# Nobody waits for their results: the outbox row records what happened.
@shared_task(ignore_result=True)
def run_job(job_id: int) -> bool:
    """Runs one job from the outbox; a second delivery of a job already done does nothing."""
    return job_run(job_id=job_id)


@shared_task(ignore_result=True)
def relay_jobs() -> dict:
    """Every minute (beat), also `manage.py relay_outbox`: hands to Celery the jobs that could not be
    handed over when they were asked for (Redis down), and those handed over that no worker did."""
    relayed = jobs_relay()
    return {"sent": relayed.sent, "waiting": relayed.waiting, "cleaned_up": jobs_clean_up()}
