"""Monthly indicator rollups, aggregated in SQL, exactly as DESIGN.md's "Indicator definitions,
exactly" states them.

Who is counted, what counts as measured, the windows and the team on a day are the shared
definitions in patients.definitions, which the care-gap rules use too: the worklist on a month's
last day and the figures for that month count the same citizens. Rows are upserted on (indicator,
month, unit); every month's stored rows equal the computed rows exactly. Database triggers mark the
days every source change can affect (reporting.StaleDay); the incremental run recomputes the
months from the earliest of them, and a nightly full recomputation compares its rows with the
stored ones and records any difference in its run."""

import contextlib
import datetime
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from coordination.models import Referral, ReferralStatus, Task, TaskOrigin, TaskStatus, TaskTransition
from patients.definitions import (
    DEMENTIA,
    counted_measurements,
    day_start,
    has_own_range,
    hba1c_goal_range,
    in_window,
    latest_value,
    month_end,
    months_between,
    primary_caregiver_on,
    qualifying_enrolments,
    signed_encounters,
    team_on,
    within_own_range,
)
from patients.models import Condition, ConditionGroup, ConditionKind

from .models import (
    Indicator,
    IndicatorValue,
    MonthlyActivity,
    RollupRun,
    RunKind,
    RunStatus,
    StaleDay,
    Story,
    StoryStatus,
    UnitKind,
)

# The dashboard's default 24 finished months and the run charts of the last finished quarter (up
# to 24 months before its end, which is at most three months back) plus the month under way.
MONTHS_KEPT = 27


# The care-gap rules (coordination) that ask what an indicator asks: on a month's last day the
# citizens a rule finds missing are the indicator's denominator minus its numerator.
RULES_MIRRORING_INDICATORS = {
    "hba1c-12m": "DM-HBA1C-MEASURED",
    "bp-12m": "DM-BP-MEASURED",
    "albumin-24m": "DM-ALBUMIN-SCREENED",
    "eye-24m": "DM-EYE-SCREENED",
    "foot-24m": "DM-FOOT-EXAMINED",
    "mmse-12m": "DEM-COGNITION-TESTED",
    "caregiver-6m": "DEM-CAREGIVER-CONTACT",
}


def quarter_start(day: datetime.date) -> datetime.date:
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def percent(numerator: int, denominator: int) -> Decimal | None:
    """The share in percent with two decimals; no value at all when nobody is counted."""
    if not denominator:
        return None
    return (Decimal(100) * numerator / denominator).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Row:
    code: str
    unit_kind: str
    unit_id: int
    numerator: int
    denominator: int
    value: Decimal | None


def _measured(code: str, as_of: datetime.date, months: int) -> Exists:
    return Exists(
        counted_measurements()
        .filter(patient=OuterRef("patient_id"), type__code=code)
        .filter(in_window("measured_at", as_of, months))
    )


@dataclass(frozen=True)
class Share:
    """One share indicator of a population: who of the population is counted (`among`) and who of
    them meets it (`meets`), both conditions on the facts annotated by `_facts`."""

    code: str
    meets: Q
    among: Q | None = None  # everyone in the population


HAS_HBA1C = Q(latest_hba1c__isnull=False)
HAS_RANGE = has_own_range("goal_low", "goal_high")
WITHIN_RANGE = within_own_range("latest_hba1c", "goal_low", "goal_high")

SHARES: dict[str, list[Share]] = {
    ConditionGroup.DIABETES: [
        Share("DM-HBA1C-MEASURED", HAS_HBA1C),
        Share("DM-HBA1C-LT59", Q(latest_hba1c__lt=59), among=HAS_HBA1C),
        Share("DM-HBA1C-GE75", Q(latest_hba1c__gte=75), among=HAS_HBA1C),
        Share("DM-AT-OWN-TARGET", WITHIN_RANGE, among=HAS_HBA1C & HAS_RANGE),
        Share("DM-BP-MEASURED", Q(bp_measured=True)),
        Share("DM-ALBUMIN-SCREENED", Q(albumin_screened=True)),
        Share("DM-EYE-SCREENED", Q(eye_screened=True)),
        Share("DM-FOOT-EXAMINED", Q(foot_examined=True)),
    ],
    ConditionGroup.DEMENTIA: [
        Share("DEM-SPECIFIC-DIAGNOSIS", ~Q(latest_dementia=ConditionKind.DEMENTIA_UNSPECIFIED)),
        Share("DEM-COGNITION-TESTED", Q(cognition_tested=True)),
        Share("DEM-CAREGIVER-CONTACT", Q(caregiver_contact=True)),
    ],
}


