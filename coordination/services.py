"""Writes for coordination: tasks, referrals, handover notes, care gaps and what is new for whom.
Each service is atomic, validates before it writes, records the state change (TaskTransition) and
tells the people concerned (Notification).

Every change of a task's status or assignee, whoever makes it, goes through `task_create`,
`task_assign` or `task_change_status`. The care-gap rules act as the system: `actor` is None, which
skips the team-membership check (the rules work for every team) and is recorded as an empty `by`,
shown as "the care-gap rules". `at` is when a change happened: now, except when the demo replays
the past through the same services (then the citizen's team of that day applies).

Agreed actions become tasks when their encounter is signed, not before: a draft is not the record
(issue 9), and a draft's task would count in the task figures while the draft may change or never
be signed. Until then the plan for each action (who does it, by when) is kept with the draft as an
ActionPlan. patients cannot call coordination, so every signing a person does goes through this
module: `encounter_log` ("save and sign" on the new-encounter form), `encounter_draft_save` ("save
and sign" on the draft's form) and `encounter_sign` (the sign page the timeline links to) sign
through the patients service and make the tasks in the same transaction. A signature given
elsewhere (patients' own sign page or service, a command) is caught by `tasks_from_signed_plans`,
which the periodic care-gap job runs. Every such task is made by `tasks_from_action_plans`, through
`task_create`: one writer."""

import contextlib
import datetime
from dataclasses import dataclass, replace

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from healthcenter import access
from healthcenter.models import AccessAction, Team, User
from healthcenter.outbox.services import job_enqueue
from patients import services as patient_services
from patients.cpr import parse_cpr
from patients.definitions import add_months, team_on
from patients.models import Encounter, Patient, PatientStatus, Programme
from scheduling import services as scheduling_services
from scheduling.models import Appointment

from .models import (
    OPEN_STATUSES,
    ActionPlan,
    CareGap,
    CareGapRule,
    HandoverAcknowledgement,
    HandoverNote,
    Notification,
    NotificationKind,
    ProgrammeTask,
    Referral,
    ReferralSource,
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


def _notify(*, user: User | None, actor: User | None, kind: NotificationKind, task=None, handover=None) -> None:
    if user is not None and (actor is None or user.pk != actor.pk) and user.is_active:
        Notification.objects.create(user=user, actor=actor, kind=kind, task=task, handover=handover)


def _validate_team_work(*, actor: User | None, team: Team) -> None:
    if actor is not None and not access.cares_for(actor, team.id):
        raise ValidationError({"team": _("You can only work with tasks of your own teams.")})


def _validate_assignee(*, team: Team, assignee: User | None) -> None:
    if assignee is not None and not (assignee.is_active and assignee.teams.filter(id=team.id).exists()):
        raise ValidationError({"assignee": _("A task can only be assigned to a member of its team.")})


def _team_of(task: Task, *, at: datetime.datetime | None = None) -> Team:
    """The team responsible for a task: the citizen's team (now, or at `at`), or the task's own."""
    if not task.patient_id:
        return task.team
    if at is None:
        return task.patient.team
    return Team.objects.get(pk=_citizen_team_id(task.patient_id, at=at))


def _citizen_team_id(patient_id: int, *, at: datetime.datetime) -> int:
    day = timezone.localdate(at)
    return Patient.objects.filter(pk=patient_id).annotate(then=team_on(day)).values_list("then", flat=True).get()


def _stale() -> ValidationError:
    return ValidationError(
        _("Someone else changed this task while you were looking at it. Nothing was saved: reload to see the change."),
        code="stale",
    )


# --- tasks ----------------------------------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *,
    actor: User | None,
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
    at: datetime.datetime | None = None,
) -> Task:
    if not title.strip():
        raise ValidationError({"title": _("Give the task a title.")})
    _validate_team_work(actor=actor, team=team)
    if patient is not None:
        citizens_team = patient.team_id if at is None else _citizen_team_id(patient.pk, at=at)
        if citizens_team != team.id:
            raise ValidationError({"team": _("A task about a citizen belongs to the citizen's team.")})
    _validate_assignee(team=team, assignee=assignee)
    at = at or timezone.now()
    if due_on < timezone.localdate(at) and not allow_past_due:
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
        created_at=at,
    )
    TaskTransition.objects.create(
        task=task, by=actor, at=at, from_status="", to_status=task.status, to_assignee=assignee
    )
    _notify(user=assignee, actor=actor, kind=NotificationKind.ASSIGNED, task=task)
    return task


