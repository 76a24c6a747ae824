"""Monthly indicator rollups, aggregated in SQL.

Each month's value is as of the month's last day. A clinical indicator's population is
DESIGN.md's: citizens with the condition in an active enrolment on that day. "Measured in time"
is the care-gap rules' own definition (coordination.caregaps.window_start), so the worklist and
these figures cannot disagree. Rows are upserted on (indicator, month, unit): a rerun, or a run
that died half-way and is started again, leaves exactly the same rows."""

import calendar
import datetime
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from coordination.caregaps import window_start
from coordination.models import Referral, ReferralStatus, Task, TaskOrigin, TaskStatus, TaskTransition
from patients.models import (
    DEMENTIA_CONDITIONS,
    Condition,
    ConditionKind,
    Encounter,
    Enrolment,
    Goal,
    GoalStatus,
    Measurement,
    Patient,
    Programme,
    Relative,
    conditions_followed_up,
)

from .models import Indicator, IndicatorValue, RollupRun, RunStatus, Story, StoryStatus, UnitKind


def month_end(month: datetime.date) -> datetime.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current + datetime.timedelta(days=32)).replace(day=1)
    return months


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())


def _in_window(field: str, as_of: datetime.date, months: int) -> dict:
    """`field` within the rule window ending on (and including) `as_of`, in the centre's days."""
    return {
        f"{field}__gte": _day_start(window_start(as_of, months)),
        f"{field}__lt": _day_start(as_of + datetime.timedelta(days=1)),
    }


def _measured(code: str, as_of: datetime.date, months: int) -> Exists:
    return Exists(
        Measurement.objects.filter(patient=OuterRef("pk"), type__code=code, **_in_window("measured_at", as_of, months))
    )


def _has(kinds) -> Exists:
    return Exists(Condition.objects.filter(patient=OuterRef("pk"), kind__in=kinds))


DEMENTIA_KINDS = [k.value for k in DEMENTIA_CONDITIONS]


@dataclass(frozen=True)
class ShareRule:
    """Who is counted (the group's population, optionally narrowed) and who of them meets it."""

    kinds: list[str]
    numerator: Callable[[datetime.date], object]
    narrowed_to: Callable[[datetime.date], object] | None = None


def _caregiver_contact(as_of: datetime.date):
    return Exists(Relative.objects.filter(patient=OuterRef("pk"), is_primary_caregiver=True)) & Exists(
        Encounter.objects.filter(patient=OuterRef("pk"), caregiver_present=True, **_in_window("started_at", as_of, 6))
    )


_WITHIN_OWN_RANGE = (
    Q(latest_hba1c__isnull=False)
    & (Q(goal_low__isnull=True) | Q(latest_hba1c__gte=F("goal_low")))
    & (Q(goal_high__isnull=True) | Q(latest_hba1c__lte=F("goal_high")))
)
_HAS_OWN_RANGE = Q(goal_low__isnull=False) | Q(goal_high__isnull=False)
_HAS_OWN_RANGE_ON_GOAL = Q(target_low__isnull=False) | Q(target_high__isnull=False)

SHARE_RULES: dict[str, ShareRule] = {
    "DM-HBA1C-MEASURED": ShareRule(conditions_followed_up("diabetes"), lambda d: _measured("hba1c", d, 12)),
    "DM-HBA1C-LT59": ShareRule(conditions_followed_up("diabetes"), lambda d: Q(latest_hba1c__lt=59)),
    "DM-HBA1C-GE75": ShareRule(conditions_followed_up("diabetes"), lambda d: Q(latest_hba1c__gte=75)),
    "DM-AT-OWN-TARGET": ShareRule(
        conditions_followed_up("diabetes"), lambda d: _WITHIN_OWN_RANGE, narrowed_to=lambda d: _HAS_OWN_RANGE
    ),
    "DM-BP-MEASURED": ShareRule(conditions_followed_up("diabetes"), lambda d: _measured("systolic_bp", d, 12)),
    "DM-ALBUMIN-SCREENED": ShareRule(conditions_followed_up("diabetes"), lambda d: _measured("urine_acr", d, 24)),
    "DM-EYE-SCREENED": ShareRule(conditions_followed_up("diabetes"), lambda d: _measured("eye_screening", d, 24)),
    "DM-FOOT-EXAMINED": ShareRule(conditions_followed_up("diabetes"), lambda d: _measured("foot_exam", d, 24)),
    "DEM-SPECIFIC-DIAGNOSIS": ShareRule(
        DEMENTIA_KINDS, lambda d: _has([k for k in DEMENTIA_KINDS if k != ConditionKind.DEMENTIA_UNSPECIFIED])
    ),
    "DEM-COGNITION-TESTED": ShareRule(conditions_followed_up("dementia"), lambda d: _measured("mmse", d, 12)),
    "DEM-CAREGIVER-CONTACT": ShareRule(conditions_followed_up("dementia"), _caregiver_contact),
}


