"""The measurements of `make bench` that run inside Django, on the database DATABASE_URL names.

bench/run.py (the driver) runs this file once per profile and step and reads the JSON it prints:

    python bench/harness.py pages       # single-user p50/p95 and query count of every page
    python bench/harness.py raw-sql     # the patient page and the dashboard against their SQL replayed with psycopg
    python bench/harness.py jobs        # full and incremental rollups, the care-gap job
    python bench/harness.py saves-under-jobs   # encounter saves while the care-gap job and a full rollup run
    python bench/harness.py sessions FILE      # signed-in sessions for the locust users (bench/locustfile.py)
    python bench/harness.py job caregaps|rollup  # one job, announcing its start (used by saves-under-jobs)

tests/test_bench.py imports it and runs the single-user part on a tiny dataset, so that it cannot rot.

Requests go through Django's test client in this process (no network, no gunicorn), marked secure as
behind the production proxy, with DEBUG off. Figures only: nothing here passes or fails on a time; a page
that answers anything but what it should stops the benchmark."""

import datetime
import io
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Repeats per page and the most seconds spent on one page (a slow page gets fewer samples, at least MIN_SAMPLES).
REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))
PAGE_SECONDS = float(os.environ.get("BENCH_PAGE_SECONDS", "20"))
MIN_SAMPLES = 5


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcenter.settings")
    import django

    django.setup()


