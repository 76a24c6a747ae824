"""Backup and restore: the demo centre (citizens, encounters, tasks, stories, access log, change
history and three months of indicator rollups) is backed up with the command `make backup` runs,
restored with the one `make restore` runs into a new empty database, and compared table by table:
every row count, every stored indicator value, every sequence and every trigger."""

import datetime
import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from psycopg import sql

from coordination.caregaps import evaluate_care_gaps
from healthcenter.backups import Database
from patients.demo import Seeder
from reporting.demo import seed_stories
from reporting.rollups import run_rollups

from .factories import ReferralFactory

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

TABLES = """
    SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    ORDER BY 1, 2
"""
INDICATOR_VALUES = """
    SELECT i.code, v.month, v.unit_kind, v.unit_id, v.numerator, v.denominator, v.value, v.computed_at
    FROM reporting_indicatorvalue v JOIN reporting_indicator i ON i.id = v.indicator_id
    ORDER BY 1, 2, 3, 4
"""
SEQUENCES = "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"
TRIGGERS = "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2"


def snapshot(database: Database) -> dict:
    with database.connect() as conn:
        tables = conn.execute(TABLES).fetchall()
        counts = {
            f"{schema}.{table}": conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            ).fetchone()[0]
            for schema, table in tables
        }
        return {
            "counts": counts,
            "indicator_values": conn.execute(INDICATOR_VALUES).fetchall(),
            "sequences": conn.execute(SEQUENCES).fetchall(),
            "triggers": conn.execute(TRIGGERS).fetchall(),
        }


@pytest.fixture
def source() -> Database:
    return Database.from_settings(connection.settings_dict)


@pytest.fixture
def empty_database(source):
    """A new database on the same server, dropped afterwards whatever happens."""
    target = source.named(f"{source.name}_restored")

    def drop():
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target.name)))

    drop()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(target.name)))
    yield target
    drop()


@pytest.fixture
def demo_centre():
    Seeder(citizens=12).run()
    evaluate_care_gaps()
    ReferralFactory()
    seed_stories()
    today = timezone.localdate()
    run_rollups((today.replace(day=1) - datetime.timedelta(days=62)).replace(day=1), today)


def the_commands_environment(source: Database) -> dict:
    """What `make backup` gives the command, aimed at the test database: DATABASE_URL, and no
    owner alias that would point elsewhere."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_OWNER_URL", "RUNTIME_DATABASE_URL"}}
    env["DATABASE_URL"] = _url(source)
    return env


def _url(database: Database) -> str:
    credentials = quote(database.user or "postgres", safe="")
    if database.password:
        credentials += ":" + quote(database.password, safe="")
    # Every parameter in the query string: a socket folder (the embedded server) cannot be a URL's host.
    return f"postgresql://{credentials}@/{quote(database.name, safe='')}?{urlencode(dict(database.params))}"


def test_a_backup_restored_into_an_empty_database_has_every_row(demo_centre, source, empty_database, tmp_path):
    before = snapshot(source)
    assert before["indicator_values"], "no rollups: the comparison would prove little"
    assert sum(1 for n in before["counts"].values() if n) >= 25

    backup = tmp_path / "healthcenter.dump"
    # As `make backup` runs it: through the runtime, the real command in a process of its own.
    done = subprocess.run(  # noqa: S603 - our own command
        [
            sys.executable,
            "-m",
            "healthcenter.runtime",
            "run",
            sys.executable,
            "manage.py",
            "backup_database",
            "--output",
            str(backup),
        ],
        cwd=ROOT,
        env=the_commands_environment(source),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert backup.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert not list(tmp_path.glob("*.partial"))

    call_command("restore_database", str(backup), database_name=empty_database.name)

    after = snapshot(empty_database)
    assert after["counts"] == before["counts"]
    assert after["indicator_values"] == before["indicator_values"]
    assert after["sequences"] == before["sequences"]
    assert after["triggers"] == before["triggers"]


def test_a_restore_refuses_a_database_that_is_not_empty_unless_forced(source, empty_database, tmp_path):
    backup = tmp_path / "healthcenter.dump"
    call_command("backup_database", output=backup, database_url=_url(source))
    call_command("restore_database", str(backup), database_name=empty_database.name)
    before = snapshot(empty_database)

    with pytest.raises(CommandError, match="not empty"):
        call_command("restore_database", str(backup), database_name=empty_database.name)
    call_command("restore_database", str(backup), database_name=empty_database.name, force=True)

    assert snapshot(empty_database) == before


def test_a_backup_never_overwrites_another(source, tmp_path):
    backup = tmp_path / "healthcenter.dump"
    backup.write_bytes(b"an older backup")
    with pytest.raises(CommandError, match="exists already"):
        call_command("backup_database", output=backup, database_url=_url(source))
    assert backup.read_bytes() == b"an older backup"
