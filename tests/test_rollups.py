"""Indicator rollups against hand-computed expectations on a small fixture."""

import datetime
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from coordination.models import Referral
from healthcenter.celery import app
from patients.definitions import window_start
from patients.models import Goal, MeasurementType, Programme, Relative
from reporting.models import IndicatorValue, RollupRun
from reporting.rollups import month_end, quarter_start, run_incremental, run_rollups, take_stale_months
from reporting.tasks import compute_rollups_task

from .factories import ConditionFactory, EncounterFactory, MeasurementFactory, PatientFactory
from .test_caregaps import enrolled

MONTH = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)  # last month
AS_OF = month_end(MONTH)


def at(day: datetime.date, hour=12) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_current_timezone())


def hba1c(patient, value, day):
    MeasurementFactory(
        patient=patient, type=MeasurementType.objects.get(code="hba1c"), value=Decimal(value), measured_at=at(day)
    )


def value(code, unit_kind="centre", unit_id=0):
    return IndicatorValue.objects.get(indicator__code=code, month=MONTH, unit_kind=unit_kind, unit_id=unit_id)


@pytest.fixture
def diabetes_team(team, member):
    """Six citizens with type 2 diabetes in an active enrolment at the end of last month:
    HbA1c 50, 58, 59 (exactly at the threshold), 80 (measured exactly 12 months before), one
    measured 12 months and a day before, one never."""
    citizens = []
    for _ in range(6):
        patient = PatientFactory(team=team, responsible_professional=member)
        ConditionFactory(patient=patient, kind="dm2")
        enrolled(patient, started_days_ago=800)
        citizens.append(patient)
    hba1c(citizens[0], 50, AS_OF - datetime.timedelta(days=10))
    hba1c(citizens[1], 58, AS_OF - datetime.timedelta(days=100))
    hba1c(citizens[2], 59, AS_OF)
    hba1c(citizens[3], 80, window_start(AS_OF, 12))
    hba1c(citizens[4], 52, window_start(AS_OF, 12) - datetime.timedelta(days=1))
    return citizens


@pytest.mark.django_db
class TestClinicalIndicators:
    def test_hba1c_indicators_match_the_hand_count(self, diabetes_team):
        run_rollups(MONTH, MONTH)
        measured = value("DM-HBA1C-MEASURED")
        assert (measured.numerator, measured.denominator, measured.value) == (4, 6, Decimal("66.67"))
        # Of the four with an HbA1c in the window (Danish Diabetes Database style): 59 is not below 59.
        below = value("DM-HBA1C-LT59")
        assert (below.numerator, below.denominator, below.value) == (2, 4, Decimal("50.00"))
        high = value("DM-HBA1C-GE75")  # 80, measured on the first day of the window, counts
        assert (high.numerator, high.denominator, high.value) == (1, 4, Decimal("25.00"))

    def test_the_team_and_programme_figures_add_up_to_the_centre(self, diabetes_team, team):
        run_rollups(MONTH, MONTH)
        assert value("DM-HBA1C-MEASURED", "team", team.id).numerator == 4
        programme = diabetes_team[0].enrolments.get().programme
        assert value("DM-HBA1C-MEASURED", "programme", programme.id).denominator == 6

    def test_own_target_counts_only_citizens_with_their_own_range(self, diabetes_team, member):
        hba1c_type = MeasurementType.objects.get(code="hba1c")
        for patient in diabetes_team[:2]:  # 50 and 58
            goal = Goal.objects.create(
                patient=patient,
                text="x",
                measurement_type=hba1c_type,
                target_low=53,
                target_high=70,
                review_on=AS_OF,
                created_by=member,
            )
            Goal.objects.filter(pk=goal.pk).update(created_at=at(AS_OF - datetime.timedelta(days=200)))
        run_rollups(MONTH, MONTH)
        own = value("DM-AT-OWN-TARGET")
        assert (own.numerator, own.denominator) == (1, 2)  # 58 is inside 53-70, 50 is below it

    def test_a_zero_denominator_gives_no_value(self, db):
        run_rollups(MONTH, MONTH)
        assert value("DEM-COGNITION-TESTED").value is None
        assert value("DEM-COGNITION-TESTED").denominator == 0

    def test_dementia_caregiver_contact(self, team, member):
        spoken, not_spoken = [PatientFactory(team=team) for _ in range(2)]
        for patient in (spoken, not_spoken):
            ConditionFactory(patient=patient, kind="dem_alzheimer", icd10="F00")
            enrolled(patient, "dementia-follow-up", started_days_ago=800)
            Relative.objects.create(
                patient=patient,
                name="Hanne",
                relation="datter",
                is_primary_caregiver=True,
                primary_caregiver_from=datetime.date(2020, 1, 1),
            )
        EncounterFactory(
            patient=spoken,
            professional=member,
            caregiver_present=True,
            started_at=at(AS_OF - datetime.timedelta(days=60)),
        )
        EncounterFactory(
            patient=not_spoken,
            professional=member,
            caregiver_present=True,
            started_at=at(window_start(AS_OF, 6) - datetime.timedelta(days=1)),
        )
        run_rollups(MONTH, MONTH)
        contact = value("DEM-CAREGIVER-CONTACT")
        assert (contact.numerator, contact.denominator) == (1, 2)

    @pytest.mark.parametrize(("citizens", "suppressed"), [(4, True), (5, False)])
    def test_cells_under_five_are_suppressed(self, team, citizens, suppressed):
        for _ in range(citizens):
            patient = PatientFactory(team=team)
            ConditionFactory(patient=patient, kind="dm2")
            enrolled(patient, started_days_ago=800)
        run_rollups(MONTH, MONTH)
        assert value("DM-HBA1C-MEASURED").is_suppressed is suppressed


