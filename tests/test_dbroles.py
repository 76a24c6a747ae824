"""The access log cannot be changed by the role the application runs as (healthcenter/dbroles.py).

Each test sets up the runtime role on the test database with the same function that runs after
`migrate`, then connects as that role with psycopg, as the web server would, and tries what an
attacker with the application's database login would try."""

import base64
import gzip
import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pgtrigger
import psycopg
import pytest
import yaml
from django.db import connection
from django.utils import timezone
from psycopg import sql

from healthcenter.dbroles import RuntimeRoleError, runtime_role_grant, scram_sha_256
from healthcenter.models import AccessAction, AccessLog, AccessOutcome
from patients.models import Patient

from .factories import PatientFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent


def database_url(user: str, password: str) -> str:
    """A DATABASE_URL for the test database as `user`. The embedded server listens on a socket, whose
    folder comes in OPTIONS (as its URL's host query parameter), not in HOST."""
    params = connection.get_connection_params()
    host, port, name = params.get("host") or "", params.get("port") or "", params["dbname"]
    auth = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    if not host or host.startswith("/"):
        return f"postgresql://{auth}/{name}" + (f"?host={quote(host)}" if host else "")
    return f"postgresql://{auth}{host}:{port or 5432}/{name}"


@dataclass(frozen=True)
class RuntimeRole:
    name: str
    password: str

    @property
    def url(self) -> str:
        return database_url(self.name, self.password)


@pytest.fixture(scope="module")
def runtime_role(django_db_setup, django_db_blocker):
    """Set up once for the module, committed, so that a connection as the role sees it. Roles belong
    to the whole server: one per test database, so that parallel runs do not meet."""
    role = RuntimeRole(name=f"{connection.settings_dict['NAME'][:59]}_app", password=secrets.token_urlsafe(24))
    with django_db_blocker.unblock():
        runtime_role_grant(role=role.name, password=role.password)
    yield role
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role.name)))
        cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role.name)))


@pytest.fixture
def as_runtime(runtime_role):
    """A connection as the runtime role; autocommit, so that a refused statement leaves the next one free."""
    with psycopg.connect(runtime_role.url, autocommit=True) as runtime:
        assert runtime.execute("SELECT current_user").fetchone()[0] == runtime_role.name
        yield runtime


@pytest.fixture
def entry(transactional_db):
    patient = PatientFactory()
    user = UserFactory(teams=[patient.team])
    return AccessLog.objects.create(
        user=user, role=user.role, patient_public_id=patient.public_id, action=AccessAction.VIEW, what="citizen page"
    )


APPEND_ONLY_TRIGGER = AccessLog._meta.triggers[0].get_pgid(AccessLog)

REFUSED = {
    "update": ["UPDATE healthcenter_accesslog SET what = 'nothing to see'"],
    "delete": ["DELETE FROM healthcenter_accesslog"],
    "truncate": ["TRUNCATE healthcenter_accesslog"],
    "disable the trigger": ["ALTER TABLE healthcenter_accesslog DISABLE TRIGGER ALL"],
    "drop the trigger": [f"DROP TRIGGER {APPEND_ONLY_TRIGGER} ON healthcenter_accesslog"],
    "silence every trigger": ["SET session_replication_role = replica"],
    # What pgtrigger.ignore does: the trigger would let the delete through, the privilege does not.
    "pgtrigger.ignore": [
        "BEGIN",
        f"SELECT set_config('pgtrigger.ignore', '{{{APPEND_ONLY_TRIGGER}}}', true)",
        "DELETE FROM healthcenter_accesslog",
    ],
    "rewrite history": ["UPDATE patients_patientevent SET city = 'Vejle'"],
    "erase history": ["DELETE FROM patients_patientevent"],
    "empty history": ["TRUNCATE patients_patientevent"],
    "remove an archive's record": ["DELETE FROM healthcenter_accesslogarchive"],
    "record a migration": ["INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())"],
    "create a table": ["CREATE TABLE mine (id int)"],
    "become the owner": ["SET ROLE postgres"],
}


# PostgreSQL checks privileges and ownership before it looks at a row or runs a trigger, so the rows
# need not be visible to the runtime role's connection: these tests run in the test's transaction.
@pytest.mark.django_db
@pytest.mark.parametrize("statements", REFUSED.values(), ids=REFUSED.keys())
def test_the_runtime_role_is_refused(as_runtime, statements):
    *before, last = statements
    for statement in before:
        as_runtime.execute(statement)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_runtime.execute(last)
    as_runtime.rollback()