@dataclass(frozen=True)
class ActionTask:
    """Who does one agreed action, and by when."""

    assignee: User | None
    due_on: datetime.date


# --- agreed actions: planned with the encounter, tasks once it is signed (see the module docstring) ------


def _validate_plans(plans: list[ActionTask | None], *, actions: int) -> None:
    if len(plans) > actions:
        raise ValidationError(_("There are more task plans than agreed actions."))
    for position, plan in enumerate(plans):
        if plan is not None and plan.due_on is None:
            raise ValidationError({f"action-{position}-due_on": _("Give the task a due date.")})


def _save_action_plans(*, encounter: Encounter, plans: list[ActionTask | None]) -> None:
    """The plans of the encounter's actions that are not tasks yet: `plans[i]` for the action at
    position i; None, or no plan at all, means that action is to stay without a task."""
    team = encounter.patient.team
    for action in encounter.agreed_actions.filter(task__isnull=True).order_by("position", "id"):
        plan = plans[action.position] if action.position < len(plans) else None
        if plan is None:
            ActionPlan.objects.filter(agreed_action=action).delete()
            continue
        # Refused now, while the author can still choose someone else, not when the draft is signed.
        _validate_assignee(team=team, assignee=plan.assignee)
        ActionPlan.objects.update_or_create(
            agreed_action=action, defaults={"assignee": plan.assignee, "due_on": plan.due_on}
        )


@transaction.atomic
def tasks_from_action_plans(*, actor: User | None, encounter: Encounter) -> list[Task]:
    """Turns the planned actions of a signed encounter that have no task yet into tasks on the
    citizen's team, each with its own assignee and due date. A planned assignee who has left the
    team since the draft was written leaves the task to nobody yet, for the coordinator to hand
    out, rather than losing it; a due date that passed while the draft waited is kept (the task is
    overdue, which is the truth). Safe to run twice: an action has at most one task."""
    if not encounter.is_signed:
        raise ValidationError(_("The agreed actions become tasks when the encounter is signed."))
    patient = encounter.patient
    team = patient.team
    actions = (
        encounter.agreed_actions.select_for_update(of=("self",))
        .filter(task__isnull=True, plan__isnull=False)
        .select_related("plan__assignee")
        .order_by("position", "id")
    )
    tasks = []
    for action in actions:
        plan = action.plan
        assignee = plan.assignee
        if assignee is not None and not (assignee.is_active and assignee.teams.filter(id=team.id).exists()):
            assignee = None
        tasks.append(
            task_create(
                actor=actor,
                title=action.text if len(action.text) <= TITLE_LENGTH else action.text[: TITLE_LENGTH - 1] + "…",
                description=(action.text + "\n\n" if len(action.text) > TITLE_LENGTH else "")
                + _("Agreed with the citizen at the encounter on %(date)s.")
                % {"date": date_format(timezone.localtime(encounter.started_at).date(), "SHORT_DATE_FORMAT")},
                team=team,
                patient=patient,
                assignee=assignee,
                due_on=plan.due_on,
                origin=TaskOrigin.AGREED_ACTION,
                agreed_action=action,
                allow_past_due=True,
            )
        )
    return tasks


