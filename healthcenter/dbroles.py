"""Two database roles, so that the application cannot change the access log it writes.

- The **owner** owns the tables. `migrate` runs as the owner (DATABASE_URL = the owner's URL, as in
  docker-compose.yml's migrate service), and so does the access log's retention job
  (healthcenter.retention, through the "owner" database alias, DATABASE_OWNER_URL).
- The **runtime role** is what the web server, the Celery worker and beat log in as (DATABASE_URL).
  It reads and writes the case records, but on the access log and on the change history (pghistory's
  event tables) it may only add and read rows: it has no UPDATE, DELETE or TRUNCATE privilege there,
  and no TRUNCATE anywhere. It owns no table, so ALTER TABLE ... DISABLE TRIGGER and DROP TRIGGER are
  refused; it is no superuser, so SET session_replication_role = replica (which silences every
  trigger) is refused too. `pgtrigger.ignore` only sets a session variable that the append-only trigger
  reads: the runtime role may set it, but its DELETE is refused for want of the privilege before any
  trigger runs. The log's protection does not depend on the trigger.

`runtime_role_grant` creates or updates the runtime role and sets its privileges from scratch, in one
transaction. It is idempotent and runs after every `migrate` when RUNTIME_DATABASE_URL names the runtime
role (healthcenter.apps), or by hand: `manage.py grant_runtime_role`. A table that a later migration
creates gets SELECT and INSERT only until then (ALTER DEFAULT PRIVILEGES): a new table is append-only
for the application until it is classified here, never the other way round.

With one role for everything (the test suite, a developer's database) none of this applies and the
append-only trigger is the log's only guard. tests/test_dbroles.py sets up the runtime role on the test
database and proves each of the refusals above through a real connection as that role."""

import base64
import hashlib
import hmac
import logging
import secrets
import sys
from urllib.parse import unquote, urlsplit

from django.apps import apps
from django.db import ProgrammingError, connections, transaction
from django.db.migrations.recorder import MigrationRecorder
from psycopg import sql

logger = logging.getLogger(__name__)

RUNTIME_ROLE_ATTRIBUTES = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT")
READ_WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")
APPEND_ONLY = ("SELECT", "INSERT")
READ_ONLY = ("SELECT",)
# Tables, views and foreign tables; sequences are granted apart.
RELATION_KINDS = ["r", "p", "v", "m", "f"]
INSUFFICIENT_PRIVILEGE = "42501"


class RuntimeRoleError(Exception):
    """The runtime role cannot be set up safely (e.g. it is the owner, or a superuser)."""


def append_only_tables() -> set[str]:
    """The access log and every pghistory event table: rows are added, never changed or removed."""
    from pghistory.models import Event

    from .models import AccessLog

    events = {
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, Event) and model._meta.managed and not model._meta.proxy
    }
    return {AccessLog._meta.db_table, *events}


def _special_tables() -> dict[str, tuple[str, ...]]:
    from pghistory.models import Context

    from .models import AccessLogArchive

    return {
        # Only migrate (the owner) records migrations.
        MigrationRecorder.Migration._meta.db_table: READ_ONLY,
        # pghistory upserts a request's context (who, which URL) as the request goes on.
        Context._meta.db_table: ("SELECT", "INSERT", "UPDATE"),
        # Written by the retention job, which runs as the owner; administrators read it.
        AccessLogArchive._meta.db_table: READ_ONLY,
    }


def runtime_privileges(table: str) -> tuple[str, ...]:
    """What the runtime role may do with one table. TRUNCATE is never granted: nothing in the
    application empties a table at once (tests run as the owner)."""
    if table in append_only_tables():
        return APPEND_ONLY
    return _special_tables().get(table, READ_WRITE)


def scram_sha_256(password: str, *, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802, RFC 7677), computed here
    as psql's \\password does, so that the password itself never reaches the server's statement log.
    For an ASCII password SASLprep changes nothing, so the verifier matches what a client sends."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def role_from_url(url: str) -> tuple[str, str | None]:
    """The user name and password of a postgresql:// URL."""
    parts = urlsplit(url)
    if not parts.username:
        raise RuntimeRoleError("RUNTIME_DATABASE_URL must name a user")
    return unquote(parts.username), unquote(parts.password) if parts.password else None