def population(kinds: list[str], as_of: datetime.date, **enrolment_filters):
    """Citizens with one of the conditions in an active enrolment on `as_of`, annotated with their
    latest HbA1c within 12 months and the HbA1c range of their own goal as it stood that day."""
    active = Enrolment.objects.filter(patient=OuterRef("pk"), start_on__lte=as_of, **enrolment_filters).filter(
        Q(end_on__isnull=True) | Q(end_on__gte=as_of)
    )
    latest_hba1c = (
        Measurement.objects.filter(
            patient=OuterRef("pk"), type__code="hba1c", value__isnull=False, **_in_window("measured_at", as_of, 12)
        )
        .order_by("-measured_at", "-id")
        .values("value")[:1]
    )
    goals = (
        Goal.objects.filter(
            patient=OuterRef("pk"),
            measurement_type__code="hba1c",
            created_at__lt=_day_start(as_of + datetime.timedelta(days=1)),
        )
        .filter(_HAS_OWN_RANGE_ON_GOAL)
        .filter(Q(status=GoalStatus.ACTIVE) | Q(achieved_on__gt=as_of))
        .order_by("-created_at", "-id")
    )
    return Patient.objects.filter(Exists(active), _has(kinds)).annotate(
        latest_hba1c=Subquery(latest_hba1c),
        goal_low=Subquery(goals.values("target_low")[:1]),
        goal_high=Subquery(goals.values("target_high")[:1]),
    )


@dataclass(frozen=True)
class Row:
    code: str
    unit_kind: str
    unit_id: int
    numerator: int
    denominator: int
    value: Decimal | None


def percent(numerator: int, denominator: int) -> Decimal | None:
    """The share in percent with two decimals; no value at all when nobody is counted."""
    if not denominator:
        return None
    return (Decimal(100) * numerator / denominator).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _share_rows(code: str, rule: ShareRule, as_of: datetime.date, programmes: list[Programme]) -> list[Row]:
    def counted(**enrolment_filters):
        patients = population(rule.kinds, as_of, **enrolment_filters)
        return patients.filter(rule.narrowed_to(as_of)) if rule.narrowed_to else patients

    per_team = list(
        counted()
        .values("team_id")
        .annotate(n=Count("id", filter=rule.numerator(as_of)), d=Count("id"))
        .order_by()
        .values_list("team_id", "n", "d")
    )
    rows = [Row(code, UnitKind.TEAM, team, n, d, percent(n, d)) for team, n, d in per_team]
    # Every citizen has exactly one team, so the centre is the sum of the teams.
    n, d = sum(r.numerator for r in rows), sum(r.denominator for r in rows)
    rows.append(Row(code, UnitKind.CENTRE, 0, n, d, percent(n, d)))
    for programme in programmes:
        totals = counted(programme=programme).aggregate(n=Count("id", filter=rule.numerator(as_of)), d=Count("id"))
        if totals["d"]:
            rows.append(
                Row(code, UnitKind.PROGRAMME, programme.id, totals["n"], totals["d"], percent(totals["n"], totals["d"]))
            )
    return rows


