"""The calendar's definitions, once (DESIGN.md "Indicator definitions, exactly"), used by the course
pages, the register, the rollups and the independent recomputation alike."""

from fractions import Fraction

from .models import HELD_OR_MISSED, AppointmentStatus, CourseSession, ParticipantStatus

# A participant who attended at least this share of the course's held sessions has completed it.
COMPLETION_SHARE = Fraction(3, 4)


def completed(*, attended: int, held: int) -> bool:
    """At least 75 % of the held sessions attended (exactly, without rounding: 6 of 8 is 75 % and
    completes; 5 of 7 is 71 % and does not). A course with no held session completes no one."""
    return held > 0 and Fraction(attended, held) >= COMPLETION_SHARE


def counts_for_no_show(status: str) -> bool:
    """OPS-NO-SHOW's denominator: appointments held or missed; cancellations are left out."""
    return status in HELD_OR_MISSED


def is_no_show(status: str) -> bool:
    """OPS-NO-SHOW's numerator."""
    return status == AppointmentStatus.DID_NOT_ATTEND


# --- OPS-COURSE-COMPLETION ---------------------------------------------------------------------------------------
# Precisely (DESIGN.md "Indicator definitions, exactly", decided here once):
# - A session is held unless it is cancelled; a cancelled session neither counts among the sessions
#   to attend nor moves the course's last session.
# - A course "ends" in the month of the local date (Europe/Copenhagen) of its last held session's
#   start. A course without a held session ends in no month. The course's own status (planned,
#   running, finished, cancelled) plays no part: its sessions say what was held.
# - A participant "withdrew before the first session" when they are recorded as dropped out on a
#   day before the local date of the course's first held session; a drop-out on that day or later is
#   counted (and completes only by attendance).
# - A participant attended a session when their appointment for that session has the status
#   attended; a session counts once however many appointments point at it.
# - Completed: at least 75 % of the held sessions attended (completed() above); a drop-out after the
#   start is counted with the sessions they attended.


def is_held(*, cancelled: bool) -> bool:
    """A session is held unless it is cancelled."""
    return not cancelled


def held_sessions():
    """The held sessions (a queryset of CourseSession), as is_held states it."""
    return CourseSession.objects.filter(cancelled=False)


def attended_session(status: str) -> bool:
    """A participant's appointment for a held session counts as attended."""
    return status == AppointmentStatus.ATTENDED


def withdrew_before_start(*, status: str, dropped_out_on, first_held_day) -> bool:
    """Left out of OPS-COURSE-COMPLETION: dropped out on a day before the first held session's local
    date. With no held session the course ends in no month, so the question does not arise."""
    return (
        status == ParticipantStatus.DROPPED_OUT
        and dropped_out_on is not None
        and first_held_day is not None
        and dropped_out_on < first_held_day
    )


def statuses(predicate) -> list[str]:
    """The appointment statuses a predicate above holds for, for a query (e.g. counts_for_no_show)."""
    return [status for status in AppointmentStatus.values if predicate(status)]
