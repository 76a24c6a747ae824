"""Reads for coordination. A task is visible to the members of its team; a task about a citizen
is part of the citizen's record, so reading it is written to the access log like any other read.
The `*_for` functions find the object and its citizen; healthcenter.access decides and logs."""

import datetime
import uuid
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_noop

from healthcenter import access
from healthcenter.models import AccessAction, Team, User
from patients.definitions import active_enrolments, signed_encounters
from patients.models import Condition, Enrolment, Patient, PatientStatus, Programme
from scheduling.models import Course, CourseStatus

from .models import (
    OPEN_STATUSES,
    CareGap,
    HandoverAcknowledgement,
    HandoverNote,
    Notification,
    Referral,
    ReferralStatus,
    Task,
    TaskStatus,
    TaskTransition,
)


def _tasks() -> QuerySet[Task]:
    return Task.objects.select_related("patient", "team", "assignee", "created_by")


def visible_tasks(user: User) -> QuerySet[Task]:
    """A task about a citizen follows the citizen's access rule (the citizen's current team);
    a task about no citizen belongs to its own team."""
    teams = access.care_team_ids(user)
    return _tasks().filter(Q(patient__isnull=True, team_id__in=teams) | Q(patient__team_id__in=teams))


def task_for(user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW) -> Task:
    """The task, by the same rule as `visible_tasks`: a task about a citizen is logged under them,
    allowed or refused; a task about no citizen is its team's."""
    task = _tasks().filter(public_id=public_id).first()
    if task is None:
        access.deny(user, what=what, action=action)
    if task.patient_id:
        access.authorise(user, task.patient, what=what, action=action)
    else:
        access.authorise_team(user, task.team_id, what=what, action=action)
    return task


def referral_for(
    user: User,
    public_id: uuid.UUID,
    *,
    what: str,
    action: AccessAction = AccessAction.VIEW,
    work: access.Work = access.Work.CITIZENS,
) -> Referral:
    """Like every record about a citizen, a referral follows the citizen's current team. Triage
    (`work=TRIAGE`) is for the team's coordinators: anyone else is refused, in one denied row."""
    referral = Referral.objects.select_related("patient", "team").filter(public_id=public_id).first()
    access.authorise(user, referral.patient if referral else None, what=what, action=action, work=work)
    return referral


def handover_for(user: User, public_id: uuid.UUID, *, what: str, action: AccessAction) -> HandoverNote:
    note = HandoverNote.objects.select_related("patient").filter(public_id=public_id).first()
    access.authorise(user, note.patient if note else None, what=what, action=action)
    return note


def team_for(user: User, public_id: uuid.UUID, *, what: str) -> Team:
    """One of the user's teams, for the team's own pages (workload, handing on tasks); else 404."""
    team = Team.objects.filter(public_id=public_id).first()
    access.authorise_team(user, team.id if team else None, what=what)
    return team


MY_TASKS_PAGE = 50
DONE_RECENTLY_SHOWN = 20
TASK_ORDER = ("due_on", "-priority", "id")


@dataclass
class MyTasks:
    """One page of the user's open tasks, in the order they are due, split by when they are due;
    each bucket's count is over all pages."""

    page: Page
    overdue: list[Task]
    today: list[Task]
    this_week: list[Task]
    later: list[Task]
    counts: dict[str, int]
    done_recently: list[Task]

    @property
    def open_count(self) -> int:
        return self.counts["overdue"] + self.counts["today"] + self.counts["this_week"] + self.counts["later"]


def my_tasks(user: User, *, page_number=None) -> MyTasks:
    """The user's open tasks by when they are due, a page at a time, and the latest they finished
    in the last 7 days: four queries whatever the number of tasks (the counts in one aggregate
    over the user's tasks by the assignee's index, the page, and the finished ones)."""
    today = timezone.localdate()
    week_end = today + datetime.timedelta(days=7)
    since = timezone.now() - datetime.timedelta(days=7)
    mine = visible_tasks(user).filter(assignee=user)
    open_tasks = mine.filter(status__in=OPEN_STATUSES)
    counts = open_tasks.aggregate(
        overdue=Count("id", filter=Q(due_on__lt=today)),
        today=Count("id", filter=Q(due_on=today)),
        this_week=Count("id", filter=Q(due_on__gt=today, due_on__lte=week_end)),
        later=Count("id", filter=Q(due_on__gt=week_end)),
    )
    paginator = Paginator(open_tasks.order_by(*TASK_ORDER), MY_TASKS_PAGE)
    paginator.count = sum(counts.values())  # the buckets just counted: no second COUNT
    page = paginator.get_page(page_number)
    buckets = MyTasks(page, [], [], [], [], counts, [])
    for task in page.object_list:
        if task.due_on < today:
            buckets.overdue.append(task)
        elif task.due_on == today:
            buckets.today.append(task)
        elif task.due_on <= week_end:
            buckets.this_week.append(task)
        else:
            buckets.later.append(task)
    buckets.done_recently = list(
        mine.filter(status=TaskStatus.DONE, completed_at__gte=since).order_by("-completed_at", "-id")[
            :DONE_RECENTLY_SHOWN
        ]
    )
    return buckets


