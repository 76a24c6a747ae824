"""The large demo profile (reporting.large_demo) at a tiny scale: the same centre in bulk, with the
rows, history and marks the services would have left, and nothing left for the jobs to do."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F

from coordination.caregaps import evaluate_care_gaps
from coordination.models import CareGap, CareGapChange, CareGapReview, Task, TaskOrigin, TaskStatus, TaskTransition
from healthcenter.models import AccessLog, Team, User
from patients.demo import NAMED_USERS
from patients.models import Encounter, Measurement, MeasurementSource, Patient, TeamResponsibility
from reporting import large_demo
from reporting.models import StaleDay
from reporting.rollups import run_incremental

CITIZENS = 200


def test_the_large_profile_in_small(db):
    """One seeding (it is the expensive part), every property of it."""
    large_demo.seed_large(citizens=CITIZENS)
    # First, while nothing else has run: the jobs find nothing to do.
    the_jobs_find_nothing_to_do_right_after()
    the_profile_is_the_centre_in_small()
    bulk_rows_refer_to_rows_that_exist()
    every_bulk_row_has_the_history_the_triggers_write()
    tasks_have_the_transitions_the_services_write()


def scalar(query: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchone()[0]


def the_profile_is_the_centre_in_small():
    counts = large_demo.counts()
    assert counts["citizens"] == CITIZENS
    assert counts["teams"] == 15
    assert set(Team.objects.values_list("name", flat=True)) == set(large_demo.team_names())
    # The volumes per citizen (1,000,000 encounters and 3,000,000 values for 50,000): about
    # 20 encounters (five and a half years of records, the demo has four: about 16) and 3 values an
    # encounter (the demo: under 2), and tasks from both sources.
    assert 17 * CITIZENS <= counts["encounters"] <= 23 * CITIZENS
    assert 2.6 * counts["encounters"] <= counts["measurements"] <= 3.4 * counts["encounters"]
    # Where the extra values come from: weight and blood pressure at most contacts in person (the
    # demo takes them about once a quarter), and home blood pressure entered by hand at calls.
    in_person = Encounter.objects.filter(kind__in=large_demo.IN_PERSON)
    with_bp = in_person.filter(measurements__type__code="systolic_bp").distinct()
    assert with_bp.count() >= 0.8 * in_person.count()
    home = Measurement.objects.filter(source=MeasurementSource.MANUAL, type__code="systolic_bp", encounter=None)
    assert home.count() >= 0.2 * Measurement.objects.filter(type__code="systolic_bp").count()
    assert Task.objects.filter(origin=TaskOrigin.AGREED_ACTION).count() > CITIZENS
    assert Task.objects.filter(origin=TaskOrigin.RULE).exists()
    assert counts["referrals"] > 0
    # Every team has citizens, and every named demo login exists with the demo's password.
    assert not Team.objects.annotate(n=Count("patients")).filter(n=0).exists()
    for username, *_rest in NAMED_USERS:
        assert User.objects.get(username=username).check_password("demo-sundhed-2026")
    nurse = User.objects.get(username="sygeplejerske")
    assert Patient.objects.filter(responsible_professional=nurse).exists()
    # Everyone responsible for a citizen is a member of the citizen's team.
    assert not Patient.objects.exclude(responsible_professional__teams=F("team")).exists()


def bulk_rows_refer_to_rows_that_exist():
    for table, column, target in [
        ("patients_encounter", "patient_id", "patients_patient"),
        ("patients_encounter", "professional_id", "healthcenter_user"),
        ("patients_measurement", "patient_id", "patients_patient"),
        ("patients_measurement", "encounter_id", "patients_encounter"),
        ("patients_agreedaction", "encounter_id", "patients_encounter"),
        ("coordination_task", "patient_id", "patients_patient"),
        ("coordination_tasktransition", "task_id", "coordination_task"),
    ]:
        orphans = scalar(
            f"SELECT count(*) FROM {table} x WHERE x.{column} IS NOT NULL "  # noqa: S608  # nosec B608  # fixed names
            f"AND NOT EXISTS (SELECT 1 FROM {target} t WHERE t.id = x.{column})"
        )
        assert orphans == 0, (table, column)
    # A measurement taken at an encounter is the encounter's citizen's.
    assert not Measurement.objects.exclude(encounter=None).exclude(encounter__patient_id=F("patient_id")).exists()


def every_bulk_row_has_the_history_the_triggers_write():
    for table in ["patients_patient", "patients_encounter", "patients_measurement", "patients_condition"]:
        missing = scalar(
            f"SELECT count(*) FROM {table} x WHERE NOT EXISTS "  # noqa: S608  # nosec B608  # fixed names
            f"(SELECT 1 FROM {table}event e WHERE e.pgh_obj_id = x.id AND e.pgh_label = 'insert')"
        )
        assert missing == 0, table
    # A signed encounter was a draft first: its insert event has no signature, an update event has.
    signed = Encounter.objects.filter(signed_at__isnull=False).count()
    assert signed > 0
    assert scalar("SELECT count(*) FROM patients_encounterevent WHERE pgh_label = 'update'") == signed
    assert (
        scalar("SELECT count(*) FROM patients_encounterevent WHERE pgh_label = 'insert' AND signed_at IS NOT NULL") == 0
    )
    # Each signature is in the access log, naming its signer.
    assert AccessLog.objects.filter(what="encounter signed").count() == signed
    # The events name the command that wrote them.
    assert (
        scalar(
            "SELECT count(*) FROM patients_measurementevent e JOIN pghistory_context c ON c.id = e.pgh_context_id "
            "WHERE c.metadata->>'profile' = 'large'"
        )
        == Measurement.objects.count()
    )
    # A citizen who moved team has a team-history row for each move, and an update event for it.
    moves = TeamResponsibility.objects.filter(valid_from__isnull=False)
    assert moves.exists()
    assert TeamResponsibility.objects.filter(valid_from__isnull=True).count() == CITIZENS
    assert scalar("SELECT count(*) FROM patients_patientevent WHERE pgh_label = 'update'") == moves.count()
    history = TeamResponsibility.objects.order_by(F("valid_from").asc(nulls_first=True), "id")
    latest = dict(history.values_list("patient", "team"))
    assert latest == dict(Patient.objects.values_list("id", "team"))


def tasks_have_the_transitions_the_services_write():
    tasks = Task.objects.filter(origin__in=[TaskOrigin.AGREED_ACTION, TaskOrigin.RULE]).prefetch_related("transitions")
    assert tasks.filter(status=TaskStatus.DONE).exists()
    for task in tasks:
        steps = sorted(task.transitions.all(), key=lambda t: (t.at, t.id))
        assert steps[0].from_status == ""
        assert steps[0].to_status == TaskStatus.OPEN
        assert steps[0].at == task.created_at
        assert steps[-1].to_status == task.status
        assert steps[-1].to_assignee_id == task.assignee_id
        assert task.version == len(steps)
    # A care gap's task is the job's: by nobody, open, the gap naming it.
    for gap in CareGap.objects.select_related("task"):
        assert gap.task.origin == TaskOrigin.RULE
        assert gap.task.created_by_id is None
    assert TaskTransition.objects.filter(task__origin=TaskOrigin.RULE, by__isnull=False).count() == 0


def the_jobs_find_nothing_to_do_right_after():
    assert not StaleDay.objects.exists()
    assert not CareGapChange.objects.exists()
    assert CareGapReview.objects.count() == CITIZENS
    gaps, tasks = CareGap.objects.count(), Task.objects.count()
    result = evaluate_care_gaps()
    assert (result.opened, result.closed, result.reviewed) == (0, 0, 0)
    assert (CareGap.objects.count(), Task.objects.count()) == (gaps, tasks)
    run = run_incremental()
    assert run.rows == 0


def test_the_demo_stays_the_default_profile(db, monkeypatch):
    called = []
    monkeypatch.setattr(large_demo, "seed_large", lambda **kwargs: called.append(kwargs))
    monkeypatch.setattr("reporting.management.commands.seed_demo.Seeder", lambda **kwargs: called.append(kwargs))
    with pytest.raises(AttributeError):  # the stand-in Seeder has no run(): the demo's path was taken
        call_command("seed_demo", "--citizens", "3")
    assert called == [{"citizens": 3}]


def test_staff_are_apportioned_over_the_teams_in_proportion():
    counts = large_demo._apportion(300, {"a": 0.5, "b": 0.3, "c": 0.2, "d": 0.001})
    assert counts == {"a": 150, "b": 90, "c": 60, "d": 3}
    assert sum(large_demo._apportion(300, {"a": 1, "b": 1, "c": 1}).values()) == 300
