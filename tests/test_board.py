"""The coordinator's board and workload at real size: exact counts, columns that load more, filters,
assigning from a card and handing on many tasks at once, every move through the task service."""

import datetime
import re

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from coordination.briefing import worklist_ranked
from coordination.models import Notification, Task, TaskTransition
from coordination.selectors import BOARD_PAGE, BoardFilter, board_tasks
from coordination.services import task_create
from patients.models import Patient

from .conftest import client_for
from .factories import PatientFactory, UserFactory

BOARD_BUDGET = 14


def today(offset: int = 0) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=offset)


def bulk_tasks(count: int, *, team, created_by, assignee=None, patients=None, **fields) -> list[Task]:
    """Many open tasks at once, as they would stand after the task service made them (a creation
    transition each): the board reads the tasks, not how they came."""
    due_on = fields.pop("due_on", None)
    tasks = Task.objects.bulk_create(
        Task(
            title=f"Opgave {i:04d}",
            team=team,
            patient=patients[i % len(patients)] if patients else None,
            assignee=assignee,
            created_by=created_by,
            due_on=due_on or today(i % 30 - 10),
            **fields,
        )
        for i in range(count)
    )
    TaskTransition.objects.bulk_create(
        TaskTransition(task=task, by=created_by, to_status="open", to_assignee=assignee) for task in tasks
    )
    return tasks


def citizens(count: int, team) -> list[Patient]:
    return Patient.objects.bulk_create(PatientFactory.build_batch(count, team=team))


def columns_of(response) -> dict:
    return {column.status: column for column in response.context["columns"]}


@pytest.fixture
def as_coordinator(coordinator):
    return client_for(coordinator)


@pytest.mark.django_db
class TestExactCounts:
    def test_the_counts_are_exact_beyond_the_first_cards(self, as_coordinator, coordinator, team):
        bulk_tasks(230, team=team, created_by=coordinator)
        bulk_tasks(3, team=team, created_by=coordinator, status="in_progress")
        response = as_coordinator.get(reverse("coordination:board"))
        columns = columns_of(response)
        assert (columns["open"].count, columns["in_progress"].count) == (230, 3)
        assert len(columns["open"].tasks) == BOARD_PAGE
        assert columns["open"].next_offset == BOARD_PAGE
        html = response.content.decode()
        assert re.search(r'data-testid="count-open">230<', html)
        assert 'data-testid="load-more-open"' in html
        assert 'data-testid="load-more-in_progress"' not in html

    def test_load_more_continues_where_the_column_stopped_until_all_are_shown(self, as_coordinator, coordinator, team):
        made = bulk_tasks(60, team=team, created_by=coordinator, due_on=today(3))
        seen = [t.pk for t in columns_of(as_coordinator.get(reverse("coordination:board")))["open"].tasks]
        offset = BOARD_PAGE
        while True:
            response = as_coordinator.get(
                reverse("coordination:board_column", args=["open"]), {"offset": offset}, headers={"HX-Request": "true"}
            )
            column = response.context["column"]
            seen += [t.pk for t in column.tasks]
            if column.next_offset is None:
                assert 'data-testid="load-more-open"' not in response.content.decode()
                break
            offset = column.next_offset
        assert seen == sorted(t.pk for t in made)  # same due date and priority: by id, none twice, none lost

    def test_load_more_past_the_end_still_counts_the_column(self, as_coordinator, coordinator, team):
        """The cards carry their column's count; past the last card there are none to carry it."""
        bulk_tasks(30, team=team, created_by=coordinator)
        for offset, cards in ((BOARD_PAGE, 30 - BOARD_PAGE), (100, 0)):
            response = as_coordinator.get(
                reverse("coordination:board_column", args=["open"]), {"offset": offset}, headers={"HX-Request": "true"}
            )
            column = response.context["column"]
            assert (column.count, len(column.tasks), column.next_offset) == (30, cards, None)

    def test_the_showing_n_of_m_text_follows_each_load_more(self, as_coordinator, coordinator, team):
        bulk_tasks(72, team=team, created_by=coordinator)
        html = as_coordinator.get(reverse("coordination:board")).content.decode()
        (shown,) = re.findall(r'<p[^>]*id="shown-open"[^>]*>(.*?)</p>', html, re.S)
        assert re.findall(r"\d+", shown) == [str(BOARD_PAGE), "72"]
        for offset in (BOARD_PAGE, 2 * BOARD_PAGE):
            html = as_coordinator.get(
                reverse("coordination:board_column", args=["open"]), {"offset": offset}, headers={"HX-Request": "true"}
            ).content.decode()
            # The column's text comes back out of band with the cards.
            (shown,) = re.findall(r'<p[^>]*id="shown-open"[^>]*hx-swap-oob="true"[^>]*>(.*?)</p>', html, re.S)
            assert re.findall(r"\d+", shown) == [str(min(offset + BOARD_PAGE, 72)), "72"]

    def test_load_more_keeps_the_filters(self, as_coordinator, coordinator, member, team):
        bulk_tasks(40, team=team, created_by=coordinator, assignee=member)
        bulk_tasks(40, team=team, created_by=coordinator)
        response = as_coordinator.get(
            reverse("coordination:board_column", args=["open"]),
            {"assignee": member.public_id, "offset": BOARD_PAGE},
            headers={"HX-Request": "true"},
        )
        tasks = response.context["column"].tasks
        assert len(tasks) == 40 - BOARD_PAGE
        assert {t.assignee for t in tasks} == {member}
        assert f"assignee={member.public_id}" in response.content.decode()

    def test_the_board_has_a_budget_that_does_not_grow_with_a_thousand_open_tasks(
        self, as_coordinator, coordinator, member, colleague, team, other_team, django_assert_max_num_queries
    ):
        coordinator.teams.add(other_team)
        UserFactory(teams=[other_team])
        people = citizens(10, team)
        bulk_tasks(10, team=team, created_by=coordinator, assignee=member, patients=people)
        with CaptureQueriesContext(connection) as small:
            as_coordinator.get(reverse("coordination:board"))
        bulk_tasks(600, team=team, created_by=coordinator, assignee=colleague, patients=citizens(300, team))
        bulk_tasks(390, team=other_team, created_by=coordinator, status="in_progress")
        assert Task.objects.filter(status__in=["open", "in_progress"]).count() == 1000
        with django_assert_max_num_queries(min(len(small), BOARD_BUDGET)):
            response = as_coordinator.get(reverse("coordination:board"))
        columns = columns_of(response)
        assert columns["open"].count + columns["in_progress"].count == 1000
        with django_assert_max_num_queries(min(len(small), BOARD_BUDGET)):
            as_coordinator.get(reverse("coordination:board_column", args=["open"]), {"offset": 500})