def percentile(samples: list[float], share: float) -> float:
    """Nearest rank: the smallest sample with at least `share` of the samples at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summary(samples_ms: list[float]) -> dict:
    return {
        "n": len(samples_ms),
        "p50": round(statistics.median(samples_ms), 1),
        "p95": round(percentile(samples_ms, 0.95), 1),
        "p99": round(percentile(samples_ms, 0.99), 1),
        "max": round(max(samples_ms), 1),
    }


# --- who is measured ----------------------------------------------------------------------------------


@dataclass
class Cast:
    """The people and citizens the pages are measured for, chosen from the data so that any profile works."""

    professional: object
    coordinator: object
    manager: object
    citizen: object  # the busiest citizen of the professional's caseload: the patient page's worst case
    caseload: int
    save_citizens: list = field(default_factory=list)  # where the measured encounter saves go


def caseloads():
    """Professionals with their number of active citizens, busiest first."""
    from django.db.models import Count, Q

    from healthcenter.models import Role, User

    return (
        User.objects.filter(role=Role.PROFESSIONAL, is_active=True)
        .annotate(caseload=Count("responsible_for", filter=Q(responsible_for__status="active")))
        .filter(caseload__gt=0)
        .order_by("-caseload", "pk")
    )


def choose_cast() -> Cast:
    """The professional with the median caseload (a realistic one, not the largest), a coordinator of one of
    their teams (else any), a manager, and the professional's busiest citizen."""
    from django.db.models import Count

    from healthcenter.models import Role, User
    from patients.models import Patient

    professionals = list(caseloads())
    if not professionals:
        raise SystemExit("bench: no professional with citizens in this database; seed it first")
    professional = professionals[len(professionals) // 2]
    coordinators = User.objects.filter(role=Role.COORDINATOR, is_active=True).order_by("pk")
    coordinator = coordinators.filter(teams__in=professional.teams.all()).first() or coordinators.first()
    manager = User.objects.filter(role=Role.MANAGER, is_active=True).order_by("pk").first()
    if coordinator is None or manager is None:
        raise SystemExit("bench: the database needs a coordinator and a manager")
    mine = Patient.objects.filter(responsible_professional=professional, status="active")
    citizen = mine.annotate(n=Count("encounters")).order_by("-n", "pk").first()
    save_citizens = list(mine.exclude(pk=citizen.pk).order_by("pk")[:20]) or [citizen]
    return Cast(
        professional=professional,
        coordinator=coordinator,
        manager=manager,
        citizen=citizen,
        caseload=professional.caseload,
        save_citizens=save_citizens,
    )


def signed_in(user):
    """A test client signed in as the user, with the second factor verified for the roles that need it:
    what tests/conftest.py's client_for gives, without importing the tests."""
    import django_otp
    from django.http import HttpRequest
    from django.test import Client
    from django_otp.plugins.otp_static.models import StaticDevice

    from healthcenter.accounts.selectors import two_factor_required_by_role

    client = Client()
    client.force_login(user)
    if two_factor_required_by_role(user):
        device, _created = StaticDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
        request = HttpRequest()
        request.session = client.session
        request.user = user
        django_otp.login(request, device)
        request.session.save()
    return client


# --- the pages ------------------------------------------------------------------------------------------


@dataclass
class Page:
    key: str
    label: str
    who: str  # professional, coordinator or manager
    request: Callable  # client -> response
    status: int = 200


def encounter_form(now: datetime.datetime) -> dict:
    """The encounter form as a professional fills it in (tests/test_encounters.py): a signed
    conversation with measurements and two agreed actions, no tasks."""
    from django.utils import timezone

    started = timezone.localtime(now - datetime.timedelta(hours=2))
    return {
        "kind": "individual",
        "started_at": started.strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": "45",
        "what_matters": "At kunne passe mine børnebørn om onsdagen.",
        "note": "Gennemgang af blodsukker. Borger spiser mindre sukker.",
        "agreed_actions": "Gåtur hver dag\n\nRinge om 4 uger\n",
        "action-0-text": "Gåtur hver dag",
        "action-2-text": "Ringe om 4 uger",
        "m_hba1c": "58",
        "m_weight": "84.5",
        "m_foot_exam": "normal",
        "sign": "1",
    }


def saver(cast: Cast) -> Callable:
    """Posts the encounter form for the professional's citizens in turn."""
    from django.urls import reverse
    from django.utils import timezone

    turn = iter(range(10**9))

    def request(client):
        citizen = cast.save_citizens[next(turn) % len(cast.save_citizens)]
        url = reverse("coordination:encounter_create", args=[citizen.public_id])
        return client.post(url, encounter_form(timezone.now()), secure=True)

    return request


def pages(cast: Cast) -> list[Page]:
    from django.urls import reverse

    citizen = cast.citizen
    list_url = reverse("patients:list")

    def get(url, **params):
        return lambda client: client.get(url, params, secure=True)

    def htmx(url):
        return lambda client: client.get(url, headers={"HX-Request": "true"}, secure=True)

    def search(term):
        return lambda client: client.post(list_url, {"term": term}, headers={"HX-Request": "true"}, secure=True)

    worklist = reverse("coordination:worklist")
    return [
        Page("worklist_mine", "worklist, my citizens", "professional", get(worklist)),
        Page("worklist_team", "worklist, my teams", "professional", get(worklist, scope="team")),
        Page("my_tasks", "my tasks", "professional", get(reverse("coordination:my_tasks"))),
        Page("board", "team board", "professional", get(reverse("coordination:board"))),
        Page("board_coordinator", "team board (coordinator)", "coordinator", get(reverse("coordination:board"))),
        Page("workload", "workload (coordinator)", "coordinator", get(reverse("coordination:workload"))),
        Page("patient_list", "patient list", "professional", get(list_url)),
        Page("search_name", "search by name (htmx)", "professional", search(citizen.last_name[:4].lower())),
        Page("search_cpr", "search by CPR prefix (htmx)", "professional", search(citizen.cpr[:6])),
        Page(
            "patient_page",
            "patient page (busiest citizen of the caseload)",
            "professional",
            get(reverse("patients:detail", args=[citizen.public_id])),
        ),
        Page(
            "patient_panel",
            "coordination panel on the patient page (htmx)",
            "professional",
            htmx(reverse("coordination:patient_panel", args=[citizen.public_id])),
        ),
        Page(
            "briefing",
            "briefing (same citizen)",
            "professional",
            get(reverse("coordination:briefing", args=[citizen.public_id])),
        ),
        Page(
            "news_badge", "news badge (htmx, on every page)", "professional", htmx(reverse("coordination:news_badge"))
        ),
        Page("dashboard", "quality dashboard (manager)", "manager", get(reverse("reporting:overview"))),
        Page("export_csv", "export CSV (manager)", "manager", get(reverse("reporting:export", args=["csv"]))),
        Page("export_xlsx", "export XLSX (manager)", "manager", get(reverse("reporting:export", args=["xlsx"]))),
        Page("encounter_save", "encounter save (POST, signed)", "professional", saver(cast), status=302),
    ]


class PageError(RuntimeError):
    """A page answered something other than what it should: the benchmark stops."""


def checked(page: Page, client):
    response = page.request(client)
    if response.status_code != page.status:
        location = response.get("Location", "")
        raise PageError(f"{page.label}: HTTP {response.status_code} instead of {page.status} {location}".strip())
    return response


def measure_page(page: Page, client, *, repeat: int, seconds: float) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    checked(page, client)  # warm-up: connection, templates, caches
    with CaptureQueriesContext(connection) as queries:
        checked(page, client)
    query_count = len(queries)  # read now: later requests reset the connection's query log
    samples = []
    deadline = time.perf_counter() + seconds
    while len(samples) < repeat and (len(samples) < min(MIN_SAMPLES, repeat) or time.perf_counter() < deadline):
        started = time.perf_counter()
        checked(page, client)
        samples.append((time.perf_counter() - started) * 1000)
    return {"label": page.label, "who": page.who, "queries": query_count, **summary(samples)}


def describe(cast: Cast) -> dict:
    from coordination.models import Task
    from patients.models import Encounter, Measurement, Patient

    return {
        "citizens": Patient.objects.count(),
        "encounters": Encounter.objects.count(),
        "measurements": Measurement.objects.count(),
        "tasks": Task.objects.count(),
        "professional": cast.professional.username,
        "caseload": cast.caseload,
        "coordinator": cast.coordinator.username,
        "manager": cast.manager.username,
        "citizen_encounters": cast.citizen.encounters.count(),
    }


def single_user(*, repeat: int = REPEAT, seconds: float = PAGE_SECONDS, only: set[str] | None = None) -> dict:
    """Every page, one request at a time, as its user."""
    cast = choose_cast()
    clients = {
        "professional": signed_in(cast.professional),
        "coordinator": signed_in(cast.coordinator),
        "manager": signed_in(cast.manager),
    }
    results = {}
    for page in pages(cast):
        if only and page.key not in only:
            continue
        results[page.key] = measure_page(page, clients[page.who], repeat=repeat, seconds=seconds)
        print(f"  {page.label:<48} p95 {results[page.key]['p95']:8.1f} ms", file=sys.stderr, flush=True)
    return {"data": describe(cast), "pages": results}


# --- the page against its raw SQL ------------------------------------------------------------------------


def psycopg_connection():
    """A plain psycopg connection to the same database as Django's, without the ORM."""
    import psycopg
    from django.db import connection

    return psycopg.connect(**connection.get_connection_params())


def replay(statements: list[str], *, repeat: int, seconds: float) -> list[float]:
    """Runs the page's statements in order, fetching every row, in one transaction that is rolled back
    (the page's own writes, such as its access-log row, are part of its cost but must not pile up)."""
    samples = []
    with psycopg_connection() as conn:
        deadline = time.perf_counter() + seconds
        while len(samples) < repeat and (len(samples) < MIN_SAMPLES or time.perf_counter() < deadline):
            started = time.perf_counter()
            with conn.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql.encode())  # as Django sent it: parameters already bound client-side
                    if cursor.description is not None:
                        cursor.fetchall()
            samples.append((time.perf_counter() - started) * 1000)
            conn.rollback()
    return samples


