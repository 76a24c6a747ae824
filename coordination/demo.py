"""Demo coordination data on top of the patients demo: a task for every agreed action of the shown
history, each with the transitions and completion time it would have had (some done late, some
still overdue, the teams as patients.demo.TEAM_PROFILES describe them), referrals behind every
enrolment with a realistic wait, referrals waiting for triage and a few declined, and handover
notes, so that every board, list and figure has something true to show.

Every task is made and moved on through the task services (coordination.services), at the moments
its replayed history says, like any other change: a transition for each step, the version check,
the assignee told; the care-gap tasks through the same services as the job's."""

import datetime
import random
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from healthcenter.models import Role, Team, User
from patients.definitions import day_start, months_between
from patients.demo import TEAMS, backdate, team_profile
from patients.models import (
    AgreedAction,
    EncounterKind,
    Enrolment,
    Patient,
    PatientStatus,
    Programme,
    TeamResponsibility,
)
from scheduling.models import Holiday, Place, Reservation, Room
from scheduling.services import AppointmentData

from . import services
from .caregaps import GAP_TASK_DUE_DAYS, find_gaps
from .models import (
    CareGap,
    CareGapCheck,
    HandoverNote,
    Notification,
    Referral,
    ReferralSource,
    ReferralStatus,
    Task,
    TaskComment,
    TaskOrigin,
    TaskPriority,
    TaskStatus,
)

HANDOVERS = [
    "Datteren ringede; hun er bekymret for aftenerne, hvor far bliver urolig.",
    "Borger har aflyst næste samtale pga. indlæggelse. Ny tid aftales ved udskrivelse.",
    "Ægtefælle fortæller, at medicinæsken ikke er tømt de sidste dage.",
    "Egen læge har øget metformin; ny HbA1c om 3 måneder.",
    "Borger ønsker at tale med diætist om julemaden.",
    "Hjemmeplejen har set hævelse på venstre fod; bedt om fodundersøgelse.",
]
REFERRAL_REASONS = [
    ("Nydiagnosticeret type 2-diabetes, HbA1c 64. Ønsker diabetesskole.", "diabetes-course"),
    ("Stigende HbA1c trods medicin. Henvises til opfølgning og kostvejledning.", "diabetes-follow-up"),
    ("Hukommelsesbesvær gennem et år; demensudredt på hukommelsesklinik, Alzheimer.", "dementia-follow-up"),
    ("Ægtefælle udmattet; ønsker støtte som pårørende.", "caregiver-support"),
]
DECLINE_REASONS = [
    "Borgeren ønsker ikke tilbuddet nu, efter telefonsamtale.",
    "Borgeren er allerede i et tilsvarende forløb hos egen læge.",
]
COMMENTS = [
    "Har ringet, ingen svarede. Prøver igen i morgen.",
    "Aftalt tid torsdag kl. 10.",
    "Talt med datteren; hun deltager også.",
    "Tager den, jeg kender borgeren.",
]
HOUR = datetime.timedelta(hours=1)


def seed_coordination(*, rng: random.Random | None = None) -> None:
    rng = rng or random.Random(2027)
    now = timezone.now()
    teams = list(Team.objects.order_by("name"))
    staff = {t.id: list(t.members.filter(role=Role.PROFESSIONAL).order_by("username")) for t in teams}
    coordinators = {
        t.id: t.members.filter(role=Role.COORDINATOR).order_by("username").first() or staff[t.id][0] for t in teams
    }
    history = _team_history()
    _agreed_action_tasks(rng, history, staff, coordinators)
    for team in teams:
        team_staff, coordinator = staff[team.id], coordinators[team.id]
        patients = list(Patient.objects.filter(team=team, status=PatientStatus.ACTIVE).order_by("id"))
        team_own_work(rng, team=team, team_staff=team_staff, coordinator=coordinator, patients=patients, now=now)
    _triaged_referrals(rng, history, coordinators)
    _care_gap_history(rng, history, staff, coordinators)
    _news_of_the_past_read(now)


