import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from coordination.models import ActionPlan, HandoverNote, Notification, Referral, Task, TaskTransition
from coordination.services import add_months
from healthcenter.models import AccessLog
from patients.models import Enrolment, Patient, Programme

from .conftest import client_for
from .factories import EnrolmentFactory, PatientFactory, ReferralFactory, UserFactory, valid_cpr
from .test_encounters import encounter_form


def day(offset: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=offset)).isoformat()


def action_tasks(*rows) -> dict:
    """The agreed-action rows of the encounter form that makes tasks: (index, assignee, due)."""
    data = {"make_tasks": "on"}
    for index, assignee, due_on in rows:
        data[f"action-{index}-assignee"] = assignee.id if assignee else ""
        data[f"action-{index}-due_on"] = due_on
    return data


def make_task(client, team, **overrides):
    data = {"title": "Ring til borger", "team": team.id, "due_on": day(3), "priority": 2}
    data.update(overrides)
    return client.post(reverse("coordination:task_create"), data)


@pytest.mark.django_db
class TestTasksFromEncounters:
    def test_agreed_actions_become_tasks_for_a_colleague_in_one_step(
        self, as_member, as_colleague, member, colleague, patient
    ):
        response = as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]),
            encounter_form(**action_tasks((0, colleague, day(14)), (2, colleague, day(14)))),
        )
        assert response.status_code == 302
        tasks = Task.objects.order_by("title")
        assert [t.title for t in tasks] == ["Gåtur hver dag", "Ringe om 4 uger"]
        assert all(t.assignee == colleague and t.patient == patient and t.origin == "agreed_action" for t in tasks)
        assert all(t.agreed_action.encounter.patient == patient for t in tasks)
        assert Notification.objects.filter(user=colleague, kind="assigned").count() == 2
        badge = as_colleague.get(reverse("coordination:news_badge")).content.decode()
        assert ">2<" in badge

    def test_each_agreed_action_has_its_own_assignee_and_due_date(
        self, as_member, member, colleague, coordinator, patient
    ):
        response = as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]),
            encounter_form(**action_tasks((0, colleague, day(7)), (2, coordinator, day(30)))),
        )
        assert response.status_code == 302
        tasks = {t.title: (t.assignee, t.due_on.isoformat()) for t in Task.objects.all()}
        assert tasks == {"Gåtur hver dag": (colleague, day(7)), "Ringe om 4 uger": (coordinator, day(30))}
        assert Notification.objects.filter(user=colleague, kind="assigned").count() == 1
        assert Notification.objects.filter(user=coordinator, kind="assigned").count() == 1

    def test_an_agreed_action_can_be_left_to_nobody_yet(self, as_member, colleague, patient):
        as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]),
            encounter_form(**action_tasks((0, None, day(7)), (2, colleague, day(7)))),
        )
        assert dict(Task.objects.values_list("title", "assignee")) == {
            "Gåtur hver dag": None,
            "Ringe om 4 uger": colleague.id,
        }

    def test_each_action_needs_its_own_due_date_that_is_not_past(self, as_member, colleague, patient):
        response = as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]),
            encounter_form(**action_tasks((0, colleague, ""), (2, colleague, day(-1)))),
        )
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert set(errors) == {"action-0-due_on", "action-2-due_on"}
        assert not patient.encounters.exists()

    def test_the_form_offers_one_more_row_on_request(self, as_member, member, patient):
        response = as_member.get(reverse("coordination:encounter_action_row", args=[patient.public_id, 3]))
        html = response.content.decode()
        assert 'name="action-3-text"' in html and 'name="action-3-assignee"' in html
        assert reverse("coordination:encounter_action_row", args=[patient.public_id, 4]) in html
        assert f'value="{member.id}" selected' in html

    def test_a_task_for_someone_outside_the_team_rolls_back_the_whole_encounter(self, as_member, outsider, patient):
        response = as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]),
            encounter_form(**action_tasks((0, outsider, day(14)))),
        )
        assert response.status_code == 200
        assert response.context["form"].errors["action-0-assignee"]
        assert not Task.objects.exists()
        assert not patient.encounters.exists()

    def test_without_the_box_ticked_no_task_is_made(self, as_member, patient):
        as_member.post(reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form())
        assert patient.encounters.exists()
        assert not Task.objects.exists()


