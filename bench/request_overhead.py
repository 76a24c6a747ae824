"""Where a professional's page spends its time: per page, p50/p95 over repeated requests through
Django's test client (in process, DEBUG off), the number of queries, the time PostgreSQL took for
them as Django measured it (SQL ms) and the process's CPU time (Python: middleware, ORM, templates).

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/request_overhead.py   # on a seeded database

The patient page is measured twice: repeated (the record's fragments come from the cache) and as the
first view after a change (the fragment cache emptied before every request). Figures only: nothing
here passes or fails. On a machine shared with other work, compare CPU ms and query counts; wall
times follow the machine's load."""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-0123456789-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("CENTRE_PHONE", "70 20 30 40")

# The bench's own start-up, p95 (nearest rank, as in bench/RESULTS.md) and signed-in client.
from bench.harness import percentile, setup_django, signed_in

setup_django()

from django.core.cache import caches  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402

from healthcenter.models import User  # noqa: E402
from patients.models import Patient  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "40"))


def measure(label: str, request, *, before_each=lambda: None) -> None:
    before_each()
    request()  # warm-up: connection, template cache
    walls, cpus, sqls, counts = [], [], [], []
    for _ in range(REPEAT):
        before_each()
        with CaptureQueriesContext(connection) as queries:
            cpu, wall = time.process_time(), time.perf_counter()
            response = request()
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        assert response.status_code == 200, (label, response.status_code)
        sqls.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
        counts.append(len(queries.captured_queries))
    print(
        f"{label:<36} p50 {statistics.median(walls):6.1f} ms  p95 {percentile(walls, 0.95):6.1f} ms  "
        f"{max(counts):3d} queries  SQL {statistics.median(sqls):5.1f} ms  CPU {statistics.median(cpus):5.1f} ms  "
        f"{len(response.content) // 1024:4d} kB"
    )


def main() -> None:
    user = User.objects.get(username="sygeplejerske")
    client = signed_in(user)
    busiest = Patient.objects.filter(team__in=user.teams.all()).annotate(n=Count("encounters")).order_by("-n").first()
    print(f"{Patient.objects.count()} citizens; the nurse's busiest has {busiest.n} encounters; {REPEAT} requests")
    patient_url = reverse("patients:detail", args=[busiest.public_id])
    measure("patient page, repeated", lambda: client.get(patient_url))
    if "template_fragments" in caches:
        measure(
            "patient page, first view after a change",
            lambda: client.get(patient_url),
            before_each=caches["template_fragments"].clear,
        )
    measure("briefing", lambda: client.get(reverse("coordination:briefing", args=[busiest.public_id])))
    measure("patient list", lambda: client.get(reverse("patients:list")))
    measure("worklist, my citizens", lambda: client.get(reverse("coordination:worklist")))
    measure("my tasks", lambda: client.get(reverse("coordination:my_tasks")))
    measure("news badge (htmx)", lambda: client.get(reverse("coordination:news_badge"), headers={"HX-Request": "true"}))


if __name__ == "__main__":
    # Static files are not part of what is measured; the manifest storage would need collectstatic.
    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        SECURE_SSL_REDIRECT=False,
    ):
        main()
