import pytest
from django.urls import reverse

from reporting.selectors import Cell

from .conftest import client_for
from .factories import ConditionFactory, EncounterFactory, PatientFactory


@pytest.mark.django_db
class TestCentreOverview:
    def test_managers_see_counts_per_team_with_small_cells_suppressed(self, manager, team, other_team):
        for patient in PatientFactory.create_batch(6, team=team):
            ConditionFactory(patient=patient, kind="dm2")
        for patient in PatientFactory.create_batch(3, team=other_team):
            ConditionFactory(patient=patient, kind="dem_vascular", icd10="F01")
            EncounterFactory(patient=patient)
        response = client_for(manager).get(reverse("reporting:overview"))
        rows = {row.team: row for row in response.context["rows"]}
        north, south = rows["Diabetes Nord"], rows["Diabetes Syd"]
        assert str(north.active_citizens) == "6"
        assert [str(cell) for cell in north.by_group] == ["6", "0"]
        assert str(south.active_citizens) == "<5"
        assert [str(cell) for cell in south.by_group] == ["0", "<5"]
        assert str(south.encounters_30_days) == "<5"
        body = response.content.decode()
        assert '<td class="text-end">3</td>' not in body

    def test_the_overview_names_no_citizen(self, manager, patient):
        body = client_for(manager).get(reverse("reporting:overview")).content.decode()
        assert patient.last_name not in body
        assert patient.cpr_formatted not in body

    def test_professionals_do_not_reach_the_managers_overview(self, as_member):
        assert as_member.get(reverse("reporting:overview")).status_code == 404

    def test_the_overview_reads_a_fixed_number_of_queries(self, manager, team, django_assert_max_num_queries):
        PatientFactory.create_batch(20, team=team)
        client = client_for(manager)
        with django_assert_max_num_queries(25):
            client.get(reverse("reporting:overview"))

    def test_the_manager_lands_on_the_overview(self, manager):
        response = client_for(manager).get(reverse("home"))
        assert response["Location"] == reverse("reporting:overview")


@pytest.mark.parametrize(("count", "shown"), [(0, "0"), (1, "<5"), (4, "<5"), (5, "5"), (17, "17")])
def test_cells_below_five_are_suppressed(count, shown):
    assert str(Cell(count)) == shown
