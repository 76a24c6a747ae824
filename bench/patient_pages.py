"""Latency and query counts of the professional's pages on the demo data.

    make bench            # embedded servers, seeds the demo centre first if the database is empty

Prints, per page, the median and 95th percentile over repeated requests through Django's test
client (in process: no network, no static files) and the number of SQL queries. Figures only:
nothing here passes or fails."""

import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcenter.settings")
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-0123456789-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from healthcenter.models import User  # noqa: E402
from patients.models import Patient  # noqa: E402
from reporting.rollups import run_rollups  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "50"))


def measure(label: str, request) -> None:
    request()  # warm-up: connection, template cache
    with CaptureQueriesContext(connection) as queries:
        response = request()
    assert response.status_code == 200, (label, response.status_code)
    query_count = len(queries)  # read now: later requests reset the connection's query log
    timings = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        request()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    print(f"{label:<44} p50 {statistics.median(timings):7.1f} ms   p95 {p95:7.1f} ms   {query_count:3d} queries")


def main() -> None:
    if not Patient.objects.exists():
        call_command("seed_demo")
    user = User.objects.get(username="sygeplejerske")
    client = Client()
    client.force_login(user)
    busiest = Patient.objects.filter(team__in=user.teams.all()).annotate(n=Count("encounters")).order_by("-n").first()
    print(
        f"{Patient.objects.count()} citizens in the database; busiest citizen in the nurse's team has "
        f"{busiest.n} encounters; {REPEAT} requests per page"
    )
    list_url = reverse("patients:list")

    def search(term):
        def request():
            return client.post(list_url, {"term": term}, headers={"HX-Request": "true"})

        return request

    measure("patient list, page 1", lambda: client.get(list_url))
    measure("patient list, diabetes filter, page 3", lambda: client.get(list_url, {"condition": "diabetes", "page": 3}))
    measure("search by name (htmx)", search(busiest.last_name[:4].lower()))
    measure("search by CPR prefix (htmx)", search(busiest.cpr[:6]))
    measure("patient page (busiest citizen)", lambda: client.get(reverse("patients:detail", args=[busiest.public_id])))
    measure("encounter form", lambda: client.get(reverse("coordination:encounter_create", args=[busiest.public_id])))
    measure(
        "coordination panel on the patient page",
        lambda: client.get(
            reverse("coordination:patient_panel", args=[busiest.public_id]), headers={"HX-Request": "true"}
        ),
    )
    measure(
        "briefing (busiest citizen)", lambda: client.get(reverse("coordination:briefing", args=[busiest.public_id]))
    )
    measure("worklist, my citizens", lambda: client.get(reverse("coordination:worklist")))
    measure("worklist, my teams", lambda: client.get(reverse("coordination:worklist"), {"scope": "team"}))
    measure("my tasks", lambda: client.get(reverse("coordination:my_tasks")))
    measure("team board", lambda: client.get(reverse("coordination:board")))

    manager = Client()
    manager.force_login(User.objects.get(username="leder"))
    started = time.perf_counter()
    run = run_rollups(timezone.localdate().replace(day=1) - datetime.timedelta(days=700), timezone.localdate())
    print(f"{'rollups, 24 months, all units':<44} {time.perf_counter() - started:7.1f} s   {run.rows} rows")
    measure("quality dashboard (manager)", lambda: manager.get(reverse("reporting:overview")))
    measure("export CSV (manager)", lambda: manager.get(reverse("reporting:export", args=["csv"])))


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
