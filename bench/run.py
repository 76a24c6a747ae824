"""`make bench`: the demo and the largest profile measured side by side, every figure beside its reference
(the demo) and its target from issue 11, printed as a table and written to bench/RESULTS.md.

    make bench                                   # embedded PostgreSQL, or the server in DATABASE_URL
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/healthcenter make bench
    BENCH_QUICK=1 make bench                     # a few minutes: fewer repeats, short load runs, small "large"

Two databases on the server of DATABASE_URL, named after its database: <name>_demo (`seed_demo`) and
<name>_large (`seed_demo $BENCH_LARGE_ARGS`; <name>_large_quick with BENCH_QUICK). A database that exists
and carries the bench's marker (its COMMENT: profile, seed arguments, when it was seeded and how long that
took) is migrated and reused; one whose marker names other seed arguments is dropped and seeded again, and so
is every one with BENCH_RESEED=1.
A database with citizens but no marker (a copy made with createdb -T) is used only with BENCH_ADOPT=1, its
seed time then unknown, and is never dropped but with BENCH_RESEED=1.

Steps per profile (BENCH_STEPS, default all): jobs (full rollup, incremental after one new measurement,
care-gap job), pages (single-user p50/p95 and queries, bench/harness.py), rawsql (patient page and dashboard
against their SQL replayed with psycopg), load (50 locust users against gunicorn: throughput without think
time, percentiles with think time), saves (encounter saves while the care-gap job and a full rollup run).

Figures only: a missed target is reported, never an error. A page that errors stops the run (exit 1).

Settings (environment): BENCH_QUICK, BENCH_PROFILES (demo,large), BENCH_STEPS, BENCH_LARGE_ARGS,
BENCH_DEMO_ARGS, BENCH_DEMO_DATABASE, BENCH_LARGE_DATABASE, BENCH_RESEED, BENCH_ADOPT, BENCH_REPEAT,
BENCH_PAGE_SECONDS, BENCH_USERS (50), BENCH_THINK (1-5), BENCH_THROUGHPUT_SECONDS, BENCH_THINK_SECONDS,
BENCH_GUNICORN_WORKERS (2), BENCH_GUNICORN_WORKER_CLASS (gthread), BENCH_GUNICORN_THREADS (4),
BENCH_PORT (8765), BENCH_RESULTS (bench/RESULTS.md); the laboratory import (bench/lab_import.py): BENCH_LAB (on),
BENCH_LAB_ROWS (1,000,000; 100,000 quick), BENCH_LAB_DATABASE (<name>_lab)."""

import contextlib
import csv
import datetime
import http.client
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import summary  # the same percentiles as the single-user figures

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HARNESS = ROOT / "bench" / "harness.py"
QUICK = os.environ.get("BENCH_QUICK", "") not in {"", "0", "false"}


def setting(name: str, full: str, quick: str) -> str:
    return os.environ.get(name, quick if QUICK else full)


PROFILES = setting("BENCH_PROFILES", "demo,large", "demo,large").split(",")
STEPS = setting("BENCH_STEPS", "jobs,pages,rawsql,load,saves", "jobs,pages,rawsql,load,saves").split(",")
SEED_ARGS = {
    "demo": setting("BENCH_DEMO_ARGS", "", ""),
    # Quick: the large profile's shape (15 teams, bulk load), 5 times the demo's citizens: seeded in a minute or two.
    "large": setting("BENCH_LARGE_ARGS", "--profile large", "--profile large --citizens 2500"),
}
USERS = int(setting("BENCH_USERS", "50", "50"))
THINK = setting("BENCH_THINK", "1-5", "1-5")
THROUGHPUT_SECONDS = int(setting("BENCH_THROUGHPUT_SECONDS", "60", "15"))
THINK_SECONDS = int(setting("BENCH_THINK_SECONDS", "90", "20"))
PORT = int(os.environ.get("BENCH_PORT", "8765"))
WORKERS = os.environ.get("BENCH_GUNICORN_WORKERS", "2")
WORKER_CLASS = os.environ.get("BENCH_GUNICORN_WORKER_CLASS", "gthread")
THREADS = os.environ.get("BENCH_GUNICORN_THREADS", "4")
RESULTS = Path(os.environ.get("BENCH_RESULTS", str(ROOT / "bench" / "RESULTS.md")))
MARKER_KEY = "healthcenter-bench"

