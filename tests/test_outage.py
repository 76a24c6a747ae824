"""PostgreSQL restarted while the app runs. A real web process (gunicorn, DEBUG off, one worker
keeping its database connection) reaches the test database through a TCP proxy in this test; the
proxy's "restart" drops every connection and refuses new ones for a while. Meanwhile every request
gets the 503 page in the user's language, never a traceback; afterwards the same worker serves
pages again without being restarted. The machine's PostgreSQL is never touched."""

import http.client
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection
from django.urls import reverse

from healthcenter.backups import Database
from healthcenter.outage import server_error

from .conftest import client_for
from .factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.faults

DANISH_TITLE = "Systemet er midlertidigt utilgængeligt"
ENGLISH_TITLE = "The system is temporarily unavailable"
LEAKS = ("Traceback", "OperationalError", "psycopg", "File &quot;", 'File "', "Exception Value")


class RestartableProxy:
    """Relays TCP connections to PostgreSQL. `restart_begins` closes every relayed connection and
    from then on drops each new one as soon as it is accepted (a server that is down or still
    starting); `restart_ends` lets connections through again."""

    def __init__(self, upstream: tuple):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.down = threading.Event()
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.relays: list[threading.Thread] = []
        self.generation = 0
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _connect_upstream(self) -> socket.socket:
        host, port = self.upstream
        if host.startswith("/"):
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(f"{host}/.s.PGSQL.{port}")
            return server
        return socket.create_connection((host, port), timeout=5)

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _address = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.down.is_set():
                # Reset at once, as a port with nothing behind it would.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            with self.lock:
                self.accepted += 1
                relay = threading.Thread(target=self._relay, args=(client, self.generation), daemon=True)
                self.relays.append(relay)
            relay.start()
        self.listener.close()

    def _relay(self, client: socket.socket, generation: int) -> None:
        try:
            server = self._connect_upstream()
        except OSError:
            client.close()
            return
        client.settimeout(None)
        server.settimeout(None)
        peer = {client: server, server: client}
        try:
            while generation == self.generation and not self.stopping.is_set():
                readable, _, _ = select.select([client, server], [], [], 0.05)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peer[sock].sendall(data)
        except OSError:
            return
        finally:
            for sock in (client, server):
                sock.close()

    def restart_begins(self) -> None:
        with self.lock:
            self.down.set()
            self.generation += 1
            relays, self.relays = self.relays, []
        for relay in relays:
            relay.join(timeout=5)

    def restart_ends(self) -> None:
        self.down.clear()

    def stop(self) -> None:
        self.restart_begins()
        self.stopping.set()
        self.acceptor.join(timeout=5)


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def _database_url_through(proxy: RestartableProxy) -> str:
    db = Database.from_settings(connection.settings_dict)
    user = quote(db.user or "postgres", safe="")
    password = f":{quote(db.password, safe='')}" if db.password else ""
    return f"postgresql://{user}{password}@127.0.0.1:{proxy.port}/{quote(db.name, safe='')}"