def _facts(group: str, as_of: datetime.date):
    """The population's qualifying enrolments on `as_of`, one row per enrolment, with each
    citizen's facts for the month: the team on the day, and what each indicator asks about."""
    enrolments = qualifying_enrolments(group, as_of).annotate(team=team_on(as_of, patient="patient_id"))
    if group == ConditionGroup.DIABETES:
        goal_low, goal_high = hba1c_goal_range(as_of, patient="patient_id")
        return enrolments.annotate(
            latest_hba1c=latest_value("hba1c", as_of, months=12, patient="patient_id"),
            goal_low=goal_low,
            goal_high=goal_high,
            bp_measured=_measured("systolic_bp", as_of, 12),
            albumin_screened=_measured("urine_acr", as_of, 24),
            eye_screened=_measured("eye_screening", as_of, 24),
            foot_examined=_measured("foot_exam", as_of, 24),
        )
    latest_dementia = (
        Condition.objects.filter(patient=OuterRef("patient_id"), kind__in=DEMENTIA, diagnosed_on__lte=as_of)
        .order_by("-diagnosed_on", "-id")
        .values("kind")[:1]
    )
    spoken_with = signed_encounters().filter(patient=OuterRef("patient_id"), caregiver_present=True)
    return enrolments.annotate(
        latest_dementia=Subquery(latest_dementia),
        cognition_tested=_measured("mmse", as_of, 12),
        caregiver_contact=primary_caregiver_on(as_of, patient="patient_id")
        & Exists(spoken_with.filter(in_window("started_at", as_of, 6))),
    )


def _share_rows(group: str, as_of: datetime.date) -> list[Row]:
    """Three queries per population: the centre, the teams and the programmes. A citizen counts once
    for the centre and their team, and once in each programme they qualify through."""
    facts = _facts(group, as_of)
    counts = {}
    for share in SHARES[group]:
        counted = share.meets if share.among is None else share.among & share.meets
        counts[f"d_{share.code}"] = Count("patient_id", distinct=True, filter=share.among)
        counts[f"n_{share.code}"] = Count("patient_id", distinct=True, filter=counted)

    def rows(unit_kind: str, unit_id: int, totals: dict, *, always: bool = False) -> list[Row]:
        found = []
        for share in SHARES[group]:
            n, d = totals[f"n_{share.code}"], totals[f"d_{share.code}"]
            if d or always:
                found.append(Row(share.code, unit_kind, unit_id, n, d, percent(n, d)))
        return found

    result = rows(UnitKind.CENTRE, 0, facts.aggregate(**counts), always=True)
    for totals in facts.values("team").annotate(**counts).order_by():
        result += rows(UnitKind.TEAM, totals["team"], totals)
    for totals in facts.values("programme_id").annotate(**counts).order_by():
        result += rows(UnitKind.PROGRAMME, totals["programme_id"], totals)
    return result