def tasks_from_signed_plans() -> int:
    """The planned actions of encounters signed without coordination (patients' own sign page or
    service, a command) become tasks, made in the signer's name (or the system's, if the signer is
    no longer in the citizen's team). Idempotent; run by the periodic care-gap job."""
    encounters = (
        Encounter.objects.filter(
            signed_at__isnull=False, agreed_actions__plan__isnull=False, agreed_actions__task__isnull=True
        )
        .select_related("patient__team", "professional")
        .distinct()
    )
    made = 0
    for encounter in encounters:
        signer = encounter.professional
        actor = signer if access.cares_for(signer, encounter.patient.team_id) else None
        # IntegrityError: signed through coordination at this very moment, which made the tasks.
        with contextlib.suppress(IntegrityError):
            made += len(tasks_from_action_plans(actor=actor, encounter=encounter))
    return made


def _reevaluate_care_gaps_after_commit(patient: Patient) -> None:
    """Signed values can fill a care gap: a worker re-evaluates the citizen's gaps as soon as the
    signature is committed, so a measurement that fills one closes it within moments. Asked for in
    the outbox, in the signature's transaction: the page neither waits for the care-gap lock (held
    by the periodic job while it runs) nor fails when Redis is down, and the job is not lost then."""
    job_enqueue(task="coordination.tasks.evaluate_care_gaps_task", kwargs={"patient_ids": [patient.id]})


@transaction.atomic
def encounter_log(
    *,
    actor: User,
    patient: Patient,
    data: patient_services.EncounterData,
    sign: bool,
    action_tasks: list[ActionTask | None] | None = None,
    appointment: Appointment | None = None,
) -> tuple[Encounter, list[Task]]:
    """Logs an encounter with the plan for its agreed actions: `action_tasks[i]` says who does
    `data.agreed_actions[i]` and by when. Signed at once, the planned actions become tasks in the
    same transaction; a draft keeps its plans until it is signed. Logged from an `appointment`, the
    encounter is linked to it, and signing it makes the appointment attended, in the same transaction."""
    plans = list(action_tasks or [])
    _validate_plans(plans, actions=len([t for t in data.agreed_actions or [] if t.strip()]))
    encounter = patient_services.encounter_create(actor=actor, patient=patient, data=data, sign=sign)
    _link_appointment(actor=actor, appointment=appointment, encounter=encounter)
    _save_action_plans(encounter=encounter, plans=plans)
    tasks = tasks_from_action_plans(actor=actor, encounter=encounter) if sign else []
    if sign:
        scheduling_services.appointment_attended(actor=actor, encounter=encounter)
        _reevaluate_care_gaps_after_commit(patient)
    return encounter, tasks


def _link_appointment(*, actor: User, appointment: Appointment | None, encounter: Encounter) -> None:
    """Links the encounter to the appointment it was logged from. The appointment is locked and read
    again first, so that two people logging the same meeting at once cannot both link theirs."""
    if appointment is None:
        return
    locked = Appointment.objects.select_for_update().select_related("patient").get(pk=appointment.pk)
    scheduling_services.appointment_link_encounter(actor=actor, appointment=locked, encounter=encounter)


@transaction.atomic
def encounter_draft_save(
    *,
    actor: User,
    encounter: Encounter,
    expected_version: int,
    data: patient_services.EncounterData,
    sign: bool,
    action_tasks: list[ActionTask | None] | None = None,
    appointment: Appointment | None = None,
) -> tuple[Encounter, list[Task]]:
    """Saves a changed draft with the plan for each of its agreed actions (as `encounter_log`), and
    when it is signed turns the planned actions into tasks in the same transaction. A draft logged
    from an appointment (or linked to one now, `appointment`) makes it attended when signed."""
    plans = list(action_tasks or [])
    _validate_plans(plans, actions=len([t for t in data.agreed_actions or [] if t.strip()]))
    patient_services.encounter_update_draft(
        actor=actor, encounter=encounter, expected_version=expected_version, data=data, sign=sign
    )
    _link_appointment(actor=actor, appointment=appointment, encounter=encounter)
    _save_action_plans(encounter=encounter, plans=plans)
    tasks = tasks_from_action_plans(actor=actor, encounter=encounter) if sign else []
    if sign:
        scheduling_services.appointment_attended(actor=actor, encounter=encounter)
        _reevaluate_care_gaps_after_commit(encounter.patient)
    return encounter, tasks


