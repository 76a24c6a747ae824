"""The care relation: team members and colleagues in the team reach a citizen; everyone else
gets 404, and every attempt is in the access log."""

import pytest
from django.urls import reverse

from healthcenter.models import AccessLog

from .conftest import client_for
from .factories import EncounterFactory, PatientFactory


def patient_pages(patient, encounter):
    return [
        reverse("patients:detail", args=[patient.public_id]),
        reverse("patients:edit", args=[patient.public_id]),
        reverse("patients:history", args=[patient.public_id]),
        reverse("patients:access_log", args=[patient.public_id]),
        reverse("coordination:encounter_create", args=[patient.public_id]),
        reverse("patients:goal_create", args=[patient.public_id]),
        reverse("patients:relative_add", args=[patient.public_id]),
        reverse("patients:consent_give", args=[patient.public_id]),
        reverse("patients:condition_add", args=[patient.public_id]),
        reverse("patients:enrolment_create", args=[patient.public_id]),
        reverse("patients:measurement_add", args=[patient.public_id]),
        reverse("patients:encounter_amend", args=[encounter.public_id]),
        reverse("patients:timeline", args=[patient.public_id]) + f"?after={encounter.public_id}",
    ]


@pytest.fixture
def encounter(patient, member):
    return EncounterFactory(patient=patient, professional=member)


@pytest.mark.django_db
class TestPersonas:
    def test_it_shows_every_patient_page_to_the_team_member(self, as_member, patient, encounter):
        for url in patient_pages(patient, encounter):
            assert as_member.get(url).status_code == 200, url

    def test_it_shows_every_patient_page_to_a_colleague_in_the_team(self, as_colleague, patient, encounter):
        for url in patient_pages(patient, encounter):
            assert as_colleague.get(url).status_code == 200, url

    def test_it_rejects_outsider_with_404_on_every_page(self, as_outsider, outsider, patient, encounter):
        for url in patient_pages(patient, encounter):
            assert as_outsider.get(url).status_code == 404, url
        denied = AccessLog.objects.filter(user=outsider, outcome="denied")
        assert denied.count() == len(patient_pages(patient, encounter))

    def test_it_rejects_outsider_posting_to_a_patient(self, as_outsider, patient):
        url = reverse("coordination:encounter_create", args=[patient.public_id])
        response = as_outsider.post(url, {"kind": "phone", "note": "x"})
        assert response.status_code == 404
        assert not patient.encounters.exists()

    def test_it_hides_clinical_pages_from_managers(self, manager, patient, encounter):
        client = client_for(manager)
        for url in [*patient_pages(patient, encounter), reverse("patients:list")]:
            assert client.get(url).status_code == 404, url

    def test_it_hides_clinical_pages_from_administrators(self, administrator, patient, encounter):
        client = client_for(administrator)
        assert client.get(reverse("patients:detail", args=[patient.public_id])).status_code == 404

    def test_it_answers_an_unknown_id_like_a_forbidden_one(self, as_member):
        response = as_member.get(reverse("patients:detail", args=["00000000-0000-0000-0000-000000000000"]))
        assert response.status_code == 404

    def test_it_sends_anonymous_users_to_login(self, client, patient):
        response = client.get(reverse("patients:detail", args=[patient.public_id]))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]

    def test_outsider_does_not_find_citizens_of_other_teams_in_search(self, as_outsider, patient):
        response = as_outsider.post(reverse("patients:list"), {"term": "Karen"}, follow=True)
        assert response.status_code == 200
        assert "Jensen" not in response.content.decode()
        assert response.context["page"].paginator.count == 0

    def test_a_coordinator_reaches_citizens_of_their_team(self, coordinator, patient):
        client = client_for(coordinator)
        assert client.get(reverse("patients:detail", args=[patient.public_id])).status_code == 200