# The targets at the largest profile.
PAGE_P95_MS = 150
PAGE_RATIO = 1.3
LOAD_P95_MS = 300
THROUGHPUT_RPS = 120
SAVE_UNDER_JOBS_P95_MS = 200
PATIENT_PAGE_SQL_RATIO = 3
FULL_ROLLUP_S = 60
INCREMENTAL_ROLLUP_S = 5
CARE_GAPS_S = 10
SEED_S = 15 * 60


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    pass


# --- databases ----------------------------------------------------------------------------------------------


def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise BenchError("DATABASE_URL is not set: run through `make bench` (python -m healthcenter.runtime run ...)")
    return url


def database_name(profile: str) -> str:
    """<name>_demo and <name>_large; the quick run's smaller large profile has a database of its own, so that
    a quick run and a full one do not seed each other's away."""
    base = conninfo_to_dict(server_url()).get("dbname") or "healthcenter"
    suffix = f"{profile}_quick" if QUICK and profile == "large" else profile
    return os.environ.get(f"BENCH_{profile.upper()}_DATABASE", f"{base}_{suffix}")


def database_url(name: str) -> str:
    """DATABASE_URL with the database's name in place of its own (Django's settings read a URL)."""
    return urlunsplit(urlsplit(server_url())._replace(path=f"/{quote(name)}"))


def maintenance():
    return psycopg.connect(make_conninfo(server_url(), dbname="postgres"), autocommit=True)


def marker_of(name: str) -> dict | None:
    """The bench's marker in the database's comment, or None; raises LookupError when there is no such database."""
    with maintenance() as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
    if row is None:
        raise LookupError(name)
    with contextlib.suppress(TypeError, ValueError):
        marker = json.loads(row[0])
        if isinstance(marker, dict) and marker.get(MARKER_KEY):
            return marker
    return None


def write_marker(name: str, marker: dict) -> None:
    with maintenance() as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(json.dumps({MARKER_KEY: True, **marker}))
            )
        )


def citizens_in(name: str) -> int:
    with psycopg.connect(database_url(name)) as conn:
        if conn.execute("SELECT to_regclass('patients_patient')").fetchone()[0] is None:
            return 0
        return conn.execute("SELECT count(*) FROM patients_patient").fetchone()[0]