@pytest.mark.django_db
class TestTaskRules:
    def test_a_due_date_in_the_past_is_refused(self, as_member, team):
        response = make_task(as_member, team, due_on=day(-1))
        assert response.context["form"].errors["due_on"]
        assert not Task.objects.exists()

    def test_an_unknown_assignee_is_refused(self, as_member, team):
        response = make_task(as_member, team, assignee=999999)
        assert response.context["form"].errors["assignee"]

    def test_a_task_cannot_be_assigned_outside_its_team(self, as_member, team, outsider):
        make_task(as_member, team)
        task = Task.objects.get()
        as_member.post(
            reverse("coordination:task_assign", args=[task.public_id]), {"assignee": outsider.id, "version": 1}
        )
        task.refresh_from_db()
        assert task.assignee is None

    def test_closing_a_task_twice_says_so(self, as_member, team):
        make_task(as_member, team)
        task = Task.objects.get()
        url = reverse("coordination:task_status", args=[task.public_id])
        as_member.post(url, {"status": "done", "version": 1})
        response = as_member.post(url, {"status": "done", "version": 2}, follow=True)
        assert "allerede afsluttet" in response.content.decode()
        assert TaskTransition.objects.filter(task=task, to_status="done").count() == 1

    def test_the_second_of_two_concurrent_changes_is_refused(self, as_member, as_colleague, colleague, team):
        make_task(as_member, team)
        task = Task.objects.get()
        as_member.post(reverse("coordination:task_status", args=[task.public_id]), {"status": "done", "version": 1})
        response = as_colleague.post(
            reverse("coordination:task_assign", args=[task.public_id]),
            {"assignee": colleague.id, "version": 1},
            follow=True,
        )
        task.refresh_from_db()
        assert (task.status, task.assignee) == ("done", None)
        assert response.context["messages"]

    def test_every_change_is_kept_with_who_and_when(self, as_member, member, colleague, team):
        make_task(as_member, team)
        task = Task.objects.get()
        as_member.post(
            reverse("coordination:task_assign", args=[task.public_id]), {"assignee": colleague.id, "version": 1}
        )
        as_member.post(
            reverse("coordination:task_status", args=[task.public_id]), {"status": "in_progress", "version": 2}
        )
        moves = list(task.transitions.values_list("from_status", "to_status", "to_assignee", "by"))
        assert moves == [
            ("", "open", None, member.id),
            ("open", "open", colleague.id, member.id),
            ("open", "in_progress", colleague.id, member.id),
        ]

    def test_a_recurring_task_opens_its_next_occurrence_when_done(self, as_member, team):
        make_task(as_member, team, recurrence_months=3, due_on=day(0))
        task = Task.objects.get()
        as_member.post(reverse("coordination:task_status", args=[task.public_id]), {"status": "done", "version": 1})
        follow_up = Task.objects.exclude(pk=task.pk).get()
        assert follow_up.due_on == add_months(task.due_on, 3)
        assert (follow_up.status, follow_up.recurrence_months) == ("open", 3)

    def test_months_are_added_on_the_calendar(self):
        assert add_months(datetime.date(2026, 1, 31), 1) == datetime.date(2026, 2, 28)
        assert add_months(datetime.date(2026, 11, 15), 3) == datetime.date(2027, 2, 15)


@pytest.mark.django_db
class TestTaskAccess:
    def test_outsiders_get_404_on_a_task(self, as_member, as_outsider, team):
        make_task(as_member, team)
        task = Task.objects.get()
        assert as_outsider.get(reverse("coordination:task", args=[task.public_id])).status_code == 404
        response = as_outsider.post(
            reverse("coordination:task_status", args=[task.public_id]), {"status": "done", "version": 1}
        )
        assert response.status_code == 404
        task.refresh_from_db()
        assert task.status == "open"

    def test_reading_a_task_about_a_citizen_is_in_the_access_log(self, as_member, as_colleague, colleague, patient):
        as_member.post(
            reverse("coordination:task_create") + f"?citizen={patient.public_id}",
            {"title": "Ring", "team": patient.team_id, "due_on": day(2), "priority": 2},
        )
        task = Task.objects.get()
        assert task.patient == patient
        as_colleague.get(reverse("coordination:task", args=[task.public_id]))
        assert AccessLog.objects.filter(user=colleague, patient_public_id=patient.public_id).exists()

    def test_a_refused_task_about_a_citizen_is_logged_as_rejected_under_them(self, as_member, member, patient):
        url = reverse("coordination:task_create") + f"?citizen={patient.public_id}"
        as_member.post(url, {"title": "Ring", "team": patient.team_id, "due_on": day(-1), "priority": 2})
        rows = AccessLog.objects.filter(user=member, patient_public_id=patient.public_id).order_by("id")
        assert [(row.action, row.outcome) for row in rows] == [("create", "allowed"), ("create", "rejected")]

    def test_a_refused_change_of_a_task_about_a_citizen_is_logged_as_rejected(self, as_member, member, patient):
        as_member.post(
            reverse("coordination:task_create") + f"?citizen={patient.public_id}",
            {"title": "Ring", "team": patient.team_id, "due_on": day(2), "priority": 2},
        )
        task = Task.objects.get()
        url = reverse("coordination:task_status", args=[task.public_id])
        as_member.post(url, {"status": "done", "version": 1})
        as_member.post(url, {"status": "done", "version": 2})
        last = AccessLog.objects.filter(user=member, patient_public_id=patient.public_id).latest("id")
        assert (last.action, last.outcome, last.what) == ("update", "rejected", "task change")

    def test_a_comment_tells_the_assignee(self, as_member, as_colleague, colleague, member, team):
        make_task(as_member, team, assignee=colleague.id)
        task = Task.objects.get()
        as_member.post(reverse("coordination:task_comment", args=[task.public_id]), {"text": "Husk bogen"})
        assert Notification.objects.filter(user=colleague, kind="comment").exists()
        news = as_colleague.get(reverse("coordination:news"))
        assert len(news.context["items"]) == 2
        as_colleague.post(reverse("coordination:news"))
        assert not Notification.objects.filter(user=colleague, seen_at__isnull=True).exists()