def team_own_work(rng, *, team, team_staff: list, coordinator, patients: list, now: datetime.datetime) -> None:
    """What a team has going besides its citizens' agreed actions, through the services: tasks by
    hand, handover notes and referrals waiting for triage (the large profile's teams too)."""
    today = timezone.localdate(now)
    # Tasks by hand without a citizen, and a few unassigned ones for the coordinator to hand out.
    for title, due_in, assignee in [
        ("Opdatér pjecer til venteværelset", 10, rng.choice(team_staff)),
        ("Planlæg næste hold i diabetesskolen", 21, None),
        ("Gennemgå ventelisten", -3, None),
    ]:
        services.task_create(
            actor=coordinator,
            title=title,
            team=team,
            assignee=assignee,
            due_on=today + datetime.timedelta(days=due_in),
            allow_past_due=True,
        )
    members = {u.id: u for u in team_staff}
    for patient in rng.sample(patients, min(len(patients), 8)):
        author, text = rng.choice(team_staff), rng.choice(HANDOVERS)
        # For the responsible professional when there is one in the team, else for everyone in it.
        responsible = members.get(patient.responsible_professional_id)
        named = [responsible] if responsible is not None and responsible != author else []
        note = services.handover_post(actor=author, patient=patient, text=text, recipients=named, whole_team=not named)
        HandoverNote.objects.filter(pk=note.pk).update(created_at=now - datetime.timedelta(hours=rng.randint(1, 96)))
    for index, patient in enumerate(rng.sample(patients, min(len(patients), 6))):
        reason, code = REFERRAL_REASONS[index % len(REFERRAL_REASONS)]
        if patient.enrolments.filter(programme__code=code, end_on__isnull=True).exists():
            continue  # a referral to a programme the citizen is already in could not be accepted
        Referral.objects.create(
            patient=patient,
            team=team,
            source=rng.choice(list(ReferralSource)),
            reason=reason,
            received_on=today - datetime.timedelta(days=rng.randint(0, 12)),
            programme=Programme.objects.get(code=code),
            status=ReferralStatus.RECEIVED,
            created_by=coordinator,
        )


def _news_of_the_past_read(now: datetime.datetime) -> None:
    """The services told each assignee as the history was replayed. News is dated with its task,
    and what is closed or more than two weeks old has been read; the rest is new."""
    Notification.objects.filter(task__isnull=False).update(
        created_at=Subquery(Task.objects.filter(pk=OuterRef("task_id")).values("created_at")[:1])
    )
    Notification.objects.filter(
        Q(task__status__in=[TaskStatus.DONE, TaskStatus.CANCELLED])
        | Q(created_at__lt=now - datetime.timedelta(days=14))
    ).update(seen_at=now)


def _team_history() -> dict[int, list[tuple[datetime.date | None, int]]]:
    """Each citizen's responsible teams as the trigger kept them: (from, team id), oldest first."""
    history: dict[int, list[tuple[datetime.date | None, int]]] = defaultdict(list)
    for patient_id, valid_from, team_id in TeamResponsibility.objects.order_by(
        "patient_id", "valid_from", "id"
    ).values_list("patient_id", "valid_from", "team_id"):
        history[patient_id].append((valid_from, team_id))
    for rows in history.values():
        rows.sort(key=lambda row: row[0] or datetime.date.min)
    return history


def _team_on(history, patient_id: int, day: datetime.date) -> int:
    team = None
    for since, team_id in history[patient_id]:
        if since is None or since <= day:
            team = team_id
    return team


def _next_move(history, patient_id: int, day: datetime.date) -> datetime.date | None:
    return next((since for since, _team in history[patient_id] if since is not None and since > day), None)


@dataclass
class TaskLife:
    """What happened to one task, decided before it is written."""

    task: Task
    made: datetime.datetime
    assignee: User
    handed_to: User | None
    started: datetime.datetime | None
    ends: datetime.datetime


