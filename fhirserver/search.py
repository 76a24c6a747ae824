"""FHIR search parameters as the views take them: references (patient=Patient/<id>), tokens
(code=system|code), dates with prefixes (date=ge2026-01-01&date=le2026-12-31), `_count` and
`_offset`. Anything else, or a value of the wrong form, is a 400 (an OperationOutcome), never a 500:
this server handles search parameters strictly, so that a client never reads an unfiltered result
as a filtered one."""

import datetime
import re
import uuid
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import dateparse, timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions

from patients.definitions import add_months, day_start

DEFAULT_COUNT = 50
MAX_COUNT = 200
# Parameters every search takes and that change nothing in the result's content.
IGNORED = {"_format", "_pretty"}
PAGING = {"_count", "_offset"}


class BadSearch(exceptions.APIException):
    """A search the server cannot answer as asked: 400 with an OperationOutcome."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str = "invalid"):
        super().__init__(message, code=code)
        self.issue_code = code


@dataclass
class Paging:
    count: int = DEFAULT_COUNT
    offset: int = 0


@dataclass
class Parsed:
    """The request's search parameters, checked: each name with its values (a repeated parameter
    is AND, a comma inside one value is OR, as FHIR says)."""

    values: dict[str, list[str]] = field(default_factory=dict)
    paging: Paging = field(default_factory=Paging)

    def one(self, name: str) -> str | None:
        values = self.values.get(name)
        if not values:
            return None
        if len(values) > 1 or "," in values[0]:
            raise BadSearch(_("Give the search parameter %(name)s once, with one value.") % {"name": name})
        return values[0]


def parse(query_params, allowed: set[str]) -> Parsed:
    parsed = Parsed()
    for name in query_params:
        values = query_params.getlist(name)
        if name in IGNORED:
            continue
        if name in PAGING:
            continue
        if name not in allowed:
            raise BadSearch(
                _("The search parameter %(name)s is not supported here.") % {"name": name[:60]}, code="not-supported"
            )
        if any(not v.strip() for v in values):
            raise BadSearch(_("The search parameter %(name)s has no value.") % {"name": name})
        if any("\x00" in v for v in values):  # PostgreSQL refuses a NUL byte in a query
            raise BadSearch(_("The search parameter %(name)s holds a NUL character.") % {"name": name})
        parsed.values[name] = [v.strip() for v in values]
    parsed.paging = Paging(
        count=_whole(query_params, "_count", DEFAULT_COUNT, 0, MAX_COUNT),
        offset=_whole(query_params, "_offset", 0, 0, 10**9),
    )
    return parsed


def _whole(query_params, name: str, default: int, low: int, high: int) -> int:
    raw = query_params.getlist(name)
    if not raw:
        return default
    # ASCII digits only, and few enough for int(): str.isdigit() also takes "²", which int() refuses.
    if len(raw) > 1 or not re.fullmatch(r"[0-9]{1,12}", raw[0]):
        raise BadSearch(_("%(name)s must be one whole number.") % {"name": name})
    return min(max(int(raw[0]), low), high)


# --- references -----------------------------------------------------------------------------------------


def reference_id(value: str, resource_type: str = "Patient") -> uuid.UUID:
    """`Patient/<id>`, `<id>` or an absolute URL ending in `Patient/<id>`."""
    parts = value.rstrip("/").split("/")
    named = parts[-2] if len(parts) > 1 else resource_type
    try:
        if named != resource_type:
            raise ValueError
        return uuid.UUID(parts[-1])
    except ValueError:
        raise BadSearch(_("Give a reference of the form %(type)s/<id>.") % {"type": resource_type}) from None


# --- tokens ------------------------------------------------------------------------------------------------


def tokens(value: str) -> list[tuple[str | None, str]]:
    """`system|code`, `|code` (no system) or `code` (any system), comma-separated for OR; the
    system None means any."""
    found = []
    for part in value.split(","):
        if "|" in part:
            system, code = part.split("|", 1)
        else:
            system, code = None, part
        if not code:
            raise BadSearch(_("Give a code, as system|code or code."))
        found.append((system, code))
    return found


# --- dates ---------------------------------------------------------------------------------------------------

_DATE = re.compile(r"^(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?(?P<value>\d{4}(?:-\d{2}(?:-\d{2}(?:T.+)?)?)?)$")
SUPPORTED_PREFIXES = {"eq", "gt", "lt", "ge", "le"}


def _bounds(value: str) -> tuple[datetime.datetime, datetime.datetime]:
    """The instants [start, end) a date of any precision stands for, in the centre's time zone."""
    try:
        if "T" in value:
            moment = dateparse.parse_datetime(value)
            if moment is None:
                raise ValueError
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            return moment, moment + datetime.timedelta(seconds=1)
        parts = [int(p) for p in value.split("-")]
        if len(parts) == 1:
            first = datetime.date(parts[0], 1, 1)
            after = add_months(first, 12)
        elif len(parts) == 2:
            first = datetime.date(parts[0], parts[1], 1)
            after = add_months(first, 1)
        else:
            first = datetime.date(*parts)
            after = first + datetime.timedelta(days=1)
        return day_start(first), day_start(after)
    except (ValueError, OverflowError):
        raise BadSearch(
            _("%(value)s is not a date (YYYY, YYYY-MM, YYYY-MM-DD or a time).") % {"value": value[:40]}
        ) from None


def date_filter(values: list[str], field_name: str, *, is_date: bool = False) -> Q:
    """The AND of each `date` value (each may be a comma-separated OR) on a datetime field, or on a
    date field (`is_date`)."""
    combined = Q()
    for value in values:
        either = Q()
        for part in value.split(","):
            match = _DATE.match(part)
            if match is None:
                raise BadSearch(
                    _("%(value)s is not a date (YYYY, YYYY-MM, YYYY-MM-DD or a time).") % {"value": part[:40]}
                )
            prefix = match["prefix"] or "eq"
            if prefix not in SUPPORTED_PREFIXES:
                raise BadSearch(
                    _("The date prefix %(prefix)s is not supported (eq, gt, lt, ge, le).") % {"prefix": prefix},
                    code="not-supported",
                )
            start, end = _bounds(match["value"])
            if is_date:
                try:
                    start = timezone.localtime(start).date() if "T" in match["value"] else start.date()
                    end = start + datetime.timedelta(days=1) if "T" in match["value"] else end.date()
                except OverflowError:  # a moment on the last day a date can hold has no day after it
                    raise BadSearch(
                        _("%(value)s is not a date (YYYY, YYYY-MM, YYYY-MM-DD or a time).") % {"value": part[:40]}
                    ) from None
            either |= {
                "eq": Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end}),
                "ge": Q(**{f"{field_name}__gte": start}),
                "gt": Q(**{f"{field_name}__gte": end}),
                "le": Q(**{f"{field_name}__lt": end}),
                "lt": Q(**{f"{field_name}__lt": start}),
            }[prefix]
        combined &= either
    return combined