@pytest.mark.django_db
class TestBoards:
    def test_my_tasks_sorts_by_when_they_are_due(self, as_member, member, team):
        for offset in (0, 3, 30):
            make_task(as_member, team, assignee=member.id, due_on=day(offset), title=f"T{offset}")
        overdue = Task.objects.create(
            title="Gammel",
            team=team,
            assignee=member,
            due_on=timezone.localdate() - datetime.timedelta(days=2),
            created_by=member,
        )
        tasks = as_member.get(reverse("coordination:my_tasks")).context["tasks"]
        assert [t.title for t in tasks.overdue] == [overdue.title]
        assert [t.title for t in tasks.today] == ["T0"]
        assert [t.title for t in tasks.this_week] == ["T3"]
        assert [t.title for t in tasks.later] == ["T30"]

    @pytest.mark.parametrize("url_name", ["coordination:my_tasks", "coordination:board", "coordination:workload"])
    def test_the_pages_have_a_budget_that_does_not_grow_with_tasks(
        self, as_member, member, team, url_name, django_assert_max_num_queries
    ):
        def add(count):
            for i in range(count):
                patient = PatientFactory(team=team)
                Task.objects.create(
                    title=f"T{i}",
                    team=team,
                    patient=patient,
                    assignee=member,
                    created_by=member,
                    due_on=timezone.localdate() + datetime.timedelta(days=i % 9 - 3),
                )

        add(5)
        with django_assert_max_num_queries(12) as small:
            as_member.get(reverse(url_name))
        add(60)
        with django_assert_max_num_queries(len(small)):
            as_member.get(reverse(url_name))

    def test_my_tasks_come_fifty_a_page_in_due_order_with_every_buckets_count(self, as_member, member, team):
        today = timezone.localdate()
        Task.objects.bulk_create(
            Task(
                title=f"T{i:02d}",
                team=team,
                assignee=member,
                created_by=member,
                due_on=today + datetime.timedelta(days=i - 40),
                priority=2,
            )
            for i in range(60)
        )
        first = as_member.get(reverse("coordination:my_tasks")).context["tasks"]
        assert first.counts == {"overdue": 40, "today": 1, "this_week": 7, "later": 12}
        assert first.open_count == 60
        assert [t.title for t in first.overdue] == [f"T{i:02d}" for i in range(40)]
        assert [t.title for t in first.today + first.this_week + first.later] == [f"T{i:02d}" for i in range(40, 50)]
        second = as_member.get(reverse("coordination:my_tasks"), {"page": 2})
        tasks = second.context["tasks"]
        assert not tasks.overdue and not tasks.today
        assert [t.title for t in tasks.this_week + tasks.later] == [f"T{i:02d}" for i in range(50, 60)]
        assert "51–60" in second.content.decode()

    def test_the_workload_of_two_teams_takes_as_many_queries_as_one(
        self, member, team, other_team, django_assert_num_queries
    ):
        coordinator = UserFactory(username="two_teams", role="coordinator", teams=[team])
        client = client_for(coordinator)
        for t in (team, other_team):
            patient = PatientFactory(team=t, responsible_professional=member)
            Task.objects.create(title="a", team=t, patient=patient, assignee=member, created_by=member, due_on=day(-1))
            Task.objects.create(title="b", team=t, created_by=member, due_on=day(2))
        with CaptureQueriesContext(connection) as one:
            client.get(reverse("coordination:workload"))
        coordinator.teams.add(other_team)
        with django_assert_num_queries(len(one)):
            loads = client.get(reverse("coordination:workload")).context["workloads"]
        assert [(w.team, w.unassigned) for w in loads] == sorted([(team, 1), (other_team, 1)], key=lambda x: x[0].name)

    def test_a_moved_citizens_open_task_counts_for_the_new_team(self, as_member, member, team, other_team):
        patient = PatientFactory(team=team, responsible_professional=member)
        Task.objects.create(title="a", team=team, patient=patient, created_by=member, due_on=day(-1))
        before = as_member.get(reverse("coordination:workload")).context["workloads"][0]
        Patient.objects.filter(pk=patient.pk).update(team=other_team)
        after = as_member.get(reverse("coordination:workload")).context["workloads"][0]
        assert (before.unassigned, after.unassigned) == (1, 0)

    def test_the_workload_counts_open_and_overdue_tasks_and_caseload(self, as_member, member, colleague, team):
        PatientFactory.create_batch(3, team=team, responsible_professional=colleague)
        Task.objects.create(title="a", team=team, assignee=colleague, created_by=member, due_on=timezone.localdate())
        Task.objects.create(
            title="b",
            team=team,
            assignee=colleague,
            created_by=member,
            due_on=timezone.localdate() - datetime.timedelta(days=1),
        )
        (team_load,) = as_member.get(reverse("coordination:workload")).context["workloads"]
        by_member = {row.member: row for row in team_load.members}
        row = by_member[colleague]
        assert (row.open_tasks, row.overdue_tasks, row.caseload) == (2, 1, 3)

    def test_the_board_filters_by_citizen(self, as_member, member, team, patient):
        other = PatientFactory(team=team)
        for p in (patient, other):
            Task.objects.create(title=p.last_name, team=team, patient=p, created_by=member, due_on=timezone.localdate())
        columns = {
            column.status: column.tasks
            for column in as_member.get(reverse("coordination:board"), {"citizen": patient.public_id}).context[
                "columns"
            ]
        }
        assert [t.patient for t in columns["open"]] == [patient]


