import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from patients.models import Consent
from reporting import dashboard as board
from reporting.models import Indicator
from reporting.rollups import run_rollups
from reporting.routers import ReplicaRouter

from .conftest import client_for
from .factories import ConditionFactory, PatientFactory
from .test_caregaps import enrolled
from .test_rollups import AS_OF, MONTH, hba1c


def diabetic_citizens(team, count, *, measured=0):
    citizens = []
    for index in range(count):
        patient = PatientFactory(team=team)
        ConditionFactory(patient=patient, kind="dm2")
        enrolled(patient, started_days_ago=800)
        if index < measured:
            hba1c(patient, 55, AS_OF - datetime.timedelta(days=20))
        citizens.append(patient)
    return citizens


@pytest.mark.django_db
class TestDashboard:
    def test_the_manager_sees_the_computed_figures(self, manager, team):
        diabetic_citizens(team, 6, measured=3)
        run_rollups(MONTH, MONTH)
        response = client_for(manager).get(reverse("reporting:overview"))
        table = {row["code"]: row for row in response.context["table"]}
        assert table["DM-HBA1C-MEASURED"]["value"] == "50.00"
        assert response.context["last_run"] is not None
        assert any(element_id == "run-dm-hba1c-measured" for element_id, _figure in response.context["charts"])

    def test_small_cells_leave_the_system_as_under_five(self, manager, team):
        diabetic_citizens(team, 4, measured=2)
        run_rollups(MONTH, MONTH)
        response = client_for(manager).get(reverse("reporting:export", args=["csv"]))
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        measured = next(r for r in rows if r[0] == "DM-HBA1C-MEASURED")
        assert measured[3:6] == ["<5", "<5", "<5"]

    def test_excel_export_has_the_same_table(self, manager, team):
        diabetic_citizens(team, 6, measured=6)
        run_rollups(MONTH, MONTH)
        response = client_for(manager).get(reverse("reporting:export", args=["xlsx"]))
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = {row[0]: row for row in sheet.iter_rows(values_only=True)}
        assert rows["DM-HBA1C-MEASURED"][5] == "100.00"

    def test_the_filter_shows_one_team(self, manager, team, other_team):
        diabetic_citizens(team, 5, measured=5)
        diabetic_citizens(other_team, 5, measured=0)
        run_rollups(MONTH, MONTH)
        response = client_for(manager).get(reverse("reporting:overview"), {"unit": f"team:{other_team.public_id}"})
        table = {row["code"]: row for row in response.context["table"]}
        assert table["DM-HBA1C-MEASURED"]["value"] == "0.00"
        assert len(response.context["funnels"]) >= 1

    def test_professionals_do_not_reach_the_dashboard(self, as_member):
        assert as_member.get(reverse("reporting:overview")).status_code == 404
        assert as_member.get(reverse("reporting:export", args=["csv"])).status_code == 404

    def test_the_dashboard_reads_rollups_only(self, manager, team, django_assert_max_num_queries):
        client = client_for(manager)
        diabetic_citizens(team, 5, measured=5)
        run_rollups(MONTH, MONTH)
        with django_assert_max_num_queries(25) as small:
            client.get(reverse("reporting:overview"))
        diabetic_citizens(team, 40, measured=40)  # far more clinical data, same rollup rows
        run_rollups(MONTH, MONTH)
        with django_assert_max_num_queries(len(small)):
            client.get(reverse("reporting:overview"))


def test_funnel_limits_narrow_as_teams_grow():
    low_small, high_small = board.control_limits(0.8, 10, board.Z_95)
    low_big, high_big = board.control_limits(0.8, 400, board.Z_95)
    assert low_small < low_big < 0.8 < high_big < high_small
    assert board.control_limits(0.8, 100, board.Z_998)[0] < board.control_limits(0.8, 100, board.Z_95)[0]


def test_the_funnel_leaves_out_teams_under_five():
    indicator = Indicator(code="X", name_da="x", name_en="x", kind="share", target=90, direction="gte")
    figure = board.funnel_plot(indicator, [("Nord", 3, 4), ("Syd", 8, 10)], (11, 14))
    points = figure["data"][-1]
    assert points["text"] == ["Syd"]
    assert points["y"] == [80.0]


def test_reporting_reads_go_to_the_replica_only_when_there_is_one(monkeypatch):
    from django.conf import settings

    router = ReplicaRouter()
    assert router.db_for_read(Indicator) is None
    monkeypatch.setitem(settings.DATABASES, "replica", settings.DATABASES["default"])
    assert router.db_for_read(Indicator) == "replica"
    assert router.db_for_read(Consent) is None
    assert router.db_for_write(Indicator) == "default"


@pytest.mark.django_db
def test_the_dashboard_counts_encounters_per_professional(manager, member, patient):
    from .factories import EncounterFactory

    EncounterFactory.create_batch(3, patient=patient, professional=member)
    activity = client_for(manager).get(reverse("reporting:overview")).context["activity"]
    assert [(a.name, a.encounters) for a in activity] == [(member.get_full_name(), 3)]


@pytest.mark.django_db
def test_an_interrupted_run_is_marked_failed_by_the_next(team):
    from reporting.models import RollupRun

    dead = RollupRun.objects.create(first_month=MONTH, last_month=MONTH)
    RollupRun.objects.filter(pk=dead.pk).update(started_at=timezone.now() - datetime.timedelta(hours=3))
    run_rollups(MONTH, MONTH)
    dead.refresh_from_db()
    assert dead.status == "failed"