def _agreed_action_tasks(rng, history, staff, coordinators) -> None:
    """A task for every agreed action signed since shortly before the shown history, with what
    happened to it: done in time, done late, cancelled, or still open (and perhaps overdue) now.
    A task belongs to the citizen's team on the day it was made and is closed before a move."""
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    first = (today.replace(day=1) - datetime.timedelta(days=31 * 23)).replace(day=1) - datetime.timedelta(days=150)
    index_by_team = {t.id: TEAMS.index(t.name) for t in Team.objects.filter(name__in=TEAMS)}
    # A discharge or death ends every open enrolment that day, so the latest end is the day they left.
    exits = dict(
        Enrolment.objects.filter(patient__status__in=[PatientStatus.DISCHARGED, PatientStatus.DECEASED])
        .order_by("patient_id", "end_on")
        .values_list("patient_id", "end_on")
    )
    actions = (
        AgreedAction.objects.filter(
            encounter__signed_at__isnull=False,
            encounter__started_at__gte=datetime.datetime.combine(first, datetime.time.min, tzinfo=tz),
        )
        .order_by("encounter__started_at", "id")
        .values_list("id", "text", "encounter__patient_id", "encounter__professional_id", "encounter__signed_at")
    )
    lives = []
    for action_id, text, patient_id, professional_id, signed_at in actions:
        made = timezone.localdate(signed_at)
        team_id = _team_on(history, patient_id, made)
        lives.append(
            _task_life(
                rng,
                action=(action_id, text, patient_id, professional_id, signed_at),
                team_id=team_id,
                team_index=index_by_team.get(team_id, 0),
                team_staff=staff[team_id],
                moved_on=_next_move(history, patient_id, made),
                left_on=exits.get(patient_id),
            )
        )
    _task_history(rng, lives, coordinators)


def _task_life(rng, *, action, team_id, team_index, team_staff, moved_on, left_on) -> TaskLife:
    action_id, text, patient_id, professional_id, signed_at = action
    tz, now = timezone.get_current_timezone(), timezone.now()
    made = timezone.localdate(signed_at)
    profile = team_profile(team_index, made, timezone.localdate())
    assignee = next((u for u in team_staff if u.id == professional_id), None)
    if assignee is None or rng.random() < 0.4:
        assignee = rng.choice(team_staff)
    due = made + datetime.timedelta(days=rng.choice([7, 14, 14, 21, 28, 42]))
    due_end = datetime.datetime.combine(due, datetime.time(16), tzinfo=tz)
    roll = rng.random()
    if roll < 0.05:
        outcome, ends = TaskStatus.CANCELLED, signed_at + datetime.timedelta(days=rng.uniform(2, 40))
    elif roll < 0.05 + 0.95 * profile.on_time:
        # Most work is done close to its due date.
        outcome, ends = TaskStatus.DONE, signed_at + (due_end - signed_at) * rng.triangular(0.1, 1, 0.95)
    else:
        late = rng.uniform(1, 40) if rng.random() < 0.9 else rng.uniform(50, 150)
        outcome, ends = TaskStatus.DONE, due_end + datetime.timedelta(days=late)
        if late > 50 and rng.random() < 0.5:
            outcome = TaskStatus.CANCELLED  # cleared from the board, no longer relevant
    stop = min(day for day in (moved_on, left_on, datetime.date.max) if day is not None)
    if stop != datetime.date.max and ends >= datetime.datetime.combine(stop, datetime.time.min, tzinfo=tz):
        # Finished before the citizen moved to another team; cancelled when they left the centre.
        ends = max(signed_at + HOUR, datetime.datetime.combine(stop, datetime.time(12), tzinfo=tz) - HOUR * 24)
        if stop == left_on and stop != moved_on:
            outcome = TaskStatus.CANCELLED
    started = signed_at + (ends - signed_at) * rng.uniform(0.1, 0.6) if rng.random() < 0.5 else None
    handed_to = None
    if rng.random() < 0.05 and len(team_staff) > 1:
        handed_to = rng.choice([u for u in team_staff if u != assignee])
    still_open = TaskStatus.IN_PROGRESS if started and started <= now else TaskStatus.OPEN
    status = outcome if ends <= now else still_open
    task = Task(
        title=text,
        team_id=team_id,
        patient_id=patient_id,
        assignee=handed_to or assignee,
        due_on=due,
        priority=rng.choice([TaskPriority.NORMAL] * 4 + [TaskPriority.HIGH]),
        status=status,
        origin=TaskOrigin.AGREED_ACTION,
        agreed_action_id=action_id,
        created_by_id=professional_id,
        completed_at=ends if status == TaskStatus.DONE else None,
    )
    return TaskLife(task=task, made=signed_at, assignee=assignee, handed_to=handed_to, started=started, ends=ends)