@pytest.mark.django_db
class TestReferrals:
    @pytest.fixture
    def as_coordinator(self, coordinator):
        return client_for(coordinator)

    def referral(self, team, **overrides):
        data = {
            "cpr": valid_cpr(),
            "first_name": "Ny",
            "last_name": "Borger",
            "team": team.id,
            "source": "gp",
            "received_on": day(-3),
            "reason": "Nydiagnosticeret type 2-diabetes",
        }
        data.update(overrides)
        return data

    def test_a_referral_for_a_new_citizen_registers_the_citizen(self, as_coordinator, team):
        data = self.referral(team)
        response = as_coordinator.post(reverse("coordination:referral_create"), data)
        assert response.status_code == 302
        patient = Patient.objects.get(cpr=data["cpr"])
        assert Referral.objects.get().patient == patient

    def test_a_referral_for_a_known_citizen_creates_no_duplicate(self, as_coordinator, team, patient):
        as_coordinator.post(reverse("coordination:referral_create"), self.referral(team, cpr=patient.cpr_formatted))
        assert Patient.objects.count() == 1
        assert Referral.objects.get().patient == patient

    def test_an_invalid_cpr_is_refused(self, as_coordinator, team):
        response = as_coordinator.post(reverse("coordination:referral_create"), self.referral(team, cpr="311399-1234"))
        assert response.context["form"].errors["cpr"]
        assert not Referral.objects.exists()

    def test_accepting_enrols_and_creates_a_first_contact_task(self, as_coordinator, coordinator, member, team):
        as_coordinator.post(reverse("coordination:referral_create"), self.referral(team))
        referral = Referral.objects.get()
        programme = Programme.objects.get(code="diabetes-follow-up")
        response = as_coordinator.post(
            reverse("coordination:referral", args=[referral.public_id]),
            {"accept": "1", "programme": programme.id, "start_on": day(0), "assignee": member.id},
        )
        assert response.status_code == 302
        referral.refresh_from_db()
        enrolment = Enrolment.objects.get()
        assert (referral.status, referral.enrolment, enrolment.programme) == ("accepted", enrolment, programme)
        assert enrolment.referral_received_on == referral.received_on
        first = Task.objects.get(origin="referral")
        assert (first.assignee, first.referral, first.patient) == (member, referral, referral.patient)
        planned = Task.objects.get(origin="programme")
        assert planned.recurrence_months == 3

    def test_declining_needs_a_reason_and_triage_happens_once(self, as_coordinator, team):
        as_coordinator.post(reverse("coordination:referral_create"), self.referral(team))
        referral = Referral.objects.get()
        url = reverse("coordination:referral", args=[referral.public_id])
        response = as_coordinator.post(url, {"decline": "1", "reason": ""})
        assert response.context["decline"].errors["reason"]
        as_coordinator.post(url, {"decline": "1", "reason": "Hører under hospitalet"})
        programme = Programme.objects.first()
        response = as_coordinator.post(url, {"accept": "1", "programme": programme.id, "start_on": day(0)})
        assert response.status_code == 200
        referral.refresh_from_db()
        assert referral.status == "declined"
        assert not Enrolment.objects.exists()

    def test_professionals_cannot_triage(self, as_member, member, coordinator, team, patient):
        referral = Referral.objects.create(
            patient=patient,
            team=team,
            source="gp",
            reason="x",
            received_on=timezone.localdate(),
            created_by=coordinator,
        )
        response = as_member.post(
            reverse("coordination:referral", args=[referral.public_id]), {"decline": "1", "reason": "nej"}
        )
        assert response.status_code == 404

    def test_the_list_shows_the_days_to_the_first_encounter(self, as_coordinator, coordinator, member, patient, team):
        from .factories import EncounterFactory

        accepted = ReferralFactory(
            patient=patient,
            status="accepted",
            enrolment=EnrolmentFactory(patient=patient, end_on=None),
            received_on=timezone.localdate() - datetime.timedelta(days=10),
            created_by=coordinator,
        )
        EncounterFactory(patient=patient, professional=member, started_at=timezone.now() - datetime.timedelta(days=4))
        (referral,) = as_coordinator.get(reverse("coordination:referrals")).context["triaged"]
        assert (referral, referral.waiting_days) == (accepted, 6)

    def test_a_pending_referral_says_how_long_it_has_waited(self, as_coordinator, coordinator, member, patient):
        """Not "0 days to first contact" because the citizen happened to be seen on the day it came."""
        from .factories import EncounterFactory

        ReferralFactory(patient=patient, received_on=timezone.localdate() - datetime.timedelta(days=9))
        EncounterFactory(patient=patient, professional=member, started_at=timezone.now())
        response = as_coordinator.get(reverse("coordination:referrals"))
        (referral,) = response.context["awaiting"]
        assert (referral.waiting_so_far, referral.waiting_days) == (9, None)
        (cell,) = re.findall(r'data-testid="waiting">(.*?)</td>', response.content.decode(), re.S)
        assert " ".join(strip_tags(cell).split()) in {"waiting 9 days", "venter 9 dage"}

    def test_an_accepted_referral_not_yet_seen_is_still_waiting(self, as_coordinator, patient):
        from .factories import EncounterFactory

        ReferralFactory(
            patient=patient,
            status="accepted",
            enrolment=EnrolmentFactory(patient=patient, end_on=None),
            received_on=timezone.localdate() - datetime.timedelta(days=5),
        )
        # A draft is not a contact yet (OPS-WAIT-DAYS counts signed encounters).
        EncounterFactory(patient=patient, started_at=timezone.now(), signed_at=None)
        (referral,) = as_coordinator.get(reverse("coordination:referrals")).context["triaged"]
        assert (referral.waiting_so_far, referral.waiting_days) == (5, None)

    def test_an_accepted_referrals_own_page_says_how_long_it_waited(self, as_coordinator, member, patient):
        from .factories import EncounterFactory

        referral = ReferralFactory(
            patient=patient,
            status="accepted",
            enrolment=EnrolmentFactory(patient=patient, end_on=None),
            received_on=timezone.localdate() - datetime.timedelta(days=8),
        )
        EncounterFactory(patient=patient, professional=member, started_at=timezone.now() - datetime.timedelta(days=2))
        response = as_coordinator.get(reverse("coordination:referral", args=[referral.public_id]))
        assert response.status_code == 200
        assert response.context["referral"].waiting_days == 6

    def test_the_list_shows_why_a_referral_was_declined(self, as_coordinator, patient):
        ReferralFactory(patient=patient, status="declined", decline_reason="Hører under hospitalets ambulatorium")
        response = as_coordinator.get(reverse("coordination:referrals"))
        assert "Hører under hospitalets ambulatorium" in response.content.decode()

    def test_a_known_citizens_referral_shows_what_the_record_says(self, as_coordinator, member, patient, team):
        from .factories import ConditionFactory, EncounterFactory

        ConditionFactory(patient=patient, kind="dm2", icd10="E11")
        EnrolmentFactory(patient=patient, start_on=datetime.date(2024, 3, 1), end_on=None)
        EncounterFactory(patient=patient, professional=member, started_at=timezone.now() - datetime.timedelta(days=20))
        referral = ReferralFactory(patient=patient, received_on=timezone.localdate())
        response = as_coordinator.get(reverse("coordination:referral", args=[referral.public_id]))
        context = response.context["citizen"]
        assert context.known
        assert [c.icd10 for c in context.conditions] == ["E11"]
        assert [e.programme.code for e in context.enrolments] == ["diabetes-follow-up"]
        assert timezone.localdate(context.last_contact) == timezone.localdate() - datetime.timedelta(days=20)
        html = response.content.decode()
        assert "E11" in html and "01.03.2024" in html and team.name in html

    def test_a_new_citizens_referral_says_so(self, as_coordinator, team):
        as_coordinator.post(reverse("coordination:referral_create"), self.referral(team))
        referral = Referral.objects.get()
        response = as_coordinator.get(reverse("coordination:referral", args=[referral.public_id]))
        assert not response.context["citizen"].known
        assert 'data-testid="new-citizen"' in response.content.decode()


