"""Reads of the calendar that depend on the user. An appointment belongs to its citizen's record: it
is found and logged through the citizen's care relation (healthcenter.access), like an encounter.
Calendars of a person, a team or a room show appointments of citizens the viewer does not care for
too (a colleague in two teams, a shared room), but only as "booked", never with the citizen's name."""

import datetime
import uuid
from dataclasses import dataclass, field

from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from healthcenter import access
from healthcenter.models import AccessAction, Role, Team, User
from patients.models import Patient, PatientStatus
from patients.selectors import PatientSearch, patient_search

from .models import (
    Appointment,
    Course,
    CourseParticipant,
    CourseSession,
    CourseStatus,
    ParticipantStatus,
    Reservation,
    Room,
)


def _appointments() -> QuerySet[Appointment]:
    return Appointment.objects.select_related("patient", "patient__team", "room", "session__course")


def appointment_for(
    user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW
) -> Appointment:
    """The appointment, if the user cares for its citizen; 404 otherwise. Logged under the citizen."""
    appointment = _appointments().filter(public_id=public_id).first()
    access.authorise(user, appointment.patient if appointment else None, what=what, action=action)
    return appointment


def shows_citizen(user: User, appointment: Appointment) -> bool:
    """Whether a calendar may name the appointment's citizen to this user: only within the care
    relation. Everyone else sees the time taken, the kind and the place."""
    return access.cares_for(user, appointment.patient.team_id)


def course_for(user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW) -> Course:
    """A course is its team's: the team's professionals and coordinators work with it; anyone else
    gets 404 (logged, without a citizen)."""
    course = Course.objects.select_related("team", "room", "programme").filter(public_id=public_id).first()
    if course is None:
        access.deny(user, what=what, action=action)
    access.authorise_team(user, course.team_id, what=what, action=action)
    return course


def session_for(
    user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW
) -> CourseSession:
    session = (
        CourseSession.objects.select_related("course", "course__team", "course__room")
        .filter(public_id=public_id)
        .first()
    )
    if session is None:
        access.deny(user, what=what, action=action)
    access.authorise_team(user, session.course.team_id, what=what, action=action)
    return session


# --- my day ------------------------------------------------------------------------------------------------


@dataclass
class DayItem:
    """One line of a professional's day: an appointment with one citizen, or a course session taught
    (shown once, with its number of participants, however many citizens' appointments point at it)."""

    starts_at: datetime.datetime
    ends_at: datetime.datetime
    appointment: Appointment | None = None
    session: CourseSession | None = None
    participants: int = 0
    # Whether the viewer may see the citizen's name (scheduling.selectors.shows_citizen).
    named: bool = False
    others: list[User] = field(default_factory=list)

    @property
    def cancelled(self) -> bool:
        return self.session.cancelled if self.session is not None else self.appointment.is_cancelled


@dataclass
class Day:
    day: datetime.date
    items: list[DayItem]
    cancelled: list[DayItem]


# The days the calendar takes and shows: far wider than any real plan, and far enough inside what Python's
# dates can hold that a page can link the day or week before and after, and an appointment or a year of
# weekly sessions can end, without overflowing (a ?day=9999-12-31 or a course from 9999-12-25 did).
FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(2999, 12, 31)


