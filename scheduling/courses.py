"""Group courses (issue 13): creating a cohort from its weekly template, giving citizens places (or a
place on the waiting list), the attendance register of a session and what it means for completion,
dropping out and cancelling a session.

Each participant's place in a session is an Appointment (kind "group") pointing at the session, so
that no-shows are counted like every other appointment; the session itself holds the reservations of
the room and the professionals. Every write is atomic, takes the actor keyword-only, and writes an
access-log row under each citizen it concerns."""

import datetime
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from healthcenter import access
from healthcenter.models import AccessAction, Team, User
from patients import services as patient_services
from patients.models import EncounterKind, Patient, PatientStatus, Programme
from patients.services import _bump_version

from .definitions import completed
from .models import (
    CANCELLED_STATUSES,
    Appointment,
    AppointmentStatus,
    Course,
    CourseParticipant,
    CourseSession,
    CourseStatus,
    Holiday,
    ParticipantStatus,
    Place,
    Room,
    WaitingListEntry,
)
from .services import clash_messages, reserve

# A course of more than a year of weekly sessions is a typing error.
MOST_SESSIONS = 52
MOST_PLACES = 40


# --- the schedule ------------------------------------------------------------------------------------------


def session_days(*, weekday: int, first_day: datetime.date, count: int, holidays: set[datetime.date]) -> list:
    """`count` days on `weekday`, weekly from the first such day on or after `first_day`; a holiday is
    skipped and pushes the rest of the schedule a week on."""
    day = first_day + datetime.timedelta(days=(weekday - first_day.weekday()) % 7)
    days = []
    while len(days) < count:
        if day not in holidays:
            days.append(day)
        day += datetime.timedelta(weeks=1)
    return days


def _at(day: datetime.date, time: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, time))


def _start_of(day: datetime.date) -> datetime.datetime:
    return _at(day, datetime.time(0))


@dataclass
class CourseTemplate:
    """The weekly template, as the create form gives it."""

    weekday: int
    starts_at: datetime.time
    ends_at: datetime.time
    first_day: datetime.date
    session_count: int


def planned_sessions(template: CourseTemplate) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The sessions' times, holidays skipped (one query for the holidays in reach)."""
    reach = template.first_day + datetime.timedelta(weeks=template.session_count + 60)
    holidays = set(Holiday.objects.filter(day__gte=template.first_day, day__lte=reach).values_list("day", flat=True))
    days = session_days(
        weekday=template.weekday, first_day=template.first_day, count=template.session_count, holidays=holidays
    )
    return [(_at(day, template.starts_at), _at(day, template.ends_at)) for day in days]