def create_database(name: str, *, drop: bool) -> None:
    with maintenance() as conn:
        if drop:
            say(f"dropping {name} to seed it again")
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def child_env(name: str) -> dict:
    """Production-like settings for the processes that serve and measure: DEBUG off, one database role (the
    owner: the runtime role's privileges cost nothing measurable), the proxy's X-Forwarded-Proto trusted."""
    env = {key: value for key, value in os.environ.items() if key not in {"RUNTIME_DATABASE_URL", "DATABASE_OWNER_URL"}}
    env.update(
        DATABASE_URL=database_url(name),
        DEBUG="false",
        SECRET_KEY=os.environ.get("BENCH_SECRET_KEY", "bench-only-secret-key-0123456789-0123456789-0123456789"),
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        CENTRE_PHONE=os.environ.get("CENTRE_PHONE", "70 20 30 40"),
        TRUST_X_FORWARDED_PROTO="true",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(name: str, *args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=child_env(name), cwd=ROOT, check=True)  # noqa: S603


def ensure_profile(profile: str) -> dict:
    """The profile's database, migrated and seeded; returns its marker (seed time, seed arguments)."""
    name = database_name(profile)
    args = SEED_ARGS[profile]
    reseed = os.environ.get("BENCH_RESEED", "") not in {"", "0"}
    try:
        marker = marker_of(name)
    except LookupError:
        create_database(name, drop=False)
        marker = None
    else:
        if marker is not None and marker.get("adopted") and not reseed and marker.get("seed_args") != args:
            raise BenchError(
                f"{name} was adopted as seeded with {marker.get('seed_args')!r}, not {args!r}: the bench drops only "
                f"databases it seeded itself (BENCH_RESEED=1 does it anyway)"
            )
        if marker is not None and (reseed or marker.get("seed_args") != args):
            create_database(name, drop=True)
            marker = None
        elif marker is None and citizens_in(name):
            if os.environ.get("BENCH_ADOPT", "") in {"", "0"}:
                raise BenchError(
                    f"{name} has citizens but no bench marker: BENCH_ADOPT=1 uses it as the {profile} profile "
                    f"(seed time unknown), BENCH_RESEED=1 drops and seeds it again"
                )
            marker = {"profile": profile, "seed_args": args, "adopted": True, "seed_seconds": None}
            marker["seeded_at"] = None
            manage(name, "migrate", "--no-input", "-v", "0")
            write_marker(name, marker)
    say(f"{profile}: database {name}")
    manage(name, "migrate", "--no-input", "-v", "0")
    if marker is None:
        if citizens_in(name):
            raise BenchError(f"{name} holds citizens from an unfinished seed: run again with BENCH_RESEED=1")
        say(f"{profile}: seeding (seed_demo {args})")
        started = time.perf_counter()
        manage(name, "seed_demo", *shlex.split(args))
        seconds = round(time.perf_counter() - started, 1)
        marker = {
            "profile": profile,
            "seed_args": args,
            "seeded_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "seed_seconds": seconds,
            "commit": git_commit(),
        }
        write_marker(name, marker)
        say(f"{profile}: seeded in {seconds:.0f} s")
    else:
        seeded = marker.get("seeded_at") or "elsewhere"
        say(f"{profile}: reusing (seeded {seeded}, seed_demo {marker.get('seed_args')!r})")
    return {**marker, "database": name}


# --- the steps ----------------------------------------------------------------------------------------------


def harness(name: str, *args: str, env: dict | None = None) -> dict:
    """Runs bench/harness.py on the database and returns the JSON of its last line."""
    result = subprocess.run(  # noqa: S603
        [PYTHON, str(HARNESS), *args],
        env={**child_env(name), **(env or {})},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"bench/harness.py {' '.join(args)} failed on {name} (exit {result.returncode})")
    return json.loads(result.stdout.strip().splitlines()[-1])


def harness_env() -> dict:
    return {
        "BENCH_REPEAT": setting("BENCH_REPEAT", "30", "5"),
        "BENCH_PAGE_SECONDS": setting("BENCH_PAGE_SECONDS", "20", "3"),
    }


@contextlib.contextmanager
def gunicorn(name: str):
    """gunicorn as production runs it (healthcenter.wsgi), on the loopback address only."""
    command = [
        PYTHON, "-m", "gunicorn", "healthcenter.wsgi",
        "--bind", f"127.0.0.1:{PORT}",
        "--workers", WORKERS,
        "--worker-class", WORKER_CLASS,
        "--threads", THREADS,
        "--timeout", "120",
        # Behind the centre's proxy, which keeps its connections to gunicorn open (gunicorn's advice for
        # a server behind a load balancer); the default 2 s closes them between one person's requests.
        "--keep-alive", "30",
        "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=child_env(name), cwd=ROOT)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise BenchError(f"gunicorn stopped at start (exit {server.returncode})")
            try:
                probe = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
                probe.request("GET", "/accounts/login/", headers={"X-Forwarded-Proto": "https"})
                answered = probe.getresponse().status
                probe.close()
                if answered == 200:
                    break
                raise BenchError(f"gunicorn answered the sign-in page with HTTP {answered}")
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError("gunicorn did not answer within a minute") from None
                time.sleep(0.5)
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def port_free() -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", PORT)) != 0


def locust(name: str, sessions: Path, *, think: str, seconds: int, prefix: Path) -> dict:
    """One headless locust run of USERS users; statistics are reset once they have all started."""
    command = [
        PYTHON, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
        "--headless", "--only-summary", "--reset-stats",
        "--users", str(USERS), "--spawn-rate", str(max(1, USERS // 5)),
        "--run-time", f"{seconds + 5}s", "--stop-timeout", "10",
        "--host", f"http://127.0.0.1:{PORT}",
        "--csv", str(prefix),
        "--loglevel", "WARNING",
    ]  # fmt: skip
    samples_file = Path(f"{prefix}_samples.json")
    env = {**child_env(name), "BENCH_SESSIONS": str(sessions), "BENCH_THINK": think, "BENCH_SAMPLES": str(samples_file)}
    log = Path(f"{prefix}.log")
    with log.open("w") as output:
        completed = subprocess.run(command, env=env, cwd=ROOT, check=False, stdout=output, stderr=output)  # noqa: S603
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv", encoding="utf-8")))  # noqa: SIM115
    failures = list(csv.DictReader(open(f"{prefix}_failures.csv", encoding="utf-8")))  # noqa: SIM115
    if failures or completed.returncode not in {0}:
        detail = "; ".join(f"{f['Name']}: {f['Error']} ({f['Occurrences']}x)" for f in failures[:10])
        kept = ROOT / ".local" / f"bench-{prefix.name}-locust.log"
        kept.parent.mkdir(exist_ok=True)
        kept.write_text(log.read_text())
        say(f"locust's output: {kept}")
        raise BenchError(f"the load test had failures (locust exit {completed.returncode}): {detail}")
    samples = json.loads(samples_file.read_text())
    rates = {row["Name"]: round(float(row["Requests/s"]), 1) for row in rows}
    pages = {name: {**summary(times), "rps": rates.get(name, 0.0)} for name, times in samples.items() if times}
    reads = [took for name, times in samples.items() if not is_write(name) for took in times]
    everything = [took for times in samples.values() for took in times]
    pages["all"] = {**summary(everything), "rps": rates["Aggregated"]}
    writes_rps = sum(rate for name, rate in rates.items() if is_write(name))
    pages["reads"] = {**summary(reads), "rps": round(rates["Aggregated"] - writes_rps, 1)}
    return pages


def is_write(name: str) -> bool:
    return name.startswith("encounter save")


def load_test(name: str) -> dict:
    if not port_free():
        raise BenchError(f"port {PORT} is taken: set BENCH_PORT")
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        sessions = Path(folder) / "sessions.json"
        people = harness(name, "sessions", str(sessions))
        say(f"  load: {people} signed in; gunicorn {WORKERS} x {WORKER_CLASS} ({THREADS} threads)")
        with gunicorn(name):
            throughput = locust(name, sessions, think="0", seconds=THROUGHPUT_SECONDS, prefix=Path(folder) / "t")
            say(f"  load: {throughput['all']['rps']} req/s without think time")
            thinking = locust(name, sessions, think=THINK, seconds=THINK_SECONDS, prefix=Path(folder) / "w")
            say(f"  load: reads p95 {thinking['reads']['p95']} ms with think time {THINK} s")
    return {"throughput": throughput, "think": thinking}


def measure_profile(profile: str, marker: dict) -> dict:
    name = marker["database"]
    figures = {"marker": marker, "load_before": load_average()}
    if "jobs" in STEPS:
        say(f"{profile}: jobs (full rollup, incremental, care gaps)")
        figures["jobs"] = harness(name, "jobs")
    if "pages" in STEPS:
        say(f"{profile}: single-user pages")
        figures["single"] = harness(name, "pages", env=harness_env())
    if "rawsql" in STEPS:
        say(f"{profile}: pages against their raw SQL")
        figures["rawsql"] = harness(name, "raw-sql", env=harness_env())
    if "load" in STEPS:
        say(f"{profile}: {USERS} users against gunicorn")
        figures["load"] = load_test(name)
    if "saves" in STEPS:
        say(f"{profile}: encounter saves while the care-gap job and a full rollup run")
        figures["saves"] = harness(name, "saves-under-jobs")
    figures["load_after"] = load_average()
    return figures


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages: on 2 cores, much above 2 means the figures shared them."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- the machine ---------------------------------------------------------------------------------------------


def git_commit() -> str:
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603, S607

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    with maintenance() as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = {
            key: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(key))).fetchone()[0]
            for key in ("shared_buffers", "work_mem", "jit", "max_connections")
        }
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "load": load_average(),
        "postgresql": version,
        "postgresql_settings": settings,
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
    }


# --- the report ----------------------------------------------------------------------------------------------


def verdict(value, target, *, at_most=True, unit="") -> str:
    if value is None:
        return "not measured"
    met = value <= target if at_most else value >= target
    if met:
        return "met"
    gap = value - target if at_most else target - value
    if not unit:  # a ratio: its own value says more than a difference of ratios
        return f"**missed** ({value:,.2f}, target {target})"
    return f"**missed** by {gap:,.1f}{unit}" + (f" ({value / target:.1f}x the target)" if at_most else "")


def number(value, digits=1) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def dig(figures: dict, *path):
    for key in path:
        if not isinstance(figures, dict) or key not in figures:
            return None
        figures = figures[key]
    return figures


def report(run: dict) -> str:
    demo, large = run["profiles"].get("demo", {}), run["profiles"].get("large", {})
    m = run["machine"]
    lines = [
        "# Benchmark results (`make bench`)",
        "",
        "Written by bench/run.py; the figures are from one run on the machine below. Targets are issue 11's, at",
        "the largest profile; the demo figure beside each is its reference from the same run.",
        "",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM; load average at start {m['load']}",
        f"- PostgreSQL {m['postgresql']} ({', '.join(f'{k} {v}' for k, v in m['postgresql_settings'].items())}); "
        f"Python {m['python']}",
        f"- date {m['date']}, commit {m['commit']}, {'BENCH_QUICK (indicative only)' if QUICK else 'full run'}, "
        f"{run['minutes']:.1f} minutes after seeding",
    ]
    for profile, figures in run["profiles"].items():
        data, marker = dig(figures, "single", "data") or {}, figures["marker"]
        seeded = marker.get("seed_seconds")
        lines.append(
            f"- {profile}: database {marker['database']} (seed_demo {marker.get('seed_args') or '(default)'}; "
            f"seeded {marker.get('seeded_at') or 'elsewhere'}"
            + (f" in {seeded:,.0f} s" if seeded else "")
            + f"; load average {figures.get('load_before', '?')} before its steps, {figures.get('load_after', '?')} "
            + "after)"
            + (
                f"; {data['citizens']:,} citizens, {data['encounters']:,} encounters, "
                f"{data['measurements']:,} measurements, {data['tasks']:,} tasks; pages as {data['professional']} "
                f"(caseload {data['caseload']}; their busiest citizen has {data['citizen_encounters']} encounters), "
                f"{data['coordinator']}, {data['manager']}"
                if data
                else ""
            )
        )
    lines += [
        "",
        "## Single user (in process, Django test client, DEBUG off)",
        "",
        f"Target at the largest profile: p95 <= {PAGE_P95_MS} ms and large/demo <= {PAGE_RATIO}.",
        "",
        "| page | demo p50 / p95 ms | queries | large p50 / p95 ms | queries | large/demo p95 | p95 target "
        "| ratio target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    keys = list(dig(large, "single", "pages") or dig(demo, "single", "pages") or {})
    for key in keys:
        d, g = dig(demo, "single", "pages", key) or {}, dig(large, "single", "pages", key) or {}
        ratio = round(g["p95"] / d["p95"], 2) if d.get("p95") and g.get("p95") else None
        lines.append(
            f"| {(g or d)['label']} | {number(d.get('p50'))} / {number(d.get('p95'))} | {number(d.get('queries'))} "
            f"| {number(g.get('p50'))} / {number(g.get('p95'))} | {number(g.get('queries'))} | {number(ratio, 2)} "
            f"| {verdict(g.get('p95'), PAGE_P95_MS, unit=' ms')} | {verdict(ratio, PAGE_RATIO)} |"
        )
    lines += load_section(demo, large)
    lines += [
        "",
        "## Encounter save while the care-gap job and a full rollup run",
        "",
        "One save every 0.25 s, in process, while `evaluate_care_gaps` and `compute_rollups --full` run in",
        f"processes of their own; each save counted under the jobs running when it began. Target p95 <= "
        f"{SAVE_UNDER_JOBS_P95_MS} ms.",
        "",
        "| saves during | demo n / p50 / p95 / max ms | large n / p50 / p95 / max ms | target |",
        "| --- | --- | --- | --- |",
    ]
    for key, label in (("any", "either job"), ("caregaps", "the care-gap job"), ("rollup", "the full rollup")):
        d, g = dig(demo, "saves", "saves", key) or {}, dig(large, "saves", "saves", key) or {}
        target = verdict(g.get("p95"), SAVE_UNDER_JOBS_P95_MS, unit=" ms")
        lines.append(f"| {label} | {saves_cell(d)} | {saves_cell(g)} | {target} |")
    for profile, figures in (("demo", demo), ("large", large)):
        seconds = dig(figures, "saves", "job_seconds")
        if seconds:
            took = ", ".join(f"{job} {value} s" for job, value in seconds.items())
            rounds = dig(figures, "saves", "rounds")
            lines.append(f"\n{profile}: the jobs ran {rounds} time(s) side by side; the longest run took {took}.")
    lines += [
        "",
        "## Pages against the raw SQL of the same rows",
        "",
        "The page's statements, captured as Django sent them, replayed in order with psycopg (every row fetched,",
        "in a transaction rolled back). Page p50 / SQL p50.",
        "",
        "| page | demo page / SQL ms (x) | large page / SQL ms (x) | statements (large) | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key in ("patient_page", "dashboard"):
        d, g = dig(demo, "rawsql", key) or {}, dig(large, "rawsql", key) or {}
        target = verdict(g.get("ratio"), PATIENT_PAGE_SQL_RATIO) if key == "patient_page" else "(none)"
        label = (g or d).get("label", key)
        lines.append(f"| {label} | {sql_cell(d)} | {sql_cell(g)} | {number(g.get('statements'))} | {target} |")
    lines += [
        "",
        "## Jobs",
        "",
        "| job | demo s | large s | target |",
        "| --- | --- | --- | --- |",
    ]
    for key, label, target in (
        ("rollup_full", "full rollup (compute_rollups --full)", FULL_ROLLUP_S),
        ("rollup_incremental_unchanged", "incremental rollup, nothing changed", None),
        ("rollup_incremental", "incremental rollup after one new measurement", INCREMENTAL_ROLLUP_S),
        ("care_gaps", "care-gap job (evaluate_care_gaps)", CARE_GAPS_S),
        ("care_gaps_unchanged", "care-gap job again, nothing changed", None),
    ):
        d, g = dig(demo, "jobs", key), dig(large, "jobs", key)
        lines.append(
            f"| {label} | {number(d)} | {number(g)} | "
            f"{verdict(g, target, unit=' s') if target else '(none)'}{f' (<= {target} s)' if target else ''} |"
        )
    seed = dig(large, "marker", "seed_seconds")
    lines.append(
        f"| seed time of the largest profile (seed_demo {dig(large, 'marker', 'seed_args') or '-'}) "
        f"| {number(dig(demo, 'marker', 'seed_seconds'))} | {number(seed)} | "
        f"{verdict(seed, SEED_S, unit=' s') if seed else 'not measured (database seeded elsewhere)'} (<= {SEED_S} s) |"
    )
    lines += ["", "## How it was measured", "", *NOTES]
    return "\n".join(lines) + "\n"


def saves_cell(figures: dict) -> str:
    if not figures:
        return "-"
    return f"{figures['n']} / {number(figures['p50'])} / {number(figures['p95'])} / {number(figures['max'])}"


def sql_cell(figures: dict) -> str:
    if not figures:
        return "-"
    return f"{number(figures['page_p50'])} / {number(figures['sql_p50'])} ({number(figures['ratio'], 1)}x)"


def load_section(demo: dict, large: dict) -> list[str]:
    lines = [
        "",
        f"## {USERS} users against gunicorn ({WORKERS} workers, {WORKER_CLASS}, {THREADS} threads each)",
        "",
        f"locust headless, {USERS} users (professionals, coordinators, managers 40:7:3), each a different person",
        "signed in beforehand. Throughput: no think time, "
        f"{THROUGHPUT_SECONDS} s after all users started. Percentiles: think time {THINK} s, {THINK_SECONDS} s.",
        "",
        "| | demo | large | target |",
        "| --- | --- | --- | --- |",
    ]
    d_rps, g_rps = dig(demo, "load", "throughput", "all", "rps"), dig(large, "load", "throughput", "all", "rps")
    lines.append(
        f"| throughput, all requests, req/s | {number(d_rps)} | {number(g_rps)} | "
        f"{verdict(g_rps, THROUGHPUT_RPS, at_most=False, unit=' req/s')} (>= {THROUGHPUT_RPS}) |"
    )
    d_reads = dig(demo, "load", "throughput", "reads", "rps")
    g_reads = dig(large, "load", "throughput", "reads", "rps")
    lines.append(f"| throughput, reads only, req/s | {number(d_reads)} | {number(g_reads)} | |")
    for key, label in (("all", "all requests"), ("reads", "reads")):
        d, g = dig(demo, "load", "throughput", key) or {}, dig(large, "load", "throughput", key) or {}
        lines.append(f"| no think time: {label}, n / p50 / p95 / p99 ms | {load_cell(d)} | {load_cell(g)} | |")
    for key, label in (("all", "all requests"), ("reads", "reads")):
        d, g = dig(demo, "load", "think", key) or {}, dig(large, "load", "think", key) or {}
        target = f"{verdict(g.get('p95'), LOAD_P95_MS, unit=' ms')} (p95 <= {LOAD_P95_MS})" if key == "reads" else ""
        lines.append(
            f"| think time {THINK} s: {label}, n / p50 / p95 / p99 ms | {load_cell(d)} | {load_cell(g)} | {target} |"
        )
    lines += [
        "",
        f"With think time {THINK} s, per request. Target: reads p95 <= {LOAD_P95_MS} ms.",
        "",
        "| request | demo n / p50 / p95 / p99 ms | large n / p50 / p95 / p99 ms | p95 target |",
        "| --- | --- | --- | --- |",
    ]
    names = [n for n in (dig(large, "load", "think") or dig(demo, "load", "think") or {}) if n not in {"all", "reads"}]
    for name in sorted(names):
        d, g = dig(demo, "load", "think", name) or {}, dig(large, "load", "think", name) or {}
        target = "(write)" if is_write(name) else verdict(g.get("p95"), LOAD_P95_MS, unit=" ms")
        lines.append(f"| {name} | {load_cell(d)} | {load_cell(g)} | {target} |")
    return lines


def load_cell(figures: dict) -> str:
    if not figures:
        return "-"
    return f"{figures['n']} / {number(figures['p50'], 0)} / {number(figures['p95'], 0)} / {number(figures['p99'], 0)}"


NOTES = [
    "- Single user: bench/harness.py, Django's test client in one process (no network, no gunicorn), requests",
    "  marked secure as behind the centre's TLS proxy, DEBUG off, static files from collectstatic's manifest.",
    "  Each page is requested once to warm up, once to count its queries, then up to BENCH_REPEAT times or for",
    "  BENCH_PAGE_SECONDS, at least 5 times (full run: 30 times or 20 s; quick: 5 times or 3 s): a page slower",
    "  than the time allows has fewer samples and its p95 is the slowest of them. p95 is the nearest rank (locust",
    "  figures too, from every response time after all users started). The professional is the one with the median",
    "  caseload; the patient page and briefing show the busiest citizen of their caseload; the encounter save",
    "  posts the encounter form (signed, three measurements, two agreed actions) for their citizens in turn.",
    "- Load: gunicorn with 2 workers of the gthread class, 4 threads each (BENCH_GUNICORN_* to compare). Two",
    "  sync workers hold at most two requests at once: while one waits for PostgreSQL, its worker can start",
    "  nothing else, and every other user queues behind the slowest page (a dashboard or an export). Threads",
    "  overlap those waits with a bounded number of database connections (one per thread, 8 in all); more than",
    "  4 threads per worker only add GIL contention on 2 cores, since rendering is CPU-bound Python. gevent",
    "  (which psycopg 3 supports) would overlap the same waits but opens a connection per greenlet, unbounded",
    "  without a pool, and monkey-patches the Celery and Redis clients the outbox uses. Production's Dockerfile",
    "  runs 3 sync workers: the issue fixes 2 workers for this benchmark. locust (FastHttpUser) runs on the same",
    "  2 cores as gunicorn and PostgreSQL, so the throughput figure includes the load generator's own cost.",
    "- Think time 1-5 s (3 s mean) between one person's requests: a brisk pace for someone working through a",
    "  worklist or the board, where one click often costs two requests (a page and its htmx fragments, the news",
    "  badge polled every minute). 50 such users make about 15 requests a second, what perhaps 100-150 people",
    "  at a normal pace make: the busy hour of a large centre's 300 professionals. Without think time the 50",
    "  users measure how many requests the two workers can serve.",
    "- Sign-in is not measured: each simulated person gets a signed-in session (second factor verified for",
    "  managers) before the run, as tests/conftest.py does; Argon2 hashing at login is deliberately slow.",
    "- The encounter saves of the load test and of the save measurements stay in the bench databases; each run",
    "  adds a few hundred encounters, spread over the caseloads of the professionals used.",
    "- The machine's 2 cores may be shared with other work while the benchmark runs: see the load average above.",
]


def collect_static(name: str) -> None:
    """The manifest storage DEBUG=false serves from, as production's image builds it. Compressing plotly.js
    and the rest takes minutes on this machine, so a manifest newer than every static file is kept."""
    manifest = ROOT / "staticfiles" / "staticfiles.json"
    sources = [path for folder in ROOT.glob("*/static") for path in folder.rglob("*") if path.is_file()]
    sources += [path for path in (ROOT / "static").rglob("*") if path.is_file()]
    newest = max((path.stat().st_mtime for path in sources), default=0)
    if manifest.exists() and manifest.stat().st_mtime > newest and not os.environ.get("BENCH_COLLECTSTATIC"):
        say("static files: collected already (BENCH_COLLECTSTATIC=1 collects them again)")
        return
    say("static files: collectstatic")
    manage(name, "collectstatic", "--no-input", "-v", "0")


# --- the laboratory import (issue 12) ---------------------------------------------------------------------

LAB = os.environ.get("BENCH_LAB", "1") not in {"", "0", "false"}
LAB_ROWS = int(setting("BENCH_LAB_ROWS", "1000000", "100000"))


def lab_import_bench() -> dict:
    """bench/lab_import.py in a database of its own (<name>_lab, BENCH_LAB_DATABASE): a generated CSV file of
    LAB_ROWS rows, `psql \\copy` of it into a bare table, and the import of the same file, in one run."""
    base = conninfo_to_dict(server_url()).get("dbname") or "healthcenter"
    name = os.environ.get("BENCH_LAB_DATABASE", f"{base}_lab")
    with maintenance() as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            create_database(name, drop=False)
    manage(name, "migrate", "--no-input", "-v", "0")
    say(f"laboratory import: {LAB_ROWS} rows in {name}")
    done = subprocess.run(  # noqa: S603
        [PYTHON, str(ROOT / "bench" / "lab_import.py"), "--rows", str(LAB_ROWS)],
        env=child_env(name),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    sys.stderr.write(done.stderr)
    line = next(line for line in done.stdout.splitlines() if line.startswith("LAB_IMPORT_JSON "))
    return json.loads(line.removeprefix("LAB_IMPORT_JSON "))


def lab_section(figures: dict | None) -> str:
    if not figures:
        return ""
    first, again = figures["import_first"], figures["import_again"]
    return "\n".join(
        [
            "",
            "## Laboratory import (issue 12)",
            "",
            f"{figures['rows']} CSV rows (bench/lab_import.py); target: about a minute, within 3x of psql \\copy.",
            "",
            "| what | seconds | rows |",
            "| --- | --- | --- |",
            f"| psql \\copy into a bare table | {number(figures['psql_copy_s'])} | {figures['rows']} |",
            f"| the import | {number(figures['import_first_s'])} | "
            f"{first['loaded']} added, {first['rejected']} rejected |",
            f"| the same file again | {number(figures['import_again_s'])} | {again['loaded']} added, "
            f"{again['known']} already there |",
            f"| import / psql \\copy | {number(figures['ratio'])}x | |",
            "",
        ]
    )


def main() -> int:
    started_all = time.perf_counter()
    run = {"machine": machine(), "profiles": {}}
    say(f"{run['machine']['cpu']}, {run['machine']['cores']} cores, PostgreSQL {run['machine']['postgresql']}")
    markers = {profile: ensure_profile(profile) for profile in PROFILES}
    collect_static(markers[PROFILES[0]]["database"])
    started = time.perf_counter()
    try:
        for profile in PROFILES:
            run["profiles"][profile] = measure_profile(profile, markers[profile])
        if LAB:
            run["lab_import"] = lab_import_bench()
    finally:
        run["minutes"] = (time.perf_counter() - started) / 60
        text = report(run) + lab_section(run.get("lab_import"))
        if len(run["profiles"]) == len(PROFILES):
            RESULTS.write_text(text)
            say(f"wrote {RESULTS}")
        dump = ROOT / ".local" / "bench-results.json"
        dump.parent.mkdir(exist_ok=True)
        dump.write_text(json.dumps(run, indent=2, default=str))
    print(text)
    say(f"done in {(time.perf_counter() - started_all) / 60:.1f} minutes ({run['minutes']:.1f} after seeding)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, subprocess.CalledProcessError) as error:
        say(f"FAILED: {error}")
        sys.exit(1)
