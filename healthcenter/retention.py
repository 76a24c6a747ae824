"""Retention of the access log: entries older than ACCESS_LOG_RETENTION_DAYS leave the database for a
compressed archive file, and only once that file has been written and read back whole.

The rule. An entry stays in the database, where the citizen page's "who viewed this record" and the
administrator's per-citizen export find it, for five years by default (1827 days, so that five calendar
years with their leap days are always covered). Five years because that is how long after the event a
complaint about a health professional's conduct can still be made (one year from when the citizen learns
of it, at most five years after it happened), and a look-up that should not have happened is exactly
what such a complaint is about; it is also the longest that the former security order
(sikkerhedsbekendtgørelsen § 19, in force until 2018) let an authority with a particular need keep
a usage log. Older entries are not deleted: they move to an archive file, and how long the municipality
keeps those files (for example as long as the records they account for, at least ten years after the
last entry under the rules on patient records) is the data controller's decision, outside this job.
Set ACCESS_LOG_RETENTION_DAYS to the period the data controller has decided.

How. One run (`manage.py archive_access_log`, and the Celery beat entry "archive-access-log" every night)
works as the owner: the "owner" alias when DATABASE_OWNER_URL is set, otherwise "default". The runtime
role has no DELETE privilege on the log (healthcenter.dbroles), so it is refused before anything is
written. In one transaction, under an advisory lock so that two runs never overlap, it
1. reads the entries older than the cutoff (midnight in Copenhagen, ACCESS_LOG_RETENTION_DAYS days
   before today) in id order, writes them as JSON lines into a gzip file in ACCESS_LOG_ARCHIVE_DIR
   (readable by the job's own user only) and deletes each batch it has written: exactly those ids,
   through the append-only trigger, which is told to let this delete through on this connection only;
2. reads the file back: every line, their number and their content must match what was written;
3. names it by the days of its first and last entry (access-log_2019-03-01_2019-03-31.jsonl.gz), next
   to a SHA-256 sidecar that `sha256sum -c` reads, and lists it in AccessLogArchive;
4. commits. Before the commit nothing is lost: a failure rolls the deletes back and removes the file,
   and the next run archives the same entries again. Only a run killed between naming the file and the
   commit leaves a file that AccessLogArchive does not list; its entries are still in the database and
   go into the next run's file, and the command names such files so that they can be removed.

JSON lines, not CSV: an archive keeps each value exactly as it was logged, and a CSV opened in a
spreadsheet would run a value that starts with "=" as a formula (exports neutralise such values by
changing them, see healthcenter/spreadsheets.py, which an archive must not do)."""

import datetime
import gzip
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pgtrigger
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from .models import AccessLog, AccessLogArchive

# Any constant: two runs take the same transaction-level lock, so one waits for the other.
ADVISORY_LOCK = 4_210_042
BATCH = 2000
FILE_PATTERN = "access-log_*.jsonl.gz"


class ArchiveError(Exception):
    """The archive could not be written or verified, or the job does not run as the owner."""


@dataclass(frozen=True)
class ArchiveResult:
    cutoff: datetime.datetime
    entries: int = 0
    path: Path | None = None
    # Files in the archive folder that AccessLogArchive does not list: left by runs that did not finish.
    unlisted: list[Path] = field(default_factory=list)


def owner_alias() -> str:
    return "owner" if "owner" in settings.DATABASES else "default"


def access_log_cutoff(*, now: datetime.datetime | None = None) -> datetime.datetime:
    """Midnight in the centre's time zone, ACCESS_LOG_RETENTION_DAYS days before today: entries before it go."""
    today = timezone.localdate(now or timezone.now())
    day = today - datetime.timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def access_log_archive(*, now: datetime.datetime | None = None, using: str | None = None) -> ArchiveResult:
    """Moves the access-log entries older than the cutoff into one verified archive file (see the module's
    docstring). Safe to run twice: the second run finds nothing older than the cutoff."""
    alias = using or owner_alias()
    cutoff = access_log_cutoff(now=now)
    directory = Path(settings.ACCESS_LOG_ARCHIVE_DIR)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial: Path | None = None
    named: list[Path] = []
    try:
        with transaction.atomic(using=alias):
            _refuse_unless_owner(alias)
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
            # mkstemp: readable and writable by this process's user only.
            descriptor, partial_name = tempfile.mkstemp(dir=directory, prefix=".access-log-", suffix=".partial")
            partial = Path(partial_name)
            with os.fdopen(descriptor, "wb") as raw:
                written = _write_and_delete(raw, alias=alias, cutoff=cutoff)
                raw.flush()
                os.fsync(raw.fileno())
            if written.entries == 0:
                return ArchiveResult(cutoff=cutoff, unlisted=_unlisted(directory, alias))
            sha256 = _read_back(partial, written)
            path = directory / _free_name(written, alias)
            sidecar = path.with_name(path.name + ".sha256")
            named += [path, sidecar]
            _write_sidecar(sidecar, f"{sha256}  {path.name}\n")
            partial.replace(path)
            _fsync_directory(directory)
            AccessLogArchive.objects.using(alias).create(
                file_name=path.name,
                sha256=sha256,
                entries=written.entries,
                first_at=written.first_at,
                last_at=written.last_at,
                cutoff=cutoff,
            )
    except BaseException:
        for path in named:
            path.unlink(missing_ok=True)
        raise
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
    return ArchiveResult(cutoff=cutoff, entries=written.entries, path=path, unlisted=_unlisted(directory, alias))


