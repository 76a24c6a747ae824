"""Access-log entries older than the retention period move to a verified archive file and leave the
database; newer ones stay (healthcenter/retention.py). Which role may run it: tests/test_dbroles.py."""

import datetime
import gzip
import hashlib
import json
import stat
import uuid

import pgtrigger
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from healthcenter import retention
from healthcenter.access import record as access_record
from healthcenter.models import AccessAction, AccessLog, AccessLogArchive, AccessOutcome
from healthcenter.retention import ArchiveError, access_log_archive, access_log_cutoff
from healthcenter.tasks import archive_access_log

from .factories import UserFactory

NOW = timezone.make_aware(datetime.datetime(2026, 3, 10, 12, 0))
CUTOFF = timezone.make_aware(datetime.datetime(2025, 3, 10))  # 365 days before 10 March 2026, at midnight


@pytest.fixture(autouse=True)
def retention_settings(settings, tmp_path):
    settings.ACCESS_LOG_RETENTION_DAYS = 365
    settings.ACCESS_LOG_ARCHIVE_DIR = tmp_path / "archive"


@pytest.fixture
def user(db):
    return UserFactory(username="sygeplejerske")


def logged(user, at: datetime.datetime, what: str = "citizen page") -> AccessLog:
    entry = access_record(actor=user, action=AccessAction.VIEW, what=what)
    # `at` is set on insert; the append-only trigger is told to let this one backdating through.
    with pgtrigger.ignore("healthcenter.AccessLog:append_only"):
        AccessLog.objects.filter(pk=entry.pk).update(at=at)
    entry.refresh_from_db()
    return entry