class DueWithin:
    OVERDUE = "overdue"
    WEEK = "week"  # today and the next 7 days, as "this week" on My tasks
    LATER = "later"


@dataclass(frozen=True)
class BoardFilter:
    team_id: int | None = None
    patient_public_id: uuid.UUID | None = None
    programme_id: int | None = None
    priority: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    due: str | None = None
    origin: str | None = None


BOARD_PAGE = 25
BOARD_ORDER = ("due_on", "-priority", "id")


def _board_parts(user: User, board: BoardFilter) -> list[QuerySet[Task]]:
    """The tasks the board may show, in six disjoint parts: the open ones of the user's teams (or of the
    chosen one) and the last week's done and cancelled ones, each reached through its own index (the
    teams' citizens or the team's own tasks about no one, by status, by completion time, by the
    cancelling transition); one condition across them all would read every task of the centre."""
    teams = access.care_team_ids(user)
    if board.team_id:
        teams = teams & {board.team_id}
    since = timezone.now() - datetime.timedelta(days=7)
    cancelled_lately = TaskTransition.objects.filter(to_status=TaskStatus.CANCELLED, at__gte=since).values("task_id")
    states = [
        Q(status__in=OPEN_STATUSES),
        Q(status=TaskStatus.DONE, completed_at__gte=since),
        Q(status=TaskStatus.CANCELLED, pk__in=cancelled_lately),
    ]
    halves = [
        Task.objects.filter(patient__team_id__in=teams),
        Task.objects.filter(patient__isnull=True, team_id__in=teams),
    ]
    return [half.filter(state).order_by() for half in halves for state in states]


def _board_universe(user: User, board: BoardFilter) -> QuerySet:
    """The ids of the tasks the board may show: one UNION ALL of the parts."""
    parts = [part.values("pk") for part in _board_parts(user, board)]
    return parts[0].union(*parts[1:], all=True)


def board_tasks(user: User, board: BoardFilter) -> QuerySet[Task]:
    """The tasks the board shows: open ones of the user's teams, and the last week's closed ones,
    narrowed by the filter."""
    return _narrowed(_tasks().filter(pk__in=_board_universe(user, board)), board)


def _narrowed(tasks: QuerySet[Task], board: BoardFilter) -> QuerySet[Task]:
    """The tasks that pass the board's filter (other than its team, which chooses the parts)."""
    if board.patient_public_id:
        tasks = tasks.filter(patient__public_id=board.patient_public_id)
    if board.programme_id:
        tasks = tasks.filter(
            Exists(
                Patient.objects.filter(
                    pk=OuterRef("patient_id"),
                    enrolments__programme_id=board.programme_id,
                    enrolments__end_on__isnull=True,
                )
            )
        )
    if board.priority:
        tasks = tasks.filter(priority=board.priority)
    if board.unassigned:
        tasks = tasks.filter(assignee__isnull=True)
    elif board.assignee_id:
        tasks = tasks.filter(assignee_id=board.assignee_id)
    if board.origin:
        tasks = tasks.filter(origin=board.origin)
    if board.due:
        today = timezone.localdate()
        week_end = today + datetime.timedelta(days=7)
        tasks = tasks.filter(
            {
                DueWithin.OVERDUE: Q(due_on__lt=today),
                DueWithin.WEEK: Q(due_on__gte=today, due_on__lte=week_end),
                DueWithin.LATER: Q(due_on__gt=week_end),
            }[board.due]
        )
    return tasks


@dataclass
class BoardColumn:
    status: str
    label: str
    count: int
    tasks: list[Task]
    offset: int = 0

    @property
    def shown(self) -> int:
        """How many cards the column shows once these are added to those loaded before."""
        return self.offset + len(self.tasks)

    @property
    def next_offset(self) -> int | None:
        """Where "load more" continues, or None when every card is shown."""
        return self.shown if self.shown < self.count else None


