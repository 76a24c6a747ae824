"""Per-request overhead (issue 11): the patient page keeps the rendered parts of a citizen's record in a
fragment cache, keyed by a version of the record read from its change history on every request, the
user and the language. These tests hold what the cache must never do: serve a record from before a
change (whichever way the change was written), one user's fragment to another, or one language's to a
reader of the other."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from patients.models import AgreedAction, Amendment, Consent, Encounter, Enrolment, Goal, Measurement, MeasurementType
from patients.selectors import patient_record_version

from .factories import (
    ConditionFactory,
    ConsentFactory,
    EncounterFactory,
    EnrolmentFactory,
    GoalFactory,
    MeasurementFactory,
    RelativeFactory,
)

pytestmark = pytest.mark.django_db


def page(client, patient):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("patients:detail", args=[patient.public_id]))
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in queries.captured_queries]


def reads_of(table: str, sql: list[str]) -> list[str]:
    return [q for q in sql if f'FROM "{table}"' in q]


def test_a_repeated_patient_page_reads_nothing_of_the_record_again(as_member, member, patient):
    encounter = EncounterFactory(patient=patient, professional=member, note="Første samtale om kosten")
    MeasurementFactory(patient=patient, encounter=encounter, source="encounter", recorded_by=member)
    _first, first_sql = page(as_member, patient)
    again, again_sql = page(as_member, patient)
    assert "Første samtale om kosten" in again
    assert reads_of("patients_encounter", first_sql)
    assert reads_of("patients_encounter", again_sql) == []
    assert reads_of("patients_measurement", again_sql) == []
    assert reads_of("patients_goal", again_sql) == []
    assert len(again_sql) < len(first_sql)


def _new_encounter(patient, member):
    EncounterFactory(patient=patient, professional=member, note="Ny samtale om søvn")
    return "Ny samtale om søvn"


def _edited_note(patient, member):
    # A queryset update: no save(), no signal; the database's history trigger sees it all the same.
    Encounter.objects.filter(patient=patient).update(note="Rettet notat i databasen")
    return "Rettet notat i databasen"


def _amendment(patient, member):
    Amendment.objects.create(
        encounter=Encounter.objects.get(patient=patient), author=member, text="Eftersendt tilføjelse"
    )
    return "Eftersendt tilføjelse"


def _agreed_action(patient, member):
    AgreedAction.objects.create(encounter=Encounter.objects.get(patient=patient), text="Cykle til træning")
    return "Cykle til træning"


def _measurement(patient, member):
    MeasurementFactory(patient=patient, value=Decimal("71.5"), source="manual", recorded_by=member)
    return "71,5"


def _changed_value(patient, member):
    Measurement.objects.filter(patient=patient).update(value=Decimal("93.5"))
    return "93,5"


def _goal(patient, member):
    GoalFactory(patient=patient, created_by=member, text="At kunne cykle til stranden")
    return "At kunne cykle til stranden"


def _goal_reworded(patient, member):
    Goal.objects.filter(patient=patient).update(text="Et helt nyt mål i ord")
    return "Et helt nyt mål i ord"


def _consent_withdrawn(patient, member):
    Consent.objects.filter(patient=patient).update(withdrawn_on=datetime.date(2024, 3, 2), withdrawn_by="Borgeren")
    return "02.03.2024"


def _enrolment_ended(patient, member):
    Enrolment.objects.filter(patient=patient).update(end_on=datetime.date(2024, 5, 6), end_reason="completed")
    return "06.05.2024"


def _relative(patient, member):
    RelativeFactory(patient=patient, name="Birthe Lund")
    return "Birthe Lund"


def _condition(patient, member):
    ConditionFactory(patient=patient, kind="dem_alzheimer", icd10="F00")
    return "F00"


@pytest.mark.parametrize(
    "change",
    [
        _new_encounter,
        _edited_note,
        _amendment,
        _agreed_action,
        _measurement,
        _changed_value,
        _goal,
        _goal_reworded,
        _consent_withdrawn,
        _enrolment_ended,
        _relative,
        _condition,
    ],
)
def test_the_page_shows_a_change_to_the_record_at_once(as_member, member, patient, change):
    encounter = EncounterFactory(patient=patient, professional=member, note="Samtale")
    MeasurementFactory(patient=patient, encounter=encounter, source="encounter", recorded_by=member)
    GoalFactory(patient=patient, created_by=member, measurement_type=None)
    ConsentFactory(patient=patient, recorded_by=member)
    EnrolmentFactory(patient=patient, end_on=None)
    before, _sql = page(as_member, patient)
    shown = change(patient, member)
    assert shown not in before
    after, _sql = page(as_member, patient)
    assert shown in after


def test_the_version_moves_with_every_change_even_within_one_moment(member, patient):
    # Inside a test's transaction the database's clock stands still: the count of history rows must move it.
    encounter = EncounterFactory(patient=patient, professional=member)
    versions = {patient_record_version(patient)}
    AgreedAction.objects.create(encounter=encounter, text="Gå en tur")
    versions.add(patient_record_version(patient))
    Encounter.objects.filter(pk=encounter.pk).update(note="Ændret")
    versions.add(patient_record_version(patient))
    assert len(versions) == 3


def test_the_version_of_one_citizen_does_not_move_with_another(member, patient, team):
    from .factories import PatientFactory

    other = PatientFactory(team=team)
    version = patient_record_version(patient)
    EncounterFactory(patient=other, professional=member)
    assert patient_record_version(patient) == version


def test_a_record_moved_to_another_citizen_leaves_the_first_citizens_page(as_member, member, patient, team):
    """Filed on the wrong citizen and moved by a script: the row's history now names the other citizen,
    and the first citizen's version must move all the same."""
    from .factories import PatientFactory

    other = PatientFactory(team=team)
    encounter = EncounterFactory(patient=patient, professional=member, note="Hører til en anden borger")
    before, _sql = page(as_member, patient)
    assert "Hører til en anden borger" in before
    Encounter.objects.filter(pk=encounter.pk).update(patient=other)
    after, _sql = page(as_member, patient)
    assert "Hører til en anden borger" not in after


