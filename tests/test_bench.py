"""`make bench` runs rarely and on big data; this keeps its single-user part from rotting: every page it
measures still answers as the benchmark expects, for the people it picks, on a tiny dataset. No timing is
asserted (figures only)."""

import pytest

from bench import harness
from healthcenter.models import Role
from patients.models import Encounter

from .factories import EncounterFactory, PatientFactory, UserFactory


@pytest.fixture
def small_centre(team, member, coordinator):
    """Two professionals with citizens (the median caseload is the member's), a coordinator, a manager."""
    busy = UserFactory(username="busy", teams=[team])
    citizens = [PatientFactory(team=team, responsible_professional=member) for _ in range(3)]
    PatientFactory.create_batch(5, team=team, responsible_professional=busy)
    EncounterFactory(patient=citizens[1], professional=member)
    UserFactory(username="manager", role=Role.MANAGER, profession="")
    return citizens


@pytest.mark.django_db
class TestSingleUser:
    def test_it_measures_every_page_once_with_its_queries(self, small_centre, member):
        result = harness.single_user(repeat=1, seconds=0)
        assert set(result["pages"]) == {page.key for page in harness.pages(harness.choose_cast())}
        assert {"worklist_mine", "dashboard", "export_xlsx", "encounter_save", "search_cpr"} <= set(result["pages"])
        assert all(figures["n"] == 1 and figures["queries"] > 0 for figures in result["pages"].values())
        assert result["data"]["professional"] == member.username
        assert result["data"]["citizen_encounters"] == 1

    def test_the_measured_save_is_a_signed_encounter(self, small_centre, member):
        harness.single_user(repeat=1, seconds=0, only={"encounter_save"})
        # warm-up, counted request and one sample
        saved = Encounter.objects.filter(professional=member, signed_at__isnull=False, note__startswith="Gennemgang")
        assert saved.count() == 3

    def test_a_page_that_errors_stops_the_benchmark(self, small_centre, member):
        cast = harness.choose_cast()
        cast.manager = member  # a professional is refused the dashboard
        page = next(p for p in harness.pages(cast) if p.key == "dashboard")
        with pytest.raises(harness.PageError, match="dashboard"):
            harness.measure_page(page, harness.signed_in(member), repeat=1, seconds=0)


def test_p95_is_the_nearest_rank():
    assert harness.percentile(list(range(1, 101)), 0.95) == 95
    assert harness.percentile([3.0, 1.0, 2.0], 0.95) == 3.0