def _course_errors(
    *, name: str, team: Team, room: Room, professionals: list[User], capacity: int, template: CourseTemplate, today
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not name.strip():
        add("name", _("Give the course a name, e.g. “Diabetesskole, forår 2027”."))
    if not 1 <= capacity <= MOST_PLACES:
        add("capacity", _("A course has from 1 to %(most)s places.") % {"most": MOST_PLACES})
    if not 0 <= template.weekday <= 6:
        add("weekday", _("Choose one of the options."))
    if template.ends_at <= template.starts_at:
        add("ends_at", _("The end must be after the start."))
    if not 1 <= template.session_count <= MOST_SESSIONS:
        add("session_count", _("A course has from 1 to %(most)s sessions.") % {"most": MOST_SESSIONS})
    if template.first_day < today:
        add("first_day", _("The first session cannot be on a day that has passed."))
    if not room.is_active:
        add("room", _("This room is no longer in use."))
    if not professionals:
        add("professionals", _("Choose at least one professional."))
    strangers = [p for p in professionals if not access.may_work_on(p, access.Work.CITIZENS, team.id)]
    if strangers:
        names = ", ".join(p.get_full_name() for p in strangers)
        add("professionals", _("%(names)s is not in the course's team.") % {"names": names})
    return errors


@transaction.atomic
def course_create(
    *,
    actor: User,
    name: str,
    programme: Programme,
    team: Team,
    room: Room,
    professionals: list[User],
    capacity: int,
    weekday: int,
    starts_at: datetime.time,
    ends_at: datetime.time,
    first_day: datetime.date,
    session_count: int,
    today: datetime.date | None = None,
) -> Course:
    """Creates the course and its weekly sessions (holidays skipped), each holding the room and the
    professionals. A clash in any session refuses the whole course, naming every clash. Coordinators
    of the team create courses. `today` is the day it is done (the demo creates its history)."""
    if not access.may_work_on(actor, access.Work.TRIAGE, team.id):
        raise ValidationError(_("Only the team's coordinators can create its courses."))
    template = CourseTemplate(weekday, starts_at, ends_at, first_day, session_count)
    errors = _course_errors(
        name=name,
        team=team,
        room=room,
        professionals=professionals,
        capacity=capacity,
        template=template,
        today=today or timezone.localdate(),
    )
    if errors:
        raise ValidationError(errors)
    times = planned_sessions(template)
    clashes = [
        message
        for start, end in times
        for message in clash_messages(starts_at=start, ends_at=end, professionals=professionals, room=room)
    ]
    if clashes:
        raise ValidationError(clashes, code="clash")
    course = Course.objects.create(
        name=name.strip(),
        programme=programme,
        team=team,
        room=room,
        capacity=capacity,
        weekday=weekday,
        starts_at=starts_at,
        ends_at=ends_at,
        first_day=first_day,
        session_count=session_count,
        created_by=actor,
    )
    course.professionals.set(professionals)
    for number, (start, end) in enumerate(times, start=1):
        session = CourseSession.objects.create(course=course, number=number, starts_at=start, ends_at=end)
        reserve(thing=session, starts_at=start, ends_at=end, professionals=professionals, room=room)
    return course


def _ensure_course_team(actor: User, course: Course) -> None:
    if not access.may_work_on(actor, access.Work.CITIZENS, course.team_id):
        raise ValidationError(_("Only the course's team can change it."))


def _log_each(actor: User, patient_public_ids, what: str) -> None:
    ids = list(dict.fromkeys(patient_public_ids))
    if ids:
        access.record_many(actor=actor, action=AccessAction.UPDATE, what=what, patient_public_ids=ids)


@transaction.atomic
def session_cancel(
    *,
    actor: User,
    session: CourseSession,
    expected_version: int,
    reason: str,
    now: datetime.datetime | None = None,
) -> CourseSession:
    """A session that will not be held (or was not): the room and the professionals are free again,
    the participants' places in it are cancelled by the centre with the reason, and it no longer
    counts among the sessions a participant had to attend."""
    _ensure_course_team(actor, session.course)
    if session.cancelled:
        raise ValidationError(_("This session is already cancelled."), code="closed")
    if session.registered_at is not None:
        raise ValidationError(_("Attendance has been registered for this session, so it was held."), code="closed")
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the session is cancelled.")})
    now = now or timezone.now()
    _bump_version(CourseSession, session, expected_version, cancelled=True, cancel_reason=reason.strip())
    session.reservations.all().delete()
    places = Appointment.objects.filter(session=session, status=AppointmentStatus.BOOKED)
    concerned = list(places.values_list("patient__public_id", flat=True))
    places.update(
        status=AppointmentStatus.CANCELLED_BY_CENTRE,
        cancel_reason=reason.strip(),
        status_changed_at=now,
        version=F("version") + 1,
    )
    _log_each(actor, concerned, gettext_noop("course session cancelled"))
    completion_update(course=session.course)
    return session


@transaction.atomic
def session_move(
    *,
    actor: User,
    session: CourseSession,
    expected_version: int,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    now: datetime.datetime | None = None,
) -> CourseSession:
    """Moves a session that is still to come (a holiday entered after the course was made): the room
    and the professionals move with it, or nothing changes when the new time clashes; the
    participants' places move too."""
    _ensure_course_team(actor, session.course)
    if session.cancelled or session.registered_at is not None:
        raise ValidationError(_("Only a session still to come can be moved."), code="closed")
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The end must be after the start.")})
    if starts_at < (now or timezone.now()):
        raise ValidationError({"starts_at": _("A session cannot be moved to a time that has passed.")})
    professionals = list(session.course.professionals.all())
    room = session.course.room
    clashes = clash_messages(
        starts_at=starts_at, ends_at=ends_at, professionals=professionals, room=room, ignoring_session=session
    )
    if clashes:
        raise ValidationError(clashes, code="clash")
    _bump_version(CourseSession, session, expected_version, starts_at=starts_at, ends_at=ends_at)
    session.reservations.all().delete()
    reserve(thing=session, starts_at=starts_at, ends_at=ends_at, professionals=professionals, room=room)
    places = Appointment.objects.filter(session=session, status=AppointmentStatus.BOOKED)
    concerned = list(places.values_list("patient__public_id", flat=True))
    places.update(starts_at=starts_at, ends_at=ends_at, version=F("version") + 1)
    _log_each(actor, concerned, gettext_noop("course session moved"))
    return session


# --- places and the waiting list -------------------------------------------------------------------------


def places_taken(course: Course) -> int:
    return course.participants.exclude(status=ParticipantStatus.DROPPED_OUT).count()


def _sessions_ahead(course: Course, today: datetime.date) -> QuerySet[CourseSession]:
    """The sessions a newcomer takes part in: not cancelled, not yet registered, today or later."""
    return course.sessions.filter(cancelled=False, registered_at__isnull=True, starts_at__gte=_start_of(today))


@transaction.atomic
def participant_add(
    *, actor: User, course: Course, patient: Patient, today: datetime.date | None = None
) -> CourseParticipant:
    """Gives the citizen a place on the course and in every session still to come; closes their
    entry on the programme's waiting list. A full course is refused (code "full"): the caller offers
    the waiting list instead."""
    today = today or timezone.localdate()
    # One place at a time: two coordinators filling the last place at once must not overfill it.
    course = Course.objects.select_for_update().select_related("programme").get(pk=course.pk)
    _ensure_course_team(actor, course)
    if not access.may_work_on(actor, access.Work.CITIZENS, patient.team_id):
        raise ValidationError(_("Only the citizen's care team can give them a place on a course."))
    if patient.team_id != course.team_id:
        # The course's team teaches, registers and writes the group encounters: it must care for
        # every participant (and only it sees their names on the course's pages).
        raise ValidationError(
            _("Only the citizens of the course's own team can join it; choose a course of the citizen's team."),
            code="team",
        )
    if patient.status != PatientStatus.ACTIVE:
        raise ValidationError(_("The citizen is no longer followed by the centre."))
    existing = course.participants.filter(patient=patient).first()
    if existing is not None:
        if existing.status == ParticipantStatus.DROPPED_OUT:
            raise ValidationError(_("The citizen dropped out of this course and cannot join it again."), code="in")
        raise ValidationError(_("The citizen already has a place on this course."), code="in")
    sessions = list(_sessions_ahead(course, today))
    if course.status in (CourseStatus.FINISHED, CourseStatus.CANCELLED) or not sessions:
        raise ValidationError(_("The course has no sessions left to join."), code="over")
    held = course.sessions.filter(cancelled=False).count()
    if not completed(attended=len(sessions), held=held):
        # Joining this late, the citizen could not complete even by coming every time: they would
        # only lower the course's completion figure. The next cohort is the place for them.
        raise ValidationError(
            _(
                "Only %(left)s of the course's %(held)s sessions are left, too few to complete it (at least 75 %%). "
                "Put the citizen on the waiting list for the next course."
            )
            % {"left": len(sessions), "held": held},
            code="late",
        )
    taken = places_taken(course)
    if taken >= course.capacity:
        raise ValidationError(
            _("The course is full (%(taken)s of %(places)s places taken). Put the citizen on the waiting list.")
            % {"taken": taken, "places": course.capacity},
            code="full",
        )
    participant = CourseParticipant.objects.create(course=course, patient=patient, joined_on=today, added_by=actor)
    professionals = list(course.professionals.all())
    appointments = Appointment.objects.bulk_create(
        Appointment(
            patient=patient,
            kind=EncounterKind.GROUP,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            place=Place.ROOM,
            room_id=course.room_id,
            purpose=course.name[:200],
            session=session,
            booked_by=actor,
            booked_at=_at(today, datetime.time(8)) if today != timezone.localdate() else timezone.now(),
        )
        for session in sessions
    )
    Appointment.professionals.through.objects.bulk_create(
        Appointment.professionals.through(appointment_id=appointment.pk, user_id=professional.pk)
        for appointment in appointments
        for professional in professionals
    )
    WaitingListEntry.objects.filter(patient=patient, programme=course.programme, closed_on__isnull=True).update(
        placed_in=course, closed_on=today
    )
    access.record(
        actor=actor,
        action=AccessAction.UPDATE,
        what=gettext_noop("course place given"),
        patient_public_id=patient.public_id,
    )
    return participant


@transaction.atomic
def waiting_list_add(
    *,
    actor: User,
    patient: Patient,
    programme: Programme,
    team: Team,
    wanted: Course | None = None,
    today: datetime.date | None = None,
) -> WaitingListEntry:
    """Puts the citizen on the waiting list for the team's next course of the programme."""
    if not (
        access.may_work_on(actor, access.Work.CITIZENS, patient.team_id)
        and access.may_work_on(actor, access.Work.CITIZENS, team.id)
    ):
        raise ValidationError(_("Only the citizen's care team can put them on a waiting list."))
    if patient.status != PatientStatus.ACTIVE:
        raise ValidationError(_("The citizen is no longer followed by the centre."))
    if WaitingListEntry.objects.filter(patient=patient, programme=programme, closed_on__isnull=True).exists():
        raise ValidationError(_("The citizen is already on the waiting list for this programme."), code="waiting")
    entry = WaitingListEntry.objects.create(
        patient=patient,
        programme=programme,
        team=team,
        wanted=wanted,
        added_on=today or timezone.localdate(),
        added_by=actor,
    )
    access.record(
        actor=actor,
        action=AccessAction.UPDATE,
        what=gettext_noop("put on a course waiting list"),
        patient_public_id=patient.public_id,
    )
    return entry


@transaction.atomic
def participant_drop_out(
    *,
    actor: User,
    participant: CourseParticipant,
    expected_version: int,
    on: datetime.date,
    reason: str,
    now: datetime.datetime | None = None,
) -> CourseParticipant:
    """The citizen stopped: recorded with the day and the reason; their places in the sessions from
    that day on that are not registered yet are cancelled by the citizen. One who stops before the
    first session is recorded too (the completion figure leaves them out)."""
    now = now or timezone.now()
    _ensure_course_team(actor, participant.course)
    if participant.status == ParticipantStatus.DROPPED_OUT:
        raise ValidationError(_("The citizen has already dropped out."), code="closed")
    errors = {}
    if not reason.strip():
        errors["reason"] = [_("Write why the citizen stopped.")]
    if on > timezone.localdate(now):
        errors["on"] = [_("The day cannot be in the future.")]
    elif on < participant.joined_on:
        errors["on"] = [_("The day cannot be before the citizen joined the course.")]
    if errors:
        raise ValidationError(errors)
    _bump_version(
        CourseParticipant,
        participant,
        expected_version,
        status=ParticipantStatus.DROPPED_OUT,
        dropped_out_on=on,
        dropout_reason=reason.strip(),
    )
    Appointment.objects.filter(
        patient_id=participant.patient_id,
        session__course_id=participant.course_id,
        session__registered_at__isnull=True,
        session__starts_at__gte=_start_of(on),
        status=AppointmentStatus.BOOKED,
    ).update(
        status=AppointmentStatus.CANCELLED_BY_CITIZEN,
        cancel_reason=_("Dropped out of the course: %(reason)s") % {"reason": reason.strip()},
        status_changed_at=now,
        version=F("version") + 1,
    )
    access.record(
        actor=actor,
        action=AccessAction.UPDATE,
        what=gettext_noop("dropped out of a course"),
        patient_public_id=participant.patient.public_id,
    )
    return participant


# --- the register and completion ----------------------------------------------------------------------------


@dataclass
class Attendance:
    """One line of the register: the participant's place in the session, whether they came, and the
    short note about them."""

    appointment: uuid.UUID
    came: bool
    note: str = ""


def session_places(session: CourseSession) -> QuerySet[Appointment]:
    """The register's lines: every participant's place in the session that was not cancelled, of the
    citizens the course's team cares for (one who moved away keeps their past attendance, unnamed and
    untouched, scheduling migration 0004)."""
    return (
        session.appointments.exclude(status__in=CANCELLED_STATUSES)
        .filter(patient__team_id=session.course.team_id)
        .select_related("patient", "encounter")
        .order_by("patient__last_name", "patient__first_name", "id")
    )


def _minutes(session: CourseSession) -> int:
    return min(600, max(1, round((session.ends_at - session.starts_at).total_seconds() / 60)))


def _encounter_note(shared: str, individual: str) -> str:
    return "\n\n".join(part for part in (shared.strip(), individual.strip()) if part)


@transaction.atomic
def session_register(
    *,
    actor: User,
    session: CourseSession,
    expected_version: int,
    note: str,
    attendance: list[Attendance],
    now: datetime.datetime | None = None,
) -> CourseSession:
    """Takes (or corrects) the register of a session that has begun. Each attendee's place becomes
    attended and gets one signed group encounter (the shared note, then their own); everyone else's
    becomes did not attend. A signed encounter is never edited: one taken back gets an amendment
    saying the citizen did not attend after all, and one ticked again an amendment saying they did.
    Completion is recomputed for the whole course."""
    now = now or timezone.now()
    course = session.course
    _ensure_course_team(actor, course)
    if session.cancelled:
        raise ValidationError(_("This session was cancelled."), code="closed")
    if session.starts_at > now:
        raise ValidationError(_("Attendance can be registered once the session has begun."), code="early")
    _bump_version(CourseSession, session, expected_version, note=note.strip(), registered_at=now, registered_by=actor)
    lines = {line.appointment: line for line in attendance}
    places = list(session_places(session).select_for_update(of=("self",)))
    for place in places:
        line = lines.get(place.public_id, Attendance(place.public_id, came=False))
        _register_one(actor=actor, session=session, place=place, line=line, now=now)
    _log_each(actor, [place.patient.public_id for place in places], gettext_noop("course attendance registered"))
    completion_update(course=course)
    return session


def _register_one(*, actor: User, session: CourseSession, place: Appointment, line: Attendance, now) -> None:
    changes: dict = {}
    if line.came and place.status != AppointmentStatus.ATTENDED:
        if place.encounter is None:
            encounter = patient_services.encounter_create(
                actor=actor,
                patient=place.patient,
                data=patient_services.EncounterData(
                    kind=EncounterKind.GROUP,
                    started_at=session.starts_at,
                    duration_minutes=_minutes(session),
                    note=_encounter_note(session.note, line.note),
                ),
                sign=False,
            )
            # Signed when the register is taken (the demo takes its history's registers on their days).
            patient_services.encounter_sign(
                actor=actor, encounter=encounter, expected_version=encounter.version, at=now
            )
            changes["encounter"] = encounter
        else:
            text = _("Attended the session after all (the register was corrected).")
            patient_services.encounter_amend(
                actor=actor, encounter=place.encounter, text=_encounter_note(text, line.note)
            )
        changes["status"] = AppointmentStatus.ATTENDED
    elif line.came and line.note.strip() and place.encounter is not None and place.encounter.is_signed:
        # Already registered as attended: their signed encounter is never edited, so a note typed now
        # is added to it (it was silently dropped before).
        patient_services.encounter_amend(
            actor=actor,
            encounter=place.encounter,
            text=_("Added after the register: %(note)s") % {"note": line.note.strip()},
        )
    elif not line.came and place.status != AppointmentStatus.DID_NOT_ATTEND:
        if place.status == AppointmentStatus.ATTENDED and place.encounter is not None:
            patient_services.encounter_amend(
                actor=actor,
                encounter=place.encounter,
                text=_("Did not attend the session after all (the register was corrected)."),
            )
        changes["status"] = AppointmentStatus.DID_NOT_ATTEND
    if changes:
        Appointment.objects.filter(pk=place.pk).update(status_changed_at=now, version=F("version") + 1, **changes)


@transaction.atomic
def completion_update(*, course: Course) -> None:
    """Each participant who did not drop out has completed once every held session is registered if
    they attended at least 75 % of them (definitions.completed), and not completed otherwise; before
    that they are participating. The course runs from its first registered session and is finished
    when every held session is registered."""
    held = course.sessions.filter(cancelled=False)
    counts = held.aggregate(held=Count("id"), registered=Count("id", filter=Q(registered_at__isnull=False)))
    all_registered = counts["held"] > 0 and counts["registered"] == counts["held"]
    attended = dict(
        Appointment.objects.filter(session__course=course, session__cancelled=False, status=AppointmentStatus.ATTENDED)
        .values_list("patient_id")
        .annotate(n=Count("id"))
    )
    wanted: dict[str, list[int]] = {}
    for pk, patient_id, status in course.participants.exclude(status=ParticipantStatus.DROPPED_OUT).values_list(
        "pk", "patient_id", "status"
    ):
        if not all_registered:
            new = ParticipantStatus.ENROLLED
        elif completed(attended=attended.get(patient_id, 0), held=counts["held"]):
            new = ParticipantStatus.COMPLETED
        else:
            new = ParticipantStatus.NOT_COMPLETED
        if new != status:
            wanted.setdefault(new, []).append(pk)
    for status, pks in wanted.items():
        CourseParticipant.objects.filter(pk__in=pks).update(status=status, version=F("version") + 1)
    if course.status != CourseStatus.CANCELLED:
        if all_registered:
            status = CourseStatus.FINISHED
        elif counts["registered"]:
            status = CourseStatus.RUNNING
        else:
            status = CourseStatus.PLANNED
        if status != course.status:
            Course.objects.filter(pk=course.pk).update(status=status)
            course.status = status


# --- reads for the pages ------------------------------------------------------------------------------------


def participant_for(
    user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW
) -> CourseParticipant:
    """A participant is a citizen's place on a course: the course's team works with it, within the
    citizen's care relation; anyone else gets 404, logged under the citizen."""
    participant = (
        CourseParticipant.objects.select_related("course", "course__team", "course__programme", "patient")
        .filter(public_id=public_id)
        .first()
    )
    access.authorise(
        user,
        participant.patient if participant else None,
        what=what,
        action=action,
        condition=participant is not None and access.cares_for(user, participant.course.team_id),
    )
    return participant


def _open_waits() -> QuerySet[WaitingListEntry]:
    return WaitingListEntry.objects.filter(closed_on__isnull=True)


def courses_for(user: User) -> QuerySet[Course]:
    """The courses of the user's teams, with places taken, the waiting list of their programme and
    the first and last held session: one query."""
    waiting = (
        _open_waits()
        .filter(team_id=OuterRef("team_id"), programme_id=OuterRef("programme_id"))
        .order_by()
        .values("team_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        Course.objects.filter(team_id__in=access.care_team_ids(user))
        .select_related("team", "room", "programme")
        .annotate(
            taken=Count("participants", filter=~Q(participants__status=ParticipantStatus.DROPPED_OUT), distinct=True),
            waiting=Coalesce(Subquery(waiting), 0),
            first_session=Min("sessions__starts_at", filter=Q(sessions__cancelled=False)),
        )
        .order_by("first_day", "name")
    )


def course_phase(course: Course, now: datetime.datetime) -> str:
    """How the list groups a course: upcoming until its first session, running until it is finished."""
    if course.status in (CourseStatus.FINISHED, CourseStatus.CANCELLED):
        return "finished"
    if course.first_session is not None and course.first_session <= now:
        return "running"
    return "upcoming"


def _places_of_the_session(places: QuerySet[Appointment]) -> Coalesce:
    """A count of one session's places, looked up through the session's index: a correlated count per
    shown session, never a pass over every group appointment of the centre."""
    count = places.filter(session_id=OuterRef("pk")).order_by().values("session_id").annotate(n=Count("id"))
    return Coalesce(Subquery(count.values("n")), 0)


def course_sessions(course: Course) -> QuerySet[CourseSession]:
    return course.sessions.annotate(
        came=_places_of_the_session(Appointment.objects.filter(status=AppointmentStatus.ATTENDED)),
        expected=_places_of_the_session(Appointment.objects.exclude(status__in=CANCELLED_STATUSES)),
    ).order_by("number")


def course_participants(course: Course) -> QuerySet[CourseParticipant]:
    attended = (
        Appointment.objects.filter(
            patient_id=OuterRef("patient_id"),
            session__course_id=course.pk,
            session__cancelled=False,
            status=AppointmentStatus.ATTENDED,
        )
        .order_by()
        .values("patient_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        course.participants.select_related("patient")
        .annotate(attended=Coalesce(Subquery(attended), 0))
        .order_by("patient__last_name", "patient__first_name", "id")
    )


def waiting_for(course: Course) -> QuerySet[WaitingListEntry]:
    """Who waits for a course of this programme in this team, first come first (not those already on it)."""
    return (
        _open_waits()
        .filter(team_id=course.team_id, programme_id=course.programme_id)
        .exclude(patient__course_places__course=course)
        .select_related("patient", "wanted")
        .order_by("added_on", "id")
    )
