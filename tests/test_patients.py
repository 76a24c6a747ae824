import pytest
from django.urls import reverse

from patients.models import Patient

from .conftest import client_for
from .factories import ConditionFactory, PatientFactory, UserFactory, valid_cpr


def registration(team, **overrides):
    data = {
        "cpr": "120356-1235",
        "first_name": "Ib",
        "last_name": "Mortensen",
        "team": team.id,
        "status": "active",
        "postal_code": "8000",
        "city": "Aarhus C",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
class TestRegistration:
    def test_it_registers_a_citizen_with_birth_date_and_sex_from_the_cpr(self, as_member, team):
        response = as_member.post(reverse("coordination:citizen_register"), registration(team))
        patient = Patient.objects.get(cpr="1203561235")
        # The receipt is the registration page again, as for a citizen another team follows (test_access.py).
        assert response.status_code == 302
        assert response["Location"] == reverse("coordination:citizen_register")
        assert patient.team == team
        assert str(patient.birth_date) == "1956-03-12"
        assert patient.sex == "male"

    def test_it_refuses_a_duplicate_cpr_with_a_clear_message(self, as_member, team, patient):
        response = as_member.post(reverse("coordination:citizen_register"), registration(team, cpr=patient.cpr))
        assert response.status_code == 200
        assert "cpr" in response.context["form"].errors
        assert Patient.objects.filter(cpr=patient.cpr).count() == 1

    @pytest.mark.parametrize("cpr", ["12035612", "320156-1235", "abcdef-ghij", "010130-4001"])
    def test_it_refuses_an_invalid_cpr(self, as_member, team, cpr):
        response = as_member.post(reverse("coordination:citizen_register"), registration(team, cpr=cpr))
        assert response.status_code == 200
        assert response.context["form"].errors["cpr"]
        assert not Patient.objects.exists()

    def test_it_reports_an_empty_required_field_in_danish(self, as_member, team):
        response = as_member.post(reverse("coordination:citizen_register"), registration(team, last_name=""))
        assert response.context["form"].errors["last_name"] == ["Dette felt er påkrævet."]
        assert not Patient.objects.exists()

    def test_it_refuses_placing_a_citizen_in_another_team(self, as_member, other_team):
        response = as_member.post(reverse("coordination:citizen_register"), registration(other_team))
        assert response.status_code == 200
        assert response.context["form"].errors["team"]
        assert not Patient.objects.exists()

    def test_it_refuses_a_responsible_professional_outside_the_team(self, as_member, team, outsider):
        response = as_member.post(
            reverse("coordination:citizen_register"), registration(team, responsible_professional=outsider.id)
        )
        assert response.context["form"].errors["responsible_professional"]
        assert not Patient.objects.exists()


@pytest.mark.django_db
class TestEditing:
    def edit_data(self, patient, **overrides):
        data = registration(patient.team, cpr=patient.cpr, first_name=patient.first_name, last_name=patient.last_name)
        data["version"] = patient.version
        data.update(overrides)
        return data

    def test_it_saves_a_change(self, as_member, patient):
        response = as_member.post(
            reverse("patients:edit", args=[patient.public_id]), self.edit_data(patient, phone="12345678")
        )
        assert response.status_code == 302
        patient.refresh_from_db()
        assert (patient.phone, patient.version) == ("12345678", 2)

    def test_the_second_of_two_concurrent_edits_is_refused_and_nothing_is_overwritten(
        self, as_member, as_colleague, patient
    ):
        url = reverse("patients:edit", args=[patient.public_id])
        loaded_by_both = self.edit_data(patient)
        as_member.post(url, {**loaded_by_both, "phone": "11111111"})
        response = as_colleague.post(url, {**loaded_by_both, "phone": "22222222"})
        assert response.status_code == 200
        assert "reload" in str(response.context["form"].non_field_errors()).lower() or "genindlæs" in str(
            response.context["form"].non_field_errors()
        )
        patient.refresh_from_db()
        assert patient.phone == "11111111"

    def test_a_tampered_version_is_refused(self, as_member, patient):
        response = as_member.post(
            reverse("patients:edit", args=[patient.public_id]), self.edit_data(patient, version="abc")
        )
        assert response.status_code == 200
        patient.refresh_from_db()
        assert patient.version == 1


@pytest.mark.django_db
class TestList:
    def search(self, client, term):
        return client.post(reverse("patients:list"), {"term": term}, follow=True)

    def test_it_finds_citizens_by_part_of_the_name(self, as_member, team, patient):
        PatientFactory(team=team, first_name="Ole", last_name="Olsen")
        response = self.search(as_member, "jens")
        assert [p.last_name for p in response.context["page"]] == ["Jensen"]

    def test_it_finds_citizens_by_first_and_last_name_together(self, as_member, team, patient):
        PatientFactory(team=team, first_name="Karen", last_name="Olsen")
        response = self.search(as_member, "karen jen")
        assert [p.last_name for p in response.context["page"]] == ["Jensen"]

    def test_it_finds_citizens_by_cpr_prefix_with_or_without_dash(self, as_member, team, patient):
        prefix = patient.cpr[:6]
        assert [p.pk for p in self.search(as_member, prefix).context["page"]] == [patient.pk]
        assert [p.pk for p in self.search(as_member, patient.cpr_formatted).context["page"]] == [patient.pk]

    def test_the_search_term_never_appears_in_the_url(self, as_member, patient):
        response = self.search(as_member, "Jensen")
        for url, _status in response.redirect_chain:
            assert "Jensen" not in url

    def test_it_filters_by_condition_group(self, as_member, team, patient):
        ConditionFactory(patient=patient, kind="dm2")
        other = PatientFactory(team=team)
        ConditionFactory(patient=other, kind="dem_alzheimer", icd10="F00")
        response = as_member.get(reverse("patients:list"), {"condition": "dementia"})
        assert [p.pk for p in response.context["page"]] == [other.pk]

    def test_it_paginates(self, as_member, team):
        PatientFactory.create_batch(30, team=team)
        first = as_member.get(reverse("patients:list"))
        second = as_member.get(reverse("patients:list"), {"page": 2})
        assert len(first.context["page"]) == 25
        assert len(second.context["page"]) == 5

    def test_the_htmx_search_returns_only_the_rows(self, as_member, patient):
        response = as_member.post(reverse("patients:list"), {"term": "Karen"}, headers={"HX-Request": "true"})
        body = response.content.decode()
        assert body.lstrip().startswith('<div id="patient-rows">')
        assert "Jensen" in body

    def test_a_coordinator_of_two_teams_sees_both(self, team, other_team):
        coordinator = UserFactory(role="coordinator", teams=[team, other_team])
        PatientFactory(team=team)
        PatientFactory(team=other_team, cpr=valid_cpr())
        response = client_for(coordinator).get(reverse("patients:list"))
        assert response.context["page"].paginator.count == 2
