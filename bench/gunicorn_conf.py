"""gunicorn settings of the load test (bench/run.py passes the command-line ones: bind, workers, class, threads).

Each worker imports the Celery task modules before it serves: healthcenter/outbox/services.py imports them on
demand at the first job a request enqueues, and with threads (gthread) the first requests of a worker race in
that import, so that all but one answer 500 ("... is not a registered Celery task"; reproduced with four
threads, three fail). A production worker of the sync class never meets it. Until the app imports them once
under a lock, the benchmark measures the pages, not that race."""


def post_worker_init(worker):
    from celery import current_app

    current_app.loader.import_default_modules()
