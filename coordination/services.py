"""Writes for coordination: tasks, referrals, handover notes and what is new for whom. Each
service is atomic, validates before it writes, records the state change (TaskTransition) and
tells the people concerned (Notification)."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from healthcenter.models import AccessAction, Role, Team, User
from healthcenter.services import access_record
from patients import services as patient_services
from patients.cpr import parse_cpr
from patients.definitions import add_months
from patients.models import Encounter, Patient, Programme
from patients.selectors import team_ids_of

from .models import (
    HandoverAcknowledgement,
    HandoverNote,
    Notification,
    NotificationKind,
    ProgrammeTask,
    Referral,
    ReferralStatus,
    Task,
    TaskComment,
    TaskOrigin,
    TaskPriority,
    TaskStatus,
    TaskTransition,
)

FIRST_CONTACT_DAYS = 7
TITLE_LENGTH = Task._meta.get_field("title").max_length


def _notify(*, user: User | None, actor: User, kind: NotificationKind, task=None, handover=None) -> None:
    if user is not None and user.pk != actor.pk and user.is_active:
        Notification.objects.create(user=user, actor=actor, kind=kind, task=task, handover=handover)


def _validate_team_work(*, actor: User, team: Team) -> None:
    if team.id not in team_ids_of(actor):
        raise ValidationError({"team": _("You can only work with tasks of your own teams.")})


def _validate_assignee(*, team: Team, assignee: User | None) -> None:
    if assignee is not None and not (assignee.is_active and assignee.teams.filter(id=team.id).exists()):
        raise ValidationError({"assignee": _("A task can only be assigned to a member of its team.")})


def _team_of(task: Task) -> Team:
    """The team responsible for a task now: the citizen's current team, or the task's own."""
    return task.patient.team if task.patient_id else task.team


def _stale() -> ValidationError:
    return ValidationError(
        _("Someone else changed this task while you were looking at it. Nothing was saved: reload to see the change.")
    )


# --- tasks ----------------------------------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *,
    actor: User,
    title: str,
    team: Team,
    due_on: datetime.date,
    description: str = "",
    patient: Patient | None = None,
    assignee: User | None = None,
    priority: int = TaskPriority.NORMAL,
    origin: str = TaskOrigin.MANUAL,
    agreed_action=None,
    referral: Referral | None = None,
    recurrence_months: int | None = None,
    allow_past_due: bool = False,
) -> Task:
    if not title.strip():
        raise ValidationError({"title": _("Give the task a title.")})
    _validate_team_work(actor=actor, team=team)
    if patient is not None and patient.team_id != team.id:
        raise ValidationError({"team": _("A task about a citizen belongs to the citizen's team.")})
    _validate_assignee(team=team, assignee=assignee)
    if due_on < timezone.localdate() and not allow_past_due:
        raise ValidationError({"due_on": _("The due date cannot be in the past.")})
    if recurrence_months is not None and not 1 <= recurrence_months <= 24:
        raise ValidationError({"recurrence_months": _("Repeat every 1 to 24 months.")})
    task = Task.objects.create(
        title=title.strip(),
        description=description.strip(),
        team=team,
        patient=patient,
        assignee=assignee,
        due_on=due_on,
        priority=priority,
        origin=origin,
        agreed_action=agreed_action,
        referral=referral,
        recurrence_months=recurrence_months,
        created_by=actor,
    )
    TaskTransition.objects.create(task=task, by=actor, from_status="", to_status=task.status, to_assignee=assignee)
    _notify(user=assignee, actor=actor, kind=NotificationKind.ASSIGNED, task=task)
    return task


@transaction.atomic
def tasks_from_agreed_actions(
    *, actor: User, encounter: Encounter, assignee: User | None, due_on: datetime.date
) -> list[Task]:
    """Turns the encounter's agreed actions that have no task yet into tasks on the citizen's team."""
    patient = encounter.patient
    return [
        task_create(
            actor=actor,
            title=action.text if len(action.text) <= TITLE_LENGTH else action.text[: TITLE_LENGTH - 1] + "…",
            description=(action.text + "\n\n" if len(action.text) > TITLE_LENGTH else "")
            + _("Agreed with the citizen at the encounter on %(date)s.")
            % {"date": timezone.localtime(encounter.started_at).strftime("%d-%m-%Y")},
            team=patient.team,
            patient=patient,
            assignee=assignee,
            due_on=due_on,
            origin=TaskOrigin.AGREED_ACTION,
            agreed_action=action,
        )
        for action in encounter.agreed_actions.filter(task__isnull=True)
    ]


@transaction.atomic
def encounter_log(
    *,
    actor: User,
    patient: Patient,
    data: patient_services.EncounterData,
    sign: bool,
    task_assignee: User | None = None,
    task_due_on: datetime.date | None = None,
    make_tasks: bool = False,
) -> tuple[Encounter, list[Task]]:
    """Logs an encounter and, in the same transaction, turns its agreed actions into tasks. After
    the commit the citizen's care gaps are re-evaluated, so a measurement that fills one closes it
    at once (the periodic job catches everything else)."""
    encounter = patient_services.encounter_create(actor=actor, patient=patient, data=data, sign=sign)
    tasks = []
    if make_tasks and data.agreed_actions:
        if task_due_on is None:
            raise ValidationError({"task_due_on": _("Give the tasks a due date.")})
        tasks = tasks_from_agreed_actions(actor=actor, encounter=encounter, assignee=task_assignee, due_on=task_due_on)

    def reevaluate():
        from .caregaps import evaluate_care_gaps

        evaluate_care_gaps(patient_ids=[patient.id])

    transaction.on_commit(reevaluate, robust=True)
    return encounter, tasks


def _transition(*, actor: User, task: Task, expected_version: int, **changes) -> None:
    before_status, before_assignee = task.status, task.assignee
    updated = Task.objects.filter(pk=task.pk, version=expected_version).update(version=F("version") + 1, **changes)
    if not updated:
        raise _stale()
    for field, value in changes.items():
        setattr(task, field, value)
    task.version = expected_version + 1
    TaskTransition.objects.create(
        task=task,
        by=actor,
        from_status=before_status,
        to_status=task.status,
        from_assignee=before_assignee,
        to_assignee=task.assignee,
    )


@transaction.atomic
def task_assign(*, actor: User, task: Task, assignee: User | None, expected_version: int) -> Task:
    team = _team_of(task)
    _validate_team_work(actor=actor, team=team)
    if not task.is_open:
        raise ValidationError(_("A closed task cannot be reassigned."))
    _validate_assignee(team=team, assignee=assignee)
    # A task whose citizen moved follows the citizen to the new team.
    _transition(actor=actor, task=task, expected_version=expected_version, assignee=assignee, team=team)
    _notify(user=assignee, actor=actor, kind=NotificationKind.ASSIGNED, task=task)
    return task


ALLOWED_MOVES = {
    TaskStatus.OPEN: {TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED},
    TaskStatus.IN_PROGRESS: {TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.CANCELLED},
    TaskStatus.DONE: set(),
    TaskStatus.CANCELLED: set(),
}


@transaction.atomic
def task_change_status(*, actor: User, task: Task, to_status: str, expected_version: int) -> Task:
    """Moves a task on. Closing a closed task is an error, not a silent no-op. A recurring task
    that is done opens its next occurrence."""
    _validate_team_work(actor=actor, team=task.team)
    if to_status not in ALLOWED_MOVES[task.status]:
        if not task.is_open:
            raise ValidationError(
                _("This task is already closed (%(status)s).") % {"status": task.get_status_display()}
            )
        raise ValidationError(_("A task cannot go from %(a)s to %(b)s.") % {"a": task.status, "b": to_status})
    completed_at = timezone.now() if to_status == TaskStatus.DONE else None
    _transition(actor=actor, task=task, expected_version=expected_version, status=to_status, completed_at=completed_at)
    if to_status == TaskStatus.DONE and task.recurrence_months:
        team = _team_of(task)
        still_in_team = (
            task.assignee is not None and task.assignee.is_active and task.assignee.teams.filter(id=team.id).exists()
        )
        task_create(
            actor=actor,
            title=task.title,
            description=task.description,
            team=team,
            patient=task.patient,
            assignee=task.assignee if still_in_team else None,
            due_on=add_months(task.due_on, task.recurrence_months),
            priority=task.priority,
            origin=task.origin if task.origin != TaskOrigin.AGREED_ACTION else TaskOrigin.MANUAL,
            recurrence_months=task.recurrence_months,
            allow_past_due=True,
        )
    return task


@transaction.atomic
def task_comment(*, actor: User, task: Task, text: str) -> TaskComment:
    _validate_team_work(actor=actor, team=_team_of(task))
    if not text.strip():
        raise ValidationError({"text": _("Write the comment.")})
    comment = TaskComment.objects.create(task=task, author=actor, text=text.strip())
    for user in {task.assignee, task.created_by} - {None}:
        _notify(user=user, actor=actor, kind=NotificationKind.COMMENT, task=task)
    return comment


# --- referrals ------------------------------------------------------------------------------------------------


@transaction.atomic
def referral_receive(
    *,
    actor: User,
    team: Team,
    cpr: str,
    source: str,
    reason: str,
    received_on: datetime.date,
    attachments: str = "",
    first_name: str = "",
    last_name: str = "",
) -> Referral:
    """Registers a referral for a known citizen, or registers the citizen first. The CPR number
    decides which: a known citizen is never created twice."""
    if team.id not in team_ids_of(actor):
        raise ValidationError({"team": _("You can only receive referrals for your own teams.")})
    if received_on > timezone.localdate():
        raise ValidationError({"received_on": _("The date cannot be in the future.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Write the reason for the referral.")})
    number = parse_cpr(cpr).number
    patient = Patient.objects.filter(cpr=number).first()
    if patient is None:
        if not first_name.strip() or not last_name.strip():
            raise ValidationError({"first_name": _("The citizen is not registered yet: give the first and last name.")})
        patient = patient_services.patient_create(
            actor=actor,
            data=patient_services.PatientData(cpr=number, first_name=first_name, last_name=last_name, team=team),
        )
    elif patient.team_id not in team_ids_of(actor):
        raise patient_services.DuplicateCitizen(
            patient.public_id, _("The citizen is registered with a team you do not belong to. Contact that team.")
        )
    referral = Referral.objects.create(
        patient=patient,
        team=patient.team,
        source=source,
        reason=reason.strip(),
        received_on=received_on,
        attachments=attachments.strip(),
        created_by=actor,
    )
    access_record(
        actor=actor, action=AccessAction.CREATE, what="referral received", patient_public_id=patient.public_id
    )
    return referral


def _validate_triage(*, actor: User, referral: Referral) -> None:
    if actor.role != Role.COORDINATOR or referral.patient.team_id not in team_ids_of(actor):
        raise ValidationError(_("Only a coordinator of the citizen's team triages referrals."))
    if referral.status != ReferralStatus.RECEIVED:
        raise ValidationError(_("This referral has already been triaged."))


@transaction.atomic
def referral_accept(
    *, actor: User, referral: Referral, programme: Programme, start_on: datetime.date, assignee: User | None
) -> Referral:
    locked = Referral.objects.select_for_update().select_related("patient", "team").get(pk=referral.pk)
    _validate_triage(actor=actor, referral=locked)
    enrolment = patient_services.enrolment_create(
        actor=actor,
        patient=locked.patient,
        programme=programme,
        referral_received_on=locked.received_on,
        start_on=start_on,
    )
    locked.status = ReferralStatus.ACCEPTED
    locked.programme = programme
    locked.enrolment = enrolment
    locked.triaged_by = actor
    locked.triaged_at = timezone.now()
    locked.save(update_fields=["status", "programme", "enrolment", "triaged_by", "triaged_at"])
    task_create(
        actor=actor,
        title=_("First contact: %(programme)s") % {"programme": programme.name},
        description=locked.reason,
        team=locked.team,
        patient=locked.patient,
        assignee=assignee,
        due_on=max(start_on, timezone.localdate()) + datetime.timedelta(days=FIRST_CONTACT_DAYS),
        priority=TaskPriority.HIGH,
        origin=TaskOrigin.REFERRAL,
        referral=locked,
    )
    for plan in ProgrammeTask.objects.filter(programme=programme):
        task_create(
            actor=actor,
            title=plan.title_da,
            team=locked.team,
            patient=locked.patient,
            assignee=assignee,
            due_on=max(start_on, timezone.localdate()) + datetime.timedelta(days=plan.days_after_start),
            origin=TaskOrigin.PROGRAMME,
            recurrence_months=plan.recurrence_months,
        )
    return locked


@transaction.atomic
def referral_decline(*, actor: User, referral: Referral, reason: str) -> Referral:
    locked = Referral.objects.select_for_update().select_related("patient").get(pk=referral.pk)
    _validate_triage(actor=actor, referral=locked)
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for declining; the referrer is told.")})
    locked.status = ReferralStatus.DECLINED
    locked.decline_reason = reason.strip()
    locked.triaged_by = actor
    locked.triaged_at = timezone.now()
    locked.save(update_fields=["status", "decline_reason", "triaged_by", "triaged_at"])
    return locked


# --- handover notes and what is new ----------------------------------------------------------------------------


@transaction.atomic
def handover_post(*, actor: User, patient: Patient, text: str) -> HandoverNote:
    if patient.team_id not in team_ids_of(actor):
        raise ValidationError(_("Only the citizen's team can write handover notes about them."))
    if not text.strip():
        raise ValidationError({"text": _("Write the message.")})
    note = HandoverNote.objects.create(patient=patient, author=actor, text=text.strip())
    _notify(user=patient.responsible_professional, actor=actor, kind=NotificationKind.HANDOVER, handover=note)
    return note


@transaction.atomic
def handover_acknowledge(*, actor: User, note: HandoverNote) -> None:
    HandoverAcknowledgement.objects.get_or_create(note=note, user=actor)
    Notification.objects.filter(user=actor, handover=note, seen_at__isnull=True).update(seen_at=timezone.now())


@transaction.atomic
def notifications_seen_for_task(*, actor: User, task: Task) -> int:
    return Notification.objects.filter(user=actor, task=task, seen_at__isnull=True).update(seen_at=timezone.now())


@transaction.atomic
def notifications_mark_seen(*, actor: User) -> int:
    return Notification.objects.filter(user=actor, seen_at__isnull=True).update(seen_at=timezone.now())