@transaction.atomic
def encounter_sign(*, actor: User, encounter: Encounter, expected_version: int) -> tuple[Encounter, list[Task]]:
    """Signs a draft (through the patients service, which checks that the author signs and writes
    the audit row) and turns its planned actions into tasks in the same transaction; the appointment
    it was logged from, if any, is attended."""
    patient_services.encounter_sign(actor=actor, encounter=encounter, expected_version=expected_version)
    scheduling_services.appointment_attended(actor=actor, encounter=encounter)
    tasks = tasks_from_action_plans(actor=actor, encounter=encounter)
    _reevaluate_care_gaps_after_commit(encounter.patient)
    return encounter, tasks


def _transition(
    *, actor: User | None, task: Task, expected_version: int, at: datetime.datetime | None = None, **changes
) -> None:
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
        at=at or timezone.now(),
        from_status=before_status,
        to_status=task.status,
        from_assignee=before_assignee,
        to_assignee=task.assignee,
    )


@transaction.atomic
def task_assign(
    *, actor: User, task: Task, assignee: User | None, expected_version: int, at: datetime.datetime | None = None
) -> Task:
    team = _team_of(task, at=at)
    _validate_team_work(actor=actor, team=team)
    if not task.is_open:
        raise ValidationError(_("A closed task cannot be reassigned."))
    if (assignee.pk if assignee else None) == task.assignee_id:
        # Not a silent no-op recorded as a move: the person who asked learns that nothing changed.
        if assignee is None:
            raise ValidationError({"assignee": _("The task has no assignee already.")})
        raise ValidationError({"assignee": _("%(name)s already holds this task.") % {"name": assignee}})
    _validate_assignee(team=team, assignee=assignee)
    # A task whose citizen moved follows the citizen to the new team.
    _transition(actor=actor, task=task, expected_version=expected_version, at=at, assignee=assignee, team=team)
    _notify(user=assignee, actor=actor, kind=NotificationKind.ASSIGNED, task=task)
    return task


@dataclass
class MoveResult:
    moved: list[Task]
    # Tasks someone else changed (or closed) since the page was loaded: left as they are.
    refused: list[tuple[Task, str]]


def tasks_move(*, actor: User, moves: list[tuple[Task, int]], assignee: User | None) -> MoveResult:
    """Hands several tasks to one assignee at once (a colleague on leave): each task through
    `task_assign`, so each move is a transition with its version check and a notification. A task
    changed by someone else meanwhile is left out and reported; the others are moved."""
    result = MoveResult(moved=[], refused=[])
    # Handing on a citizen's task is a change to their record: one row per citizen's task, in one query.
    access.record_many(
        actor=actor,
        action=AccessAction.UPDATE,
        what=gettext_noop("hand on task"),
        patient_public_ids=[task.patient.public_id for task, _version in moves if task.patient_id],
    )
    for task, expected_version in moves:
        try:
            result.moved.append(
                task_assign(actor=actor, task=task, assignee=assignee, expected_version=expected_version)
            )
        except ValidationError as error:
            result.refused.append((task, " ".join(error.messages)))
    return result


ALLOWED_MOVES = {
    TaskStatus.OPEN: {TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED},
    TaskStatus.IN_PROGRESS: {TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.CANCELLED},
    TaskStatus.DONE: set(),
    TaskStatus.CANCELLED: set(),
}


@transaction.atomic
def task_change_status(
    *, actor: User | None, task: Task, to_status: str, expected_version: int, at: datetime.datetime | None = None
) -> Task:
    """Moves a task on. Closing a closed task is an error, not a silent no-op. A recurring task
    that is done opens its next occurrence."""
    _validate_team_work(actor=actor, team=task.team)
    if to_status not in ALLOWED_MOVES[task.status]:
        if not task.is_open:
            raise ValidationError(
                _("This task is already closed (%(status)s).") % {"status": task.get_status_display()}
            )
        raise ValidationError(_("A task cannot go from %(a)s to %(b)s.") % {"a": task.status, "b": to_status})
    completed_at = (at or timezone.now()) if to_status == TaskStatus.DONE else None
    _transition(
        actor=actor, task=task, expected_version=expected_version, at=at, status=to_status, completed_at=completed_at
    )
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