def archived_lines(path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def test_the_cutoff_is_midnight_in_copenhagen_the_period_before_today():
    cutoff = access_log_cutoff(now=NOW)

    assert cutoff == CUTOFF
    assert cutoff.utcoffset() == datetime.timedelta(hours=1)


def test_it_archives_entries_older_than_the_cutoff_and_removes_only_them(user):
    old = [
        logged(user, CUTOFF - datetime.timedelta(days=400)),
        logged(user, CUTOFF - datetime.timedelta(days=2), what='=HYPERLINK("x")'),
        logged(user, CUTOFF - datetime.timedelta(microseconds=1)),
    ]
    kept = [logged(user, CUTOFF), logged(user, NOW - datetime.timedelta(days=1)), logged(user, NOW)]

    result = access_log_archive(now=NOW)

    assert result.entries == 3
    assert sorted(AccessLog.objects.values_list("pk", flat=True)) == sorted(entry.pk for entry in kept)
    assert [line["id"] for line in archived_lines(result.path)] == [entry.pk for entry in old]


def test_the_archive_holds_each_entry_exactly_as_it_was_logged(user):
    patient_public_id = "8c3b5cf8-9d7e-4a51-9c58-8f1f2b0c7d11"
    entry = logged(user, CUTOFF - datetime.timedelta(days=30), what='=HYPERLINK("x") æøå')
    denied = access_record(
        actor=user,
        action=AccessAction.EXPORT,
        what="export",
        outcome=AccessOutcome.DENIED,
        patient_public_id=uuid.UUID(patient_public_id),
    )
    with pgtrigger.ignore("healthcenter.AccessLog:append_only"):
        AccessLog.objects.filter(pk=denied.pk).update(at=CUTOFF - datetime.timedelta(days=1))

    result = access_log_archive(now=NOW)

    assert archived_lines(result.path) == [
        {
            "id": entry.pk,
            "at": entry.at.astimezone(datetime.UTC).isoformat(),
            "user_id": user.pk,
            "username": "sygeplejerske",
            "role": "professional",
            "patient_public_id": None,
            "action": "view",
            "what": '=HYPERLINK("x") æøå',
            "outcome": "allowed",
        },
        {
            "id": denied.pk,
            "at": (CUTOFF - datetime.timedelta(days=1)).astimezone(datetime.UTC).isoformat(),
            "user_id": user.pk,
            "username": "sygeplejerske",
            "role": "professional",
            "patient_public_id": patient_public_id,
            "action": "export",
            "what": "export",
            "outcome": "denied",
        },
    ]


def test_the_file_is_named_by_its_days_and_checked_by_its_sidecar(user):
    logged(user, timezone.make_aware(datetime.datetime(2024, 11, 2, 0, 30)))  # 1 November in UTC
    logged(user, timezone.make_aware(datetime.datetime(2025, 3, 9, 23, 59)))

    result = access_log_archive(now=NOW)

    assert result.path.name == "access-log_2024-11-02_2025-03-09.jsonl.gz"
    sidecar = result.path.with_name(result.path.name + ".sha256")
    digest = hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert sidecar.read_text() == f"{digest}  {result.path.name}\n"  # `sha256sum -c` reads this
    for path in (result.path, sidecar):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(result.path.parent.stat().st_mode) == 0o700


def test_it_lists_the_file_with_what_it_holds(user):
    first = logged(user, CUTOFF - datetime.timedelta(days=10))
    last = logged(user, CUTOFF - datetime.timedelta(days=5))

    result = access_log_archive(now=NOW)

    archive = AccessLogArchive.objects.get()
    assert (archive.file_name, archive.entries, archive.first_at, archive.last_at, archive.cutoff) == (
        result.path.name,
        2,
        first.at,
        last.at,
        CUTOFF,
    )
    assert archive.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()


def test_a_second_run_finds_nothing_to_archive(user):
    logged(user, CUTOFF - datetime.timedelta(days=10))
    first = access_log_archive(now=NOW)

    second = access_log_archive(now=NOW)

    assert (second.entries, second.path, second.unlisted) == (0, None, [])
    assert sorted(p.name for p in first.path.parent.iterdir()) == [first.path.name, first.path.name + ".sha256"]


def test_a_run_that_fails_before_the_commit_keeps_every_entry_and_leaves_no_file(user, monkeypatch):
    entries = [logged(user, CUTOFF - datetime.timedelta(days=d)) for d in (3, 2)]

    def disk_fails(directory):
        raise OSError("disk full")

    # After the file has its name, before the transaction commits.
    monkeypatch.setattr(retention, "_fsync_directory", disk_fails)
    with pytest.raises(OSError, match="disk full"):
        access_log_archive(now=NOW)

    assert sorted(AccessLog.objects.values_list("pk", flat=True)) == [entry.pk for entry in entries]
    assert not AccessLogArchive.objects.exists()
    assert list((settings.ACCESS_LOG_ARCHIVE_DIR).iterdir()) == []


def test_a_file_that_does_not_hold_every_entry_removes_nothing(user, monkeypatch):
    entry = logged(user, CUTOFF - datetime.timedelta(days=3))
    write_and_delete = retention._write_and_delete

    def one_line_short(raw, **kwargs):
        written = write_and_delete(raw, **kwargs)
        written.entries += 1
        return written

    monkeypatch.setattr(retention, "_write_and_delete", one_line_short)
    with pytest.raises(ArchiveError, match="does not read back"):
        access_log_archive(now=NOW)

    assert AccessLog.objects.filter(pk=entry.pk).exists()
    assert list((settings.ACCESS_LOG_ARCHIVE_DIR).iterdir()) == []


def test_an_entry_logged_later_with_an_old_time_gets_a_file_of_its_own(user):
    day = CUTOFF - datetime.timedelta(days=3)
    logged(user, day)
    first = access_log_archive(now=NOW)
    logged(user, day)

    second = access_log_archive(now=NOW)

    assert first.path.name == "access-log_2025-03-07_2025-03-07.jsonl.gz"
    assert second.path.name == "access-log_2025-03-07_2025-03-07_2.jsonl.gz"
    assert len(archived_lines(first.path)) == len(archived_lines(second.path)) == 1


def test_the_command_names_a_file_a_run_left_unlisted(user, capsys):
    logged(user, CUTOFF - datetime.timedelta(days=3))
    directory = settings.ACCESS_LOG_ARCHIVE_DIR
    directory.mkdir(parents=True)
    (directory / "access-log_2020-01-01_2020-01-02.jsonl.gz").write_bytes(b"")

    call_command("archive_access_log")

    output = capsys.readouterr().out
    assert "Archived 1 access-log entries" in output
    assert "access-log_2020-01-01_2020-01-02.jsonl.gz is not listed as an archive" in output


def test_the_nightly_task_archives_as_the_command_does(user):
    logged(user, timezone.now() - datetime.timedelta(days=400))
    logged(user, timezone.now())

    assert archive_access_log.apply().get() == 1
    assert AccessLog.objects.count() == 1
    schedule = settings.CELERY_BEAT_SCHEDULE["archive-access-log"]
    assert schedule["task"] == archive_access_log.name