# What a board card shows and its assignee choice needs (the citizen's current team): narrow rows, not
# the citizen's whole record and two full users per card.
CARD_FIELDS = (
    "id",
    "public_id",
    "title",
    "patient_id",
    "team_id",
    "assignee_id",
    "due_on",
    "priority",
    "status",
    "origin",
    "version",
    "patient__public_id",
    "patient__first_name",
    "patient__last_name",
    "patient__team_id",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
)


# Each column's cards from a rank to a rank over the board's parts: {union} is their UNION ALL, as the
# ORM writes it (its values are parameters), selecting id, status, due date and priority.
_RANKED_BOARD_SQL = """
    SELECT id, status, column_count FROM (
        SELECT t.id, t.status,
               ROW_NUMBER() OVER (PARTITION BY t.status ORDER BY t.due_on, t.priority DESC, t.id) AS rank,
               COUNT(*) OVER (PARTITION BY t.status) AS column_count
        FROM ({union}) AS t (id, status, due_on, priority)
    ) AS ranked
    WHERE rank > %s AND rank <= %s
"""


def _ranked_board(
    user: User, board: BoardFilter, *, offset: int, limit: int, status: str | None = None
) -> list[tuple[int, str, int]]:
    """(id, status, column count) of each column's cards after `offset`, at most `limit` of them (of one
    column with `status`). The parts carry the columns the ranking needs, so the ranking reads no task
    twice (joining a team's ~7,600 ids back to their rows cost more than finding them); the parts are
    disjoint, so no task is counted twice either."""
    parts = [_narrowed(part, board) for part in _board_parts(user, board)]
    if status:
        parts = [part.filter(status=status) for part in parts]
    parts = [part.values("pk", "status", "due_on", "priority") for part in parts]
    union_sql, params = parts[0].union(*parts[1:], all=True).query.sql_with_params()
    sql = _RANKED_BOARD_SQL.format(union=union_sql)  # nosec B608  # the ORM's own SQL, values bound
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, offset, offset + limit])
        return cursor.fetchall()


def _cards(ids: list[int]) -> list[Task]:
    """The cards' fields, in the board's order: one query."""
    if not ids:
        return []
    cards = Task.objects.select_related("patient", "assignee").only(*CARD_FIELDS)
    return list(cards.filter(pk__in=ids).order_by(*BOARD_ORDER))


def team_board(user: User, board: BoardFilter, *, per_column: int = BOARD_PAGE) -> list[BoardColumn]:
    """Each status column with its exact count and its first cards, in two queries whatever the number
    of tasks: the tasks ranked within their column on narrow rows (id, status, due date, priority: a
    team's thousands of open tasks sort in memory), each carrying its column's count; then the shown
    cards' fields by id. Ranking the joined card rows instead sorted thousands of wide rows on disk."""
    columns = {status: BoardColumn(status, label, 0, []) for status, label in TaskStatus.choices}
    shown = []
    for task_id, status, column_count in _ranked_board(user, board, offset=0, limit=per_column):
        columns[status].count = column_count
        shown.append(task_id)
    for task in _cards(shown):
        columns[task.status].tasks.append(task)
    return list(columns.values())


def board_column_page(
    user: User, board: BoardFilter, *, status: str, offset: int, limit: int = BOARD_PAGE
) -> BoardColumn:
    """The next cards of one column, for "load more", with the column's exact count (which may
    have changed since the board was loaded): "showing 50 of 72" stays true. Two queries, ranked as
    the board is; a count of its own only past the column's end, where no card carries it."""
    ranked = _ranked_board(user, board, offset=offset, limit=limit, status=status)
    count = ranked[0][2] if ranked else board_tasks(user, board).filter(status=status).count()
    return BoardColumn(status, TaskStatus(status).label, count, _cards([row[0] for row in ranked]), offset)


def assignable_members(user: User) -> dict[int, list[User]]:
    """Per team of the user, the members a task can be assigned to: one query."""
    members: dict[int, list[User]] = {}
    rows = (
        User.objects.filter(
            teams__id__in=access.care_team_ids(user), is_active=True, role__in=access.roles_for(access.Work.CITIZENS)
        )
        .annotate(member_of=F("teams__id"))
        .order_by("first_name", "last_name", "id")
    )
    for member in rows:
        members.setdefault(member.member_of, []).append(member)
    return members


