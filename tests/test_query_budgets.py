"""Pages have query budgets that do not grow with the amount of data. On failure pytest-django
prints every query that ran."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from patients.models import AgreedAction, Amendment, Encounter, Measurement, MeasurementType

from .factories import ConditionFactory, PatientFactory

PATIENT_PAGE_BUDGET = 22
PATIENT_LIST_BUDGET = 12


def add_history(patient, professional, count):
    hba1c = MeasurementType.objects.get(code="hba1c")
    weight = MeasurementType.objects.get(code="weight")
    start = timezone.now() - datetime.timedelta(days=count + 1)
    encounters = Encounter.objects.bulk_create(
        Encounter(
            patient=patient,
            professional=professional,
            kind="individual",
            started_at=start + datetime.timedelta(days=i),
            duration_minutes=30,
            note=f"Samtale {i}",
            what_matters="At gå tur",
            signed_at=start + datetime.timedelta(days=i, hours=1),
        )
        for i in range(count)
    )
    Measurement.objects.bulk_create(
        Measurement(
            patient=patient,
            type=mt,
            value=Decimal(60),
            measured_at=e.started_at,
            source="encounter",
            encounter=e,
            recorded_by=professional,
        )
        for e in encounters
        for mt in (hba1c, weight)
    )
    AgreedAction.objects.bulk_create(AgreedAction(encounter=e, text="Gåtur") for e in encounters)
    Amendment.objects.bulk_create(Amendment(encounter=e, author=professional, text="Tilføjelse") for e in encounters)


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.django_db
def test_the_patient_page_has_a_budget_that_does_not_grow_with_history(
    as_member, member, patient, django_assert_max_num_queries
):
    url = reverse("patients:detail", args=[patient.public_id])
    add_history(patient, member, 10)
    with django_assert_max_num_queries(PATIENT_PAGE_BUDGET):
        as_member.get(url)
    small = count_queries(as_member, url)
    add_history(patient, member, 490)
    with django_assert_max_num_queries(PATIENT_PAGE_BUDGET):
        response = as_member.get(url)
    assert len(response.context["timeline"].encounters) == 15
    assert count_queries(as_member, url) == small


@pytest.mark.django_db
def test_the_patient_list_has_a_budget_that_does_not_grow_with_citizens(
    as_member, member, team, django_assert_max_num_queries
):
    url = reverse("patients:list")
    for patient in PatientFactory.create_batch(10, team=team, responsible_professional=member):
        ConditionFactory(patient=patient)
    small = count_queries(as_member, url)
    for patient in PatientFactory.create_batch(60, team=team, responsible_professional=member):
        ConditionFactory(patient=patient)
    with django_assert_max_num_queries(PATIENT_LIST_BUDGET):
        as_member.get(url, {"condition": "diabetes"})
    assert count_queries(as_member, url) == small


@pytest.mark.django_db
def test_the_timeline_pages_back_through_all_of_the_history(as_member, member, patient):
    add_history(patient, member, 40)
    # Encounters at the same moment as a page boundary are neither skipped nor repeated.
    same_time = Encounter.objects.filter(patient=patient).order_by("started_at")[10].started_at
    Encounter.objects.bulk_create(
        Encounter(patient=patient, professional=member, kind="phone", started_at=same_time, duration_minutes=5)
        for _ in range(20)
    )
    seen = []
    response = as_member.get(reverse("patients:detail", args=[patient.public_id]))
    timeline = response.context["timeline"]
    seen += timeline.encounters
    while timeline.next_after:
        response = as_member.get(
            reverse("patients:timeline", args=[patient.public_id]), {"after": timeline.next_after.public_id}
        )
        timeline = response.context["timeline"]
        seen += timeline.encounters
    assert len(seen) == 60
    assert len({e.pk for e in seen}) == 60


@pytest.mark.django_db
def test_the_dashboard_has_a_budget_that_does_not_grow_with_stories_or_history(manager, member, team):
    """The rollup rows' part is held in tests/test_dashboard.py (teams and months) and
    tests/test_exports.py; here the rest of the page: the good stories (five shown, one access-log
    write for all of them) and the citizens' history behind the figures (never read)."""
    from reporting.models import StoryStatus

    from .conftest import client_for
    from .factories import ConsentFactory, StoryFactory

    def approved_story():
        citizen = PatientFactory(team=team)
        ConsentFactory(patient=citizen)
        StoryFactory(patient=citizen, status=StoryStatus.APPROVED, decided_at=timezone.now())
        return citizen

    client = client_for(manager)
    url = reverse("reporting:overview")
    add_history(approved_story(), member, 2)
    small = count_queries(client, url)
    for _story in range(7):
        add_history(approved_story(), member, 20)
    assert count_queries(client, url) == small


# --- per-request overhead (issue 11): the patient page's fragment cache and the menu's badges ---

# Session, user, citizen, care teams, the access-log row, the record's version, who viewed the record,
# and the citizen's stories: everything else of a repeated view comes from the fragment cache.
PATIENT_PAGE_REPEATED_BUDGET = 8
# The "new for you" badge: session, user, care teams, and one count of unread news and returned stories.
NEWS_BADGE_BUDGET = 4


def badge_queries(sql: list[str]) -> list[str]:
    """The counts behind the menu's "new for you" badge: unread news and stories returned to the author."""
    return [q for q in sql if '"coordination_notification"' in q or ('"reporting_story"' in q and "'returned'" in q)]


@pytest.mark.django_db
def test_a_repeated_patient_page_reads_the_record_from_the_fragment_cache(
    as_member, member, patient, django_assert_max_num_queries
):
    add_history(patient, member, 30)
    url = reverse("patients:detail", args=[patient.public_id])
    first = count_queries(as_member, url)
    with django_assert_max_num_queries(PATIENT_PAGE_REPEATED_BUDGET):
        as_member.get(url)
    assert count_queries(as_member, url) < first


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name", ["patients:list", "patients:detail", "coordination:worklist", "coordination:my_tasks"]
)
def test_a_signed_in_page_spends_at_most_one_query_on_the_menus_badges(as_member, patient, url_name):
    args = [patient.public_id] if url_name == "patients:detail" else []
    with CaptureQueriesContext(connection) as context:
        response = as_member.get(reverse(url_name, args=args))
    assert response.status_code == 200
    assert len(badge_queries([q["sql"] for q in context.captured_queries])) <= 1


@pytest.mark.django_db
def test_the_news_badge_has_a_budget(as_member, django_assert_max_num_queries):
    with django_assert_max_num_queries(NEWS_BADGE_BUDGET):
        response = as_member.get(reverse("coordination:news_badge"), headers={"HX-Request": "true"})
    assert response.status_code == 200


@pytest.mark.django_db
def test_the_news_badge_counts_news_and_returned_stories_in_one_query(as_member):
    """The badge is asked for after every page: its number is one indexed query, whatever it counts."""
    with CaptureQueriesContext(connection) as context:
        response = as_member.get(reverse("coordination:news_badge"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    counts = badge_queries([q["sql"] for q in context.captured_queries])
    assert len(counts) == 1 and "UNION ALL" in counts[0], counts