def _waiting_rows(month: datetime.date) -> list[Row]:
    """OPS-WAIT-DAYS for referrals received in the month: the median number of days to the
    citizen's first encounter on or after the day received. Numerator: referrals already seen;
    denominator: all referrals not declined. Still-waiting referrals have no days yet."""
    first_encounter = (
        Encounter.objects.filter(patient=OuterRef("patient"), started_at__date__gte=OuterRef("received_on"))
        .order_by("started_at")
        .values("started_at")[:1]
    )
    referrals = (
        Referral.objects.filter(received_on__gte=month, received_on__lte=month_end(month))
        .exclude(status=ReferralStatus.DECLINED)
        .annotate(first=Subquery(first_encounter))
        .values_list("team_id", "received_on", "first")
    )
    days: dict[int, list[int]] = defaultdict(list)
    totals: dict[int, int] = defaultdict(int)
    for team_id, received_on, first in referrals:
        totals[team_id] += 1
        if first is not None:
            days[team_id].append((timezone.localdate(first) - received_on).days)

    def median(values):
        return Decimal(str(statistics.median(values))).quantize(Decimal("0.01")) if values else None

    rows = [Row("OPS-WAIT-DAYS", UnitKind.TEAM, t, len(days[t]), totals[t], median(days[t])) for t in totals]
    every = [d for values in days.values() for d in values]
    rows.append(Row("OPS-WAIT-DAYS", UnitKind.CENTRE, 0, len(every), sum(totals.values()), median(every)))
    return rows


def _task_rows(month: datetime.date) -> list[Row]:
    """OPS-TASKS-OVERDUE: of the tasks open at the end of the month, the share past due then.
    OPS-LOOP-CLOSED: of the agreed actions' tasks due in the month, the share done by their due
    date. Tasks count for the team of their citizen (or their own team)."""
    as_of = month_end(month)
    end = _day_start(as_of + datetime.timedelta(days=1))
    cancelled_by_then = Exists(
        TaskTransition.objects.filter(task=OuterRef("pk"), to_status=TaskStatus.CANCELLED, at__lt=end)
    )
    open_then = (
        Task.objects.filter(created_at__lt=end)
        .exclude(completed_at__lt=end)
        .exclude(cancelled_by_then)
        .annotate(unit_team=Coalesce("patient__team_id", "team_id"))
    )
    overdue = Q(due_on__lt=as_of)
    due_in_month = Task.objects.filter(origin=TaskOrigin.AGREED_ACTION, due_on__gte=month, due_on__lte=as_of).annotate(
        unit_team=Coalesce("patient__team_id", "team_id")
    )
    # completed_at__date is the day in the centre's time zone (Django converts it in SQL).
    closed_in_time = Q(status=TaskStatus.DONE, completed_at__date__lte=F("due_on"))
    rows = []
    for code, queryset, hit in (
        ("OPS-TASKS-OVERDUE", open_then, overdue),
        ("OPS-LOOP-CLOSED", due_in_month, closed_in_time),
    ):
        per_team = list(
            queryset.values("unit_team")
            .annotate(n=Count("id", filter=hit), d=Count("id"))
            .order_by()
            .values_list("unit_team", "n", "d")
        )
        rows += [Row(code, UnitKind.TEAM, team, n, d, percent(n, d)) for team, n, d in per_team]
        n, d = sum(r[1] for r in per_team), sum(r[2] for r in per_team)
        rows.append(Row(code, UnitKind.CENTRE, 0, n, d, percent(n, d)))
    return rows


def _stories_rows(month: datetime.date) -> list[Row]:
    """STORIES-APPROVED: good stories approved in the month whose citizen still consents."""
    from .stories import with_consent

    approved = (
        Story.objects.filter(
            status=StoryStatus.APPROVED,
            decided_at__gte=_day_start(month),
            decided_at__lt=_day_start(month_end(month) + datetime.timedelta(days=1)),
        )
        .filter(with_consent())
        .count()
    )
    return [Row("STORIES-APPROVED", UnitKind.CENTRE, 0, approved, approved, Decimal(approved))]


def compute_month(month: datetime.date) -> list[Row]:
    as_of = month_end(month)
    programmes = list(Programme.objects.all())
    rows = []
    for code, rule in SHARE_RULES.items():
        rows += _share_rows(code, rule, as_of, programmes)
    rows += _waiting_rows(month)
    rows += _task_rows(month)
    rows += _stories_rows(month)
    return rows


