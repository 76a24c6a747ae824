"""The calendar's definitions, once (DESIGN.md "Indicator definitions, exactly"), used by the course
pages, the register, the rollups and the independent recomputation alike."""

from fractions import Fraction

from .models import HELD_OR_MISSED, AppointmentStatus

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
