"""The Django admin never shows citizens' data: deleting a user, a team or a programme names what
would go with it, or stands in its way, by kind and count only."""

import pytest
from django.urls import reverse

from coordination.models import HandoverNote

from .conftest import client_for
from .factories import EncounterFactory, GoalFactory, MeasurementFactory, UserFactory


@pytest.mark.django_db
class TestTheAdminShowsNoCitizensData:
    """Deleting a user, a team or a programme in the admin never lists citizens' records: what would
    go with it, or stands in its way, is named by kind and count only."""

    @pytest.fixture
    def author(self, team, patient):
        author = UserFactory(username="forfatter", first_name="Bodil", last_name="Skov", teams=[team])
        encounter = EncounterFactory(patient=patient, professional=author, note="Sover dårligt om natten")
        GoalFactory(patient=patient, created_by=author, text="At kunne gå til Netto igen")
        HandoverNote.objects.create(patient=patient, author=author, text="Datteren ringede om aftenerne")
        MeasurementFactory(patient=patient, encounter=encounter, recorded_by=author)
        return author

    SECRETS = ["Karen", "Jensen", "Netto", "Datteren ringede", "Sover dårligt"]

    def test_the_delete_page_of_a_user_names_kinds_and_counts_only(self, administrator, author):
        response = client_for(administrator).get(reverse("admin:healthcenter_user_delete", args=[author.pk]))
        assert response.status_code == 200
        page = response.content.decode()
        assert not [secret for secret in self.SECRETS if secret in page]
        assert ": 1</li>" in page  # e.g. "Mål: 1"
        assert "Deactivate" in page or "Deaktivér" in page or "untick" in page

    def test_delete_selected_names_kinds_and_counts_only(self, administrator, author):
        response = client_for(administrator).post(
            reverse("admin:healthcenter_user_changelist"),
            {"action": "delete_selected", "_selected_action": [author.pk]},
        )
        assert response.status_code == 200
        page = response.content.decode()
        assert not [secret for secret in self.SECRETS if secret in page]
        assert ": 1</li>" in page

    def test_the_delete_page_of_a_team_names_no_citizen(self, administrator, team, author):
        response = client_for(administrator).get(reverse("admin:healthcenter_team_delete", args=[team.pk]))
        assert response.status_code == 200
        assert not [secret for secret in self.SECRETS if secret in response.content.decode()]

    def test_the_user_is_kept(self, administrator, author):
        client_for(administrator).post(reverse("admin:healthcenter_user_delete", args=[author.pk]), {"post": "yes"})
        assert type(author).objects.filter(pk=author.pk).exists()