def _task_history(rng, lives: list[TaskLife], coordinators) -> None:
    """Each task through the task services at its own moments (made when its encounter was signed,
    perhaps handed to a colleague, started, closed), and some comments."""
    now = timezone.now()
    plans = [life.task for life in lives]
    users = User.objects.in_bulk({plan.created_by_id for plan in plans})
    patients = Patient.objects.in_bulk({plan.patient_id for plan in plans})
    actions = AgreedAction.objects.in_bulk({plan.agreed_action_id for plan in plans})
    teams = Team.objects.in_bulk()
    comments, comment_moments = [], []
    for life in lives:
        plan = life.task
        coordinator = coordinators[plan.team_id]
        task = services.task_create(
            actor=users[plan.created_by_id],
            title=plan.title,
            team=teams[plan.team_id],
            patient=patients[plan.patient_id],
            assignee=life.assignee,
            due_on=plan.due_on,
            priority=plan.priority,
            origin=TaskOrigin.AGREED_ACTION,
            agreed_action=actions[plan.agreed_action_id],
            allow_past_due=True,
            at=life.made,
        )
        life.task = task
        if life.handed_to is not None:
            moment = life.made + (min(life.ends, now) - life.made) * 0.05
            services.task_assign(
                actor=coordinator, task=task, assignee=life.handed_to, expected_version=task.version, at=moment
            )
        who = life.handed_to or life.assignee
        if life.started is not None and life.started <= now:
            services.task_change_status(
                actor=who, task=task, to_status=TaskStatus.IN_PROGRESS, expected_version=task.version, at=life.started
            )
        if plan.status in (TaskStatus.DONE, TaskStatus.CANCELLED):
            by = who if plan.status == TaskStatus.DONE else coordinator
            services.task_change_status(
                actor=by, task=task, to_status=plan.status, expected_version=task.version, at=life.ends
            )
        if rng.random() < 0.15:
            comments.append(TaskComment(task=task, author=who, text=rng.choice(COMMENTS)))
            comment_moments.append(life.made + (min(life.ends, now) - life.made) * rng.uniform(0.1, 0.9))
    TaskComment.objects.bulk_create(comments)
    backdate(TaskComment, "created_at", [(c.pk, m) for c, m in zip(comments, comment_moments, strict=True)])