def runtime_role_grant(*, role: str, password: str | None = None, using: str = "default") -> dict[str, tuple]:
    """Creates or updates the runtime login role `role` and grants it exactly what
    `runtime_privileges` says on every table of the current schema, as the owner connected as `using`.
    Without a password an existing role keeps its own (e.g. one a DBA set); the embedded server and a
    local trust setup need none. Returns the privileges granted, by table."""
    connection = connections[using]
    granted: dict[str, tuple] = {}
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_schema(), current_database()")
        owner, schema, database = cursor.fetchone()
        if role == owner:
            raise RuntimeRoleError(f"The runtime role must not be the owner ({owner}) that runs migrate")
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        exists = cursor.fetchone() is not None
        statement = sql.SQL("{verb} ROLE {role} WITH {attributes}").format(
            verb=sql.SQL("ALTER" if exists else "CREATE"), role=sql.Identifier(role), attributes=RUNTIME_ROLE_ATTRIBUTES
        )
        if password:
            verifier = scram_sha_256(password) if password.isascii() else password
            statement += sql.SQL(" PASSWORD {}").format(sql.Literal(verifier))
        try:
            with transaction.atomic(using=using):
                cursor.execute(statement)
        except ProgrammingError as error:
            # A role a DBA made, which an owner without CREATEROLE (or, from PostgreSQL 16, without ADMIN
            # on it) may not alter: it keeps its attributes and password, which the checks below vet.
            if not exists or getattr(error.__cause__, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
                raise
            logger.warning("Cannot alter the runtime role %s as %s; granting its privileges only", role, owner)

        names = {"role": sql.Identifier(role), "schema": sql.Identifier(schema), "database": sql.Identifier(database)}

        def run(template: str) -> None:
            cursor.execute(sql.SQL(template).format(**names))

        # From scratch, so that a table that became append-only loses what it had.
        run("REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}")
        run("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}")
        run("ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {role}")
        run("ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {role}")
        run("GRANT CONNECT ON DATABASE {database} TO {role}")
        run("GRANT USAGE ON SCHEMA {schema} TO {role}")

        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = ANY(%s) ORDER BY c.relname",
            [schema, RELATION_KINDS],
        )
        for (table,) in cursor.fetchall():
            privileges = runtime_privileges(table)
            cursor.execute(
                sql.SQL("GRANT {privileges} ON TABLE {schema}.{table} TO {role}").format(
                    privileges=sql.SQL(", ").join(sql.SQL(p) for p in privileges),
                    table=sql.Identifier(table),
                    **names,
                )
            )
            granted[table] = privileges
        run("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
        run("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {role}")
        run("ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT ON TABLES TO {role}")
        run("ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}")

        # A role a DBA made beforehand could carry powers that undo all of the above.
        cursor.execute(
            "SELECT rolsuper OR rolbypassrls, pg_has_role(rolname, %s, 'MEMBER') FROM pg_roles WHERE rolname = %s",
            [owner, role],
        )
        too_powerful, member_of_owner = cursor.fetchone()
        if too_powerful or member_of_owner:
            raise RuntimeRoleError(f"The runtime role {role} is a superuser or a member of the owner {owner}")
        cursor.execute("SELECT has_schema_privilege(%s, %s, 'CREATE')", [role, schema])
        if cursor.fetchone()[0]:
            # PostgreSQL before 15 grants CREATE on schema public to everyone; only its owner can take it back.
            logger.warning(
                "The runtime role %s may create objects in schema %s; as its owner run: REVOKE CREATE ON SCHEMA %s "
                "FROM PUBLIC",
                role,
                schema,
                schema,
            )
    return granted


def grant_runtime_role_after_migrate(sender, using, verbosity=1, **kwargs):
    """post_migrate (connected in healthcenter.apps): after every migrate, run as the owner, the role
    named by RUNTIME_DATABASE_URL gets exactly its privileges on the tables as they now are."""
    from django.conf import settings

    if not settings.RUNTIME_DATABASE_URL:
        return
    role, password = role_from_url(settings.RUNTIME_DATABASE_URL)
    granted = runtime_role_grant(role=role, password=password, using=using)
    if verbosity >= 1:
        stdout = kwargs.get("stdout") or sys.stdout
        stdout.write(f"Runtime role {role}: privileges set on {len(granted)} tables\n")
