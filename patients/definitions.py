"""One definition per fact, shared by the care-gap rules, the worklist, the briefing and the
indicator rollups (DESIGN.md, "Indicator definitions, exactly"): who is followed up on a day,
which values count as measured, what "in the last N months" means, and which team was
responsible for a citizen on a day. Each is a queryset or an expression, so that callers run it
in SQL over any number of citizens."""

import calendar
import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from .models import (
    Condition,
    ConditionGroup,
    ConditionKind,
    Encounter,
    Enrolment,
    Goal,
    Measurement,
    MeasurementSource,
    Patient,
    Relative,
    TeamResponsibility,
)

DIABETES = [ConditionKind.DIABETES_TYPE_1.value, ConditionKind.DIABETES_TYPE_2.value]
DEMENTIA = [k.value for k in ConditionKind if k.value.startswith("dem_")]
# The diagnoses that make a citizen part of a group's population. Prediabetes is not diabetes and
# mild cognitive impairment is not dementia: both are followed, neither is counted.
POPULATION_CONDITIONS = {ConditionGroup.DIABETES.value: DIABETES, ConditionGroup.DEMENTIA.value: DEMENTIA}


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Calendar months, clipped to the month's end: 31 Jan + 1 month = 28 (or 29) Feb."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_end(month: datetime.date) -> datetime.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The first days of the months from `first`'s through `last`'s."""
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return months


def window_start(as_of: datetime.date, months: int) -> datetime.date:
    """The first day "in the last `months` months" on `as_of`: D is inside when
    as_of - months < D <= as_of (31 Oct - 12 months = 31 Oct, so the window starts on 1 Nov)."""
    return add_months(as_of, -months) + datetime.timedelta(days=1)


def day_start(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of a local day in the centre's time zone."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())


def in_window(field: str, as_of: datetime.date, months: int) -> Q:
    """`field` (a datetime) on a local day inside the window of `months` months ending on `as_of`."""
    return Q(
        **{
            f"{field}__gte": day_start(window_start(as_of, months)),
            f"{field}__lt": day_start(as_of + datetime.timedelta(days=1)),
        }
    )


def counted_measurements() -> QuerySet[Measurement]:
    """Values that are part of the record: from the lab import or entered on their own, or from an
    encounter that is signed. A draft encounter's values are not yet part of it, and a value that
    has been corrected no longer is (its correction counts in its place)."""
    return Measurement.objects.filter(
        ~Q(source=MeasurementSource.ENCOUNTER) | Q(encounter__signed_at__isnull=False)
    ).exclude(Exists(Measurement.objects.filter(corrects=OuterRef("pk"))))


def signed_encounters() -> QuerySet[Encounter]:
    return Encounter.objects.filter(signed_at__isnull=False)


def active_enrolments(as_of: datetime.date) -> QuerySet[Enrolment]:
    return Enrolment.objects.filter(start_on__lte=as_of).filter(Q(end_on__isnull=True) | Q(end_on__gte=as_of))


def qualifying_enrolments(group: str, as_of: datetime.date) -> QuerySet[Enrolment]:
    """The enrolments that put a citizen in a group's population on `as_of`: a programme of the
    group active that day, for a citizen with one of the group's diagnoses made on or before it.
    When a citizen is discharged or dies their enrolments end, so enrolments alone decide."""
    diagnosed = Condition.objects.filter(
        patient=OuterRef("patient_id"), kind__in=POPULATION_CONDITIONS[group], diagnosed_on__lte=as_of
    )
    return active_enrolments(as_of).filter(programme__condition_group=group).filter(Exists(diagnosed))


def followed_up(group: str | None, as_of: datetime.date) -> QuerySet[Patient]:
    """The citizens a group's care-gap rules and indicators follow on `as_of`; with no group,
    everyone in an active enrolment."""
    enrolments = qualifying_enrolments(group, as_of) if group else active_enrolments(as_of)
    return Patient.objects.filter(Exists(enrolments.filter(patient=OuterRef("pk"))))


def team_on(day, *, patient: str = "pk") -> Subquery:
    """The responsible team of the citizen `OuterRef(patient)` on `day` (a date or an expression
    giving one): the latest change dated on or before it, the first team before any change.
    Ties on one date: the later record wins."""
    return Subquery(
        TeamResponsibility.objects.filter(patient=OuterRef(patient))
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day))
        .order_by(F("valid_from").desc(nulls_last=True), "-id")
        .values("team_id")[:1]
    )


def primary_caregiver_on(day: datetime.date, *, patient: str = "pk") -> Exists:
    """A primary caregiver registered on or before `day` and still registered that day."""
    return Exists(
        Relative.objects.filter(patient=OuterRef(patient), primary_caregiver_from__lte=day).filter(
            Q(primary_caregiver_until__isnull=True) | Q(primary_caregiver_until__gt=day)
        )
    )


def latest_value(code: str, as_of: datetime.date, *, months: int, patient: str = "pk") -> Subquery:
    """The citizen's latest counted value of a measurement in the window ending on `as_of`
    (ties on the time: the later record)."""
    return Subquery(
        counted_measurements()
        .filter(patient=OuterRef(patient), type__code=code, value__isnull=False)
        .filter(in_window("measured_at", as_of, months))
        .order_by("-measured_at", "-id")
        .values("value")[:1]
    )


def hba1c_goal_range(as_of: datetime.date, *, patient: str = "pk") -> tuple[Subquery, Subquery]:
    """The low and high end of the citizen's own HbA1c range in force on `as_of`: the latest goal
    created on or before that day with a range, not dropped before it (an achieved goal stays)."""
    goals = (
        Goal.objects.filter(
            patient=OuterRef(patient),
            measurement_type__code="hba1c",
            created_at__lt=day_start(as_of + datetime.timedelta(days=1)),
        )
        .filter(Q(target_low__isnull=False) | Q(target_high__isnull=False))
        .filter(Q(dropped_on__isnull=True) | Q(dropped_on__gte=as_of))
        .order_by("-created_at", "-id")
    )
    return Subquery(goals.values("target_low")[:1]), Subquery(goals.values("target_high")[:1])


def within_own_range(value: str, low: str, high: str) -> Q:
    """`value` inside the range `low`..`high` (annotations), both ends included; an open end is no limit."""
    return (
        Q(**{f"{value}__isnull": False})
        & (Q(**{f"{low}__isnull": True}) | Q(**{f"{value}__gte": F(low)}))
        & (Q(**{f"{high}__isnull": True}) | Q(**{f"{value}__lte": F(high)}))
    )


def has_own_range(low: str, high: str) -> Q:
    return Q(**{f"{low}__isnull": False}) | Q(**{f"{high}__isnull": False})