@dataclass(frozen=True)
class Registration:
    """What registering a citizen left behind: the citizen registered now, or, for a citizen another
    team follows, the referral the registration became."""

    patient: Patient | None = None
    referral: Referral | None = None


@transaction.atomic
def citizen_register(*, actor: User, data: patient_services.PatientData) -> Registration:
    """A person registers a citizen in one of their teams. The CPR number decides what happens:

    - nobody has it: the citizen is registered in the chosen team;
    - a citizen of the person's own teams has it: refused as already registered (DuplicateCitizen),
      which tells them nothing they cannot see;
    - a citizen another team follows has it: nobody is registered twice and nothing typed is lost:
      the registration becomes a referral awaiting triage by the citizen's team, with what was typed.

    The first and the last must look alike to the person (the view answers both with one receipt),
    so every check of the form runs first, whoever has the number."""
    facts = patient_services.patient_validate_registration(actor=actor, data=data)
    existing = Patient.objects.filter(cpr=facts.number).first()
    if existing is None:
        try:
            return Registration(patient=patient_services.patient_create(actor=actor, data=data))
        except patient_services.DuplicateCitizen:
            # Registered by someone else at this very moment: theirs is the citizen.
            existing = Patient.objects.get(cpr=facts.number)
    if access.cares_for(actor, existing.team_id):
        raise patient_services.DuplicateCitizen(
            existing.public_id, _("A citizen with this CPR number is already registered in your team.")
        )
    referral = _referral_to_citizens_team(
        actor=actor,
        patient=existing,
        source=ReferralSource.CENTRE,
        reason=_("Registered by %(name)s for %(team)s. The details they typed are in the attachments.")
        % {"name": actor, "team": data.team},
        received_on=timezone.localdate(),
        attachments=_typed_details(data),
        new_citizen=False,
        what=gettext_noop("registration forwarded to the citizen's team as a referral"),
    )
    return Registration(referral=referral)


def _typed_details(data: patient_services.PatientData) -> str:
    """What was typed into a registration, one line per field, for the team that triages it."""
    lines = []
    for name in ("first_name", "last_name", "address", "postal_code", "city", "phone", "email", "gp_name", "gp_phone"):
        value = getattr(data, name).strip()
        if value:
            lines.append(f"{capfirst(Patient._meta.get_field(name).verbose_name)}: {value}")
    lines.append(f"{capfirst(Patient._meta.get_field('status').verbose_name)}: {PatientStatus(data.status).label}")
    if data.responsible_professional is not None:
        field = Patient._meta.get_field("responsible_professional")
        lines.append(f"{capfirst(field.verbose_name)}: {data.responsible_professional}")
    return "\n".join(lines)


