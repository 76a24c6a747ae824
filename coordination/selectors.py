"""Reads for coordination. A task is visible to the members of its team; a task about a citizen
is part of the citizen's record, so reading it is written to the access log like any other read."""

import datetime
import uuid
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from healthcenter.models import AccessAction, AccessOutcome, Role, Team, User
from healthcenter.services import access_record
from patients.models import Encounter, Patient, PatientStatus
from patients.selectors import team_ids_of

from .models import (
    OPEN_STATUSES,
    HandoverAcknowledgement,
    HandoverNote,
    Notification,
    Referral,
    ReferralStatus,
    Task,
    TaskStatus,
    TaskTransition,
)


def _deny(user: User, public_id, what: str):
    access_record(actor=user, action=AccessAction.VIEW, what=what, outcome=AccessOutcome.DENIED)
    raise Http404


def _tasks() -> QuerySet[Task]:
    return Task.objects.select_related("patient", "team", "assignee", "created_by")


def visible_tasks(user: User) -> QuerySet[Task]:
    """A task about a citizen follows the citizen's access rule (the citizen's current team);
    a task about no citizen belongs to its own team."""
    teams = team_ids_of(user)
    return _tasks().filter(Q(patient__isnull=True, team_id__in=teams) | Q(patient__team_id__in=teams))


def task_for(user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW) -> Task:
    task = visible_tasks(user).filter(public_id=public_id).first()
    if task is None:
        _deny(user, public_id, what)
    if task.patient_id:
        access_record(actor=user, action=action, what=what, patient_public_id=task.patient.public_id)
    return task


def referral_for(user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW) -> Referral:
    referral = Referral.objects.select_related("patient", "team").filter(public_id=public_id).first()
    # Like every record about a citizen, a referral follows the citizen's current team.
    if referral is None or referral.patient.team_id not in team_ids_of(user):
        _deny(user, public_id, what)
    access_record(actor=user, action=action, what=what, patient_public_id=referral.patient.public_id)
    return referral


def handover_for(user: User, public_id: uuid.UUID, *, what: str, action: AccessAction) -> HandoverNote:
    note = HandoverNote.objects.select_related("patient").filter(public_id=public_id).first()
    if note is None or note.patient.team_id not in team_ids_of(user):
        _deny(user, public_id, what)
    access_record(actor=user, action=action, what=what, patient_public_id=note.patient.public_id)
    return note


@dataclass
class MyTasks:
    overdue: list[Task]
    today: list[Task]
    this_week: list[Task]
    later: list[Task]
    done_recently: list[Task]

    @property
    def open_count(self) -> int:
        return len(self.overdue) + len(self.today) + len(self.this_week) + len(self.later)


def my_tasks(user: User) -> MyTasks:
    """The user's open tasks by when they are due, and what they finished in the last 7 days:
    two queries whatever the number of tasks."""
    today = timezone.localdate()
    week_end = today + datetime.timedelta(days=7)
    buckets = MyTasks([], [], [], [], [])
    mine = visible_tasks(user).filter(assignee=user)
    for task in mine.filter(status__in=OPEN_STATUSES).order_by("due_on", "-priority", "id"):
        if task.due_on < today:
            buckets.overdue.append(task)
        elif task.due_on == today:
            buckets.today.append(task)
        elif task.due_on <= week_end:
            buckets.this_week.append(task)
        else:
            buckets.later.append(task)
    since = timezone.now() - datetime.timedelta(days=7)
    buckets.done_recently = list(mine.filter(status=TaskStatus.DONE, completed_at__gte=since).order_by("-completed_at"))
    return buckets


@dataclass(frozen=True)
class BoardFilter:
    team_id: int | None = None
    patient_public_id: uuid.UUID | None = None
    programme_id: int | None = None
    priority: int | None = None
    assignee_id: int | None = None


BOARD_LIMIT = 200


