"""The runtime that `make demo` and `make run` go through (healthcenter/runtime.py): on a fresh clone
against a server of one's own it creates the database and .local/, and it hands the owner to the
migrations and the runtime role to the web server, the worker and beat."""

import stat
from urllib.parse import urlsplit

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from healthcenter import runtime

from .test_dbroles import database_url


@pytest.fixture
def fresh_database_url():
    """A URL of a database the server does not have, dropped again afterwards."""
    owner = connection.settings_dict
    name = f"{owner['NAME'][:50]}_fresh"
    url = database_url(owner["USER"], owner["PASSWORD"] or "").replace(f"/{owner['NAME']}", f"/{name}", 1)
    maintenance = url.replace(f"/{name}", "/postgres", 1)
    with psycopg.connect(maintenance, autocommit=True) as server:
        server.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    yield url
    with psycopg.connect(maintenance, autocommit=True) as server:
        server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def fresh_clone(tmp_path, monkeypatch):
    """A checkout without .local/."""
    local = tmp_path / ".local"
    monkeypatch.setattr(runtime, "LOCAL", local)
    return local


def database_exists(url: str) -> bool:
    try:
        with psycopg.connect(url):
            return True
    except psycopg.OperationalError:
        return False


def test_it_creates_the_database_and_local_folder_a_fresh_clone_lacks(fresh_clone, fresh_database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    assert not database_exists(fresh_database_url)
    assert not fresh_clone.exists()

    with runtime.services(database_name="healthcenter") as env:
        assert env["DATABASE_URL"] == fresh_database_url
        assert database_exists(fresh_database_url)
        assert fresh_clone.is_dir()  # where Celery beat keeps its schedule


def test_creating_a_database_that_exists_changes_nothing(fresh_database_url):
    runtime.ensure_database(fresh_database_url)
    runtime.ensure_database(fresh_database_url)

    assert database_exists(fresh_database_url)


@pytest.mark.parametrize(
    ("owner", "runtime_url"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/hc_fresh_demo",
            "postgresql://hc_fresh_demo_app:pw@127.0.0.1:5432/hc_fresh_demo",
        ),
        (
            "postgresql://owner:secret@db.example.dk/healthcenter?sslmode=require",
            "postgresql://healthcenter_app:pw@db.example.dk/healthcenter?sslmode=require",
        ),
        # The embedded server, on a socket.
        (
            "postgresql://postgres:@/healthcenter?host=/work/.local/postgres",
            "postgresql://healthcenter_app:pw@/healthcenter?host=/work/.local/postgres",
        ),
    ],
)
def test_the_runtime_role_is_the_databases_app_role_on_the_owners_server(owner, runtime_url):
    assert runtime.runtime_database_url(owner, password="pw") == runtime_url


def test_the_owner_migrates_and_the_runtime_role_serves(fresh_clone):
    fresh_clone.mkdir()
    env = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/hc", "DATABASE_OWNER_URL": "stale", "PATH": "/bin"}

    owner, app, worker = runtime.role_environments(env)

    runtime_url = owner["RUNTIME_DATABASE_URL"]
    assert urlsplit(runtime_url).username == "hc_app"
    assert owner["DATABASE_URL"] == "postgresql://postgres@127.0.0.1:5432/hc"
    assert "DATABASE_OWNER_URL" not in owner
    assert app == {"DATABASE_URL": runtime_url, "PATH": "/bin"}
    # The worker runs the access log's retention job as the owner.
    assert worker == {**app, "DATABASE_OWNER_URL": "postgresql://postgres@127.0.0.1:5432/hc"}


def test_the_runtime_roles_password_is_made_once_and_kept_private(fresh_clone):
    fresh_clone.mkdir()
    env = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/hc"}

    first = runtime.role_environments(env)[1]["DATABASE_URL"]
    second = runtime.role_environments(env)[1]["DATABASE_URL"]

    assert first == second
    password = urlsplit(first).password
    assert len(password) >= 40
    kept = fresh_clone / "runtime-db-password"
    assert kept.read_text() == password
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_a_given_runtime_url_is_used_as_it_is(fresh_clone):
    env = {
        "DATABASE_URL": "postgresql://owner:o@db/hc",
        "RUNTIME_DATABASE_URL": "postgresql://webapp:w@db/hc",
    }

    owner, app, worker = runtime.role_environments(env)

    assert (
        owner["RUNTIME_DATABASE_URL"] == app["DATABASE_URL"] == worker["DATABASE_URL"] == "postgresql://webapp:w@db/hc"
    )
    assert "RUNTIME_DATABASE_URL" not in app
    assert not fresh_clone.exists()  # no password made


def test_the_embedded_server_gets_the_settings_it_lacks_and_restarts_only_for_those_read_at_its_start():
    lacking = [("shared_buffers", "128MB", "postmaster"), ("work_mem", "32MB", "user"), ("jit", "on", "user")]

    assert runtime.settings_to_change(lacking) == ({"shared_buffers": "1GB", "jit": "off"}, True)
    assert runtime.settings_to_change([("jit", "on", "user")]) == ({"jit": "off"}, False)
    assert runtime.settings_to_change([("shared_buffers", "1GB", "postmaster")]) == ({}, False)


@pytest.mark.django_db
def test_postgresql_shows_each_setting_as_it_is_written_so_that_a_second_start_changes_nothing():
    """current_setting() must give back the value as written, or every start would write it again and
    restart the server. The settings a session cannot set are compared through their units."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, context, unit FROM pg_settings WHERE name = ANY(%s)", [list(runtime.POSTGRES_SETTINGS)]
        )
        known = {name: (context, unit) for name, context, unit in cursor.fetchall()}
        assert set(known) == set(runtime.POSTGRES_SETTINGS)
        for name, value in runtime.POSTGRES_SETTINGS.items():
            context, unit = known[name]
            if context in ("user", "superuser"):
                cursor.execute("SELECT set_config(%s, %s, true), current_setting(%s)", [name, value, name])
                assert cursor.fetchone()[1] == value, name
            elif unit:  # a size: written in the largest unit that divides it, as PostgreSQL shows it
                cursor.execute("SELECT pg_size_bytes(%s)", [value])
                size = cursor.fetchone()[0]
                units = [("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)]
                assert next(f"{size // f}{u}" for u, f in units if size % f == 0) == value, name
            else:
                assert value.isdigit(), name
