"""The teams of the chosen month on the manager's dashboard: rollup rows only (no clinical table is
read), every count through the display function."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from .conftest import client_for
from .factories import ConditionFactory, EncounterFactory, PatientFactory, TeamFactory
from .test_dashboard import activity, page, stored


@pytest.mark.django_db
class TestTeams:
    def test_citizens_and_activity_per_team_with_small_cells_and_their_cover_hidden(self, manager, team, other_team):
        third = TeamFactory(name="Demens Øst")
        stored("DM-HBA1C-MEASURED", 20, 30, unit=team)
        stored("DM-HBA1C-MEASURED", 1, 3, unit=other_team)
        stored("DM-HBA1C-MEASURED", 30, 40, unit=third)
        stored("DM-HBA1C-MEASURED", 51, 73)
        stored("DEM-SPECIFIC-DIAGNOSIS", 10, 12, unit=third)
        stored("DEM-SPECIFIC-DIAGNOSIS", 10, 12)
        activity(25, 11, unit=team)
        activity(4, 3, unit=other_team)
        activity(60, 30, unit=third)
        activity(89, 44)
        *team_rows, centre = page(manager).context["board"].teams
        teams = {row.name: row for row in team_rows}
        south, north, east = teams["Diabetes Syd"], teams["Diabetes Nord"], teams["Demens Øst"]
        assert (south.diabetes, south.contacts, south.citizens) == ("<5", "<5", "<5")
        # Diabetes Nord is the next smallest: its counts would give Syd's away as the centre minus the others.
        assert "30" not in north.diabetes and "25" not in north.contacts and "11" not in north.citizens
        assert (east.diabetes, east.dementia, east.contacts, east.citizens) == ("40", "12", "60", "30")
        assert (centre.diabetes, centre.dementia, centre.contacts, centre.citizens) == ("73", "12", "89", "44")
        assert centre.is_total and centre.chosen

    def test_the_overview_reads_no_clinical_table(self, manager, team):
        patient = PatientFactory(team=team, first_name="Ingeborg", last_name="Quistgaard")
        for citizen in PatientFactory.create_batch(3, team=team):
            ConditionFactory(patient=citizen, kind="dm2")
            EncounterFactory(patient=citizen)
        client = client_for(manager)
        with CaptureQueriesContext(connection) as queries:
            body = client.get(reverse("reporting:overview")).content.decode()
        # The figures come from rollup rows only. The approved stories are read with their citizen's
        # public id, under which the showing is logged (tests/test_stories.py); nothing else.
        tables = " ".join(q["sql"] for q in queries.captured_queries if 'FROM "reporting_story"' not in q["sql"])
        for clinical in ("patients_patient", "patients_encounter", "patients_condition", "patients_measurement"):
            assert clinical not in tables
        assert patient.last_name not in body
        assert patient.cpr_formatted not in body

    def test_professionals_do_not_reach_the_managers_overview(self, as_member):
        assert as_member.get(reverse("reporting:overview")).status_code == 404

    def test_the_manager_lands_on_the_overview(self, manager):
        response = client_for(manager).get(reverse("home"))
        assert response["Location"] == reverse("reporting:overview")
