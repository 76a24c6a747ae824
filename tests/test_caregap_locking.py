"""The care-gap job at a large centre: it looks only at the citizens whose answer can have changed
(their data, their recheck day, the rules), and it holds a few citizens' locks at a time, never the
whole centre's, so a save or the evaluation after a signature does not wait for a whole run."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from coordination import services as coordination_services
from coordination.caregaps import evaluate_care_gaps, find_gaps
from coordination.models import CareGap, CareGapReview, CareGapRule
from patients import services as patient_services
from patients.models import Enrolment, Patient

from .factories import ConditionFactory, PatientFactory
from .test_caregaps import at_days_ago, enrolled, measure
from .test_concurrent_saves import _someone_waits_for_me


def diabetic_of(team, member):
    patient = PatientFactory(team=team, responsible_professional=member)
    ConditionFactory(patient=patient, kind="dm2")
    return enrolled(patient)


@pytest.fixture
def diabetic(team, member):
    return diabetic_of(team, member)


@pytest.fixture
def neighbour(team, member):
    return diabetic_of(team, member)


def open_codes(patient) -> set[str]:
    return set(CareGap.objects.filter(patient=patient, closed_at__isnull=True).values_list("rule__code", flat=True))


def recheck_on(patient) -> datetime.date | None:
    return CareGapReview.objects.get(patient=patient).recheck_on


@pytest.mark.django_db
class TestOnlyCitizensWhoseAnswerCanHaveChanged:
    def test_a_run_reviews_everyone_once_and_the_next_run_nobody(self, diabetic, neighbour):
        first = evaluate_care_gaps()
        assert first.reviewed == Patient.objects.count() >= 2
        assert first.opened > 0
        again = evaluate_care_gaps()
        assert (again.reviewed, again.opened, again.closed) == (0, 0, 0)
        assert again.open_now == first.open_now == CareGap.objects.filter(closed_at__isnull=True).count()

    def test_a_new_citizen_counts_as_changed_and_everyone_means_everyone(self, diabetic, team, member):
        evaluate_care_gaps()
        newcomer = PatientFactory(team=team, responsible_professional=member)  # no data: only the trigger marks them
        assert evaluate_care_gaps().reviewed == 1
        assert CareGapReview.objects.filter(patient=newcomer).exists()
        # Data loaded with the triggers off leaves no change row: `everyone` (manage.py evaluate_care_gaps --all).
        assert evaluate_care_gaps(everyone=True).reviewed == Patient.objects.count() == 2

    def test_a_new_value_brings_back_only_its_citizen(self, diabetic, neighbour):
        evaluate_care_gaps()
        measure(diabetic, "hba1c", Decimal(52))
        result = evaluate_care_gaps()
        assert (result.reviewed, result.closed) == (1, 1)
        assert "hba1c-12m" not in open_codes(diabetic)
        assert "hba1c-12m" in open_codes(neighbour)

    def test_a_bulk_update_outside_the_services_is_a_change_too(self, diabetic, neighbour):
        evaluate_care_gaps()
        Enrolment.objects.filter(patient=neighbour).update(
            end_on=timezone.localdate() - datetime.timedelta(days=1), end_reason="completed"
        )
        result = evaluate_care_gaps()
        assert result.reviewed == 1
        assert open_codes(neighbour) == set()
        assert open_codes(diabetic) != set()

    def test_the_evaluation_after_a_signature_leaves_nothing_for_the_job(self, diabetic, neighbour):
        evaluate_care_gaps()
        measure(diabetic, "hba1c", Decimal(52))
        assert evaluate_care_gaps(patient_ids=[diabetic.id]).reviewed == 1
        assert evaluate_care_gaps().reviewed == 0

    def test_a_changed_rule_brings_back_everyone(self, diabetic, neighbour):
        evaluate_care_gaps()
        CareGapRule.objects.filter(code="contact-8w").update(interval_weeks=10)
        assert evaluate_care_gaps().reviewed == Patient.objects.count()

    def test_open_now_of_a_run_for_some_citizens_counts_their_gaps(self, diabetic, neighbour):
        evaluate_care_gaps()
        result = evaluate_care_gaps(patient_ids=[diabetic.id])
        assert result.open_now == len(open_codes(diabetic)) < CareGap.objects.filter(closed_at__isnull=True).count()


@pytest.mark.django_db
class TestCalendarPosition:
    def test_a_value_running_out_of_its_interval_makes_the_citizen_due_that_day(self, diabetic):
        measure(diabetic, "hba1c", Decimal(52), when=at_days_ago(30))
        today = timezone.localdate()
        evaluate_care_gaps(as_of=today)
        due = recheck_on(diabetic)
        assert today + datetime.timedelta(days=300) < due < today + datetime.timedelta(days=340)
        day_before = due - datetime.timedelta(days=1)
        assert "hba1c-12m" not in {g.rule.code for g in find_gaps(as_of=day_before, patient_ids=[diabetic.id])}
        assert evaluate_care_gaps(as_of=day_before).reviewed == 0
        result = evaluate_care_gaps(as_of=due)
        assert (result.reviewed, result.opened) == (1, 1)
        assert "hba1c-12m" in open_codes(diabetic)

    def test_a_new_enrolment_is_due_for_contact_when_its_first_interval_has_passed(self, team, member):
        patient = PatientFactory(team=team, responsible_professional=member)
        ConditionFactory(patient=patient, kind="dm2")
        enrolled(patient, started_days_ago=20)
        evaluate_care_gaps()
        due = recheck_on(patient)
        assert "contact-8w" not in open_codes(patient)
        assert "contact-8w" not in {g.rule.code for g in find_gaps(as_of=due - datetime.timedelta(days=1))}
        evaluate_care_gaps(as_of=due)
        assert "contact-8w" in open_codes(patient)

    def test_a_value_dated_ahead_makes_the_citizen_due_on_its_day(self, diabetic):
        ahead = timezone.now() + datetime.timedelta(days=5)
        measure(diabetic, "hba1c", Decimal(50), when=ahead)  # bypassing the services, which refuse it
        evaluate_care_gaps()
        assert recheck_on(diabetic) == timezone.localdate(ahead)
        assert "hba1c-12m" in open_codes(diabetic)
        evaluate_care_gaps(as_of=timezone.localdate(ahead))
        assert "hba1c-12m" not in open_codes(diabetic)

    def test_an_enrolment_ending_ahead_closes_the_gaps_the_day_after(self, diabetic):
        end = timezone.localdate() + datetime.timedelta(days=10)
        Enrolment.objects.filter(patient=diabetic).update(end_on=end, end_reason="completed")
        evaluate_care_gaps()
        assert open_codes(diabetic) != set()
        assert recheck_on(diabetic) == end + datetime.timedelta(days=1)
        assert evaluate_care_gaps(as_of=end).reviewed == 0
        evaluate_care_gaps(as_of=end + datetime.timedelta(days=1))
        assert open_codes(diabetic) == set()


def in_thread(work) -> tuple[threading.Thread, dict]:
    """Runs `work()` in a thread with a database connection of its own; its result or error in the dict."""
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = work()
        except BaseException as error:
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def lock_timeout() -> None:
    # A wait for a lock fails at once instead of stalling: a test of who waits, not of how long.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '200ms'")


@pytest.mark.faults
@pytest.mark.django_db(transaction=True)
class TestLocking:
    def test_two_evaluations_of_one_citizen_at_once_open_each_gap_once(self, diabetic):
        evaluated = threading.Event()

        def first():
            with transaction.atomic():
                result = evaluate_care_gaps(patient_ids=[diabetic.id])
                evaluated.set()
                # Commits only once the second evaluation waits for this one's lock on the citizen.
                return result, _someone_waits_for_me()

        first_thread, first_outcome = in_thread(first)
        assert evaluated.wait(timeout=30)
        second_thread, second_outcome = in_thread(lambda: evaluate_care_gaps(patient_ids=[diabetic.id]))
        first_thread.join(timeout=60)
        second_thread.join(timeout=60)
        assert "error" not in first_outcome and "error" not in second_outcome, (first_outcome, second_outcome)
        first_result, overlapped = first_outcome["result"]
        assert overlapped, "the second evaluation never waited: the test proved nothing"
        assert first_result.opened > 0
        assert second_outcome["result"].opened == 0
        assert CareGap.objects.filter(patient=diabetic, closed_at__isnull=True).count() == first_result.opened

    def test_a_batch_in_progress_holds_only_its_own_citizens(self, diabetic, neighbour, member):
        held, release = threading.Event(), threading.Event()

        def batch_in_progress():
            with transaction.atomic():
                evaluate_care_gaps(patient_ids=[diabetic.id])
                held.set()
                release.wait(timeout=30)

        thread, outcome = in_thread(batch_in_progress)
        try:
            assert held.wait(timeout=30)
            with transaction.atomic():
                lock_timeout()
                # Another citizen's evaluation, and a signed encounter for the citizen in the batch.
                assert evaluate_care_gaps(patient_ids=[neighbour.id]).opened > 0
                coordination_services.encounter_log(
                    actor=member,
                    patient=diabetic,
                    data=patient_services.EncounterData(
                        kind="phone", started_at=timezone.now() - datetime.timedelta(hours=1), duration_minutes=10
                    ),
                    sign=True,
                )
            # The batch's own citizen is held: the lock is real.
            with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
                lock_timeout()
                evaluate_care_gaps(patient_ids=[diabetic.id])
        finally:
            release.set()
            thread.join(timeout=60)
        assert "error" not in outcome, outcome