def _referral_to_citizens_team(
    *,
    actor: User,
    patient: Patient,
    source: str,
    reason: str,
    received_on: datetime.date,
    attachments: str,
    new_citizen: bool,
    what: str,
) -> Referral:
    """A referral is always the citizen's own team's to triage, whoever registers it."""
    referral = Referral.objects.create(
        patient=patient,
        team_id=patient.team_id,
        source=source,
        reason=reason.strip(),
        received_on=received_on,
        attachments=attachments.strip(),
        new_citizen=new_citizen,
        created_by=actor,
    )
    access.record(actor=actor, action=AccessAction.CREATE, what=what, patient_public_id=patient.public_id)
    return referral


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
    """Registers a referral for the citizen with the CPR number, registering the citizen in `team`
    first if nobody has the number: a known citizen is never created twice. The referral goes to the
    citizen's own team, so a referral for a citizen another team follows awaits triage there. The one
    who registers it sees the same in every case (the view answers with one receipt), and the names
    are asked for every time, so that the form tells nobody whom a CPR number belongs to."""
    if not access.cares_for(actor, team.id):
        raise ValidationError({"team": _("You can only receive referrals for your own teams.")})
    if not access.may(actor, access.Work.TRIAGE):
        raise ValidationError(_("Only a coordinator registers referrals."))
    if received_on > timezone.localdate():
        raise ValidationError({"received_on": _("The date cannot be in the future.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Write the reason for the referral.")})
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name or not last_name:
        raise ValidationError({"first_name": _("Give the citizen's first and last name as the referral gives them.")})
    number = parse_cpr(cpr).number
    patient = Patient.objects.filter(cpr=number).first()
    new_citizen = patient is None
    if new_citizen:
        try:
            patient = patient_services.patient_create(
                actor=actor,
                data=patient_services.PatientData(cpr=number, first_name=first_name, last_name=last_name, team=team),
            )
        except patient_services.DuplicateCitizen:
            # Registered by someone else at this very moment: the referral is for that citizen.
            patient, new_citizen = Patient.objects.get(cpr=number), False
    if not new_citizen and (first_name.casefold(), last_name.casefold()) != (
        patient.first_name.casefold(),
        patient.last_name.casefold(),
    ):
        # Kept for the team that triages: a misspelt name, or a wrong CPR number on the referral.
        attachments = "\n\n".join(
            part
            for part in (
                attachments.strip(),
                _("Name on the referral: %(name)s") % {"name": f"{first_name} {last_name}"},
            )
            if part
        )
    return _referral_to_citizens_team(
        actor=actor,
        patient=patient,
        source=source,
        reason=reason,
        received_on=received_on,
        attachments=attachments,
        new_citizen=new_citizen,
        what=gettext_noop("referral received"),
    )


def _validate_triage(*, actor: User, referral: Referral) -> None:
    if not access.may_work_on(actor, access.Work.TRIAGE, referral.patient.team_id):
        raise ValidationError(_("Only a coordinator of the citizen's team triages referrals."))
    if referral.status != ReferralStatus.RECEIVED:
        raise ValidationError(_("This referral has already been triaged."))


class FirstContactRefused(ValidationError):
    """The first contact asked for with an acceptance could not be booked (a clash, a day that has
    passed): nothing is accepted. Its own class, so that the form shows it by the booking's fields."""