def post_handover(client, patient, text, *, to=(), whole_team=False):
    data = {"text": text, "recipients": [user.id for user in to]}
    if whole_team:
        data["whole_team"] = "on"
    return client.post(
        reverse("coordination:patient_panel", args=[patient.public_id]), data, headers={"HX-Request": "true"}
    )


@pytest.mark.django_db
class TestHandovers:
    def test_a_handover_note_reaches_the_people_it_names(self, as_colleague, member, coordinator, patient):
        post_handover(as_colleague, patient, "Datteren ringede", to=[member, coordinator])
        note = HandoverNote.objects.get()
        assert note.patient == patient
        assert set(note.recipients.all()) == {member, coordinator}
        assert set(Notification.objects.filter(kind="handover", handover=note).values_list("user", flat=True)) == {
            member.id,
            coordinator.id,
        }

    def test_the_form_names_the_responsible_professional_at_first(self, as_colleague, member, patient):
        form = as_colleague.get(reverse("coordination:patient_panel", args=[patient.public_id])).context["form"]
        assert list(form["recipients"].initial) == [member.id]

    def test_a_note_must_name_someone(self, as_colleague, patient):
        response = post_handover(as_colleague, patient, "Til hvem?")
        assert response.context["form"].errors["recipients"]
        assert not HandoverNote.objects.exists()

    def test_a_note_for_the_whole_team_reaches_everyone_in_it_but_the_author(
        self, as_colleague, member, colleague, coordinator, outsider, team, patient
    ):
        post_handover(as_colleague, patient, "Ny nøgleboks", whole_team=True)
        note = HandoverNote.objects.get()
        assert note.to_team == team
        readers = set(Notification.objects.filter(handover=note).values_list("user", flat=True))
        assert readers == {member.id, coordinator.id}
        panel = as_colleague.get(reverse("coordination:patient_panel", args=[patient.public_id]))
        (shown,) = re.findall(r'data-testid="handover-for">(.*?)</span>', panel.content.decode(), re.S)
        assert "Diabetes Nord" in shown

    def test_it_stays_new_for_its_reader_until_acknowledged(self, as_colleague, as_member, member, patient):
        post_handover(as_colleague, patient, "Ring tilbage", to=[member])
        note = HandoverNote.objects.get()
        as_member.post(reverse("coordination:news"))  # "mark all as seen"
        news = as_member.get(reverse("coordination:news"))
        assert [item.handover for item in news.context["items"]] == [note]
        assert 'data-testid="acknowledge"' in news.content.decode()
        assert ">1<" in as_member.get(reverse("coordination:news_badge")).content.decode()
        response = as_member.post(
            reverse("coordination:handover_acknowledge", args=[note.public_id]),
            {"from": "news"},
            headers={"HX-Request": "true"},
        )
        assert 'data-testid="news-acknowledged"' in response.content.decode()
        assert as_member.get(reverse("coordination:news")).context["items"] == []
        assert note.acknowledgements.get().user == member

    def test_the_reader_acknowledges_it(self, as_colleague, as_member, member, patient):
        post_handover(as_colleague, patient, "Ring tilbage", to=[member])
        note = HandoverNote.objects.get()
        panel = as_member.post(
            reverse("coordination:handover_acknowledge", args=[note.public_id]), headers={"HX-Request": "true"}
        )
        assert panel.context["handovers"][0].acknowledged
        assert not Notification.objects.filter(user=member, seen_at__isnull=True).exists()

    def test_a_note_cannot_name_someone_outside_the_team(self, as_colleague, outsider, patient):
        response = post_handover(as_colleague, patient, "Hej", to=[outsider])
        assert response.context["form"].errors["recipients"]
        assert not HandoverNote.objects.exists()

    def test_outsiders_cannot_read_or_post_handovers(self, as_outsider, patient):
        url = reverse("coordination:patient_panel", args=[patient.public_id])
        assert as_outsider.get(url).status_code == 404
        assert as_outsider.post(url, {"text": "hej"}).status_code == 404
        assert not HandoverNote.objects.exists()

    def test_an_empty_note_is_refused(self, as_member, colleague, patient):
        response = post_handover(as_member, patient, " ", to=[colleague])
        assert response.context["form"].errors["text"]
        assert not HandoverNote.objects.exists()