@pytest.mark.django_db
class TestWaitingTime:
    def test_the_median_days_to_first_encounter(self, team, member, coordinator):
        for received_days_before, seen_after in [(20, 3), (15, 10), (10, None)]:
            patient = PatientFactory(team=team)
            received = AS_OF - datetime.timedelta(days=received_days_before)
            Referral.objects.create(
                patient=patient, team=team, source="gp", reason="x", received_on=received, created_by=coordinator
            )
            if seen_after is not None:
                EncounterFactory(
                    patient=patient, professional=member, started_at=at(received + datetime.timedelta(days=seen_after))
                )
        run_rollups(MONTH, MONTH)
        waiting = value("OPS-WAIT-DAYS")  # the referral still waiting has no first encounter in the month
        assert (waiting.numerator, waiting.denominator, waiting.value) == (2, 2, Decimal("6.50"))


@pytest.mark.django_db
class TestRuns:
    def test_running_twice_leaves_the_same_rows(self, diabetes_team):
        run_rollups(MONTH - datetime.timedelta(days=40), MONTH)
        first = sorted(
            IndicatorValue.objects.values_list(
                "pk", "indicator", "month", "unit_kind", "unit_id", "numerator", "denominator", "value"
            )
        )
        run_rollups(MONTH - datetime.timedelta(days=40), MONTH)
        second = sorted(
            IndicatorValue.objects.values_list(
                "pk", "indicator", "month", "unit_kind", "unit_id", "numerator", "denominator", "value"
            )
        )
        assert first == second
        assert RollupRun.objects.filter(status="succeeded").count() == 2

    def test_changed_data_marks_its_month_for_recomputation(self, diabetes_team):
        run_incremental()
        assert take_stale_months() == timezone.localdate().replace(day=1)  # nothing changed since
        three_months_ago = (MONTH - datetime.timedelta(days=62)).replace(day=1)
        hba1c(diabetes_team[5], 60, three_months_ago + datetime.timedelta(days=5))
        assert take_stale_months() == three_months_ago
        assert take_stale_months() == timezone.localdate().replace(day=1)  # the marks were taken

    @pytest.mark.django_db(transaction=True)
    def test_a_real_worker_computes_the_rollups_through_redis(self, diabetes_team):
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            outcome = compute_rollups_task.delay().get(timeout=120)
        assert outcome["rows"] > 0
        assert value("DM-HBA1C-MEASURED").numerator == 4


@pytest.mark.django_db
class TestOperationalIndicators:
    def test_overdue_share_of_the_tasks_open_at_month_end(self, team, member, patient):
        from coordination.models import Task, TaskTransition

        def task(due_days_before_end, **kwargs):
            created = Task.objects.create(
                title="t",
                team=team,
                patient=patient,
                created_by=member,
                due_on=AS_OF - datetime.timedelta(days=due_days_before_end),
                **kwargs,
            )
            Task.objects.filter(pk=created.pk).update(created_at=at(AS_OF - datetime.timedelta(days=60)))
            return created

        task(10)  # open and past due
        task(-5)  # open, due next month
        done = task(20, status="done", completed_at=at(AS_OF - datetime.timedelta(days=2)))  # closed before the end
        # A task's history is its transitions: the status at the month's end is the last one before it.
        closed = TaskTransition.objects.create(task=done, by=member, from_status="open", to_status="done")
        TaskTransition.objects.filter(pk=closed.pk).update(at=done.completed_at)
        run_rollups(MONTH, MONTH)
        overdue = value("OPS-TASKS-OVERDUE")
        assert (overdue.numerator, overdue.denominator, overdue.value) == (1, 2, Decimal("50.00"))

    def test_loop_closed_counts_agreed_actions_done_by_their_due_date(self, team, member, patient):
        from coordination.models import Task
        from patients.models import AgreedAction

        encounter = EncounterFactory(
            patient=patient, professional=member, started_at=at(AS_OF - datetime.timedelta(days=40))
        )
        due = AS_OF - datetime.timedelta(days=10)
        for index, done_on in enumerate([due, due + datetime.timedelta(days=3), None]):
            action = AgreedAction.objects.create(encounter=encounter, text=f"a{index}")
            Task.objects.create(
                title=action.text,
                team=team,
                patient=patient,
                created_by=member,
                due_on=due,
                origin="agreed_action",
                agreed_action=action,
                status="done" if done_on else "open",
                completed_at=at(done_on, 23) if done_on else None,
            )
        run_rollups(MONTH, MONTH)
        loop = value("OPS-LOOP-CLOSED")
        assert (loop.numerator, loop.denominator) == (1, 3)  # done late at 23:00 on the due day still counts