def test_the_runtime_role_adds_to_the_log_and_reads_it(as_runtime, entry):
    as_runtime.execute(
        "INSERT INTO healthcenter_accesslog (at, user_id, role, patient_public_id, action, what, outcome) "
        "VALUES (now(), %s, %s, %s, %s, %s, %s)",
        [entry.user_id, entry.role, entry.patient_public_id, AccessAction.SEARCH, "search", AccessOutcome.ALLOWED],
    )

    assert as_runtime.execute("SELECT count(*) FROM healthcenter_accesslog").fetchone()[0] == 2
    assert AccessLog.objects.filter(action=AccessAction.SEARCH).count() == 1


def test_an_entry_is_dated_by_the_database_whatever_the_writer_says(as_runtime, entry):
    """Backdated, the entry would leave with the next retention run; the database's clock dates it."""
    before = as_runtime.execute("SELECT clock_timestamp()").fetchone()[0]
    at = as_runtime.execute(
        "INSERT INTO healthcenter_accesslog (at, user_id, role, patient_public_id, action, what, outcome) "
        "VALUES ('2000-01-01', %s, %s, %s, %s, %s, %s) RETURNING at",
        [entry.user_id, entry.role, entry.patient_public_id, AccessAction.SEARCH, "search", AccessOutcome.ALLOWED],
    ).fetchone()[0]
    assert at >= before


def test_the_runtime_role_changes_a_citizen_and_the_history_records_it(as_runtime, entry):
    patient = Patient.objects.get(public_id=entry.patient_public_id)

    as_runtime.execute("UPDATE patients_patient SET city = 'Vejle' WHERE id = %s", [patient.pk])

    patient.refresh_from_db()
    assert patient.city == "Vejle"
    # The history trigger ran as the runtime role, and adding its event row was allowed.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM patients_patientevent WHERE pgh_obj_id = %s AND city = 'Vejle'", [patient.pk]
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db
def test_the_runtime_role_deletes_ordinary_rows(as_runtime):
    as_runtime.execute("INSERT INTO django_session (session_key, session_data, expire_date) VALUES ('k', 'd', now())")

    assert as_runtime.execute("DELETE FROM django_session WHERE session_key = 'k'").rowcount == 1


@pytest.mark.django_db(transaction=True)
def test_a_table_a_later_migration_creates_is_append_only_until_the_grant_runs_again(runtime_role):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE later_table (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text)")
    try:
        with psycopg.connect(runtime_role.url, autocommit=True) as runtime:
            runtime.execute("INSERT INTO later_table (note) VALUES ('new')")
            assert runtime.execute("SELECT note FROM later_table").fetchone() == ("new",)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                runtime.execute("UPDATE later_table SET note = 'changed'")

            runtime_role_grant(role=runtime_role.name, password=runtime_role.password)

            assert runtime.execute("UPDATE later_table SET note = 'changed'").rowcount == 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE later_table")


@pytest.mark.django_db
def test_setting_up_the_role_again_changes_nothing(runtime_role):
    first = runtime_role_grant(role=runtime_role.name, password=runtime_role.password)
    second = runtime_role_grant(role=runtime_role.name)

    assert first == second
    assert first["healthcenter_accesslog"] == ("SELECT", "INSERT")
    assert first["patients_patientevent"] == ("SELECT", "INSERT")
    assert first["patients_patient"] == ("SELECT", "INSERT", "UPDATE", "DELETE")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolreplication, rolcanlogin "
            "FROM pg_roles WHERE rolname = %s",
            [runtime_role.name],
        )
        assert cursor.fetchone() == (False, False, False, False, False, True)


@pytest.mark.django_db
def test_it_refuses_to_make_the_owner_the_runtime_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]

    with pytest.raises(RuntimeRoleError):
        runtime_role_grant(role=owner)


@pytest.mark.django_db
def test_the_password_verifier_is_the_one_postgresql_makes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("reading pg_authid needs a superuser")
        role = f"{connection.settings_dict['NAME'][:55]}_scram"
        # Rolled back with the test's transaction.
        cursor.execute("SET LOCAL password_encryption = 'scram-sha-256'")
        cursor.execute(sql.SQL("CREATE ROLE {} PASSWORD 'correct horse battery'").format(sql.Identifier(role)))
        cursor.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role])
        stored = cursor.fetchone()[0]

    iterations, salt = stored.split("$")[1].split(":")
    assert scram_sha_256("correct horse battery", salt=base64.b64decode(salt), iterations=int(iterations)) == stored