@pytest.mark.django_db
def test_a_coordinator_of_another_team_cannot_assign_into_this_team(other_team, team, member):
    other_coordinator = UserFactory(role="coordinator", teams=[other_team])
    response = make_task(client_for(other_coordinator), team, assignee=member.id)
    assert response.status_code == 200
    assert not Task.objects.exists()


@pytest.mark.django_db
class TestFollowingTheCitizen:
    def test_a_moved_citizens_task_follows_to_the_new_team(
        self, as_member, as_outsider, member, team, other_team, patient
    ):
        task = Task.objects.create(
            title="Ring", team=team, patient=patient, created_by=member, due_on=timezone.localdate()
        )
        Patient.objects.filter(pk=patient.pk).update(team=other_team)
        assert as_member.get(reverse("coordination:task", args=[task.public_id])).status_code == 404
        assert as_outsider.get(reverse("coordination:task", args=[task.public_id])).status_code == 200

    def test_news_about_another_team_is_not_shown(self, as_member, member, colleague, team, other_team, patient):
        note = HandoverNote.objects.create(patient=patient, author=colleague, text="Ring tilbage")
        Notification.objects.create(user=member, actor=colleague, kind="handover", handover=note)
        assert len(as_member.get(reverse("coordination:news")).context["items"]) == 1
        member.teams.set([other_team])
        assert as_member.get(reverse("coordination:news")).context["items"] == []

    def test_lists_write_one_access_row(self, as_member, member):
        as_member.get(reverse("coordination:my_tasks"))
        as_member.get(reverse("coordination:board"))
        assert AccessLog.objects.filter(user=member, action="search").count() == 2

    def test_next_may_not_lead_off_the_site(self, as_member, team):
        make_task(as_member, team)
        task = Task.objects.get()
        response = as_member.post(
            reverse("coordination:task_status", args=[task.public_id]),
            {"status": "in_progress", "version": 1, "next": "/\\evil.example"},
        )
        assert response["Location"] == reverse("coordination:task", args=[task.public_id])

    def test_a_long_agreed_action_becomes_a_task_with_the_whole_text(self, as_member, colleague, patient):
        long_text = "Aftalt: " + "gå en lang tur langs stranden hver morgen " * 6
        as_member.post(
            reverse("coordination:encounter_create", args=[patient.public_id]),
            encounter_form(
                **{"action-0-text": long_text[:300], "action-2-text": ""}, **action_tasks((0, colleague, day(7)))
            ),
        )
        task = Task.objects.get()
        assert len(task.title) <= 200
        assert long_text[:300].strip() in task.description

    def test_a_referral_for_another_teams_citizen_goes_to_that_team_and_is_logged(self, coordinator, other_team):
        other = PatientFactory(team=other_team)
        client = client_for(coordinator)
        response = client.post(
            reverse("coordination:referral_create"),
            {
                "cpr": other.cpr,
                "first_name": other.first_name,
                "last_name": other.last_name,
                "team": coordinator.teams.first().id,
                "source": "gp",
                "received_on": day(0),
                "reason": "x",
            },
        )
        assert response.status_code == 302
        referral = Referral.objects.get()
        assert (referral.patient, referral.team, referral.attachments) == (other, other_team, "")
        assert AccessLog.objects.filter(
            user=coordinator, patient_public_id=other.public_id, action="create", outcome="allowed"
        ).exists()


