"""Two people saving the same task, goal or encounter at the same moment: one wins, the other is
told that someone else saved first, and nothing of the refused save is written.

Each person works in a thread with a database connection of its own. Both load the record (the
same version), meet at a barrier and save. The first save to reach the row holds its transaction
open until the second waits for the row's lock, so the two saves really are in flight together:
this is the case a read-check-write version test would let through, and the services' single
`UPDATE ... WHERE version = <expected>` refuses."""

import datetime
import threading
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from coordination import services as coordination_services
from coordination.models import Notification, Task, TaskTransition
from healthcenter.models import AccessLog
from patients import services as patient_services
from patients.models import Encounter, Goal, MeasurementType

from .conftest import client_for
from .factories import EncounterFactory, GoalFactory

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


@dataclass
class Outcome:
    saved: bool
    error: ValidationError | None = None
    # Whether the save, before committing, saw the other one waiting for its row.
    overlapped: bool = False


def _someone_waits_for_me(timeout: float = 10) -> bool:
    deadline = timezone.now() + datetime.timedelta(seconds=timeout)
    with connection.cursor() as cursor:
        while timezone.now() < deadline:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted"
                " AND pg_backend_pid() = ANY (pg_blocking_pids(pid)))"
            )
            if cursor.fetchone()[0]:
                return True
            cursor.execute("SELECT pg_sleep(0.02)")
    return False


def save_at_once(load, *saves) -> list[Outcome]:
    """Runs each save in its own thread and connection: it loads the record with `load()`, waits
    for the others at a barrier, then saves it."""
    barrier = threading.Barrier(len(saves))
    outcomes: list[Outcome | BaseException | None] = [None] * len(saves)

    def person(index: int, save) -> None:
        try:
            with translation.override("da"):
                record = load()
                barrier.wait(timeout=20)
                try:
                    with transaction.atomic():
                        save(record)
                        overlapped = _someone_waits_for_me()
                except ValidationError as error:
                    outcomes[index] = Outcome(saved=False, error=error)
                else:
                    outcomes[index] = Outcome(saved=True, overlapped=overlapped)
        except BaseException as error:
            outcomes[index] = error
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=person, args=(i, save)) for i, save in enumerate(saves)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for outcome in outcomes:
        if not isinstance(outcome, Outcome):
            raise AssertionError(f"a save failed otherwise: {outcome!r}") from (
                outcome if isinstance(outcome, BaseException) else None
            )
    return outcomes