@pytest.mark.django_db
class TestFilters:
    def titles(self, client, **params) -> set[str]:
        response = client.get(reverse("coordination:board"), params)
        assert response.status_code == 200
        return {t.title for column in response.context["columns"] for t in column.tasks}

    def make(self, actor, team, title, **fields) -> Task:
        fields.setdefault("due_on", today(3))
        return task_create(actor=actor, title=title, team=team, allow_past_due=True, **fields)

    def test_the_columns_count_what_load_more_pages_through(self, as_coordinator, coordinator, member, team):
        """The columns are ranked over the board's parts with the filter applied in each, load more pages
        through board_tasks: both must count the same tasks, about citizens and about no one."""
        people = citizens(4, team)
        bulk_tasks(30, team=team, created_by=coordinator, assignee=member, patients=people, priority=3)
        bulk_tasks(20, team=team, created_by=coordinator, priority=3, status="in_progress")
        bulk_tasks(15, team=team, created_by=coordinator, patients=people)
        for params in ({}, {"priority": 3}, {"assignee": "none"}, {"assignee": member.public_id, "due": "overdue"}):
            response = as_coordinator.get(reverse("coordination:board"), params)
            shown = {column.status: column.count for column in response.context["columns"] if column.count}
            board = response.context["form"].to_filter()
            counted = dict(board_tasks(coordinator, board).values_list("status").annotate(n=Count("id")).order_by())
            assert shown == counted, params
            assert shown, params

    def test_by_assignee_and_by_nobody_yet(self, as_coordinator, coordinator, member, team):
        self.make(coordinator, team, "Hers", assignee=member)
        self.make(coordinator, team, "Nobody's")
        assert self.titles(as_coordinator, assignee=member.public_id) == {"Hers"}
        assert self.titles(as_coordinator, assignee="none") == {"Nobody's"}

    def test_by_citizen(self, as_coordinator, coordinator, team, patient):
        self.make(coordinator, team, "About her", patient=patient)
        self.make(coordinator, team, "About nobody")
        assert self.titles(as_coordinator, citizen=patient.public_id) == {"About her"}

    def test_by_when_it_is_due(self, as_coordinator, coordinator, team):
        self.make(coordinator, team, "Yesterday", due_on=today(-1))
        self.make(coordinator, team, "Today", due_on=today(0))
        self.make(coordinator, team, "In a week", due_on=today(7))
        self.make(coordinator, team, "In eight days", due_on=today(8))
        assert self.titles(as_coordinator, due="overdue") == {"Yesterday"}
        assert self.titles(as_coordinator, due="week") == {"Today", "In a week"}
        assert self.titles(as_coordinator, due="later") == {"In eight days"}

    def test_by_origin(self, as_coordinator, coordinator, team, patient):
        self.make(coordinator, team, "By hand")
        self.make(None, team, "Rule", patient=patient, origin="rule")
        self.make(coordinator, team, "Programme", origin="programme")
        assert self.titles(as_coordinator, origin="rule") == {"Rule"}
        assert self.titles(as_coordinator, origin="manual") == {"By hand"}
        assert self.titles(as_coordinator, origin="programme") == {"Programme"}

    def test_the_counts_follow_the_filter(self, as_coordinator, coordinator, member, team):
        bulk_tasks(30, team=team, created_by=coordinator, assignee=member)
        bulk_tasks(7, team=team, created_by=coordinator)
        columns = columns_of(as_coordinator.get(reverse("coordination:board"), {"assignee": "none"}))
        assert columns["open"].count == 7

    def test_an_unknown_filter_value_shows_the_whole_board(self, as_coordinator, coordinator, team):
        self.make(coordinator, team, "A")
        assert self.titles(as_coordinator, due="someday", origin="magic") == {"A"}