@pytest.mark.django_db
class TestEveryOtherIndicator:
    """The remaining indicators, each with one citizen inside its window and one just outside."""

    @pytest.mark.parametrize(
        ("code", "measurement", "months", "reading", "result"),
        [
            ("DM-BP-MEASURED", "systolic_bp", 12, Decimal(135), ""),
            ("DM-ALBUMIN-SCREENED", "urine_acr", 24, Decimal(2), ""),
            ("DM-EYE-SCREENED", "eye_screening", 24, None, "normal"),
            ("DM-FOOT-EXAMINED", "foot_exam", 24, None, "abnormal"),
        ],
    )
    def test_diabetes_screenings(self, team, code, measurement, months, reading, result):
        inside, outside, prediabetic = [PatientFactory(team=team) for _ in range(3)]
        for patient in (inside, outside):
            ConditionFactory(patient=patient, kind="dm2")
            enrolled(patient, started_days_ago=900)
        ConditionFactory(patient=prediabetic, kind="prediabetes")  # not followed up by screening indicators
        enrolled(prediabetic, started_days_ago=900)
        kind = MeasurementType.objects.get(code=measurement)
        MeasurementFactory(
            patient=inside, type=kind, value=reading, result=result, measured_at=at(window_start(AS_OF, months))
        )
        MeasurementFactory(
            patient=outside,
            type=kind,
            value=reading,
            result=result,
            measured_at=at(window_start(AS_OF, months) - datetime.timedelta(days=1)),
        )
        run_rollups(MONTH, MONTH)
        row = value(code)
        assert (row.numerator, row.denominator, row.value) == (1, 2, Decimal("50.00"))

    def test_specific_dementia_diagnosis_and_cognition_tested(self, team):
        specific, unspecified, mci = [PatientFactory(team=team) for _ in range(3)]
        ConditionFactory(patient=specific, kind="dem_alzheimer", icd10="F00")
        ConditionFactory(patient=unspecified, kind="dem_unspecified", icd10="F03")
        ConditionFactory(patient=mci, kind="mci", icd10="F06.7")
        for patient in (specific, unspecified, mci):
            enrolled(patient, "dementia-follow-up", started_days_ago=900)
        for patient in (specific, mci):
            MeasurementFactory(
                patient=patient,
                type=MeasurementType.objects.get(code="mmse"),
                value=Decimal(27),
                measured_at=at(AS_OF - datetime.timedelta(days=30)),
            )
        run_rollups(MONTH, MONTH)
        diagnosis = value("DEM-SPECIFIC-DIAGNOSIS")  # MCI is not dementia: 1 of 2
        assert (diagnosis.numerator, diagnosis.denominator) == (1, 2)
        tested = value("DEM-COGNITION-TESTED")  # nor is it in the cognition figure: 1 of 2
        assert (tested.numerator, tested.denominator) == (1, 2)

    def test_stories_approved_in_the_quarter_to_date_while_consent_lasts(self, member, manager, patient):
        from patients.models import Consent
        from reporting.models import Story

        Consent.objects.create(
            patient=patient,
            kind="story_reports",
            given_on=AS_OF - datetime.timedelta(days=60),
            given_by="x",
            recorded_by=member,
        )
        before_quarter = (AS_OF - quarter_start(MONTH)).days + 1
        for days_before_end in (3, before_quarter):  # one in the quarter, one in the quarter before
            Story.objects.create(
                patient=patient,
                author=member,
                title="t",
                what_happened="w",
                what_made_the_difference="d",
                published_text="p",
                status="approved",
                decided_by=manager,
                decided_at=at(AS_OF - datetime.timedelta(days=days_before_end)),
            )
        run_rollups(MONTH, MONTH)
        assert value("STORIES-APPROVED").value == 1


@pytest.mark.django_db
def test_changing_a_programme_makes_every_kept_month_stale():
    from reporting.rollups import oldest_month_kept

    run_incremental()
    programme = Programme.objects.get(code="diabetes-follow-up")
    programme.name_da = programme.name_da + " (ny)"
    programme.save(update_fields=["name_da"])
    assert take_stale_months() == oldest_month_kept()