def team_of(task: Task) -> int:
    """The team responsible for a task now: the citizen's current team, or the task's own."""
    return task.patient.team_id if task.patient_id else task.team_id


@dataclass(frozen=True)
class Workload:
    member: User
    open_tasks: int
    overdue_tasks: int
    caseload: int


@dataclass(frozen=True)
class TeamWorkload:
    team: Team
    members: list[Workload]
    unassigned: int  # open tasks nobody holds


def _open_tasks_by_team_and_assignee(team_ids: list[int]) -> dict[tuple[int, int | None], tuple[int, int]]:
    """Open and overdue tasks per (team responsible now, assignee) in one statement: the citizens'
    tasks reached from the teams' citizens, the tasks about no one from the teams' own, so that
    neither half reads another team's tasks (a condition across both would scan them all)."""
    today = timezone.localdate()
    figures = {"open": Count("id"), "overdue": Count("id", filter=Q(due_on__lt=today))}
    about_citizens = (
        Task.objects.filter(patient__team_id__in=team_ids, status__in=OPEN_STATUSES)
        .values("assignee_id", current_team=F("patient__team_id"))
        .annotate(**figures)
        .order_by()
    )
    about_no_one = (
        Task.objects.filter(patient__isnull=True, team_id__in=team_ids, status__in=OPEN_STATUSES)
        .values("assignee_id", current_team=F("team_id"))
        .annotate(**figures)
        .order_by()
    )
    counts: dict[tuple[int, int | None], tuple[int, int]] = {}
    for row in about_citizens.union(about_no_one, all=True):
        key = (row["current_team"], row["assignee_id"])
        open_tasks, overdue = counts.get(key, (0, 0))
        counts[key] = (open_tasks + row["open"], overdue + row["overdue"])
    return counts


def team_workloads(user: User, teams: list[Team]) -> list[TeamWorkload]:
    """Per team: each professional's open and overdue tasks and active caseload, and the open tasks
    nobody holds. Three queries whatever the number of teams, members, citizens and tasks."""
    for team in teams:
        access.authorise_team(user, team.id, what=gettext_noop("team workload"))
    team_ids = [team.id for team in teams]
    members: dict[int, list[User]] = {}
    for member in (
        User.objects.filter(teams__id__in=team_ids, is_active=True, role__in=access.roles_for(access.Work.CITIZENS))
        .annotate(member_of=F("teams__id"))
        .order_by("first_name", "last_name", "id")
    ):
        members.setdefault(member.member_of, []).append(member)
    tasks = _open_tasks_by_team_and_assignee(team_ids)
    caseload = {
        (row["team_id"], row["responsible_professional_id"]): row["n"]
        for row in Patient.objects.filter(team_id__in=team_ids, status=PatientStatus.ACTIVE)
        .values("team_id", "responsible_professional_id")
        .annotate(n=Count("id"))
        .order_by()
    }
    return [
        TeamWorkload(
            team=team,
            members=[
                Workload(
                    member=m,
                    open_tasks=tasks.get((team.id, m.id), (0, 0))[0],
                    overdue_tasks=tasks.get((team.id, m.id), (0, 0))[1],
                    caseload=caseload.get((team.id, m.id), 0),
                )
                for m in members.get(team.id, [])
            ],
            unassigned=tasks.get((team.id, None), (0, 0))[0],
        )
        for team in teams
    ]


def team_workload(user: User, team: Team) -> TeamWorkload:
    return team_workloads(user, [team])[0]


def member_open_tasks(user: User, team: Team, *, member: User | None) -> list[Task]:
    """A team's open tasks held by one member (or by nobody), to hand on: one query."""
    access.authorise_team(user, team.id, what=gettext_noop("hand on tasks"))
    return list(
        _tasks()
        .filter(Q(patient__isnull=True, team=team) | Q(patient__team=team))
        .filter(status__in=OPEN_STATUSES, assignee=member)
        .order_by("due_on", "-priority", "id")
    )


def unread(user: User) -> QuerySet[Notification]:
    """Only about what the user may still see: someone who left a team no longer reads its news."""
    teams = access.care_team_ids(user)
    return (
        Notification.objects.filter(user=user, seen_at__isnull=True)
        .filter(
            Q(task__patient__team_id__in=teams)
            | Q(task__patient__isnull=True, task__team_id__in=teams)
            | Q(handover__patient__team_id__in=teams)
        )
        .select_related("actor", "task", "task__patient", "handover", "handover__patient")
        .order_by("-created_at")
    )