class WebProcess:
    def __init__(self, *, database_url: str, log: Path):
        self.port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.outage_settings",
            "DATABASE_URL": database_url,
            "DEBUG": "false",
            "SECRET_KEY": settings.SECRET_KEY,  # the session this test signs in with must be readable
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "DB_CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING",
        }
        # One database, reached through the proxy only.
        for other in ("REPLICA_DATABASE_URL", "DATABASE_OWNER_URL", "RUNTIME_DATABASE_URL"):
            env.pop(other, None)
        self.log = log
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "healthcenter.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--timeout",
                "60",
                "--no-control-socket",
                "--chdir",
                str(ROOT),
            ],
            env=env,
            cwd=ROOT,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def wait_until_serving(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                self.request("GET", reverse("login"))
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"gunicorn did not start:\n{self.log.read_text()}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def request(self, method: str, path: str, *, cookies: dict | None = None, form: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": "127.0.0.1"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode(), response.headers
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def proxy():
    params = dict(Database.from_settings(connection.settings_dict).params)
    proxy = RestartableProxy((params.get("host", "/var/run/postgresql"), int(params.get("port", 5432))))
    yield proxy
    proxy.stop()


@pytest.fixture
def web(proxy, tmp_path):
    web = WebProcess(database_url=_database_url_through(proxy), log=tmp_path / "gunicorn.log")
    try:
        web.wait_until_serving()
        yield web
    finally:
        # Before the test database is flushed and dropped: the worker holds a connection to it.
        web.stop()


def _assert_is_the_outage_page(status, headers, body):
    assert status == 503, body
    assert headers["Retry-After"] == "30"
    assert "no-store" in headers["Cache-Control"]
    for leak in LEAKS:
        assert leak not in body, leak
    assert 'href="/static/css/app.css"' in body  # the site's own look, not a bare error


def _login_form(web) -> tuple[dict, dict]:
    status, _headers, body, raw = web.request("GET", reverse("login"))
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    cookie = re.search(r"csrftoken=([^;]+)", raw.get("Set-Cookie", "")).group(1)
    return {"csrftoken": cookie}, {"csrfmiddlewaretoken": token}


@pytest.mark.django_db(transaction=True)
def test_an_outage_gives_the_503_page_and_the_app_recovers_by_itself(proxy, web, team):
    member = UserFactory(username="outage-member", teams=[team])
    # Hashed as the web process (production settings, Argon2) checks it, not with the tests' fast hasher.
    argon2 = Argon2PasswordHasher()
    member.password = argon2.encode(PASSWORD, argon2.salt())
    member.save(update_fields=["password"])
    signed_in = {settings.SESSION_COOKIE_NAME: client_for(member).cookies[settings.SESSION_COOKIE_NAME].value}
    in_english = {**signed_in, settings.LANGUAGE_COOKIE_NAME: "en"}
    page = reverse("coordination:my_tasks")
    csrf_cookies, csrf_form = _login_form(web)

    status, _headers, body, _raw = web.request("GET", page, cookies=signed_in)
    assert status == 200, body
    workers = web.worker_pids()
    connections_before = proxy.accepted
    assert connections_before >= 1

    proxy.restart_begins()
    try:
        # Signed in: pghistory's middleware reads the user before the view, so the 500 handler answers.
        status, headers, body, _raw = web.request("GET", page, cookies=signed_in)
        _assert_is_the_outage_page(status, headers, body)
        assert DANISH_TITLE in body
        assert 'lang="da"' in body

        status, headers, body, _raw = web.request("GET", page, cookies=in_english)
        _assert_is_the_outage_page(status, headers, body)
        assert ENGLISH_TITLE in body
        assert DANISH_TITLE not in body
        assert 'lang="en"' in body

        # Logging in needs the database in the view itself: the middleware answers, and says what
        # a person who was saving something should check.
        status, headers, body, _raw = web.request(
            "POST",
            reverse("login"),
            cookies=csrf_cookies,
            form={**csrf_form, "username": "outage-member", "password": PASSWORD},
        )
        _assert_is_the_outage_page(status, headers, body)
        assert DANISH_TITLE in body
        assert "måske ikke blevet gemt" in body
    finally:
        proxy.restart_ends()

    status, _headers, body, _raw = web.request("GET", page, cookies=signed_in)
    assert status == 200, body
    status, _headers, body, _raw = web.request("GET", page, cookies=in_english)
    assert status == 200, body
    status, headers, _body, _raw = web.request(
        "POST",
        reverse("login"),
        cookies=csrf_cookies,
        form={**csrf_form, "username": "outage-member", "password": PASSWORD},
    )
    assert status == 302, _body
    # The same worker, on a new connection that it then keeps: nobody restarted anything.
    assert web.worker_pids() == workers
    assert web.process.poll() is None
    assert proxy.accepted == connections_before + 1
    log = web.log.read_text()
    assert "Database unavailable during GET" in log
    assert "Database unavailable during POST" in log


def test_any_other_error_keeps_the_plain_500_page(rf):
    try:
        raise ValueError("not the database")
    except ValueError:
        response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert DANISH_TITLE not in response.content.decode()