def test_who_viewed_the_record_shows_every_read_at_once(as_member, as_colleague, colleague, patient):
    """The list of readers is not part of the cached record: a colleague's read shows at the next view."""
    page(as_member, patient)
    page(as_colleague, patient)
    again, _sql = page(as_member, patient)
    assert str(colleague) in again


def test_a_draft_shown_to_its_author_is_never_served_to_a_colleague(as_member, as_colleague, member, patient):
    draft = EncounterFactory(patient=patient, professional=member, note="Kladde", signed_at=None)
    MeasurementFactory(
        patient=patient,
        encounter=draft,
        source="encounter",
        recorded_by=member,
        type=MeasurementType.objects.get(code="weight"),
        value=Decimal("84.5"),
    )
    author, _sql = page(as_member, patient)
    colleague, _sql = page(as_colleague, patient)
    assert reverse("coordination:encounter_edit", args=[draft.public_id]) in author
    assert "84,5" in author
    assert reverse("coordination:encounter_edit", args=[draft.public_id]) not in colleague
    assert "84,5" not in colleague
    assert 'data-testid="draft-values-hidden"' in colleague


def test_a_cached_fragment_is_in_the_language_of_its_reader(as_member, patient, settings):
    danish, _sql = page(as_member, patient)
    as_member.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english, _sql = page(as_member, patient)
    assert "Intet registreret endnu." in danish
    assert "Nothing recorded yet." in english
    assert "Intet registreret endnu." not in english


def test_a_signed_encounter_leaves_the_draft_behind_on_the_page(as_member, member, patient):
    draft = EncounterFactory(patient=patient, professional=member, signed_at=None)
    before, _sql = page(as_member, patient)
    assert "Draft, not signed" in before or "Kladde, ikke underskrevet" in before
    Encounter.objects.filter(pk=draft.pk).update(signed_at=timezone.now())
    after, _sql = page(as_member, patient)
    assert reverse("coordination:encounter_sign", args=[draft.public_id]) in before
    assert reverse("coordination:encounter_sign", args=[draft.public_id]) not in after


def test_a_trend_figure_carries_what_the_chart_draws_and_no_more():
    from patients.charts import trend_figure

    at = timezone.make_aware(datetime.datetime(2026, 1, 5, 9, 30, 12, 345678))
    figure = trend_figure(
        {"hba1c": [(at, 58.0), (at + datetime.timedelta(days=30), 56.5)]}, title="HbA1c", unit="mmol/mol"
    )
    (trace,) = figure["data"]
    assert trace["x"] == ["2026-01-05 09:30", "2026-02-04 09:30"]
    assert trace["y"] == [58, 56.5]
    assert "legend" not in figure["layout"] and "annotations" not in figure["layout"]