def assign_on_card(client, task, assignee, version=None):
    return client.post(
        reverse("coordination:task_assign", args=[task.public_id]),
        {"assignee": assignee.id if assignee else "", "version": version or task.version, "card": "1"},
        headers={"HX-Request": "true"},
    )


@pytest.mark.django_db
class TestAssignFromTheBoard:
    def test_a_card_offers_the_members_of_the_tasks_team(self, as_coordinator, coordinator, member, team, outsider):
        task_create(actor=coordinator, title="Ring", team=team, due_on=today(2))
        html = as_coordinator.get(reverse("coordination:board")).content.decode()
        (select,) = re.findall(r'<select[^>]*data-testid="assign".*?</select>', html, re.S)
        assert f'value="{member.id}"' in select
        assert f'value="{outsider.id}"' not in select

    def test_each_card_selects_its_own_assignee_and_keeps_one_who_has_left(
        self, as_coordinator, coordinator, member, colleague, team
    ):
        """The options are made once per team for the whole page: each card still marks its own holder,
        a holder who has left the team stays on that card alone, and names are escaped."""
        member.first_name = "<b>Bo</b>"
        member.save()
        held = task_create(actor=coordinator, title="Held", team=team, due_on=today(1), assignee=colleague)
        mine = task_create(actor=coordinator, title="Mine", team=team, due_on=today(2), assignee=member)
        colleague.teams.remove(team)
        html = as_coordinator.get(reverse("coordination:board")).content.decode()
        selects = dict(re.findall(r'id="assign-([^"]+)"[^>]*>(.*?)</select>', html, re.S))
        assert re.findall(r'value="(\d+)" selected', selects[str(held.public_id)]) == [str(colleague.id)]
        assert re.findall(r'value="(\d+)" selected', selects[str(mine.public_id)]) == [str(member.id)]
        assert f'value="{colleague.id}"' not in selects[str(mine.public_id)]
        assert "&lt;b&gt;Bo&lt;/b&gt;" in selects[str(held.public_id)] and "<b>Bo" not in html

    def test_assigning_on_a_card_returns_the_card_and_records_the_move(
        self, as_coordinator, coordinator, colleague, team
    ):
        task = task_create(actor=coordinator, title="Ring", team=team, due_on=today(2))
        response = assign_on_card(as_coordinator, task, colleague)
        assert response.status_code == 200
        html = response.content.decode()
        assert html.lstrip().startswith("<li") and "<html" not in html
        assert 'data-testid="assigned"' in html
        assert f'value="{colleague.id}" selected' in html
        assert 'name="version" value="2"' in html  # the next change starts from the new version
        task.refresh_from_db()
        assert task.assignee == colleague
        assert list(task.transitions.values_list("from_assignee", "to_assignee", "by"))[-1] == (
            None,
            colleague.id,
            coordinator.id,
        )
        assert Notification.objects.filter(user=colleague, task=task, kind="assigned", actor=coordinator).exists()

    def test_a_card_changed_by_someone_else_says_so_and_changes_nothing(
        self, as_coordinator, coordinator, member, colleague, team
    ):
        task = task_create(actor=coordinator, title="Ring", team=team, due_on=today(2))
        stale = task.version
        assign_on_card(client_for(member), task, member)
        response = assign_on_card(as_coordinator, task, colleague, version=stale)
        assert 'data-testid="card-error"' in response.content.decode()
        task.refresh_from_db()
        assert task.assignee == member
        assert not Notification.objects.filter(user=colleague).exists()

    def test_assigning_a_task_to_the_one_who_holds_it_is_refused_and_records_nothing(
        self, as_coordinator, coordinator, member, team
    ):
        task = task_create(actor=coordinator, title="Ring", team=team, assignee=member, due_on=today(2))
        response = assign_on_card(as_coordinator, task, member)
        assert 'data-testid="card-error"' in response.content.decode()
        task.refresh_from_db()
        assert (task.assignee, task.version, task.transitions.count()) == (member, 1, 1)

    def test_outsiders_cannot_assign_from_a_card(self, as_outsider, coordinator, outsider, team):
        task = task_create(actor=coordinator, title="Ring", team=team, due_on=today(2))
        assert assign_on_card(as_outsider, task, outsider).status_code == 404


