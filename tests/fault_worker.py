"""A real Celery worker for the fault tests, in its own process: `python -m tests.fault_worker`.

With FAULT_PAUSE=<point>:<n>:<file> the worker stops in the middle of a job: right after the n-th
pass through the point it writes its process id to the file and waits there until it is killed. The
test waits for the file, so it kills the job at the same place every time. Only the first process
to get there pauses (the file then exists), so a job handed out again runs to its end.

Points: rollup-month (a month's rows stored and committed, reporting.rollups.store_month) and
care-gap-task (a gap and its task made, inside the job's transaction, coordination.services.care_gap_open)."""

import os
import time
from pathlib import Path


def _pause_after(module, name: str, calls: int, marker: Path) -> None:
    original = getattr(module, name)
    passes = 0

    def pausing(*args, **kwargs):
        nonlocal passes
        result = original(*args, **kwargs)
        passes += 1
        if passes == calls and not marker.exists():
            marker.write_text(str(os.getpid()))
            while True:
                time.sleep(60)
        return result

    setattr(module, name, pausing)


def main() -> None:
    import django

    django.setup()
    pause = os.environ.get("FAULT_PAUSE")
    if pause:
        point, calls, marker = pause.split(":", 2)
        if point == "rollup-month":
            from reporting import rollups

            _pause_after(rollups, "store_month", int(calls), Path(marker))
        elif point == "care-gap-task":
            from coordination import services

            _pause_after(services, "care_gap_open", int(calls), Path(marker))
        else:
            raise SystemExit(f"unknown pause point {point}")

    from healthcenter.celery import app

    # Prefork, as in production: the job runs in a pool process the worker forks (with the pause above).
    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=fault-{os.getpid()}@localhost",
        ]
    )


if __name__ == "__main__":
    main()
