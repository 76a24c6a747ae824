"""Change history is written by database triggers, so it also covers bulk changes."""

import pytest
from django.urls import reverse

from patients.models import Patient

from .factories import EncounterFactory, PatientFactory


@pytest.mark.django_db
class TestChangeHistory:
    def test_it_records_who_changed_what(self, as_member, member, patient):
        url = reverse("patients:edit", args=[patient.public_id])
        data = {
            "cpr": patient.cpr,
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "team": patient.team_id,
            "status": "active",
            "phone": "87654321",
            "version": patient.version,
        }
        as_member.post(url, data)
        response = as_member.get(reverse("patients:history", args=[patient.public_id]))
        changes = response.context["changes"]
        phone_changes = [c for c in changes if any(str(label) == "telefon" for label, _b, _a in c.fields)]
        assert len(phone_changes) == 1
        assert phone_changes[0].who == str(member)
        assert ("telefon", "", "87654321") in [(str(label), b, a) for label, b, a in phone_changes[0].fields]

    def test_it_records_bulk_changes_too(self, team, member, as_member):
        patients = PatientFactory.create_batch(3, team=team)
        Patient.objects.filter(team=team).update(city="Vejle")
        for patient in patients:
            changes = as_member.get(reverse("patients:history", args=[patient.public_id])).context["changes"]
            assert any(("by", "", "Vejle") in [(str(la), b, a) for la, b, a in c.fields] for c in changes)

    def test_it_includes_amendments_to_the_citizens_encounters(self, as_member, member, patient):
        encounter = EncounterFactory(patient=patient, professional=member)
        as_member.post(reverse("patients:encounter_amend", args=[encounter.public_id]), {"text": "Rettelse"})
        changes = as_member.get(reverse("patients:history", args=[patient.public_id])).context["changes"]
        assert any(any(after == "Rettelse" for _l, _b, after in c.fields) for c in changes)
