"""Cache-Control: no-store on everything a signed-in user is sent (pages, htmx fragments, exports), so
that a shared PC keeps no copy of a citizen's data (healthcenter.middleware.NoStoreWhenSignedInMiddleware)."""

import pytest
from django.urls import reverse

from tests.factories import EncounterFactory, MeasurementFactory, ReferralFactory, TaskFactory

from .conftest import client_for


@pytest.fixture
def encounter(patient, member):
    return EncounterFactory(patient=patient, professional=member)


@pytest.fixture
def draft(patient, member):
    return EncounterFactory(patient=patient, professional=member, signed_at=None)


def citizen_pages(patient, encounter, draft, task, referral) -> list[str]:
    """Everything a professional opens that shows a citizen: pages, htmx fragments."""
    return [
        reverse("patients:list"),
        reverse("patients:detail", args=[patient.public_id]),
        reverse("patients:edit", args=[patient.public_id]),
        reverse("patients:timeline", args=[patient.public_id]) + f"?after={encounter.public_id}",
        reverse("patients:history", args=[patient.public_id]),
        reverse("patients:encounter_amend", args=[encounter.public_id]),
        reverse("coordination:briefing", args=[patient.public_id]),
        reverse("coordination:patient_panel", args=[patient.public_id]),
        reverse("coordination:encounter_create", args=[patient.public_id]),
        reverse("coordination:encounter_edit", args=[draft.public_id]),
        reverse("coordination:worklist"),
        reverse("coordination:my_tasks"),
        reverse("coordination:board"),
        reverse("coordination:board_column", args=["open"]),
        reverse("coordination:workload"),
        reverse("coordination:task", args=[task.public_id]),
        reverse("coordination:task_create"),
        reverse("coordination:referrals"),
        reverse("coordination:referral", args=[referral.public_id]),
        reverse("coordination:news"),
        reverse("coordination:news_badge"),
        reverse("reporting:my_stories"),
        reverse("reporting:story_create", args=[patient.public_id]),
    ]


def assert_not_stored(response) -> None:
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= cache_control, response["Cache-Control"]


@pytest.mark.django_db
def test_every_page_a_professional_sees_is_sent_no_store(member, coordinator, team, patient, encounter, draft):
    MeasurementFactory(patient=patient, encounter=encounter, source="encounter")
    task = TaskFactory(team=team, patient=patient, assignee=member, created_by=member)
    referral = ReferralFactory(patient=patient, created_by=coordinator)

    client = client_for(member)
    for url in citizen_pages(patient, encounter, draft, task, referral):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert_not_stored(response)


@pytest.mark.django_db
def test_a_refusal_and_a_redirect_to_a_signed_in_user_are_not_stored_either(as_outsider, patient):
    # Not the citizen's data, but the rule has no exceptions to forget.
    assert_not_stored(as_outsider.get(reverse("patients:detail", args=[patient.public_id])))
    assert_not_stored(as_outsider.get(reverse("home")))


@pytest.mark.django_db
def test_the_manager_s_dashboard_report_and_exports_are_sent_no_store(manager):
    client = client_for(manager)
    for url in [
        reverse("reporting:overview"),
        reverse("reporting:export", args=["csv"]),
        reverse("reporting:export", args=["xlsx"]),
        reverse("reporting:quarterly"),
        reverse("reporting:stories"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert_not_stored(response)


@pytest.mark.django_db
def test_the_access_log_export_is_sent_no_store(administrator, patient):
    response = client_for(administrator).post(reverse("patients:access_log_export"), {"cpr": patient.cpr})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert_not_stored(response)