def _triaged_referrals(rng, history, coordinators) -> None:
    """The referral behind every enrolment, triaged by the coordinator of the citizen's team within
    days of its arrival, and a few declined ones, so that waiting times exist for the reports."""
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    rows, received_at = [], []
    for enrolment in Enrolment.objects.filter(referral__isnull=True).select_related("programme").order_by("id"):
        received = enrolment.referral_received_on
        team_id = _team_on(history, enrolment.patient_id, received)
        triaged = received + datetime.timedelta(days=rng.randint(0, min(7, (enrolment.start_on - received).days)))
        rows.append(
            Referral(
                patient_id=enrolment.patient_id,
                team_id=team_id,
                source=rng.choice([ReferralSource.GP, ReferralSource.GP, ReferralSource.HOSPITAL]),
                reason="Henvist til " + enrolment.programme.name_da.lower() + ".",
                received_on=received,
                status=ReferralStatus.ACCEPTED,
                programme=enrolment.programme,
                enrolment=enrolment,
                triaged_by=coordinators[team_id],
                triaged_at=datetime.datetime.combine(triaged, datetime.time(13), tzinfo=tz),
                created_by=coordinators[team_id],
            )
        )
        received_at.append(received)
    caregiver_support = Programme.objects.get(code="caregiver-support")
    first = today - datetime.timedelta(days=700)
    # Citizens in dementia follow-up without caregiver support, some of whose relatives asked for it.
    candidates = list(
        Enrolment.objects.filter(programme__code="dementia-follow-up", end_on__isnull=True)
        .exclude(patient__enrolments__programme=caregiver_support)
        .order_by("id")
        .values_list("patient_id", "start_on")
    )
    for patient_id, start_on in rng.sample(candidates, min(len(candidates), 12)):
        since = max(first, start_on)
        received = since + datetime.timedelta(days=rng.randint(0, max(0, (today - since).days - 10)))
        team_id = _team_on(history, patient_id, received)
        rows.append(
            Referral(
                patient_id=patient_id,
                team_id=team_id,
                source=ReferralSource.RELATIVE,
                reason="Ægtefælle ønsker støtte som pårørende.",
                received_on=received,
                status=ReferralStatus.DECLINED,
                programme=caregiver_support,
                decline_reason=rng.choice(DECLINE_REASONS),
                triaged_by=coordinators[team_id],
                triaged_at=datetime.datetime.combine(
                    received + datetime.timedelta(days=3), datetime.time(11), tzinfo=tz
                ),
                created_by=coordinators[team_id],
            )
        )
        received_at.append(received)
    Referral.objects.bulk_create(rows, batch_size=2000)
    backdate(
        Referral,
        "created_at",
        [
            (r.pk, datetime.datetime.combine(day, datetime.time(9), tzinfo=tz))
            for r, day in zip(rows, received_at, strict=True)
        ],
    )


def _care_gap_history(rng, history, staff, coordinators) -> None:
    """The care-gap job as it would have run through the shown history: replayed at every month's
    end and today, a gap opens some day after the last run that did not see it and closes some day
    before the first run that no longer does. Its task is the job's, on the citizen's team of the
    day; the team acts on it in time as often as on its other work, else it stays open, overdue,
    until the gap is filled (and the job closes it) or the coordinator clears it away. The gaps
    open today are those the job finds today, so its first real run changes nothing."""
    tz, now = timezone.get_current_timezone(), timezone.now()
    today = timezone.localdate(now)
    index_by_team = {t.id: TEAMS.index(t.name) for t in Team.objects.filter(name__in=TEAMS)}
    responsible = dict(Patient.objects.values_list("id", "responsible_professional_id"))
    patients = Patient.objects.in_bulk()
    users = User.objects.in_bulk()
    for gap, opened, closed in _replayed_gaps(rng, today):
        team_id = _team_on(history, gap.patient_id, opened)
        profile = team_profile(index_by_team.get(team_id, 0), opened, today)
        member = next((u for u in staff[team_id] if u.id == responsible.get(gap.patient_id)), None)
        made = datetime.datetime.combine(opened, datetime.time(6), tzinfo=tz) + datetime.timedelta(
            minutes=15 * rng.randint(0, 50)
        )
        closed_at = None
        if closed is not None:
            closed_at = datetime.datetime.combine(closed, datetime.time(6), tzinfo=tz) + datetime.timedelta(
                minutes=15 * rng.randint(0, 50)
            )
            closed_at = min(closed_at, now - datetime.timedelta(minutes=1))
        made = min(made, now - datetime.timedelta(minutes=30))  # today's run has not reached tonight
        steps = [(made, None, "", TaskStatus.OPEN, member)]
        acted = made + datetime.timedelta(days=rng.uniform(1, 13))
        if rng.random() < profile.on_time and acted <= now and (closed_at is None or acted < closed_at):
            # Acted on in time: the test booked, the call made; the gap closes when the value arrives.
            doer = member or rng.choice(staff[team_id])
            steps.append((acted, doer.id, TaskStatus.OPEN, TaskStatus.DONE, doer))
        # A gap that stays open is cleared from the board at a review, unless it closes first.
        cleared = made + datetime.timedelta(days=rng.uniform(20, 120))
        if len(steps) == 1 and cleared <= now and (closed_at is None or cleared < closed_at) and rng.random() < 0.75:
            steps.append((cleared, coordinators[team_id].id, TaskStatus.OPEN, TaskStatus.CANCELLED, member))
        elif len(steps) == 1 and closed_at is not None:
            steps.append((closed_at, None, TaskStatus.OPEN, TaskStatus.DONE, member))
        trend = gap.rule.check_kind in (CareGapCheck.RISING, CareGapCheck.FALLING)
        record = services.care_gap_open(
            patient=patients[gap.patient_id],
            rule=gap.rule,
            reason=gap.reason,
            assignee=member,
            due_on=opened + datetime.timedelta(days=GAP_TASK_DUE_DAYS),
            priority=TaskPriority.HIGH if trend else TaskPriority.NORMAL,
            at=made,
        )
        task = record.task
        for moment, by, _from_status, to_status, _assignee in steps[1:]:
            if by is not None:  # a person acted; the job's own closing is care_gap_close below
                services.task_change_status(
                    actor=users[by], task=task, to_status=to_status, expected_version=task.version, at=moment
                )
        if closed_at is not None:
            services.care_gap_close(gap=record, at=closed_at)