def post_at_once(url: str, *people, follow: bool = False) -> list:
    """Each (user, form data) posted to `url` by a signed-in browser of its own, in a thread with its own
    database connection, released together at a barrier. The responses, in the order given."""
    barrier = threading.Barrier(len(people))
    responses = [None] * len(people)

    def person(index, user, data):
        try:
            browser = client_for(user)
            barrier.wait(timeout=20)
            responses[index] = browser.post(url, data, follow=follow)
        finally:
            connection.close()

    threads = [threading.Thread(target=person, args=(i, user, data)) for i, (user, data) in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


def the_winner(outcomes: list[Outcome], conflict: ValidationError) -> int:
    """Exactly one saved, while the other was waiting; the other got the message the form shows."""
    assert [o.saved for o in outcomes].count(True) == 1, outcomes
    winner = next(i for i, o in enumerate(outcomes) if o.saved)
    loser = outcomes[1 - winner]
    assert outcomes[winner].overlapped, "the two saves did not meet: the test proved nothing"
    assert loser.error.messages == conflict.messages
    return winner


def stale_record_message() -> ValidationError:
    with translation.override("da"):
        return patient_services.stale_error()


def stale_task_message() -> ValidationError:
    with translation.override("da"):
        return coordination_services._stale()


class TestTask:
    @pytest.fixture
    def task(self, team, member, patient):
        return coordination_services.task_create(
            actor=member, title="Ring til egen læge", team=team, patient=patient, due_on=datetime.date(2030, 1, 1)
        )

    def test_a_status_change_and_a_reassignment_at_once_one_wins(self, task, member, colleague, coordinator):
        def start_work(task):
            coordination_services.task_change_status(
                actor=member, task=task, to_status="in_progress", expected_version=task.version
            )

        def hand_to_colleague(task):
            coordination_services.task_assign(
                actor=coordinator, task=task, assignee=colleague, expected_version=task.version
            )

        outcomes = save_at_once(lambda: Task.objects.get(pk=task.pk), start_work, hand_to_colleague)

        winner = the_winner(outcomes, stale_task_message())
        task.refresh_from_db()
        moves = list(TaskTransition.objects.filter(task=task).order_by("id").values_list("to_status", "to_assignee"))
        told = list(Notification.objects.filter(task=task).values_list("user", flat=True))
        assert task.version == 2
        if winner == 0:
            assert (task.status, task.assignee) == ("in_progress", None)
            assert moves == [("open", None), ("in_progress", None)]
            assert told == []
        else:
            assert (task.status, task.assignee) == ("open", colleague)
            assert moves == [("open", None), ("open", colleague.id)]
            assert told == [colleague.id]

    def test_the_person_who_lost_sees_the_conflict_on_the_task_page(self, task, member, coordinator):
        """Through the web: both forms were loaded at version 1 and are sent at the same moment."""
        url = reverse("coordination:task_status", args=[task.public_id])
        responses = post_at_once(
            url,
            (member, {"status": "done", "version": 1}),
            (coordinator, {"status": "cancelled", "version": 1}),
            follow=True,
        )
        pages = [response.content.decode() for response in responses]

        task.refresh_from_db()
        conflict = stale_task_message().messages[0]
        assert [conflict in page for page in pages].count(True) == 1
        winner = next(i for i, page in enumerate(pages) if conflict not in page)
        assert task.status == ("done", "cancelled")[winner]
        assert TaskTransition.objects.filter(task=task).count() == 2


class TestGoal:
    def test_two_colleagues_editing_a_goal_at_once_one_wins(self, patient, member, colleague):
        goal = GoalFactory(patient=patient, created_by=member, text="Gå en tur hver dag")
        texts = ["Gå en tur på 30 minutter hver dag", "Cykle til træning to gange om ugen"]

        def edit(actor, text):
            def save(goal):
                patient_services.goal_update(
                    actor=actor,
                    goal=goal,
                    expected_version=goal.version,
                    data=patient_services.GoalData(
                        text=text, review_on=goal.review_on, measurement_type=goal.measurement_type
                    ),
                )

            return save

        outcomes = save_at_once(lambda: Goal.objects.get(pk=goal.pk), edit(member, texts[0]), edit(colleague, texts[1]))

        winner = the_winner(outcomes, stale_record_message())
        goal.refresh_from_db()
        assert (goal.text, goal.version) == (texts[winner], 2)
        assert list(goal.events.filter(pgh_label="update").values_list("text", flat=True)) == [texts[winner]]

    def test_the_colleague_who_lost_sees_the_conflict_in_the_goal_form(self, patient, member, colleague):
        goal = GoalFactory(patient=patient, created_by=member, text="Gå en tur hver dag")
        url = reverse("patients:goal_edit", args=[goal.public_id])
        form = {
            "measurement_type": goal.measurement_type_id,
            "review_on": "01.01.2030",
            "status": "active",
            "version": 1,
        }
        responses = post_at_once(
            url,
            (member, {**form, "text": "Gå en tur på 30 minutter hver dag"}),
            (colleague, {**form, "text": "Cykle til træning to gange om ugen"}),
        )

        assert sorted(r.status_code for r in responses) == [200, 302], [r.content.decode()[:2000] for r in responses]
        refused = next(r for r in responses if r.status_code == 200)
        assert stale_record_message().messages[0] in refused.content.decode()
        goal.refresh_from_db()
        assert goal.version == 2


class TestEncounter:
    def test_saving_a_draft_in_one_tab_and_signing_it_in_another_one_wins(self, patient, member, colleague):
        """The author has the draft open twice: one tab saves a new weight, the other signs it with an
        agreed action for a colleague. Only one of them happens, wholly."""
        draft = EncounterFactory(patient=patient, professional=member, signed_at=None, note="Første udkast")
        weight = MeasurementType.objects.get(code="weight")
        started_at = timezone.now() - datetime.timedelta(hours=2)

        def save_draft(encounter):
            coordination_services.encounter_draft_save(
                actor=member,
                encounter=encounter,
                expected_version=encounter.version,
                data=patient_services.EncounterData(
                    kind="individual",
                    started_at=started_at,
                    duration_minutes=30,
                    note="Vægten er målt",
                    measurements=[patient_services.MeasurementInput(type=weight, value=Decimal("81.5"))],
                ),
                sign=False,
            )

        def sign(encounter):
            coordination_services.encounter_draft_save(
                actor=member,
                encounter=encounter,
                expected_version=encounter.version,
                data=patient_services.EncounterData(
                    kind="individual",
                    started_at=started_at,
                    duration_minutes=45,
                    note="Samtale om kost; underskrevet",
                    agreed_actions=["Kostvejledning"],
                ),
                sign=True,
                action_tasks=[coordination_services.ActionTask(assignee=colleague, due_on=datetime.date(2030, 1, 1))],
            )

        outcomes = save_at_once(lambda: Encounter.objects.get(pk=draft.pk), save_draft, sign)

        winner = the_winner(outcomes, stale_record_message())
        draft.refresh_from_db()
        weights = list(draft.measurements.values_list("value", flat=True))
        actions = list(draft.agreed_actions.values_list("text", flat=True))
        tasks = list(Task.objects.filter(patient=patient).values_list("title", "assignee"))
        signed_rows = AccessLog.objects.filter(patient_public_id=patient.public_id, what="encounter signed").count()
        assert draft.version == 2
        if winner == 0:
            assert (draft.note, draft.signed_at, draft.duration_minutes) == ("Vægten er målt", None, 30)
            assert (weights, actions, tasks, signed_rows) == ([Decimal("81.5")], [], [], 0)
        else:
            assert (draft.note, draft.duration_minutes) == ("Samtale om kost; underskrevet", 45)
            assert draft.signed_at is not None
            assert (weights, actions, tasks, signed_rows) == (
                [],
                ["Kostvejledning"],
                [("Kostvejledning", colleague.id)],
                1,
            )