@transaction.atomic
def _store(rows: list[Row], month: datetime.date, indicators: dict[str, Indicator], now) -> int:
    """Upserts one month's rows and removes that month's rows no longer produced (a team that
    has no citizens left), so the stored month equals the computed month exactly."""
    objects = [
        IndicatorValue(
            indicator=indicators[row.code],
            month=month,
            unit_kind=row.unit_kind,
            unit_id=row.unit_id,
            numerator=row.numerator,
            denominator=row.denominator,
            value=row.value,
            computed_at=now,
        )
        for row in rows
        if row.code in indicators
    ]
    IndicatorValue.objects.bulk_create(
        objects,
        update_conflicts=True,
        unique_fields=["indicator", "month", "unit_kind", "unit_id"],
        update_fields=["numerator", "denominator", "value", "computed_at"],
    )
    keys = {(o.indicator_id, o.unit_kind, o.unit_id) for o in objects}
    stale = [
        v.pk
        for v in IndicatorValue.objects.filter(month=month).only("pk", "indicator_id", "unit_kind", "unit_id")
        if (v.indicator_id, v.unit_kind, v.unit_id) not in keys
    ]
    IndicatorValue.objects.filter(pk__in=stale).delete()
    return len(objects)


def run_rollups(first_month: datetime.date, last_month: datetime.date, *, progress=None) -> RollupRun:
    """Computes and stores every month in the range; the run is recorded, and so is its failure."""
    # A run whose worker was killed never finished: say so. Its rows are redone by this run.
    RollupRun.objects.filter(
        status=RunStatus.RUNNING, started_at__lt=timezone.now() - datetime.timedelta(hours=1)
    ).update(
        status=RunStatus.FAILED,
        error="interrupted (the worker stopped before the run finished)",
        finished_at=timezone.now(),
    )
    run = RollupRun.objects.create(first_month=first_month.replace(day=1), last_month=last_month.replace(day=1))
    indicators = {i.code: i for i in Indicator.objects.all()}
    months = months_between(first_month, last_month)
    try:
        for month in months:
            run.rows += _store(compute_month(month), month, indicators, timezone.now())
            if progress is not None:
                progress(month)
    except Exception as error:
        run.status, run.error = RunStatus.FAILED, f"{type(error).__name__}: {error}"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at", "rows"])
        raise
    run.status, run.finished_at = RunStatus.SUCCEEDED, timezone.now()
    run.save(update_fields=["status", "finished_at", "rows"])
    return run


def months_touched_since(moment: datetime.datetime | None, *, default_months: int = 24) -> datetime.date:
    """The earliest month whose figures data changed since `moment` can affect. The change
    history (pghistory event rows) has every insert, update and delete with the row's dates, so
    a deleted measurement is seen too. A value counts for up to 24 months after it, so the caller
    recomputes from that month to now."""
    from django.apps import apps

    today = timezone.localdate()
    floor = (today.replace(day=1) - datetime.timedelta(days=31 * (default_months - 1))).replace(day=1)
    if moment is None:
        return floor
    # Event rows carry their transaction's start time: a change committed just after a run began
    # may carry an earlier time. An hour's overlap makes sure it is not missed.
    moment -= datetime.timedelta(hours=1)
    days = []
    for event_model, field in [
        ("patients.MeasurementEvent", "measured_at"),
        ("patients.EncounterEvent", "started_at"),
        ("patients.EnrolmentEvent", "start_on"),
        ("patients.ConditionEvent", "diagnosed_on"),
    ]:
        earliest = apps.get_model(event_model).objects.filter(pgh_created_at__gte=moment).aggregate(first=Min(field))
        if earliest["first"] is not None:
            first = earliest["first"]
            days.append(timezone.localdate(first) if isinstance(first, datetime.datetime) else first)
    if apps.get_model("patients.ConditionEvent").objects.filter(pgh_created_at__gte=moment).exists():
        days.append(floor)  # a diagnosis changes who is counted in every month
    referred = Referral.objects.filter(created_at__gte=moment).aggregate(first=Min("received_on"))["first"]
    if referred is not None:
        days.append(referred)
    if not days:
        return today.replace(day=1)
    return max(floor, min(days).replace(day=1))


def run_incremental() -> RollupRun:
    """Recomputes the months that changed data since the last successful run can affect, up to
    this month. The first run computes the last 24 months."""
    last = RollupRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-started_at").first()
    first_month = months_touched_since(last.started_at if last else None)
    return run_rollups(first_month, timezone.localdate())