def _refuse_unless_owner(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT current_user, has_table_privilege(%s, 'DELETE')", [AccessLog._meta.db_table])
        user, may_delete = cursor.fetchone()
    if not may_delete:
        raise ArchiveError(
            f"The database role {user} may not remove access-log entries: the archive job runs as the owner "
            "(DATABASE_OWNER_URL, or DATABASE_URL = the owner)."
        )


@dataclass
class _Written:
    entries: int = 0
    content_sha256: str = ""
    first_at: datetime.datetime | None = None
    last_at: datetime.datetime | None = None


def _write_and_delete(raw, *, alias: str, cutoff: datetime.datetime) -> _Written:
    written = _Written()
    content = hashlib.sha256()
    older = AccessLog.objects.using(alias).filter(at__lt=cutoff).order_by("id")
    columns = ["id", "at", "user_id", "user__username", "role", "patient_public_id", "action", "what", "outcome"]
    last_id = 0
    # mtime=0: the same entries always give the same bytes.
    with gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0) as archive:
        while batch := list(older.filter(id__gt=last_id).values(*columns)[:BATCH]):
            for entry in batch:
                line = (json.dumps(_as_json(entry), ensure_ascii=False) + "\n").encode()
                archive.write(line)
                content.update(line)
                written.first_at = min(written.first_at or entry["at"], entry["at"])
                written.last_at = max(written.last_at or entry["at"], entry["at"])
            ids = [entry["id"] for entry in batch]
            with pgtrigger.ignore("healthcenter.AccessLog:append_only", databases=[alias]):
                deleted, _ = AccessLog.objects.using(alias).filter(id__in=ids).delete()
            if deleted != len(ids):
                raise ArchiveError(f"Deleted {deleted} access-log entries instead of the {len(ids)} archived")
            written.entries += len(ids)
            last_id = ids[-1]
    written.content_sha256 = content.hexdigest()
    return written


def _as_json(entry: dict) -> dict:
    return {
        "id": entry["id"],
        "at": entry["at"].astimezone(datetime.UTC).isoformat(),
        "user_id": entry["user_id"],
        "username": entry["user__username"],
        "role": entry["role"],
        "patient_public_id": str(entry["patient_public_id"]) if entry["patient_public_id"] else None,
        "action": entry["action"],
        "what": entry["what"],
        "outcome": entry["outcome"],
    }


def _read_back(path: Path, written: _Written) -> str:
    """The file's SHA-256, once every line of it has been read back and matches what was written."""
    content = hashlib.sha256()
    lines = 0
    with gzip.open(path, "rb") as archive:
        for line in archive:
            json.loads(line)
            content.update(line)
            lines += 1
    if lines != written.entries or content.hexdigest() != written.content_sha256:
        raise ArchiveError(f"The archive file {path} does not read back as written")
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _free_name(written: _Written, alias: str) -> str:
    first = timezone.localdate(written.first_at)
    last = timezone.localdate(written.last_at)
    stem = f"access-log_{first:%Y-%m-%d}_{last:%Y-%m-%d}"
    taken = set(
        AccessLogArchive.objects.using(alias).filter(file_name__startswith=stem).values_list("file_name", flat=True)
    )
    name, number = f"{stem}.jsonl.gz", 1
    # Only entries logged later with an old time could fall into days already archived; never overwrite.
    while name in taken:
        number += 1
        name = f"{stem}_{number}.jsonl.gz"
    return name


def _write_sidecar(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as sidecar:
        sidecar.write(text)
        sidecar.flush()
        os.fsync(sidecar.fileno())


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _unlisted(directory: Path, alias: str) -> list[Path]:
    listed = set(AccessLogArchive.objects.using(alias).values_list("file_name", flat=True))
    return sorted(path for path in directory.glob(FILE_PATTERN) if path.name not in listed)