def referrals_for_triage(user: User) -> QuerySet[Referral]:
    """The user's teams' referrals, each with its first signed encounter on or after the day it
    was received (where the waiting time ends, as OPS-WAIT-DAYS counts it)."""
    first_encounter = (
        signed_encounters()
        .filter(patient=OuterRef("patient"), started_at__date__gte=OuterRef("received_on"))
        .order_by("started_at")
        .values("started_at")[:1]
    )
    return (
        Referral.objects.filter(patient__team_id__in=access.care_team_ids(user))
        .select_related("patient", "team", "programme", "triaged_by")
        .annotate(first_encounter_at=Subquery(first_encounter))
    )


def with_waiting(referrals: list[Referral]) -> list[Referral]:
    """Marks each referral with the days to its first encounter, or, while none has happened
    (awaiting triage, or accepted and not yet seen), the days it has been waiting so far."""
    today = timezone.localdate()
    for referral in referrals:
        referral.waiting_days = None
        referral.waiting_so_far = None
        if referral.status == ReferralStatus.DECLINED:
            continue
        if referral.status == ReferralStatus.ACCEPTED and referral.first_encounter_at:
            referral.waiting_days = (timezone.localdate(referral.first_encounter_at) - referral.received_on).days
        else:
            referral.waiting_so_far = (today - referral.received_on).days
    return referrals


@dataclass
class ReferralContext:
    """What the coordinator needs to triage: for a citizen known before the referral, what the
    record says; for a new one, only the referral's own data (shown with it)."""

    known: bool
    conditions: list[Condition]
    enrolments: list[Enrolment]
    last_contact: datetime.datetime | None
    open_referrals: int


def referral_context(referral: Referral) -> ReferralContext:
    """Four small queries about one citizen; the caller has logged the access (referral_for)."""
    patient = referral.patient
    today = timezone.localdate()
    return ReferralContext(
        known=not referral.new_citizen,
        conditions=list(patient.conditions.order_by("-diagnosed_on", "-id")),
        enrolments=list(
            active_enrolments(today).filter(patient=patient).select_related("programme").order_by("start_on")
        ),
        last_contact=signed_encounters().filter(patient=patient).aggregate(last=Max("started_at"))["last"],
        open_referrals=patient.referrals.filter(status=ReferralStatus.RECEIVED).exclude(pk=referral.pk).count(),
    )


def referrals_awaiting(user: User) -> QuerySet[Referral]:
    """Waiting for triage, the longest-waiting first."""
    return referrals_for_triage(user).filter(status=ReferralStatus.RECEIVED).order_by("received_on", "id")


def referrals_triaged(user: User) -> QuerySet[Referral]:
    """Already decided, the most recently received first."""
    return referrals_for_triage(user).exclude(status=ReferralStatus.RECEIVED).order_by("-received_on", "-id")


def patient_handovers(user: User, patient: Patient, *, limit: int = 10) -> list[HandoverNote]:
    """The citizen's latest handover notes, each marked with whether the user has acknowledged it."""
    notes = list(
        patient.handovers.select_related("author", "to_team")
        .prefetch_related("recipients")
        .annotate(
            acknowledged=Exists(HandoverAcknowledgement.objects.filter(note=OuterRef("pk"), user=user)),
            acknowledgements_count=Count("acknowledgements"),
        )
        .order_by("-created_at")[:limit]
    )
    return notes


def patient_open_tasks(patient: Patient) -> list[Task]:
    return list(_tasks().filter(patient=patient, status__in=OPEN_STATUSES).order_by("due_on", "-priority"))


def open_care_gap(patient: Patient, rule_code: str) -> CareGap | None:
    """The citizen's open gap under the rule, with the appointment booked for it; None when the gap
    has been filled (or never was). At most one: one open gap per rule."""
    return (
        CareGap.objects.filter(patient=patient, rule__code=rule_code, closed_at__isnull=True)
        .select_related("rule", "appointment")
        .first()
    )


def runs_courses(programme: Programme | None, *, team_id: int | None) -> bool:
    """Whether the team has a course of the programme a citizen can still join (planned or running):
    then an accepted referral of that team offers "Add to a course". Another team's course does not
    count: a course takes only its own team's citizens (scheduling.courses.participant_add)."""
    if programme is None or team_id is None:
        return False
    return Course.objects.filter(
        programme=programme, team_id=team_id, status__in=[CourseStatus.PLANNED, CourseStatus.RUNNING]
    ).exists()