def save_draft(client, patient, *rows, **overrides):
    """Saves a draft with the encounter form's two actions ("Gåtur hver dag" in row 0, "Ringe om 4
    uger" in row 2), each planned for (index, assignee, due)."""
    data = {"sign": None, "draft": "1", **action_tasks(*rows), **overrides}
    return client.post(reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form(**data))


def plans_of(encounter) -> dict:
    return {
        plan.agreed_action.text: (plan.assignee, plan.due_on.isoformat())
        for plan in ActionPlan.objects.filter(agreed_action__encounter=encounter).select_related("agreed_action")
    }


@pytest.mark.django_db
class TestDraftsAreNotTheRecord:
    """A draft's agreed actions are planned (who, by when) but become tasks only when it is signed."""

    def test_a_draft_makes_no_task_and_keeps_each_actions_plan(self, as_member, member, colleague, patient):
        response = save_draft(as_member, patient, (0, colleague, day(7)), (2, None, day(30)))
        assert response.status_code == 302
        assert not Task.objects.exists()
        assert not Notification.objects.filter(user=colleague).exists()
        encounter = patient.encounters.get()
        assert plans_of(encounter) == {"Gåtur hver dag": (colleague, day(7)), "Ringe om 4 uger": (None, day(30))}
        # Nothing to count in the task figures nor on the boards.
        board = as_member.get(reverse("coordination:board"))
        assert sum(column.count for column in board.context["columns"]) == 0

    def test_signing_from_the_timeline_makes_the_planned_tasks(self, as_member, member, colleague, patient):
        save_draft(as_member, patient, (0, colleague, day(7)), (2, member, day(30)))
        encounter = patient.encounters.get()
        detail = as_member.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
        sign_url = reverse("coordination:encounter_sign", args=[encounter.public_id])
        assert sign_url in detail
        page = as_member.get(sign_url)
        assert page.status_code == 200
        assert 'data-testid="planned-tasks"' in page.content.decode()
        assert not Task.objects.exists()

        response = as_member.post(sign_url, {"version": encounter.version})
        assert response.status_code == 302
        encounter.refresh_from_db()
        assert encounter.is_signed
        tasks = {t.title: (t.assignee, t.due_on.isoformat(), t.origin) for t in Task.objects.all()}
        assert tasks == {
            "Gåtur hver dag": (colleague, day(7), "agreed_action"),
            "Ringe om 4 uger": (member, day(30), "agreed_action"),
        }
        assert TaskTransition.objects.filter(by=member, from_status="", to_status="open").count() == 2
        assert Notification.objects.filter(user=colleague, kind="assigned").count() == 1
        # Signing twice is refused and makes nothing twice.
        as_member.post(sign_url, {"version": encounter.version})
        assert Task.objects.count() == 2

    def test_save_and_sign_on_the_drafts_form_makes_the_planned_tasks(self, as_member, colleague, patient):
        save_draft(as_member, patient, (0, colleague, day(7)), (2, colleague, day(14)))
        encounter = patient.encounters.get()
        response = as_member.post(
            reverse("coordination:encounter_edit", args=[encounter.public_id]),
            encounter_form(version=encounter.version, **action_tasks((0, colleague, day(7)), (2, colleague, day(14)))),
        )
        assert response.status_code == 302
        assert patient.encounters.get().is_signed
        assert Task.objects.filter(assignee=colleague, origin="agreed_action").count() == 2

    def test_unticked_the_actions_stay_without_tasks_when_signed(self, as_member, patient):
        save_draft(as_member, patient, make_tasks=None)
        encounter = patient.encounters.get()
        assert plans_of(encounter) == {}
        as_member.post(reverse("coordination:encounter_sign", args=[encounter.public_id]), {"version": 1})
        assert patient.encounters.get().is_signed
        assert not Task.objects.exists()

    def test_a_draft_signed_outside_coordination_gets_its_tasks_from_the_periodic_job(
        self, as_member, member, colleague, patient
    ):
        from coordination.tasks import evaluate_care_gaps_task
        from patients import services as patient_services

        save_draft(as_member, patient, (0, colleague, day(7)), (2, colleague, day(7)))
        encounter = patient.encounters.get()
        patient_services.encounter_sign(actor=member, encounter=encounter, expected_version=encounter.version)
        assert not Task.objects.exists()
        assert evaluate_care_gaps_task.apply().get()["action_tasks"] == 2
        assert Task.objects.filter(assignee=colleague, created_by=member).count() == 2
        assert evaluate_care_gaps_task.apply().get()["action_tasks"] == 0  # idempotent

    def test_a_planned_assignee_who_left_the_team_leaves_the_task_to_nobody_yet(
        self, as_member, colleague, other_team, patient
    ):
        save_draft(as_member, patient, (0, colleague, day(7)), **{"action-2-text": ""})
        encounter = patient.encounters.get()
        colleague.teams.set([other_team])
        as_member.post(reverse("coordination:encounter_sign", args=[encounter.public_id]), {"version": 1})
        task = Task.objects.get()
        assert (task.title, task.assignee) == ("Gåtur hver dag", None)

    def test_only_the_author_signs_and_a_colleagues_attempt_makes_no_task(
        self, as_member, as_colleague, colleague, patient
    ):
        save_draft(as_member, patient, (0, colleague, day(7)), (2, colleague, day(7)))
        encounter = patient.encounters.get()
        as_colleague.post(reverse("coordination:encounter_sign", args=[encounter.public_id]), {"version": 1})
        assert not patient.encounters.get().is_signed
        assert not Task.objects.exists()

    def test_outsiders_get_404_on_a_drafts_form_and_sign_page(self, as_member, as_outsider, colleague, patient):
        save_draft(as_member, patient, (0, colleague, day(7)), (2, colleague, day(7)))
        encounter = patient.encounters.get()
        for name in ("coordination:encounter_edit", "coordination:encounter_sign"):
            assert as_outsider.get(reverse(name, args=[encounter.public_id])).status_code == 404
            assert as_outsider.post(reverse(name, args=[encounter.public_id]), {"version": 1}).status_code == 404
        assert not Task.objects.exists()