# The retention job as each role would run it: a fresh process, as the command or the worker.


def run_archive_command(tmp_path, **env_values) -> subprocess.CompletedProcess:
    names = ("DATABASE_URL", "DATABASE_OWNER_URL", "RUNTIME_DATABASE_URL", "REPLICA_DATABASE_URL")
    env = {name: value for name, value in os.environ.items() if name not in names}
    env.update(
        DEBUG="true",
        ACCESS_LOG_RETENTION_DAYS="30",
        ACCESS_LOG_ARCHIVE_DIR=str(tmp_path / "archive"),
        **env_values,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "archive_access_log"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def old_entry(entry):
    with pgtrigger.ignore("healthcenter.AccessLog:append_only"):
        AccessLog.objects.filter(pk=entry.pk).update(at=timezone.now() - timezone.timedelta(days=400))
    return entry


def test_the_runtime_role_cannot_run_the_archive_job(runtime_role, old_entry, tmp_path):
    result = run_archive_command(tmp_path, DATABASE_URL=runtime_role.url)

    assert result.returncode != 0
    assert "may not remove access-log entries" in result.stderr
    assert AccessLog.objects.filter(pk=old_entry.pk).exists()
    assert not list((tmp_path / "archive").glob("*.jsonl.gz"))


def test_the_worker_archives_as_the_owner_it_is_given(runtime_role, old_entry, tmp_path):
    owner = connection.settings_dict
    result = run_archive_command(
        tmp_path,
        DATABASE_URL=runtime_role.url,
        DATABASE_OWNER_URL=database_url(owner["USER"], owner["PASSWORD"] or ""),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert not AccessLog.objects.filter(pk=old_entry.pk).exists()
    (archive,) = (tmp_path / "archive").glob("*.jsonl.gz")
    with gzip.open(archive, "rt") as lines:
        assert [json.loads(line)["id"] for line in lines] == [old_entry.pk]


def test_compose_migrates_as_the_owner_and_runs_the_app_as_the_runtime_role():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    owner = "postgresql://healthcenter:${POSTGRES_PASSWORD"
    runtime = "postgresql://healthcenter_app:${RUNTIME_DB_PASSWORD"

    migrate = services["migrate"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--no-input"]
    assert migrate["environment"]["DATABASE_URL"].startswith(owner)
    assert migrate["environment"]["RUNTIME_DATABASE_URL"].startswith(runtime)
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["environment"]["DATABASE_URL"].startswith(runtime), name
        assert "RUNTIME_DATABASE_URL" not in service["environment"], name
        assert "migrate" not in service["command"], name
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    # Only the worker holds the owner, for the access log's retention job.
    assert services["worker"]["environment"]["DATABASE_OWNER_URL"].startswith(owner)
    assert "DATABASE_OWNER_URL" not in services["web"]["environment"]
    assert "DATABASE_OWNER_URL" not in services["beat"]["environment"]


class TestDeployCheckOfTheDatabaseUser:
    """`check --deploy --database default` refuses a process that logs in as a user who could change the
    access log (healthcenter.E002); docker-compose.yml runs it before gunicorn."""

    def test_the_runtime_role_passes(self, as_runtime):
        from healthcenter.checks import access_log_privilege_problems

        with as_runtime.cursor() as cursor:
            assert access_log_privilege_problems(cursor) == []

    def test_the_owner_and_a_superuser_are_refused(self, transactional_db):
        from healthcenter.checks import access_log_privilege_problems

        with connection.cursor() as cursor:  # the test suite's own login: postgres, superuser and owner
            problems = access_log_privilege_problems(cursor)
        assert "is a superuser" in problems
        assert "owns the access log (and may switch its trigger off)" in problems

    def test_check_deploy_fails_as_the_owner(self, transactional_db, settings):
        from healthcenter.checks import check_runtime_role

        settings.DEBUG = False
        errors = check_runtime_role(databases=["default"])
        assert [error.id for error in errors] == ["healthcenter.E002"]
        assert check_runtime_role(databases=None) == []

    def test_compose_checks_before_it_serves(self):
        compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
        command = " ".join(compose["services"]["web"]["command"])
        assert "manage.py check --deploy --database default --fail-level ERROR && exec gunicorn" in command