def in_calendar(day: datetime.date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The local day as aware moments, [start, end): a day with a daylight-saving change has 23 or 25 hours."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    end = timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min))
    return start, end


def my_day(user: User, day: datetime.date) -> Day:
    """The user's own appointments and the course sessions they teach on a local day, in time order,
    the cancelled ones apart. Three queries whatever the size of the day (appointments, their
    professionals, sessions with their participant count), plus the user's teams once."""
    start, end = day_bounds(day)
    appointments = (
        _appointments()
        .select_related("encounter")
        .prefetch_related(Prefetch("professionals", queryset=User.objects.order_by("first_name", "last_name")))
        .filter(professionals=user, starts_at__gte=start, starts_at__lt=end, session__isnull=True)
        .order_by("starts_at", "id")
    )
    taking_part = (
        CourseParticipant.objects.filter(course=OuterRef("course"))
        .exclude(status=ParticipantStatus.DROPPED_OUT)
        .order_by()
        .values("course")
        .annotate(count=Count("id"))
        .values("count")
    )
    sessions = (
        CourseSession.objects.select_related("course", "course__room")
        .filter(course__professionals=user, starts_at__gte=start, starts_at__lt=end)
        .exclude(course__status=CourseStatus.CANCELLED)
        .annotate(taking_part=Coalesce(Subquery(taking_part), 0))
        .order_by("starts_at", "id")
    )
    items = [
        DayItem(
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            appointment=a,
            named=shows_citizen(user, a),
            others=[p for p in a.professionals.all() if p.pk != user.pk],
        )
        for a in appointments
    ]
    items += [
        DayItem(starts_at=s.starts_at, ends_at=s.ends_at, session=s, participants=s.taking_part) for s in sessions
    ]
    items.sort(key=lambda item: item.starts_at)
    return Day(
        day=day,
        items=[item for item in items if not item.cancelled],
        cancelled=[item for item in items if item.cancelled],
    )


def appointment_logged(encounter) -> Appointment | None:
    """The appointment an encounter was logged from, with its professionals (the encounter form says
    "from the appointment at 10.00 with ..."). The encounter was found through the care relation."""
    return Appointment.objects.filter(encounter=encounter).prefetch_related("professionals").first()


# --- week views


def week_reservations(
    *,
    start: datetime.datetime,
    end: datetime.datetime,
    professionals: list[User] | None = None,
    room: Room | None = None,
) -> list[Reservation]:
    """What takes the professionals' (or the room's) time between `start` and `end`: their
    reservations, each with its appointment (citizen, room, professionals) or course session. The
    reservations are the calendar's own truth (a cancelled appointment has given its back), and one
    query reads them however full the week is."""
    taken = Reservation.objects.filter(during__overlap=DateTimeTZRange(start, end))
    if room is not None:
        taken = taken.filter(room=room)
    else:
        taken = taken.filter(professional__in=[p.pk for p in professionals or []])
    return list(
        taken.select_related(
            "appointment__patient",
            "appointment__room",
            "session__course__room",
        )
        .prefetch_related(
            Prefetch("appointment__professionals", queryset=User.objects.order_by("first_name", "last_name")),
            Prefetch("session__course__professionals", queryset=User.objects.order_by("first_name", "last_name")),
        )
        .order_by("during")
    )


def colleague_for(user: User, pk: int | str, *, what: str) -> User:
    """A colleague whose week the user may see: someone who works with citizens in one of the user's
    care teams (the user themself too). Anyone else is 404, logged."""
    try:
        colleague = (
            User.objects.filter(pk=int(pk), teams__in=access.care_team_ids(user), is_active=True).distinct().first()
        )
    except (TypeError, ValueError):
        colleague = None
    if colleague is None or not access.may(colleague, access.Work.CITIZENS):
        access.deny(user, what=what)
    return colleague


def team_for(user: User, public_id: uuid.UUID, *, what: str) -> Team:
    """One of the user's care teams; 404 (logged) for any other."""
    team = Team.objects.filter(public_id=public_id).first()
    access.authorise_team(user, team.pk if team else None, what=what)
    return team


def room_for(user: User, public_id: uuid.UUID | str | None, *, what: str, active_only: bool = False) -> Room:
    """A room of the centre (anyone who works with citizens sees its week); 404, logged, if none."""
    try:
        room = Room.objects.filter(public_id=uuid.UUID(str(public_id))).first()
    except ValueError:
        room = None
    if room is None or (active_only and not room.is_active):
        access.deny(user, what=what)
    return room


def team_professionals(team_ids: set[int] | list[int]) -> QuerySet[User]:
    """The teams' professionals (role professional): the people appointments are booked with and
    courses taught by. Coordinators also work with citizens but do not meet them in the calendar, so
    they are not offered (the services still accept whoever works with citizens in the team)."""
    return (
        User.objects.filter(teams__in=team_ids, is_active=True, role=Role.PROFESSIONAL)
        .distinct()
        .order_by("first_name", "last_name", "pk")
    )


# A free slot's citizen search shows at most this many matches; a longer list asks for more of the name.
SLOT_SEARCH_LIMIT = 20


def bookable_citizens(user: User, search: PatientSearch) -> tuple[list[Patient], bool]:
    """The active citizens a free slot may be booked for that match the search: the citizens list's
    own search (patients.selectors.patient_search: a name, or a CPR number by prefix, among the user's
    care teams; `search.team_id` narrows it to one of them), in name order, at most SLOT_SEARCH_LIMIT,
    and whether there are more. One query however many citizens the teams have. The caller logs the
    search (patients.selectors.patient_search_logged) when it shows it."""
    found = list(
        patient_search(user, search)
        .filter(status=PatientStatus.ACTIVE)
        .select_related(None)
        .select_related("team")
        .prefetch_related(None)[: SLOT_SEARCH_LIMIT + 1]
    )
    return found[:SLOT_SEARCH_LIMIT], len(found) > SLOT_SEARCH_LIMIT


# The patient page's list: every coming appointment and this many of the past.
PAST_APPOINTMENTS_SHOWN = 5


def patient_appointment_lists(
    patient: Patient, *, now: datetime.datetime
) -> tuple[list[Appointment], list[Appointment]]:
    """The citizen's coming appointments (cancelled ones too, so a cancellation is seen) in time
    order, and the last few past ones, newest first; two queries plus one for the professionals."""
    people = Prefetch("professionals", queryset=User.objects.order_by("first_name", "last_name"))
    mine = Appointment.objects.filter(patient=patient).select_related("room", "session__course")
    coming = list(mine.filter(ends_at__gte=now).prefetch_related(people).order_by("starts_at"))
    past = list(mine.filter(ends_at__lt=now).prefetch_related(people).order_by("-starts_at")[:PAST_APPOINTMENTS_SHOWN])
    return coming, past