@pytest.mark.django_db
class TestHandOn:
    """A colleague goes on leave with 38 open tasks: the coordinator moves all or some of them."""

    @pytest.fixture
    def on_leave(self, team, coordinator):
        person = UserFactory(username="on_leave", teams=[team])
        people = citizens(5, team)
        for i in range(38):
            task_create(
                actor=coordinator,
                title=f"Opgave {i:02d}",
                team=team,
                patient=people[i % 5],
                assignee=person,
                due_on=today(i % 10),
            )
        return person

    def url(self, team, member) -> str:
        return reverse("coordination:hand_on", args=[team.public_id, member.public_id if member else "none"])

    def move(self, client, team, member, tasks, to):
        data = {"task": [str(t.public_id) for t in tasks], "to": to.public_id}
        data.update({f"version-{t.public_id}": t.version for t in tasks})
        return client.post(self.url(team, member), data, headers={"HX-Request": "true"})

    def test_only_the_coordinator_hands_on_a_colleagues_tasks(self, as_member, member, colleague, team, on_leave):
        """Balancing the team's workload is the coordinator's work: a professional sees the table
        without the buttons, and the panel and the move answer 404 and change nothing."""
        page = as_member.get(reverse("coordination:workload")).content.decode()
        assert 'data-testid="hand-on"' not in page and 'data-testid="hand-out"' not in page
        assert as_member.get(self.url(team, on_leave), headers={"HX-Request": "true"}).status_code == 404
        tasks = list(Task.objects.filter(assignee=on_leave))
        assert self.move(as_member, team, on_leave, tasks, colleague).status_code == 404
        assert Task.objects.filter(assignee=on_leave).count() == 38

    def test_the_panel_lists_every_open_task_of_the_member(self, as_coordinator, team, on_leave):
        response = as_coordinator.get(self.url(team, on_leave), headers={"HX-Request": "true"})
        assert len(response.context["tasks"]) == 38
        assert response.content.decode().count('name="task"') == 38

    def test_all_38_move_in_one_post_each_as_a_transition_with_a_notification(
        self, as_coordinator, coordinator, colleague, team, on_leave
    ):
        tasks = list(Task.objects.filter(assignee=on_leave))
        response = self.move(as_coordinator, team, on_leave, tasks, colleague)
        assert response.status_code == 200
        assert len(response.context["result"].moved) == 38
        assert not Task.objects.filter(assignee=on_leave).exists()
        assert Task.objects.filter(assignee=colleague).count() == 38
        moves = TaskTransition.objects.filter(from_assignee=on_leave, to_assignee=colleague, by=coordinator)
        assert moves.count() == 38
        assert Notification.objects.filter(user=colleague, kind="assigned").count() == 38
        # The team's table comes back out of band with the new counts.
        html = response.content.decode()
        assert 'hx-swap-oob="true"' in html
        assert re.search(r'data-testid="workload-on_leave">.*?data-testid="open">0<', html, re.S)

    def test_some_move_and_the_rest_stay(self, as_coordinator, colleague, team, on_leave):
        tasks = list(Task.objects.filter(assignee=on_leave).order_by("id")[:5])
        self.move(as_coordinator, team, on_leave, tasks, colleague)
        assert Task.objects.filter(assignee=colleague).count() == 5
        assert Task.objects.filter(assignee=on_leave).count() == 33

    def test_a_task_changed_meanwhile_is_left_and_reported(
        self, as_coordinator, coordinator, member, colleague, team, on_leave
    ):
        tasks = list(Task.objects.filter(assignee=on_leave).order_by("id")[:3])
        started = tasks[0]
        # The colleague on leave started one before leaving: its version moved on.
        client_for(on_leave).post(
            reverse("coordination:task_status", args=[started.public_id]),
            {"status": "in_progress", "version": started.version},
        )
        response = self.move(as_coordinator, team, on_leave, tasks, colleague)
        result = response.context["result"]
        assert [t.pk for t in result.moved] == [t.pk for t in tasks[1:]]
        assert [t.pk for t, _reason in result.refused] == [started.pk]
        started.refresh_from_db()
        assert (started.assignee, started.status) == (on_leave, "in_progress")
        assert 'data-testid="refused"' in response.content.decode()

    def test_unassigned_tasks_are_handed_out_from_the_workload_page(self, as_coordinator, coordinator, member, team):
        tasks = [task_create(actor=coordinator, title=f"T{i}", team=team, due_on=today(1)) for i in range(3)]
        page = as_coordinator.get(reverse("coordination:workload")).content.decode()
        assert self.url(team, None) in page
        self.move(as_coordinator, team, None, tasks, member)
        assert Task.objects.filter(assignee=member).count() == 3

    def test_nothing_chosen_moves_nothing(self, as_coordinator, colleague, team, on_leave):
        response = self.move(as_coordinator, team, on_leave, [], colleague)
        assert response.context["form"].non_field_errors()
        assert not Task.objects.filter(assignee=colleague).exists()

    def test_nothing_chosen_and_nobody_chosen_says_to_choose_a_task(self, as_coordinator, team, on_leave):
        response = as_coordinator.post(self.url(team, on_leave), {}, headers={"HX-Request": "true"})
        form = response.context["form"]
        assert form.non_field_errors() == [str(_("Choose at least one task."))]
        assert form.errors["to"]
        html = response.content.decode()
        assert 'data-testid="hand-on-error"' in html and 'data-testid="to-error"' in html
        # The browser must let the incomplete form through, or htmx drops it without a word.
        assert re.search(r"<form[^>]*\bnovalidate\b[^>]*hx-post=", html)

    def test_the_holder_is_not_offered_to_take_their_own_tasks(self, as_coordinator, colleague, team, on_leave):
        html = as_coordinator.get(self.url(team, on_leave), headers={"HX-Request": "true"}).content.decode()
        (select,) = re.findall(r'<select name="to".*?</select>', html, re.S)
        assert f'value="{colleague.public_id}"' in select
        assert f'value="{on_leave.public_id}"' not in select

    def test_handing_tasks_to_their_holder_is_refused_with_a_message(self, as_coordinator, team, on_leave):
        tasks = list(Task.objects.filter(assignee=on_leave).order_by("id")[:2])
        before = TaskTransition.objects.count()
        response = self.move(as_coordinator, team, on_leave, tasks, on_leave)
        assert response.context["result"] is None
        (message,) = response.context["form"].errors["to"]
        assert str(on_leave) in message
        assert 'data-testid="moved"' not in response.content.decode()
        assert TaskTransition.objects.count() == before
        assert Task.objects.filter(assignee=on_leave, version=1).count() == 38

    def test_tasks_can_only_go_to_a_member_of_the_team(self, as_coordinator, outsider, team, on_leave):
        response = self.move(as_coordinator, team, on_leave, list(Task.objects.all()[:2]), outsider)
        assert response.context["form"].errors["to"]
        assert not Task.objects.filter(assignee=outsider).exists()

    def test_another_teams_coordinator_gets_404(self, other_team, team, on_leave, colleague):
        stranger = client_for(UserFactory(role="coordinator", teams=[other_team]))
        assert stranger.get(self.url(team, on_leave)).status_code == 404
        assert self.move(stranger, team, on_leave, list(Task.objects.all()[:2]), colleague).status_code == 404
        assert not Task.objects.filter(assignee=colleague).exists()


def plan_of(queryset) -> str:
    """The plan PostgreSQL makes for a queryset when it may not scan a table it has an index for:
    a sequential scan that remains means no index serves the query."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_the_board_and_the_worklist_reach_tasks_encounters_and_gaps_through_indexes(coordinator, member, team):
    patients = citizens(3, team)
    bulk_tasks(5, team=team, created_by=coordinator, patients=patients)
    board = board_tasks(coordinator, BoardFilter())
    for plan in (plan_of(board.values("status").annotate(n=Count("id")).order_by()), plan_of(board[:25])):
        assert "Seq Scan on coordination_task " not in plan, plan
        assert "Seq Scan on coordination_tasktransition" not in plan, plan
    plan = plan_of(worklist_ranked(member, scope="team")[:50])
    for table in ("coordination_task", "coordination_caregap", "patients_encounter", "patients_patient"):
        assert f"Seq Scan on {table} " not in plan, plan