def raw_sql(*, repeat: int = REPEAT, seconds: float = PAGE_SECONDS) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cast = choose_cast()
    clients = {"professional": signed_in(cast.professional), "manager": signed_in(cast.manager)}
    results = {}
    for page in pages(cast):
        if page.key not in {"patient_page", "dashboard"}:
            continue
        client = clients[page.who]
        page_figures = measure_page(page, client, repeat=repeat, seconds=seconds)
        with CaptureQueriesContext(connection) as captured:
            checked(page, client)
        statements = [query["sql"] for query in captured.captured_queries]
        sql = summary(replay(statements, repeat=repeat, seconds=seconds))
        results[page.key] = {
            "label": page.label,
            "page_p50": page_figures["p50"],
            "sql_p50": sql["p50"],
            "statements": len(statements),
            "ratio": round(page_figures["p50"] / sql["p50"], 2) if sql["p50"] else None,
        }
    return results


# --- the jobs ------------------------------------------------------------------------------------------


def timed_command(*args) -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command(*args, stdout=io.StringIO())
    return round(time.perf_counter() - started, 2)


def one_new_measurement(cast: Cast) -> None:
    """An HbA1c entered by hand for the professional's citizen, as the measurement form enters it."""
    from django.utils import timezone

    from patients.models import MeasurementType
    from patients.services import MeasurementInput, measurement_record

    measurement_record(
        actor=cast.professional,
        patient=cast.save_citizens[0],
        measurement=MeasurementInput(type=MeasurementType.objects.get(code="hba1c"), value=Decimal(61)),
        measured_at=timezone.now() - datetime.timedelta(minutes=5),
    )


def jobs() -> dict:
    cast = choose_cast()
    results = {"rollup_full": timed_command("compute_rollups", "--full")}
    results["rollup_incremental_unchanged"] = timed_command("compute_rollups")
    one_new_measurement(cast)
    results["rollup_incremental"] = timed_command("compute_rollups")
    # The first run takes up whatever changed since the last one (the new measurement, a previous run's
    # saves); the second finds nothing changed.
    results["care_gaps"] = timed_command("evaluate_care_gaps")
    results["care_gaps_unchanged"] = timed_command("evaluate_care_gaps")
    return results


