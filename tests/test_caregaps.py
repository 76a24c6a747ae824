"""Care-gap rules, the job that turns them into tasks, and the shared "measured in time"."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from coordination.caregaps import evaluate_care_gaps, find_gaps
from coordination.models import CareGap, Task, TaskTransition
from coordination.services import add_months
from coordination.tasks import evaluate_care_gaps_task
from patients import services as patient_services
from patients.definitions import window_start
from patients.models import Enrolment, Measurement, MeasurementType, Programme, Relative

from .factories import ConditionFactory, EncounterFactory, MeasurementFactory, PatientFactory


def at_days_ago(days: int, hour: int = 12) -> datetime.datetime:
    day = timezone.localdate() - datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_current_timezone())


def at_months_ago(months: int, extra_days: int = 0) -> datetime.datetime:
    day = add_months(timezone.localdate(), -months) - datetime.timedelta(days=extra_days)
    return datetime.datetime.combine(day, datetime.time(12), tzinfo=timezone.get_current_timezone())


def enrolled(patient, programme_code="diabetes-follow-up", started_days_ago=400):
    start = timezone.localdate() - datetime.timedelta(days=started_days_ago)
    Enrolment.objects.create(
        patient=patient,
        programme=Programme.objects.get(code=programme_code),
        referral_received_on=start,
        start_on=start,
    )
    return patient


@pytest.fixture
def diabetic(team, member):
    patient = PatientFactory(team=team, responsible_professional=member)
    ConditionFactory(patient=patient, kind="dm2")
    return enrolled(patient)


@pytest.fixture
def dementia(team, member):
    patient = PatientFactory(team=team, responsible_professional=member)
    ConditionFactory(patient=patient, kind="dem_alzheimer", icd10="F00")
    return enrolled(patient, "dementia-follow-up")


def codes(patient, **kwargs) -> set[str]:
    return {g.rule.code for g in find_gaps(patient_ids=[patient.id], **kwargs)}


def measure(patient, code, value=None, result="", when=None):
    return MeasurementFactory(
        patient=patient,
        type=MeasurementType.objects.get(code=code),
        value=value,
        result=result,
        measured_at=when or at_days_ago(1),
    )


def encounter_now(patient, member, **kwargs):
    return EncounterFactory(patient=patient, professional=member, started_at=at_days_ago(1), **kwargs)


@pytest.mark.django_db
class TestMeasurementDue:
    def test_never_measured_is_a_gap(self, diabetic):
        assert "hba1c-12m" in codes(diabetic)

    def test_a_day_less_than_twelve_months_ago_is_still_in_time(self, diabetic):
        measure(diabetic, "hba1c", Decimal(55), when=at_months_ago(12, extra_days=-1))
        assert "hba1c-12m" not in codes(diabetic)

    def test_exactly_twelve_months_ago_is_a_gap(self, diabetic):
        # DESIGN.md: in the last N months on T means T - N months < D <= T.
        measure(diabetic, "hba1c", Decimal(55), when=at_months_ago(12))
        assert "hba1c-12m" in codes(diabetic)

    def test_two_year_rules_use_two_years(self, diabetic):
        measure(diabetic, "foot_exam", result="normal", when=at_months_ago(23))
        measure(diabetic, "eye_screening", result="normal", when=at_months_ago(25))
        found = codes(diabetic)
        assert "foot-24m" not in found
        assert "eye-24m" in found

    def test_a_measurement_in_the_future_is_refused_and_never_counts(self, diabetic, member):
        hba1c = MeasurementType.objects.get(code="hba1c")
        with pytest.raises(ValidationError):
            patient_services.measurement_record(
                actor=member,
                patient=diabetic,
                measurement=patient_services.MeasurementInput(type=hba1c, value=50),
                measured_at=timezone.now() + datetime.timedelta(days=2),
            )
        measure(diabetic, "hba1c", Decimal(50), when=timezone.now() + datetime.timedelta(days=2))  # bypassing it
        assert "hba1c-12m" in codes(diabetic)

    def test_only_citizens_with_the_condition_in_an_active_enrolment_count(self, team, dementia):
        not_enrolled = PatientFactory(team=team)
        ConditionFactory(patient=not_enrolled, kind="dm2")
        assert "hba1c-12m" not in codes(not_enrolled)
        assert "hba1c-12m" not in codes(dementia)  # dementia only: no diabetes rules
        assert "mmse-12m" in codes(dementia)

    def test_an_ended_enrolment_does_not_count(self, diabetic):
        Enrolment.objects.filter(patient=diabetic).update(
            end_on=timezone.localdate() - datetime.timedelta(days=1), end_reason="completed"
        )
        assert codes(diabetic) == set()

    def test_the_shared_definition_counts_the_boundary_day(self):
        # The first day inside "the last N months" (DESIGN.md's own examples, and a leap day).
        assert window_start(datetime.date(2026, 11, 26), 12) == datetime.date(2025, 11, 27)
        assert window_start(datetime.date(2026, 10, 31), 12) == datetime.date(2025, 11, 1)
        assert window_start(datetime.date(2026, 9, 30), 6) == datetime.date(2026, 3, 31)
        assert window_start(datetime.date(2028, 2, 29), 12) == datetime.date(2027, 3, 1)
        assert window_start(datetime.date(2026, 3, 31), 1) == datetime.date(2026, 3, 1)


@pytest.mark.django_db
class TestCaregiverAndContact:
    def test_no_primary_caregiver_is_a_gap(self, dementia):
        assert "caregiver-6m" in codes(dementia)

    def test_caregiver_spoken_with_five_months_ago_is_in_time(self, dementia, member):
        Relative.objects.create(
            patient=dementia,
            name="Hanne",
            relation="datter",
            is_primary_caregiver=True,
            primary_caregiver_from=datetime.date(2020, 1, 1),
        )
        EncounterFactory(patient=dementia, professional=member, started_at=at_months_ago(5), caregiver_present=True)
        assert "caregiver-6m" not in codes(dementia)

    def test_caregiver_last_spoken_with_seven_months_ago_is_a_gap(self, dementia, member):
        Relative.objects.create(
            patient=dementia,
            name="Hanne",
            relation="datter",
            is_primary_caregiver=True,
            primary_caregiver_from=datetime.date(2020, 1, 1),
        )
        EncounterFactory(patient=dementia, professional=member, started_at=at_months_ago(7), caregiver_present=True)
        EncounterFactory(patient=dementia, professional=member, started_at=at_days_ago(3), caregiver_present=False)
        assert "caregiver-6m" in codes(dementia)

    def test_no_encounter_in_eight_weeks_is_a_gap(self, diabetic, member):
        EncounterFactory(patient=diabetic, professional=member, started_at=at_days_ago(57))
        assert "contact-8w" in codes(diabetic)

    def test_an_encounter_seven_weeks_ago_is_in_time(self, diabetic, member):
        EncounterFactory(patient=diabetic, professional=member, started_at=at_days_ago(49))
        assert "contact-8w" not in codes(diabetic)

    def test_a_new_enrolment_gets_eight_weeks_before_it_can_miss_contact(self, team):
        patient = PatientFactory(team=team)
        ConditionFactory(patient=patient, kind="dm2")
        enrolled(patient, started_days_ago=20)
        assert "contact-8w" not in codes(patient)


@pytest.mark.django_db
class TestTrends:
    @pytest.mark.parametrize(("before", "after", "gap"), [(60, 65, True), (60, 64, False), (70, 60, False)])
    def test_hba1c_rising_by_five_or_more(self, diabetic, before, after, gap):
        measure(diabetic, "hba1c", Decimal(50), when=at_days_ago(300))
        measure(diabetic, "hba1c", Decimal(before), when=at_days_ago(200))
        measure(diabetic, "hba1c", Decimal(after), when=at_days_ago(10))
        assert ("hba1c-rising" in codes(diabetic)) is gap

    @pytest.mark.parametrize(("before", "after", "gap"), [(25, 22, True), (25, 23, False)])
    def test_mmse_falling_by_three_or_more(self, dementia, before, after, gap):
        measure(dementia, "mmse", Decimal(before), when=at_days_ago(200))
        measure(dementia, "mmse", Decimal(after), when=at_days_ago(10))
        assert ("mmse-falling" in codes(dementia)) is gap

    def test_a_single_value_is_no_trend(self, diabetic):
        measure(diabetic, "hba1c", Decimal(80))
        assert "hba1c-rising" not in codes(diabetic)


@pytest.mark.django_db
class TestTheJob:
    def test_it_opens_a_task_per_gap_for_the_responsible_professional(self, diabetic, member):
        result = evaluate_care_gaps()
        gap = CareGap.objects.get(patient=diabetic, rule__code="hba1c-12m")
        assert (gap.task.origin, gap.task.assignee, gap.task.team, gap.task.patient) == (
            "rule",
            member,
            diabetic.team,
            diabetic,
        )
        assert result.opened == CareGap.objects.count() == Task.objects.count()

    def test_running_twice_creates_nothing_twice(self, diabetic, dementia):
        first = evaluate_care_gaps()
        tasks = Task.objects.count()
        second = evaluate_care_gaps()
        assert (second.opened, second.closed) == (0, 0)
        assert Task.objects.count() == tasks
        assert first.open_now == second.open_now == CareGap.objects.filter(closed_at__isnull=True).count()

    def test_a_new_measurement_closes_the_gap_and_its_task(self, diabetic):
        evaluate_care_gaps()
        gap = CareGap.objects.get(patient=diabetic, rule__code="hba1c-12m")
        measure(diabetic, "hba1c", Decimal(52))
        result = evaluate_care_gaps(patient_ids=[diabetic.id])
        gap.refresh_from_db()
        gap.task.refresh_from_db()
        assert gap.closed_at is not None
        assert gap.task.status == "done"
        assert TaskTransition.objects.filter(task=gap.task, to_status="done", by__isnull=True).exists()
        assert result.closed >= 1

    def test_a_gap_that_returns_opens_a_new_task(self, diabetic):
        evaluate_care_gaps()
        measure(diabetic, "hba1c", Decimal(52))
        evaluate_care_gaps()
        from patients.models import Measurement

        Measurement.objects.filter(patient=diabetic, type__code="hba1c").delete()
        evaluate_care_gaps()
        assert CareGap.objects.filter(patient=diabetic, rule__code="hba1c-12m").count() == 2
        assert CareGap.objects.filter(patient=diabetic, rule__code="hba1c-12m", closed_at__isnull=True).count() == 1

    def test_the_celery_task_runs_the_same_job(self, diabetic):
        outcome = evaluate_care_gaps_task.apply(kwargs={"patient_ids": [diabetic.id]}).get()
        assert outcome["opened"] == CareGap.objects.count() > 0


@pytest.mark.django_db
class TestOneDefinitionWithTheIndicators:
    """The worklist on a month's last day and the indicators for that month count the same citizens."""

    def test_gaps_on_the_last_day_are_the_citizens_the_indicators_count_as_not_met(self, team, member):
        from patients.models import Encounter, Relative
        from patients.services import patient_update
        from reporting.models import IndicatorValue
        from reporting.rollups import RULES_MIRRORING_INDICATORS, month_end, run_rollups

        from .factories import EncounterFactory

        month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
        last_day = month_end(month)

        def on(day, hour=12):
            return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_current_timezone())

        people = []
        for kind, programme in [("dm2", "diabetes-follow-up")] * 6 + [("dem_alzheimer", "dementia-follow-up")] * 4:
            patient = PatientFactory(team=team, responsible_professional=member)
            ConditionFactory(patient=patient, kind=kind, icd10="F00" if kind.startswith("dem") else "E11")
            enrolled(patient, programme, started_days_ago=900)
            people.append(patient)
        dm, dem = people[:6], people[6:]
        measure(dm[0], "hba1c", Decimal(50), when=on(last_day))
        measure(dm[1], "hba1c", Decimal(50), when=on(window_start(last_day, 12), hour=0))  # first day, 00:00
        measure(dm[2], "hba1c", Decimal(50), when=on(window_start(last_day, 12) - datetime.timedelta(days=1), 23))
        draft = EncounterFactory(patient=dm[3], professional=member, started_at=on(last_day), signed_at=None)
        Measurement.objects.create(
            patient=dm[3],
            type=MeasurementType.objects.get(code="hba1c"),
            value=Decimal(50),
            measured_at=on(last_day),
            source="encounter",
            encounter=draft,
        )
        measure(dm[4], "hba1c", Decimal(50), when=on(last_day + datetime.timedelta(days=1)))  # after the day
        # Discharged during the month: out of both.
        patient_update(
            actor=member,
            patient=dm[5],
            expected_version=dm[5].version,
            data=_data_of(dm[5], status="discharged"),
            changed_on=month + datetime.timedelta(days=3),
        )
        for patient in dem[:3]:
            Relative.objects.create(
                patient=patient,
                name="Hanne",
                relation="datter",
                is_primary_caregiver=True,
                primary_caregiver_from=last_day - datetime.timedelta(days=30),
            )
        EncounterFactory(
            patient=dem[0],
            professional=member,
            started_at=on(last_day - datetime.timedelta(days=5)),
            caregiver_present=True,
        )
        EncounterFactory(
            patient=dem[1],
            professional=member,
            started_at=on(last_day - datetime.timedelta(days=5)),
            caregiver_present=True,
            signed_at=None,
        )
        EncounterFactory(
            patient=dem[3],
            professional=member,
            started_at=on(last_day - datetime.timedelta(days=5)),
            caregiver_present=True,
        )  # no caregiver registered
        measure(dem[0], "mmse", Decimal(25), when=on(last_day - datetime.timedelta(days=200)))
        assert Encounter.objects.filter(signed_at__isnull=True).count() == 2

        run_rollups(month, month)
        gaps = find_gaps(as_of=last_day)
        for rule, code in RULES_MIRRORING_INDICATORS.items():
            row = IndicatorValue.objects.get(indicator__code=code, month=month, unit_kind="centre", unit_id=0)
            assert row.denominator - row.numerator == sum(g.rule.code == rule for g in gaps), rule
        measured = IndicatorValue.objects.get(indicator__code="DM-HBA1C-MEASURED", month=month, unit_kind="centre")
        assert (measured.numerator, measured.denominator) == (2, 5)
        contact = IndicatorValue.objects.get(indicator__code="DEM-CAREGIVER-CONTACT", month=month, unit_kind="centre")
        assert (contact.numerator, contact.denominator) == (1, 4)


def _data_of(patient, **changes):
    from patients.services import PatientData

    data = PatientData(
        cpr=patient.cpr,
        first_name=patient.first_name,
        last_name=patient.last_name,
        team=patient.team,
        responsible_professional=patient.responsible_professional,
    )
    for field, value in changes.items():
        setattr(data, field, value)
    return data