@transaction.atomic
def referral_accept(
    *,
    actor: User,
    referral: Referral,
    programme: Programme,
    start_on: datetime.date,
    assignee: User | None,
    first_contact: scheduling_services.AppointmentData | None = None,
) -> Referral:
    """Accepts the referral into the programme: the enrolment, the first-contact task and the
    programme's planned tasks; and, when `first_contact` is given, books that first meeting. All or
    nothing: a booking that clashes (the scheduling service names the clash) accepts nothing. A first
    contact without a purpose is booked as the task is named, "First contact: <programme>"."""
    locked = Referral.objects.select_for_update().select_related("patient", "team").get(pk=referral.pk)
    _validate_triage(actor=actor, referral=locked)
    title = _("First contact: %(programme)s") % {"programme": programme.name}
    appointment = None
    if first_contact is not None:
        if not first_contact.purpose.strip():
            first_contact = replace(first_contact, purpose=title)
        try:
            appointment = scheduling_services.appointment_book(actor=actor, patient=locked.patient, data=first_contact)
        except ValidationError as error:
            raise FirstContactRefused(error.error_dict if hasattr(error, "error_dict") else error.error_list) from error
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
    due_on = max(start_on, timezone.localdate()) + datetime.timedelta(days=FIRST_CONTACT_DAYS)
    if appointment is not None:
        # The task is the meeting's: due on its day, so it is neither overdue before the meeting nor
        # forgotten after it.
        due_on = timezone.localdate(appointment.starts_at)
    task_create(
        actor=actor,
        title=title,
        description=locked.reason,
        team=locked.team,
        patient=locked.patient,
        assignee=assignee,
        due_on=due_on,
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
def handover_post(
    *, actor: User, patient: Patient, text: str, recipients: list[User] | None = None, whole_team: bool = False
) -> HandoverNote:
    """A note for named colleagues, or for everyone in the citizen's team. It stays in each
    recipient's "new for you" until they acknowledge it."""
    if not access.cares_for(actor, patient.team_id):
        raise ValidationError(_("Only the citizen's team can write handover notes about them."))
    if not text.strip():
        raise ValidationError({"text": _("Write the message.")})
    team = patient.team
    recipients = list(recipients or [])
    if not recipients and not whole_team:
        raise ValidationError({"recipients": _("Choose who the note is for, or the whole team.")})
    members = {u.pk: u for u in team.members.filter(is_active=True, role__in=access.roles_for(access.Work.CITIZENS))}
    if any(user.pk not in members for user in recipients):
        raise ValidationError({"recipients": _("A handover note can only be for members of the citizen's team.")})
    note = HandoverNote.objects.create(
        patient=patient, author=actor, text=text.strip(), to_team=team if whole_team else None
    )
    note.recipients.set(recipients)
    readers = members.values() if whole_team else recipients
    for user in sorted(readers, key=lambda u: u.pk):
        _notify(user=user, actor=actor, kind=NotificationKind.HANDOVER, handover=note)
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
    """Handover notes are left: they stay until their reader acknowledges them."""
    return (
        Notification.objects.filter(user=actor, seen_at__isnull=True)
        .exclude(kind=NotificationKind.HANDOVER)
        .update(seen_at=timezone.now())
    )


# --- care gaps: the rules act through the task services -------------------------------------------------------


@transaction.atomic
def care_gap_open(
    *,
    patient: Patient,
    rule: CareGapRule,
    reason: str,
    assignee: User | None,
    due_on: datetime.date,
    priority: int,
    at: datetime.datetime | None = None,
) -> CareGap:
    """Records a gap the rules found and opens its task, as the system (no person acted)."""
    team = patient.team if at is None else Team.objects.get(pk=_citizen_team_id(patient.pk, at=at))
    task = task_create(
        actor=None,
        title=rule.name_da,
        description=reason,
        team=team,
        patient=patient,
        assignee=assignee,
        due_on=due_on,
        priority=priority,
        origin=TaskOrigin.RULE,
        at=at,
    )
    return CareGap.objects.create(patient=patient, rule=rule, task=task, opened_at=task.created_at)


@transaction.atomic
def care_gap_book(*, actor: User, gap: CareGap, data: scheduling_services.AppointmentData) -> Appointment:
    """Books an appointment to fill an open care gap and links the gap to it, in one transaction:
    a clash (the scheduling service's message) books and links nothing. A gap whose appointment is
    still to come is not booked twice (a second tab, a double click)."""
    locked = CareGap.objects.select_for_update(of=("self",)).select_related("patient", "appointment").get(pk=gap.pk)
    if locked.closed_at is not None:
        raise ValidationError(_("This care gap has been filled in the meantime."), code="closed")
    booked_on = locked.booked_on(timezone.localdate())
    if booked_on is not None:
        raise ValidationError(
            _("This care gap is already booked on %(date)s.") % {"date": date_format(booked_on, "SHORT_DATE_FORMAT")},
            code="booked",
        )
    appointment = scheduling_services.appointment_book(actor=actor, patient=locked.patient, data=data)
    locked.appointment = appointment
    locked.save(update_fields=["appointment"])
    gap.appointment = appointment
    return appointment


@transaction.atomic
def care_gap_close(*, gap: CareGap, at: datetime.datetime) -> CareGap:
    """Closes a filled gap, and its task if still open, as the system."""
    gap.closed_at = at
    gap.save(update_fields=["closed_at"])
    if gap.task_id is not None:
        # Locked, so the version read here is the one the update checks.
        task = Task.objects.select_for_update().get(pk=gap.task_id)
        if task.status in OPEN_STATUSES:
            task_change_status(actor=None, task=task, to_status=TaskStatus.DONE, expected_version=task.version, at=at)
    return gap