@pytest.mark.django_db
class TestEditingADraftsActions:
    """The draft's form has the same rows as a new encounter's: each action with its owner and due date."""

    def edit_url(self, encounter) -> str:
        return reverse("coordination:encounter_edit", args=[encounter.public_id])

    def test_the_drafts_form_shows_each_action_with_its_owner_and_due_date(
        self, as_member, colleague, coordinator, patient
    ):
        save_draft(as_member, patient, (0, colleague, day(7)), (2, coordinator, day(30)))
        encounter = patient.encounters.get()
        detail = as_member.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
        assert self.edit_url(encounter) in detail
        response = as_member.get(self.edit_url(encounter))
        assert response.status_code == 200
        form = response.context["form"]
        assert "agreed_actions" not in form.fields  # no "one per line" box
        html = response.content.decode()
        assert 'name="action-0-assignee"' in html and 'name="action-1-due_on"' in html
        assert [form[f"action-{i}-text"].value() for i in range(2)] == ["Gåtur hver dag", "Ringe om 4 uger"]
        assert form["action-0-assignee"].value() == colleague.id
        assert form["action-1-assignee"].value() == coordinator.id
        assert form["action-1-due_on"].value().isoformat() == day(30)

    def test_changing_an_actions_owner_and_due_date_changes_only_its_plan(
        self, as_member, member, colleague, coordinator, patient
    ):
        save_draft(as_member, patient, (0, colleague, day(7)), (2, coordinator, day(30)))
        encounter = patient.encounters.get()
        response = as_member.post(
            self.edit_url(encounter),
            encounter_form(
                sign=None,
                draft="1",
                version=encounter.version,
                **{"action-1-text": "Ringe om 4 uger", "action-2-text": "Bestil fodterapeut"},
                **action_tasks((0, colleague, day(7)), (1, member, day(21)), (2, None, day(10))),
            ),
        )
        assert response.status_code == 302
        assert plans_of(encounter) == {
            "Gåtur hver dag": (colleague, day(7)),
            "Ringe om 4 uger": (member, day(21)),
            "Bestil fodterapeut": (None, day(10)),
        }
        assert not Task.objects.exists()

    def test_an_emptied_row_removes_the_action_and_its_plan(self, as_member, colleague, patient):
        save_draft(as_member, patient, (0, colleague, day(7)), (2, colleague, day(30)))
        encounter = patient.encounters.get()
        as_member.post(
            self.edit_url(encounter),
            encounter_form(
                sign=None,
                draft="1",
                version=encounter.version,
                **{"action-0-text": "", "action-1-text": "Ringe om 4 uger", "action-2-text": ""},
                **action_tasks((1, colleague, day(30))),
            ),
        )
        assert [a.text for a in encounter.agreed_actions.all()] == ["Ringe om 4 uger"]
        assert plans_of(encounter) == {"Ringe om 4 uger": (colleague, day(30))}

    def test_a_planned_owner_outside_the_team_is_refused_on_the_row(self, as_member, outsider, patient):
        save_draft(as_member, patient, make_tasks=None)
        encounter = patient.encounters.get()
        response = as_member.post(
            self.edit_url(encounter),
            encounter_form(
                sign=None,
                draft="1",
                version=encounter.version,
                **action_tasks((0, outsider, day(7)), (2, None, day(7))),
            ),
        )
        assert response.status_code == 200
        assert response.context["form"].errors["action-0-assignee"]
        assert encounter.version == patient.encounters.get().version

    def test_a_signed_encounter_is_amended_not_edited(self, as_member, patient):
        as_member.post(reverse("coordination:encounter_create", args=[patient.public_id]), encounter_form())
        encounter = patient.encounters.get()
        response = as_member.get(self.edit_url(encounter))
        assert response["Location"] == reverse("patients:encounter_amend", args=[encounter.public_id])