@pytest.mark.django_db
class TestAccessLog:
    def test_it_logs_a_view_of_the_patient_page(self, as_member, member, patient):
        as_member.get(reverse("patients:detail", args=[patient.public_id]))
        entry = AccessLog.objects.get(patient_public_id=patient.public_id)
        assert (entry.user, entry.role, entry.action, entry.outcome) == (member, "professional", "view", "allowed")
        assert entry.what == "citizen page"

    def test_a_search_writes_its_criterion_not_a_row_per_hit(self, as_member, member, team):
        PatientFactory.create_batch(7, team=team, last_name="Hansen")
        as_member.post(reverse("patients:list"), {"term": "hansen"})
        as_member.get(reverse("patients:list"))
        rows = AccessLog.objects.filter(user=member)
        assert rows.count() == 1
        entry = rows.get()
        assert entry.action == "search"
        assert "hansen" in entry.what
        assert entry.patient_public_id is None

    def test_the_patient_page_shows_who_viewed_the_record(self, as_member, as_colleague, colleague, patient):
        as_colleague.get(reverse("patients:detail", args=[patient.public_id]))
        response = as_member.get(reverse("patients:detail", args=[patient.public_id]))
        assert str(colleague) in response.content.decode()

    def test_the_log_cannot_be_changed_or_deleted(self, as_member, patient):
        from django.db import ProgrammingError, transaction

        as_member.get(reverse("patients:detail", args=[patient.public_id]))
        entry = AccessLog.objects.get(patient_public_id=patient.public_id)
        with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
            AccessLog.objects.filter(pk=entry.pk).update(what="tampered")
        with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
            AccessLog.objects.filter(pk=entry.pk).delete()
        assert AccessLog.objects.get(pk=entry.pk).what == "citizen page"

    def test_an_administrator_exports_one_citizens_access_log(self, administrator, as_member, patient):
        as_member.get(reverse("patients:detail", args=[patient.public_id]))
        client = client_for(administrator)
        response = client.post(reverse("patients:access_log_export"), {"cpr": patient.cpr_formatted})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        lines = response.content.decode().strip().splitlines()
        assert lines[0] == "Tidspunkt,Brugernavn,Navn,Rolle,Handling,Hvad,Resultat"
        assert any("member" in line and "borgerens side" in line and "Tilladt" in line for line in lines[1:])
        assert AccessLog.objects.filter(
            user=administrator, action="export", patient_public_id=patient.public_id
        ).exists()

    def test_the_export_refuses_other_roles(self, as_member, patient):
        response = as_member.post(reverse("patients:access_log_export"), {"cpr": patient.cpr})
        assert response.status_code == 404

    def test_the_export_says_when_no_citizen_has_the_number(self, administrator):
        client = client_for(administrator)
        response = client.post(reverse("patients:access_log_export"), {"cpr": "010150-1234"})
        assert response.status_code == 200
        assert response.context["form"].errors["cpr"] == ["Der er ingen borger registreret med dette CPR-nummer."]


@pytest.mark.django_db
class TestProbing:
    def test_a_refused_encounter_is_logged_under_its_citizen(self, as_outsider, outsider, patient, encounter):
        as_outsider.get(reverse("patients:encounter_amend", args=[encounter.public_id]))
        entry = AccessLog.objects.get(user=outsider)
        assert (entry.patient_public_id, entry.outcome) == (patient.public_id, "denied")

    def test_trying_a_registered_cpr_is_logged_under_that_citizen(self, as_outsider, outsider, other_team, patient):
        response = as_outsider.post(
            reverse("patients:create"),
            {"cpr": patient.cpr, "first_name": "X", "last_name": "Y", "team": other_team.id, "status": "active"},
        )
        assert response.context["form"].errors["cpr"]
        entry = AccessLog.objects.get(user=outsider, patient_public_id=patient.public_id)
        assert entry.outcome == "rejected"

    def test_patient_pages_are_not_cached_by_the_browser(self, as_member, patient):
        response = as_member.get(reverse("patients:detail", args=[patient.public_id]))
        assert "no-store" in response["Cache-Control"]