def run_job(name: str) -> None:
    """One job in its own process, like the Celery worker runs it: says 'started' when Django is up."""
    from django.core.management import call_command

    command = {"caregaps": ["evaluate_care_gaps"], "rollup": ["compute_rollups", "--full"]}[name]
    print("started", flush=True)
    call_command(*command, stdout=io.StringIO())
    print("done", flush=True)


def saves_under_jobs(*, pause: float = 0.25, minimum: int = 40, rounds: int = 5) -> dict:
    """Encounter saves, one every `pause` seconds, while the care-gap job and a full rollup run in
    processes of their own, as the worker runs them; each save is counted under the jobs running when it
    started. Jobs that finish before `minimum` saves are run again, at most `rounds` times."""
    cast = choose_cast()
    client = signed_in(cast.professional)
    page = next(p for p in pages(cast) if p.key == "encounter_save")
    checked(page, client)  # warm-up
    seconds = {"caregaps": [], "rollup": []}
    during = {"caregaps": [], "rollup": [], "any": []}
    for _round in range(rounds):
        save_while_jobs_run(page, client, pause=pause, seconds=seconds, during=during)
        if len(during["any"]) >= minimum:
            break
    return {
        "job_seconds": {name: max(took) for name, took in seconds.items() if took},
        "rounds": len(seconds["rollup"]),
        "saves": {name: summary(samples) for name, samples in during.items() if samples},
    }


def save_while_jobs_run(page: Page, client, *, pause: float, seconds: dict, during: dict) -> None:
    jobs_running = {
        name: subprocess.Popen(  # noqa: S603  # our own script
            [sys.executable, str(Path(__file__).resolve()), "job", name],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for name in ("caregaps", "rollup")
    }
    # Django starting up is not part of the job: saves begin when both say they have started.
    for process in jobs_running.values():
        if process.stdout.readline().strip() != "started":
            raise PageError("a job did not start")
    started = time.perf_counter()
    finished = set()
    while True:
        for name, process in jobs_running.items():
            if name not in finished and process.poll() is not None:
                finished.add(name)
                seconds[name].append(round(time.perf_counter() - started, 1))
                if process.returncode != 0:
                    raise PageError(f"the {name} job failed (exit {process.returncode})")
        running = set(jobs_running) - finished
        if not running:
            return
        before = time.perf_counter()
        checked(page, client)
        took = (time.perf_counter() - before) * 1000
        during["any"].append(took)
        for name in running:
            during[name].append(took)
        time.sleep(max(0.0, pause - took / 1000))


# --- sessions for the load test ----------------------------------------------------------------------------


def session_cookies(user) -> dict:
    from django.middleware.csrf import _get_new_csrf_string

    client = signed_in(user)
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": _get_new_csrf_string()}


def load_sessions(path: Path, *, professionals: int = 40, coordinators: int = 8, managers: int = 3) -> dict:
    """Signed-in sessions for distinct people, with each professional's own citizens and search terms,
    written to `path` for bench/locustfile.py."""
    from healthcenter.models import Role, User
    from patients.models import Patient

    people = {"professional": [], "coordinator": [], "manager": []}
    for user in caseloads()[:professionals]:
        citizens = list(Patient.objects.filter(responsible_professional=user, status="active").order_by("pk")[:20])
        people["professional"].append(
            {
                **session_cookies(user),
                "citizens": [str(c.public_id) for c in citizens],
                "names": sorted({c.last_name[:4].lower() for c in citizens}),
                "cprs": [c.cpr[:6] for c in citizens],
            }
        )
    for role, count in ((Role.COORDINATOR, coordinators), (Role.MANAGER, managers)):
        for user in User.objects.filter(role=role, is_active=True).order_by("pk")[:count]:
            team_citizens = Patient.objects.filter(team__in=user.teams.all(), status="active").order_by("pk")[:20]
            people[role].append({**session_cookies(user), "citizens": [str(c.public_id) for c in team_citizens]})
    path.write_text(json.dumps(people))
    return {role: len(found) for role, found in people.items()}


def main(argv: list[str]) -> int:
    setup_django()
    verb = argv[0] if argv else ""
    if verb == "job":
        run_job(argv[1])
        return 0
    if verb == "pages":
        result = single_user()
    elif verb == "raw-sql":
        result = raw_sql()
    elif verb == "jobs":
        result = jobs()
    elif verb == "saves-under-jobs":
        result = saves_under_jobs()
    elif verb == "sessions":
        result = load_sessions(Path(argv[1]))
    else:
        print(__doc__)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
