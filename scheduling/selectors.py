"""Reads of the calendar that depend on the user. An appointment belongs to its citizen's record: it
is found and logged through the citizen's care relation (healthcenter.access), like an encounter.
Calendars of a person, a team or a room show appointments of citizens the viewer does not care for
too (a colleague in two teams, a shared room), but only as "booked", never with the citizen's name."""

import uuid

from django.db.models import QuerySet

from healthcenter import access
from healthcenter.models import AccessAction, User

from .models import Appointment, Course, CourseSession


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