def _median(days: list[int]) -> Decimal | None:
    return Decimal(str(statistics.median(days))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if days else None


def _waiting_rows(month: datetime.date) -> list[Row]:
    """OPS-WAIT-DAYS: referrals (not declined) whose first signed encounter with the citizen on or
    after the day received falls in the month; the median of the days between. n is both the
    numerator and the denominator. Unit: the citizen's team on the encounter's day, and the
    referral's programme."""
    first_encounter = (
        signed_encounters()
        .filter(patient=OuterRef("patient_id"), started_at__date__gte=OuterRef("received_on"))
        .order_by("started_at", "id")
        .values("started_at")[:1]
    )
    referrals = (
        Referral.objects.exclude(status=ReferralStatus.DECLINED)
        .annotate(first=Subquery(first_encounter))
        .filter(first__gte=day_start(month), first__lt=day_start(month_end(month) + datetime.timedelta(days=1)))
        .annotate(first_day=TruncDate("first"))
        .annotate(unit_team=team_on(OuterRef("first_day"), patient="patient_id"))
        .values_list("unit_team", "programme_id", "received_on", "first_day")
    )
    days: dict[tuple[str, int], list[int]] = defaultdict(list)
    for team_id, programme_id, received_on, first_day in referrals:
        waited = (first_day - received_on).days
        days[(UnitKind.CENTRE, 0)].append(waited)
        days[(UnitKind.TEAM, team_id)].append(waited)
        if programme_id is not None:
            days[(UnitKind.PROGRAMME, programme_id)].append(waited)
    rows = [Row("OPS-WAIT-DAYS", kind, unit, len(v), len(v), _median(v)) for (kind, unit), v in days.items()]
    if (UnitKind.CENTRE, 0) not in days:
        rows.append(Row("OPS-WAIT-DAYS", UnitKind.CENTRE, 0, 0, 0, None))
    return rows


def status_at_end_of(day: datetime.date) -> Coalesce:
    """A task's status at the end of a day: the status its latest transition before midnight set;
    with no transition by then, the state it was created in (open)."""
    latest = (
        TaskTransition.objects.filter(task=OuterRef("pk"), at__lt=day_start(day + datetime.timedelta(days=1)))
        .order_by("-at", "-id")
        .values("to_status")[:1]
    )
    return Coalesce(Subquery(latest), Value(TaskStatus.OPEN.value))


def _task_rows(month: datetime.date) -> list[Row]:
    """OPS-TASKS-OVERDUE: tasks open at the end of the month's last day, by the task's own team;
    numerator: due before that day. OPS-LOOP-CLOSED: tasks made from agreed actions due in the
    month, cancelled ones left out; numerator: done on or before the due date."""
    as_of = month_end(month)
    open_then = (
        Task.objects.filter(created_at__lt=day_start(as_of + datetime.timedelta(days=1)))
        .annotate(then=status_at_end_of(as_of))
        .filter(then__in=[TaskStatus.OPEN, TaskStatus.IN_PROGRESS])
    )
    due_in_month = Task.objects.filter(origin=TaskOrigin.AGREED_ACTION, due_on__gte=month, due_on__lte=as_of).exclude(
        status=TaskStatus.CANCELLED
    )
    # completed_at__date is the day in the centre's time zone (Django converts it in SQL).
    closed_in_time = Q(status=TaskStatus.DONE, completed_at__date__lte=F("due_on"))
    rows = []
    for code, tasks, hit in (
        ("OPS-TASKS-OVERDUE", open_then, Q(due_on__lt=as_of)),
        ("OPS-LOOP-CLOSED", due_in_month, closed_in_time),
    ):
        per_team = list(tasks.values("team_id").annotate(n=Count("id", filter=hit), d=Count("id")).order_by())
        rows += [Row(code, UnitKind.TEAM, r["team_id"], r["n"], r["d"], percent(r["n"], r["d"])) for r in per_team]
        n, d = sum(r["n"] for r in per_team), sum(r["d"] for r in per_team)
        rows.append(Row(code, UnitKind.CENTRE, 0, n, d, percent(n, d)))
    return rows


def _stories_rows(month: datetime.date) -> list[Row]:
    """STORIES-APPROVED: stories approved from the first day of the month's quarter through its
    last day whose story consent is in force now; unit: the citizen's team on the approval day."""
    from .stories import with_consent

    as_of = month_end(month)
    per_team = (
        Story.objects.filter(
            status=StoryStatus.APPROVED,
            decided_at__gte=day_start(quarter_start(month)),
            decided_at__lt=day_start(as_of + datetime.timedelta(days=1)),
        )
        .filter(with_consent())
        .annotate(decided_day=TruncDate("decided_at"))
        .annotate(unit_team=team_on(OuterRef("decided_day"), patient="patient_id"))
        .values("unit_team")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = [Row("STORIES-APPROVED", UnitKind.TEAM, r["unit_team"], r["n"], r["n"], Decimal(r["n"])) for r in per_team]
    total = sum(r.numerator for r in rows)
    rows.append(Row("STORIES-APPROVED", UnitKind.CENTRE, 0, total, total, Decimal(total)))
    return rows


def compute_month(month: datetime.date) -> list[Row]:
    as_of = month_end(month)
    rows = []
    for group in SHARES:
        rows += _share_rows(group, as_of)
    rows += _waiting_rows(month)
    rows += _task_rows(month)
    rows += _stories_rows(month)
    return rows


@dataclass(frozen=True)
class Activity:
    unit_kind: str
    unit_id: int
    contacts: int
    citizens: int


def compute_activity(month: datetime.date) -> list[Activity]:
    """Signed contacts in the month and the citizens they were with, for the centre and by the
    citizen's team on the day of the contact."""
    encounters = (
        signed_encounters()
        .filter(
            started_at__gte=day_start(month),
            started_at__lt=day_start(month_end(month) + datetime.timedelta(days=1)),
        )
        .annotate(day=TruncDate("started_at"))
        .annotate(unit_team=team_on(OuterRef("day"), patient="patient_id"))
    )
    counts = {"contacts": Count("id"), "citizens": Count("patient_id", distinct=True)}
    centre = encounters.aggregate(**counts)
    result = [Activity(UnitKind.CENTRE, 0, centre["contacts"], centre["citizens"])]
    for r in encounters.values("unit_team").annotate(**counts).order_by():
        result.append(Activity(UnitKind.TEAM, r["unit_team"], r["contacts"], r["citizens"]))
    return result


Key = tuple[str, str, int]


def _stored(month: datetime.date) -> dict[Key, tuple[int, int, Decimal | None]]:
    return {
        (code, kind, unit): (n, d, value)
        for code, kind, unit, n, d, value in IndicatorValue.objects.filter(month=month).values_list(
            "indicator__code", "unit_kind", "unit_id", "numerator", "denominator", "value"
        )
    }


def differences(rows: list[Row], month: datetime.date, stored: dict) -> list[str]:
    """Where the stored month differs from the computed one: changed, missing or extra cells."""
    computed = {(r.code, r.unit_kind, r.unit_id): (r.numerator, r.denominator, r.value) for r in rows}
    found = []
    for key in sorted(set(computed) | set(stored)):
        if computed.get(key) != stored.get(key):
            found.append(
                f"{month:%Y-%m} {key[0]} {key[1]}:{key[2]} stored {stored.get(key)} computed {computed.get(key)}"
            )
    return found


@transaction.atomic
def store_month(month: datetime.date, rows: list[Row], activity: list[Activity], indicators: dict) -> int:
    """Upserts one month's rows and removes the month's rows no longer produced, so that the
    stored month equals the computed month exactly."""
    now = timezone.now()
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
    keep = Q()
    for o in objects:
        keep |= Q(indicator_id=o.indicator.id, unit_kind=o.unit_kind, unit_id=o.unit_id)
    IndicatorValue.objects.filter(month=month).exclude(keep).delete()
    MonthlyActivity.objects.filter(month=month).delete()
    MonthlyActivity.objects.bulk_create(
        MonthlyActivity(
            month=month,
            unit_kind=a.unit_kind,
            unit_id=a.unit_id,
            contacts=a.contacts,
            citizens=a.citizens,
            computed_at=now,
        )
        for a in activity
    )
    return len(objects)


def _without_jit() -> None:
    # The rollup's queries are many and short: compiling them costs more than it saves.
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")


# One rollup run at a time (coordination.caregaps serialises its job with 4_202_611).
RUN_LOCK_ID = 4_202_612


@contextlib.contextmanager
def _one_run_at_a_time() -> Iterator[None]:
    """Holds a session advisory lock on this process's database connection while a run lasts,
    after any run under way has finished. PostgreSQL releases the lock when the connection ends,
    also when the process holding it is killed: a run still 'running' once the lock is ours was
    left by a process that died, and is marked interrupted (the next incremental run redoes its
    months, see take_stale_months). No clock is involved, so a long run is never taken for dead."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [RUN_LOCK_ID])
    try:
        _mark_interrupted_runs()
        yield
    finally:
        # A connection lost during the run has taken the lock with it.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK_ID])


def _mark_interrupted_runs() -> None:
    """Only with the lock held: every run still 'running' belongs to a process that died."""
    RollupRun.objects.filter(status=RunStatus.RUNNING).update(
        status=RunStatus.FAILED,
        error="interrupted (the worker stopped before the run finished)",
        finished_at=timezone.now(),
    )


def _start_run(first_month: datetime.date, last_month: datetime.date, *, kind: str) -> RollupRun:
    return RollupRun.objects.create(
        kind=kind, first_month=first_month.replace(day=1), last_month=last_month.replace(day=1)
    )


def run_rollups(
    first_month: datetime.date,
    last_month: datetime.date,
    *,
    kind: str = RunKind.RANGE,
    compare: bool = False,
    progress: Callable[[datetime.date], None] | None = None,
) -> RollupRun:
    """Computes and stores every month in the range; the run is recorded, and so is its failure.
    With `compare`, the stored rows are compared with the computed ones first and every
    difference is recorded in the run (a full recomputation should find none)."""
    with _one_run_at_a_time():
        return _compute(_start_run(first_month, last_month, kind=kind), compare=compare, progress=progress)


def _compute(
    run: RollupRun, *, compare: bool = False, progress: Callable[[datetime.date], None] | None = None
) -> RollupRun:
    indicators = {i.code: i for i in Indicator.objects.all()}
    found: list[str] = []
    try:
        _without_jit()
        for month in months_between(run.first_month, run.last_month):
            rows = compute_month(month)
            if compare:
                found += differences([r for r in rows if r.code in indicators], month, _stored(month))
            run.rows += store_month(month, rows, compute_activity(month), indicators)
            if progress is not None:
                progress(month)
    except Exception as error:
        run.status, run.error = RunStatus.FAILED, f"{type(error).__name__}: {error}"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at", "rows"])
        raise
    run.status, run.finished_at = RunStatus.SUCCEEDED, timezone.now()
    run.differences, run.difference_detail = len(found), "\n".join(found[:200])
    run.save(update_fields=["status", "finished_at", "rows", "differences", "difference_detail"])
    return run


def oldest_month_kept(today: datetime.date | None = None) -> datetime.date:
    today = today or timezone.localdate()
    month_index = today.year * 12 + today.month - 1 - (MONTHS_KEPT - 1)
    return datetime.date(month_index // 12, month_index % 12 + 1, 1)


@transaction.atomic
def take_stale_months() -> datetime.date:
    """The first month to recompute: the earliest day marked stale since the last run (the marks
    are consumed here, in the same transaction that reads them), the first month of any run that
    did not succeed since the last one that did, and at least this month (a new month needs its
    rows). Before any successful run: the oldest month kept."""
    today = timezone.localdate()
    floor = oldest_month_kept(today)
    last = RollupRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-started_at").first()
    if last is None:
        StaleDay.objects.all().delete()
        return floor
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH taken AS (DELETE FROM reporting_staleday RETURNING from_day) SELECT min(from_day) FROM taken"
        )
        (earliest,) = cursor.fetchone()
    unfinished = (
        RollupRun.objects.filter(started_at__gt=last.started_at)
        .exclude(status=RunStatus.SUCCEEDED)
        .aggregate(first=Min("first_month"))["first"]
    )
    candidates = [today.replace(day=1)] + [d.replace(day=1) for d in (earliest, unfinished) if d is not None]
    return max(floor, min(candidates))


def run_incremental(*, progress=None) -> RollupRun:
    """Recomputes the months that changes since the last run can affect, up to this month. The
    marks are taken and the run answering for them recorded in one transaction, so that a run killed
    later leaves its first month behind for the next one."""
    with _one_run_at_a_time():
        with transaction.atomic():
            run = _start_run(take_stale_months(), timezone.localdate(), kind=RunKind.INCREMENTAL)
        return _compute(run, progress=progress)


def run_full(*, progress=None) -> RollupRun:
    """Recomputes every month kept, comparing with the stored rows first (nightly)."""
    with _one_run_at_a_time():
        with transaction.atomic():
            StaleDay.objects.all().delete()
            run = _start_run(oldest_month_kept(), timezone.localdate(), kind=RunKind.FULL)
        return _compute(run, compare=True, progress=progress)