def team_board(user: User, board: BoardFilter) -> dict[str, list[Task]]:
    """Open tasks of the user's teams by status, and the last week's closed ones: one query."""
    tasks = visible_tasks(user)
    if board.team_id:
        tasks = tasks.filter(Q(patient__isnull=True, team_id=board.team_id) | Q(patient__team_id=board.team_id))
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
    if board.assignee_id:
        tasks = tasks.filter(assignee_id=board.assignee_id)
    since = timezone.now() - datetime.timedelta(days=7)
    cancelled_lately = Exists(
        TaskTransition.objects.filter(task=OuterRef("pk"), to_status=TaskStatus.CANCELLED, at__gte=since)
    )
    tasks = tasks.filter(
        Q(status__in=OPEN_STATUSES)
        | Q(status=TaskStatus.DONE, completed_at__gte=since)
        | (Q(status=TaskStatus.CANCELLED) & cancelled_lately)
    )
    columns: dict[str, list[Task]] = {status: [] for status in TaskStatus.values}
    for task in tasks.order_by("due_on", "-priority", "id")[:BOARD_LIMIT]:
        columns[task.status].append(task)
    return columns


@dataclass(frozen=True)
class Workload:
    member: User
    open_tasks: int
    overdue_tasks: int
    caseload: int


def team_workload(user: User, team: Team) -> list[Workload]:
    """Open and overdue tasks and active caseload per professional in the team: three queries."""
    if team.id not in team_ids_of(user):
        raise Http404
    today = timezone.localdate()
    members = list(
        team.members.filter(is_active=True, role__in=[Role.PROFESSIONAL, Role.COORDINATOR]).order_by(
            "first_name", "last_name"
        )
    )
    tasks = {
        row["assignee_id"]: row
        for row in Task.objects.filter(Q(patient__isnull=True, team=team) | Q(patient__team=team))
        .filter(status__in=OPEN_STATUSES)
        .values("assignee_id")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today)))
        .order_by()
    }
    caseload = dict(
        Patient.objects.filter(team=team, status=PatientStatus.ACTIVE)
        .values("responsible_professional_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("responsible_professional_id", "n")
    )
    return [
        Workload(
            member=m,
            open_tasks=tasks.get(m.id, {}).get("open", 0),
            overdue_tasks=tasks.get(m.id, {}).get("overdue", 0),
            caseload=caseload.get(m.id, 0),
        )
        for m in members
    ]


def unassigned_open_count(team: Team) -> int:
    return (
        Task.objects.filter(Q(patient__isnull=True, team=team) | Q(patient__team=team))
        .filter(status__in=OPEN_STATUSES, assignee__isnull=True)
        .count()
    )


def unread(user: User) -> QuerySet[Notification]:
    """Only about what the user may still see: someone who left a team no longer reads its news."""
    teams = team_ids_of(user)
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


def unread_count(user: User) -> int:
    return unread(user).count()


def referrals_for_triage(user: User) -> QuerySet[Referral]:
    """The user's teams' referrals, each with its first encounter on or
    after the day it was received (where the waiting time ends)."""
    first_encounter = (
        Encounter.objects.filter(patient=OuterRef("patient"), started_at__date__gte=OuterRef("received_on"))
        .order_by("started_at")
        .values("started_at")[:1]
    )
    return (
        Referral.objects.filter(patient__team_id__in=team_ids_of(user))
        .select_related("patient", "team", "programme", "triaged_by")
        .annotate(first_encounter_at=Subquery(first_encounter))
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
        patient.handovers.select_related("author")
        .annotate(
            acknowledged=Exists(HandoverAcknowledgement.objects.filter(note=OuterRef("pk"), user=user)),
            acknowledgements_count=Count("acknowledgements"),
        )
        .order_by("-created_at")[:limit]
    )
    return notes


def patient_open_tasks(patient: Patient) -> list[Task]:
    return list(_tasks().filter(patient=patient, status__in=OPEN_STATUSES).order_by("due_on", "-priority"))