def _replayed_gaps(rng, today: datetime.date) -> list[tuple]:
    """(gap, opened on, closed on or None) from the job's runs at each month's end and today."""
    first = (today.replace(day=1) - datetime.timedelta(days=31 * 25)).replace(day=1)
    runs = [month - datetime.timedelta(days=1) for month in months_between(first, today)] + [today]
    open_gaps: dict[tuple[int, int], tuple] = {}
    lives = []
    for number, run in enumerate(runs):
        previous = runs[number - 1] if number else run - datetime.timedelta(days=60)
        found = {(gap.patient_id, gap.rule.id): gap for gap in find_gaps(as_of=run)}
        for key in [key for key in open_gaps if key not in found]:
            lives.append((*open_gaps.pop(key), _day_between(rng, previous, run)))
        for key, gap in found.items():
            if key not in open_gaps:
                open_gaps[key] = (gap, _day_between(rng, previous, run))
    return lives + [(gap, opened, None) for gap, opened in open_gaps.values()]


def _day_between(rng, after: datetime.date, until: datetime.date) -> datetime.date:
    """A day after one run of the job and on or before the next."""
    return after + datetime.timedelta(days=rng.randint(1, max(1, (until - after).days)))


# --- care gaps booked ahead (issue 13's calendar) ------------------------------------------------------------

# The measurements the centre takes itself, and what the appointment is booked as (the eye screening
# is the eye doctor's).
BOOKED_GAP_PURPOSES = {
    "hba1c": "HbA1c-kontrol",
    "systolic_bp": "Blodtryksmåling",
    "foot_exam": "Fodundersøgelse",
    "urine_acr": "Urinprøve til albumin",
    "mmse": "MMSE-test",
}


@dataclass
class GapsBooked:
    booked: int = 0
    # Times tried that turned out to clash (the service refused them; another time was tried).
    clashes: int = 0
    # Gaps given up on: no free time found in the fortnight.
    unbooked: int = 0


