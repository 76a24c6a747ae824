"""Danish phone numbers: eight digits, written by people with spaces and an optional +45 or 0045.
Stored as the eight digits, shown in pairs."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_PHONE_RE = re.compile(r"^(?:(?:\+|00)45)?([0-9]{8})$")  # ASCII digits: \d reads any script's


def parse_phone(raw: str) -> str:
    """The eight digits of a Danish phone number, or "" for an empty one; anything else is refused
    with a message for the user rather than stored as typed."""
    text = re.sub(r"[\s\u00a0-]", "", raw or "")
    if not text:
        return ""
    match = _PHONE_RE.match(text)
    if not match:
        raise ValidationError(
            _("A Danish phone number has eight digits, e.g. 12 34 56 78 or +45 12 34 56 78."), code="phone"
        )
    return match.group(1)


def formatted(number: str) -> str:
    """12 34 56 78; a number stored before numbers were checked is shown as it was typed."""
    if re.fullmatch(r"\d{8}", number or ""):
        return " ".join(number[i : i + 2] for i in range(0, 8, 2))
    return number or ""
