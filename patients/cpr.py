"""Danish CPR numbers: DDMMYY-SSSS. The seventh digit and the year together give the century;
the last digit's parity gives the legal sex. The modulus-11 check is not applied: numbers
issued since 2007 need not satisfy it."""

import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# ASCII digits only: Python's \d also reads Arabic-Indic or full-width digits, which the database
# refuses (a server error) or would keep as a second number for the same citizen.
_CPR_RE = re.compile(r"([0-9]{6})-?([0-9]{4})")


@dataclass(frozen=True)
class CprFacts:
    number: str
    birth_date: datetime.date
    sex: str  # "female" or "male"


def _century(seventh_digit: int, year: int) -> int:
    if seventh_digit <= 3:
        return 1900
    if seventh_digit in (4, 9):
        return 2000 if year <= 36 else 1900
    # 5, 6, 7, 8
    return 2000 if year <= 57 else 1800


def normalise(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw or "")


def parse_cpr(raw: str) -> CprFacts:
    """Returns the number's facts or raises ValidationError with a message for the user."""
    # Any whitespace is left out, as `normalise` does for the search: a tab or a pasted no-break space
    # between date and serial is read like a space.
    match = _CPR_RE.fullmatch(re.sub(r"\s", "", raw or ""))
    if not match:
        raise ValidationError(_("A CPR number has 10 digits, written DDMMYY-XXXX."), code="cpr_format")
    date_part, serial = match.groups()
    day, month, year = int(date_part[0:2]), int(date_part[2:4]), int(date_part[4:6])
    full_year = _century(int(serial[0]), year) + year
    try:
        birth_date = datetime.date(full_year, month, day)
    except ValueError:
        raise ValidationError(
            _("The CPR number's first six digits are not a valid date (DDMMYY)."), code="cpr_date"
        ) from None
    if birth_date > timezone.localdate():
        raise ValidationError(_("The CPR number gives a birth date in the future."), code="cpr_future")
    sex = "male" if int(serial[3]) % 2 else "female"
    return CprFacts(number=date_part + serial, birth_date=birth_date, sex=sex)


def mask(number: str) -> str:
    """DDMMYY-XXXX: what is shown outside the care team and on printed material."""
    return f"{number[:6]}-XXXX"


def formatted(number: str) -> str:
    return f"{number[:6]}-{number[6:]}"