def book_some_care_gaps(
    *,
    share: float = 1 / 3,
    days_ahead: int = 14,
    rng: random.Random | None = None,
    now: datetime.datetime | None = None,
) -> GapsBooked:
    """Books about `share` of each professional's citizens with an open measurement gap (HbA1c first)
    for a conversation in the next `days_ahead` days, through coordination.services.care_gap_book, so
    that the worklist shows some gaps as booked. Times are chosen free from the calendar as it stands;
    one the service still refuses as a clash is given up and another tried. Runs after the calendar and
    the care-gap job, on today (the booking is today's)."""
    rng = rng or random.Random(1313)
    now = now or timezone.now()
    today = timezone.localdate(now)
    tz = timezone.get_current_timezone()
    result = GapsBooked()
    holidays = set(Holiday.objects.filter(day__gt=today).values_list("day", flat=True))
    days = [
        today + datetime.timedelta(days=n)
        for n in range(1, days_ahead + 1)
        if (today + datetime.timedelta(days=n)).weekday() < 5 and today + datetime.timedelta(days=n) not in holidays
    ]
    rooms = list(Room.objects.filter(is_active=True, name__startswith="Samtalerum").order_by("name"))
    if not days or not rooms:
        return result
    # The fortnight's reservations, from the first day's midnight to the one after the last day.
    first, last = day_start(days[0]), day_start(days[-1] + datetime.timedelta(days=1))
    taken: dict[tuple[str, int], list[tuple[datetime.datetime, datetime.datetime]]] = defaultdict(list)
    for professional_id, room_id, during in Reservation.objects.filter(
        during__overlap=DateTimeTZRange(first, last)
    ).values_list("professional_id", "room_id", "during"):
        key = ("professional", professional_id) if professional_id else ("room", room_id)
        taken[key].append((during.lower, during.upper))

    def free(key, start, end, margin=datetime.timedelta(0)) -> bool:
        return all(end + margin <= s or e + margin <= start for s, e in taken[key])

    members = defaultdict(set)
    for user_id, team_id in User.teams.through.objects.filter(
        user__role=Role.PROFESSIONAL, user__is_active=True
    ).values_list("user_id", "team_id"):
        members[user_id].add(team_id)
    gaps = (
        CareGap.objects.filter(
            closed_at__isnull=True,
            appointment__isnull=True,
            rule__check_kind=CareGapCheck.MEASUREMENT_DUE,
            rule__measurement_code__in=list(BOOKED_GAP_PURPOSES),
            patient__status=PatientStatus.ACTIVE,
            patient__responsible_professional__isnull=False,
        )
        .select_related("patient", "patient__responsible_professional", "rule")
        .order_by("patient_id", "id")
    )
    # One gap per citizen (HbA1c first), by the citizen's responsible professional.
    by_professional: dict[int, dict[int, CareGap]] = defaultdict(dict)
    for gap in gaps:
        professional = gap.patient.responsible_professional
        if gap.patient.team_id not in members.get(professional.pk, ()):
            continue
        mine = by_professional[professional.pk]
        if gap.patient_id not in mine or gap.rule.measurement_code == "hba1c":
            mine[gap.patient_id] = gap
    starts = [datetime.time(hour, minute) for hour in range(8, 15) for minute in (0, 30)]
    for professional_id in sorted(by_professional):
        mine = [by_professional[professional_id][pk] for pk in sorted(by_professional[professional_id])]
        for gap in rng.sample(mine, round(len(mine) * share)):
            if _book_gap(
                gap, rng=rng, days=days, starts=starts, rooms=rooms, free=free, taken=taken, result=result, tz=tz
            ):
                result.booked += 1
            else:
                result.unbooked += 1
    return result


def _book_gap(gap, *, rng, days, starts, rooms, free, taken, result, tz) -> bool:
    """A free time in the fortnight with the citizen's professional in a conversation room, booked
    through care_gap_book; a clash the service still finds is noted and another time tried."""
    professional = gap.patient.responsible_professional
    me = ("professional", professional.pk)
    for _attempt in range(40):
        day = rng.choice(days)
        start = datetime.datetime.combine(day, rng.choice(starts), tzinfo=tz)
        end = start + datetime.timedelta(minutes=30)
        room = rng.choice(rooms)
        if not (free(me, start, end, datetime.timedelta(minutes=15)) and free(("room", room.pk), start, end)):
            continue
        data = AppointmentData(
            kind=EncounterKind.INDIVIDUAL,
            starts_at=start,
            ends_at=end,
            place=Place.ROOM,
            professionals=[professional],
            room=room,
            purpose=BOOKED_GAP_PURPOSES[gap.rule.measurement_code],
        )
        try:
            services.care_gap_book(actor=professional, gap=gap, data=data)
        except ValidationError as error:
            if not any(e.code == "clash" for e in error.error_list):
                raise
            result.clashes += 1
            taken[me].append((start, end))
            continue
        taken[me].append((start, end))
        taken[("room", room.pk)].append((start, end))
        return True
    return False
