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
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F, Min, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate, TruncMonth
from django.db.models.sql import Query
from django.utils import timezone

from coordination.models import Referral, ReferralStatus, Task, TaskOrigin, TaskStatus
from patients.definitions import (
    add_months,
    day_start,
    has_own_range,
    month_end,
    months_between,
    signed_encounters,
    team_on,
    within_own_range,
)
from patients.models import ConditionGroup, ConditionKind, Encounter
from scheduling.definitions import (
    attended_session,
    completed,
    counts_for_no_show,
    held_sessions,
    is_no_show,
    statuses,
    withdrew_before_start,
)
from scheduling.models import Appointment, Course, CourseParticipant

from .facts import Statement, month_index, months_table, refresh_facts, team_periods_sql, utc_month_index
from .models import (
    CitizenMonth,
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


class MonthRow(NamedTuple):
    month: datetime.date
    row: Row


@dataclass(frozen=True)
class Share:
    """One share indicator of a population: who of the population is counted (`among`) and who of
    them meets it (`meets`), both conditions on a citizen's facts of the month (CitizenMonth)."""

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
        Share("DEM-CAREGIVER-CONTACT", Q(caregiver_registered=True, caregiver_spoken_with=True)),
    ],
}
SHARE_CODES = [share.code for shares in SHARES.values() for share in shares]


def _condition(statement: Statement, name: str, condition: Q) -> str:
    """A condition on CitizenMonth's columns as SQL, compiled by the ORM from the Q above."""
    query = Query(CitizenMonth)
    compiler = query.get_compiler(connection=connection)
    return statement.fragment(name, *compiler.compile(query.build_where(condition)))


def share_rows(months: list[datetime.date]) -> list[MonthRow]:
    """Every share indicator of these months for the centre, each team and each programme, in one
    pass over the citizens' facts (GROUP BY GROUPING SETS). A citizen counts once for the centre
    and their team (the first of their qualifying programmes stands for them), and once in each
    programme they qualify through."""
    if not months:
        return []
    s = Statement()
    flags, sums = [], []
    for group, shares in SHARES.items():
        for index, share in enumerate(shares):
            among = "TRUE" if share.among is None else _condition(s, f"a{group}{index}", share.among)
            meets = _condition(s, f"m{group}{index}", share.meets)
            label = f"s_{group}_{index}"
            inside = f"u.population = '{group}' AND ({among})"
            flags.append(f"CASE WHEN {inside} THEN 1 ELSE 0 END AS d_{label}")
            flags.append(f"CASE WHEN {inside} AND ({meets}) THEN 1 ELSE 0 END AS n_{label}")
            for part in ("d", "n"):
                sums.append(
                    f"CASE WHEN GROUPING(programme_id) = 0 THEN sum({part}_{label}) "
                    f"ELSE sum({part}_{label} * first) END AS {part}_{label}"
                )
    sql = f"""
        SELECT month, GROUPING(team_id, programme_id), team_id, programme_id, {", ".join(sums)}
        FROM (
            SELECT reporting_citizenmonth.month, reporting_citizenmonth.team_id, u.programme_id,
                   CASE WHEN u.ord = 1 THEN 1 ELSE 0 END AS first, {", ".join(flags)}
            FROM reporting_citizenmonth
            CROSS JOIN LATERAL (
                SELECT 'diabetes', p, o FROM unnest(reporting_citizenmonth.diabetes_programmes) WITH ORDINALITY x (p, o)
                UNION ALL
                SELECT 'dementia', p, o FROM unnest(reporting_citizenmonth.dementia_programmes) WITH ORDINALITY x (p, o)
            ) AS u (population, programme_id, ord)
            WHERE reporting_citizenmonth.month = ANY({s.param("months", months)}::date[])
        ) AS flagged
        GROUP BY GROUPING SETS ((month), (month, team_id), (month, programme_id))
    """  # noqa: S608  # nosec B608  # the text is ours; the values are parameters
    rows, centres = [], set()
    with connection.cursor() as cursor:
        cursor.execute(sql, s.params)
        for month, level, team_id, programme_id, *counts in cursor.fetchall():
            unit = {3: (UnitKind.CENTRE, 0), 1: (UnitKind.TEAM, team_id), 2: (UnitKind.PROGRAMME, programme_id)}[level]
            if unit[1] is None:
                continue  # a citizen without a team (there is none: every citizen has one from the start)
            # The sums come in SHARE_CODES' order: denominator, numerator of each.
            for index, code in enumerate(SHARE_CODES):
                d, n = counts[2 * index], counts[2 * index + 1]
                if d or unit[0] == UnitKind.CENTRE:
                    rows.append(MonthRow(month, Row(code, unit[0], unit[1], n, d, percent(n, d))))
            if level == 3:
                centres.add(month)
    # The centre row exists for every indicator and month, also when nobody is counted.
    for month in months:
        if month not in centres:
            rows += [MonthRow(month, Row(code, UnitKind.CENTRE, 0, 0, 0, None)) for code in SHARE_CODES]
    return rows


def _median(days: list[int]) -> Decimal | None:
    return Decimal(str(statistics.median(days))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if days else None


def _moments(months: list[datetime.date]) -> tuple[datetime.datetime, datetime.datetime]:
    """The first moment of the first month and the first moment after the last one."""
    return day_start(months[0]), day_start(month_end(months[-1]) + datetime.timedelta(days=1))


def _waiting_rows(months: list[datetime.date]) -> list[MonthRow]:
    """OPS-WAIT-DAYS: referrals (not declined) whose first signed encounter with the citizen on or
    after the day received falls in the month; the median of the days between. n is both the
    numerator and the denominator. Unit: the citizen's team on the encounter's day, and the
    referral's programme. One query for every month of the run."""
    first_encounter = (
        signed_encounters()
        .filter(patient=OuterRef("patient_id"), started_at__date__gte=OuterRef("received_on"))
        .order_by("started_at", "id")
        .values("started_at")[:1]
    )
    start, end = _moments(months)
    referrals = (
        Referral.objects.exclude(status=ReferralStatus.DECLINED)
        .annotate(first=Subquery(first_encounter))
        .filter(first__gte=start, first__lt=end)
        .annotate(first_day=TruncDate("first"))
        .annotate(unit_team=team_on(OuterRef("first_day"), patient="patient_id"))
        .values_list("unit_team", "programme_id", "received_on", "first_day")
    )
    days: dict[tuple[datetime.date, str, int], list[int]] = defaultdict(list)
    for team_id, programme_id, received_on, first_day in referrals:
        waited, month = (first_day - received_on).days, first_day.replace(day=1)
        days[(month, UnitKind.CENTRE, 0)].append(waited)
        days[(month, UnitKind.TEAM, team_id)].append(waited)
        if programme_id is not None:
            days[(month, UnitKind.PROGRAMME, programme_id)].append(waited)
    rows = [
        MonthRow(month, Row("OPS-WAIT-DAYS", kind, unit, len(v), len(v), _median(v)))
        for (month, kind, unit), v in days.items()
    ]
    rows += [
        MonthRow(month, Row("OPS-WAIT-DAYS", UnitKind.CENTRE, 0, 0, 0, None))
        for month in months
        if (month, UnitKind.CENTRE, 0) not in days
    ]
    return rows


def _task_rows(months: list[datetime.date]) -> list[MonthRow]:
    """OPS-TASKS-OVERDUE: tasks open at the end of the month's last day, by the task's own team;
    numerator: due before that day. A task's status at a moment is the one its latest transition
    before it set, and open before any: each task is open from its creation to its first
    transition and from every transition to an open status to the next transition, and is counted
    in the months whose end falls in one of those spells. OPS-LOOP-CLOSED: tasks made from agreed
    actions due in the month, cancelled ones left out; numerator: done on or before the due date."""
    s = Statement()
    months_sql = months_table(s, months)
    start, end = _moments(months)
    s.param("start", start)
    s.param("end", end)
    s.param("open", [TaskStatus.OPEN.value, TaskStatus.IN_PROGRESS.value])
    s.param("first_idx", month_index(months[0]))
    s.param("last_idx", month_index(months[-1]))
    sql = f"""
        WITH months AS ({months_sql}),
        transitions AS (
            SELECT tr.task_id, tr.at, tr.to_status,
                   lead(tr.at) OVER (PARTITION BY tr.task_id ORDER BY tr.at, tr.id) AS next_at,
                   row_number() OVER (PARTITION BY tr.task_id ORDER BY tr.at, tr.id) AS position
            FROM coordination_tasktransition tr
        ),
        open_spells AS (
            SELECT t.id, t.team_id, t.due_on, t.created_at, t.created_at AS since, first.at AS until
            FROM coordination_task t
            LEFT JOIN transitions first ON first.task_id = t.id AND first.position = 1
            WHERE t.created_at < %(end)s
            UNION ALL
            SELECT t.id, t.team_id, t.due_on, t.created_at, tr.at, tr.next_at
            FROM transitions tr JOIN coordination_task t ON t.id = tr.task_id
            WHERE tr.to_status = ANY(%(open)s::text[]) AND t.created_at < %(end)s
        )
        SELECT m.month, GROUPING(o.team_id), o.team_id,
               count(*) FILTER (WHERE o.due_on < m.last_day), count(*)
        FROM open_spells o
        CROSS JOIN LATERAL generate_series(
            GREATEST({utc_month_index("GREATEST(o.since, o.created_at)")}, %(first_idx)s),
            LEAST(COALESCE({utc_month_index("o.until")} + 1, %(last_idx)s), %(last_idx)s)
        ) AS g (idx)
        JOIN months m ON m.idx = g.idx
        WHERE (o.until IS NULL OR o.until >= %(start)s)
          AND o.created_at < m.day_after AND o.since < m.day_after
          AND (o.until IS NULL OR o.until >= m.day_after)
        GROUP BY GROUPING SETS ((m.month), (m.month, o.team_id))
    """  # noqa: S608  # nosec B608  # the text is ours; the values are parameters
    counted: dict[tuple[datetime.date, str, int], tuple[int, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, s.params)
        for month, level, team_id, n, d in cursor.fetchall():
            counted[(month, UnitKind.CENTRE, 0) if level else (month, UnitKind.TEAM, team_id)] = (n, d)
    loops = (
        Task.objects.filter(origin=TaskOrigin.AGREED_ACTION, due_on__gte=months[0], due_on__lte=month_end(months[-1]))
        .exclude(status=TaskStatus.CANCELLED)
        .annotate(month=TruncMonth("due_on"))
        .values("month", "team_id")
        # completed_at__date is the day in the centre's time zone (Django converts it in SQL).
        .annotate(n=Count("id", filter=Q(status=TaskStatus.DONE, completed_at__date__lte=F("due_on"))), d=Count("id"))
        .order_by()
    )
    closed: dict[tuple[datetime.date, str, int], tuple[int, int]] = {}
    for r in loops:
        month = r["month"]
        closed[(month, UnitKind.TEAM, r["team_id"])] = (r["n"], r["d"])
        n, d = closed.get((month, UnitKind.CENTRE, 0), (0, 0))
        closed[(month, UnitKind.CENTRE, 0)] = (n + r["n"], d + r["d"])
    rows = []
    for code, found in (("OPS-TASKS-OVERDUE", counted), ("OPS-LOOP-CLOSED", closed)):
        for month in months:
            found.setdefault((month, UnitKind.CENTRE, 0), (0, 0))
        rows += [
            MonthRow(month, Row(code, kind, unit, n, d, percent(n, d)))
            for (month, kind, unit), (n, d) in found.items()
            if month in months
        ]
    return rows


def _stories_rows(months: list[datetime.date]) -> list[MonthRow]:
    """STORIES-APPROVED: stories approved from the first day of the month's quarter through its
    last day whose story consent is in force now; unit: the citizen's team on the approval day."""
    from .stories import with_consent

    _start, end = _moments(months)
    approved = (
        Story.objects.filter(
            status=StoryStatus.APPROVED, decided_at__gte=day_start(quarter_start(months[0])), decided_at__lt=end
        )
        .filter(with_consent())
        .annotate(decided_day=TruncDate("decided_at"))
        .annotate(unit_team=team_on(OuterRef("decided_day"), patient="patient_id"))
        .values_list("decided_day", "unit_team")
    )
    counts: dict[tuple[datetime.date, str, int], int] = {(m, UnitKind.CENTRE, 0): 0 for m in months}
    for day, team_id in approved:
        for month in months:
            if quarter_start(month) <= day <= month_end(month):
                for unit in ((month, UnitKind.CENTRE, 0), (month, UnitKind.TEAM, team_id)):
                    counts[unit] = counts.get(unit, 0) + 1
    return [
        MonthRow(month, Row("STORIES-APPROVED", kind, unit, n, n, Decimal(n)))
        for (month, kind, unit), n in counts.items()
    ]


def _no_show_rows(months: list[datetime.date]) -> list[MonthRow]:
    """OPS-NO-SHOW: appointments whose start falls in the month (local day) with a status that counts
    (scheduling.definitions.counts_for_no_show: attended or did not attend, cancellations left out);
    numerator: did not attend (is_no_show). Unit: the citizen's team on the appointment's day. One
    statement for every month of the run."""
    s = Statement()
    months_sql = months_table(s, months)
    start, end = _moments(months)
    appointments = (
        Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end, status__in=statuses(counts_for_no_show))
        .annotate(day=TruncDate("starts_at"))
        .values_list("patient_id", "day", "status")
    )
    s.param("no_show", statuses(is_no_show))
    sql = f"""
        WITH months AS ({months_sql}),
        appointments AS ({s.queryset("appointments", appointments)}),
        team_periods AS ({team_periods_sql("patient_id IN (SELECT patient_id FROM appointments)")})
        SELECT m.month, GROUPING(t.team_id), t.team_id,
               count(*) FILTER (WHERE a.status = ANY(%(no_show)s::text[])), count(*)
        FROM appointments a (patient_id, day, status)
        JOIN months m ON m.month = date_trunc('month', a.day)::date
        LEFT JOIN team_periods t ON t.patient_id = a.patient_id AND t.from_day <= a.day
                                AND (t.until_day IS NULL OR t.until_day > a.day)
        GROUP BY GROUPING SETS ((m.month), (m.month, t.team_id))
    """  # noqa: S608  # nosec B608  # the text is ours; the values are parameters
    found: dict[tuple[datetime.date, str, int], tuple[int, int]] = {(m, UnitKind.CENTRE, 0): (0, 0) for m in months}
    with connection.cursor() as cursor:
        cursor.execute(sql, s.params)
        for month, level, team_id, n, d in cursor.fetchall():
            if level:
                found[(month, UnitKind.CENTRE, 0)] = (n, d)
            elif team_id is not None:  # every citizen has a team from the start
                found[(month, UnitKind.TEAM, team_id)] = (n, d)
    return [
        MonthRow(month, Row("OPS-NO-SHOW", kind, unit, n, d, percent(n, d)))
        for (month, kind, unit), (n, d) in found.items()
    ]


def _course_rows(months: list[datetime.date]) -> list[MonthRow]:
    """OPS-COURSE-COMPLETION: the participants of the courses whose last held session starts in the
    month (local day), those who withdrew before the first held session left out; numerator: attended
    at least 75 % of the course's held sessions. The rules are scheduling.definitions' (held_sessions,
    attended_session, withdrew_before_start, completed). Units: the course's team and the course's
    programme. One statement counts, for every participant of those courses, the held sessions and
    the ones they attended; the few rows (a course has a dozen participants) are tallied here."""
    s = Statement()
    months_sql = months_table(s, months)
    s.param("tz", settings.TIME_ZONE)
    s.param("attended", statuses(attended_session))
    held = held_sessions().values_list("id", "course_id", "starts_at")
    sql = f"""
        WITH months AS ({months_sql}),
        held AS ({s.queryset("held", held)}),
        courses AS (
            SELECT h.course_id, count(*) AS held,
                   (min(h.starts_at) AT TIME ZONE %(tz)s)::date AS first_day,
                   (max(h.starts_at) AT TIME ZONE %(tz)s)::date AS last_day
            FROM held h (id, course_id, starts_at)
            GROUP BY h.course_id
        ),
        ending AS (
            SELECT c.course_id, c.held, c.first_day, m.month
            FROM courses c JOIN months m ON m.month = date_trunc('month', c.last_day)::date
        ),
        attended AS (
            SELECT e.course_id, a.patient_id, count(DISTINCT a.session_id) AS attended
            FROM ending e
            JOIN held h (id, course_id, starts_at) ON h.course_id = e.course_id
            JOIN {Appointment._meta.db_table} a ON a.session_id = h.id
            WHERE a.status = ANY(%(attended)s::text[])
            GROUP BY 1, 2
        )
        SELECT e.month, c.team_id, c.programme_id, p.status, p.dropped_out_on, e.first_day,
               COALESCE(a.attended, 0), e.held
        FROM ending e
        JOIN {Course._meta.db_table} c ON c.id = e.course_id
        JOIN {CourseParticipant._meta.db_table} p ON p.course_id = e.course_id
        LEFT JOIN attended a ON a.course_id = e.course_id AND a.patient_id = p.patient_id
    """  # noqa: S608  # nosec B608  # the text is ours; the values are parameters
    found: dict[tuple[datetime.date, str, int], tuple[int, int]] = {(m, UnitKind.CENTRE, 0): (0, 0) for m in months}
    with connection.cursor() as cursor:
        cursor.execute(sql, s.params)
        for month, team_id, programme_id, status, dropped_out_on, first_day, attended, held_count in cursor.fetchall():
            if withdrew_before_start(status=status, dropped_out_on=dropped_out_on, first_held_day=first_day):
                continue
            done = int(completed(attended=attended, held=held_count))
            for unit in ((UnitKind.CENTRE, 0), (UnitKind.TEAM, team_id), (UnitKind.PROGRAMME, programme_id)):
                n, d = found.get((month, *unit), (0, 0))
                found[(month, *unit)] = (n + done, d + 1)
    return [
        MonthRow(month, Row("OPS-COURSE-COMPLETION", kind, unit, n, d, percent(n, d)))
        for (month, kind, unit), (n, d) in found.items()
    ]


@dataclass(frozen=True)
class Operational:
    """Operational figures computed together, the indicators they write and the tables they are
    computed from: a change to one of those tables is all that makes them stale."""

    codes: tuple[str, ...]
    sources: frozenset[str]
    rows: Callable[[list[datetime.date]], list[MonthRow]]


# A team change moves the figures counted by the citizen's team on a day (see _plan).
TEAM_HISTORY = "patients_teamresponsibility"
OPERATIONAL = {
    "waiting": Operational(
        ("OPS-WAIT-DAYS",), frozenset({"coordination_referral", "patients_encounter", TEAM_HISTORY}), _waiting_rows
    ),
    "tasks": Operational(
        ("OPS-TASKS-OVERDUE", "OPS-LOOP-CLOSED"),
        frozenset({"coordination_task", "coordination_tasktransition"}),
        _task_rows,
    ),
    "stories": Operational(
        ("STORIES-APPROVED",), frozenset({"reporting_story", "patients_consent", TEAM_HISTORY}), _stories_rows
    ),
    # Counted by the citizen's team on the appointment's day.
    "no-show": Operational(("OPS-NO-SHOW",), frozenset({"scheduling_appointment", TEAM_HISTORY}), _no_show_rows),
    # Counted by the course's own team: a citizen's team change moves nothing. The appointments of a
    # session's participants say who attended.
    "courses": Operational(
        ("OPS-COURSE-COMPLETION",),
        frozenset(
            {"scheduling_course", "scheduling_coursesession", "scheduling_courseparticipant", "scheduling_appointment"}
        ),
        _course_rows,
    ),
}
OPERATIONAL_CODES = [code for part in OPERATIONAL.values() for code in part.codes]
ACTIVITY_SOURCES = frozenset({"patients_encounter", TEAM_HISTORY})


@dataclass(frozen=True)
class Activity:
    unit_kind: str
    unit_id: int
    contacts: int
    citizens: int


def compute_activity(months: list[datetime.date]) -> dict[datetime.date, list[Activity]]:
    """Signed contacts in each month and the citizens they were with, for the centre and by the
    citizen's team on the day of the contact; one pass for every month and unit."""
    s = Statement()
    months_sql = months_table(s, months)
    start, end = _moments(months)
    encounters = (
        signed_encounters()
        .filter(started_at__gte=start, started_at__lt=end)
        .annotate(day=TruncDate("started_at"))
        .values_list("patient_id", "day")
    )
    sql = f"""
        WITH months AS ({months_sql}),
        team_periods AS ({team_periods_sql()}),
        contacts AS ({s.queryset("contacts", encounters)})
        SELECT m.month, GROUPING(t.team_id), t.team_id, count(*), count(DISTINCT c.patient_id)
        FROM contacts c (patient_id, day)
        JOIN months m ON m.month = date_trunc('month', c.day)::date
        JOIN team_periods t ON t.patient_id = c.patient_id AND t.from_day <= c.day
                           AND (t.until_day IS NULL OR t.until_day > c.day)
        GROUP BY GROUPING SETS ((m.month), (m.month, t.team_id))
    """  # noqa: S608  # nosec B608  # the text is ours; the values are parameters
    found: dict[datetime.date, list[Activity]] = {m: [] for m in months}
    with connection.cursor() as cursor:
        cursor.execute(sql, s.params)
        for month, level, team_id, contacts, citizens in cursor.fetchall():
            unit = (UnitKind.CENTRE, 0) if level else (UnitKind.TEAM, team_id)
            found[month].append(Activity(*unit, contacts, citizens))
    for activity in found.values():
        if not any(a.unit_kind == UnitKind.CENTRE for a in activity):
            activity.append(Activity(UnitKind.CENTRE, 0, 0, 0))
    return found


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
def store_month(
    month: datetime.date,
    rows: list[Row],
    activity: list[Activity] | None,
    indicators: dict,
    *,
    codes: list[str] | None = None,
) -> int:
    """Upserts one month's rows of the indicators `codes` (None: all) and removes the month's rows
    of those indicators no longer produced, so that they equal the computed month exactly; the
    month's activity is replaced too unless it is None (not recomputed)."""
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
    replaced = IndicatorValue.objects.filter(month=month)
    if codes is not None:
        replaced = replaced.filter(indicator__code__in=codes)
    replaced.exclude(pk__in=[o.pk for o in objects]).delete()
    if activity is not None:
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


def _settings_for_the_job() -> None:
    """For the run's transaction: a few large statements, not many short ones. Compiling them (JIT)
    cost a second a statement at 50,000 citizens and saved nothing. Grouping the events of a
    million citizen-months (50,000 citizens) by hashing takes 250 MB: one connection, one run at a
    time, on a machine that keeps shared_buffers at 1 GB."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '256MB'")


# One rollup run at a time (coordination.caregaps serialises its job with 4_202_611).
RUN_LOCK_ID = 4_202_612


@contextlib.contextmanager
def _one_run_at_a_time() -> Iterator[None]:
    """Holds a session advisory lock on this process's database connection while a run lasts,
    after any run under way has finished. PostgreSQL releases the lock when the connection ends,
    also when the process holding it is killed: a run still 'running' once the lock is ours was
    left by a process that died, and is marked interrupted. Its transaction died with it, so the
    marks it had taken are back for the next run. No clock is involved, so a long run is never
    taken for dead."""
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


@dataclass
class Plan:
    """What a run recomputes: the facts of every citizen in some months, of some citizens from a
    month on, and the share and operational rows of the months those touch."""

    everyone: list[datetime.date] = field(default_factory=list)
    citizens: list[int] = field(default_factory=list)
    citizens_months: list[datetime.date] = field(default_factory=list)
    # OPERATIONAL's keys, and "activity": the months to recompute.
    operational: dict[str, list[datetime.date]] = field(default_factory=dict)

    @classmethod
    def all_of(cls, months: list[datetime.date]) -> "Plan":
        return cls(everyone=list(months), operational={part: list(months) for part in [*OPERATIONAL, "activity"]})

    @property
    def share_months(self) -> list[datetime.date]:
        return sorted(set(self.everyone) | set(self.citizens_months))

    @property
    def months(self) -> list[datetime.date]:
        return sorted(set(self.share_months).union(*self.operational.values()))

    def codes(self, month: datetime.date) -> list[str]:
        """The indicators whose rows of the month are recomputed."""
        codes = SHARE_CODES if month in self.share_months else []
        for name, part in OPERATIONAL.items():
            if month in self.operational.get(name, []):
                codes = codes + list(part.codes)
        return codes


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
        run = _start_run(first_month, last_month, kind=kind)
        months = months_between(run.first_month, run.last_month)
        return _compute(run, lambda: Plan.all_of(months), compare=compare, progress=progress)


def _compute(
    run: RollupRun,
    plan_from_marks: Callable[[], Plan],
    *,
    compare: bool = False,
    progress: Callable[[datetime.date], None] | None = None,
) -> RollupRun:
    """One transaction: the marks the plan takes come back if the run fails or its process dies,
    and readers see the old rows until the new ones are all stored."""
    indicators = {i.code: i for i in Indicator.objects.all()}
    found: list[str] = []
    try:
        with transaction.atomic():
            _settings_for_the_job()
            plan = plan_from_marks()
            refresh_facts(plan.everyone)
            refresh_facts(plan.citizens_months, plan.citizens)
            computed = share_rows(plan.share_months)
            for name, part in OPERATIONAL.items():
                if plan.operational.get(name):
                    computed += part.rows(plan.operational[name])
            activity = compute_activity(plan.operational["activity"]) if plan.operational.get("activity") else {}
            by_month: dict[datetime.date, list[Row]] = defaultdict(list)
            for month, row in computed:
                by_month[month].append(row)
            for month in plan.months:
                rows, codes = by_month[month], plan.codes(month)
                if compare:
                    found += differences(
                        [r for r in rows if r.code in indicators],
                        month,
                        {k: v for k, v in _stored(month).items() if k[0] in codes},
                    )
                run.rows += store_month(month, rows, activity.get(month), indicators, codes=codes)
                if progress is not None:
                    progress(month)
            if plan.months:
                run.first_month, run.last_month = plan.months[0], plan.months[-1]
    except Exception as error:
        run.status, run.error = RunStatus.FAILED, f"{type(error).__name__}: {error}"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at", "rows"])
        raise
    run.status, run.finished_at = RunStatus.SUCCEEDED, timezone.now()
    run.differences, run.difference_detail = len(found), "\n".join(found[:200])
    run.save(
        update_fields=["status", "finished_at", "rows", "differences", "difference_detail", "first_month", "last_month"]
    )
    return run


def oldest_month_kept(today: datetime.date | None = None) -> datetime.date:
    today = today or timezone.localdate()
    return add_months(today.replace(day=1), -(MONTHS_KEPT - 1))


# The tables whose changes can move a citizen's own facts (the operational figures name theirs in
# OPERATIONAL). The migration that made the facts table marks everything stale as it.
FACT_SOURCES = {
    "patients_measurement",
    "patients_encounter",
    "patients_condition",
    "patients_enrolment",
    TEAM_HISTORY,
    "patients_relative",
    "patients_goal",
    "patients_programme",
    "reporting_citizenmonth",
}


@dataclass(frozen=True)
class Mark:
    from_day: datetime.date
    source: str
    patient_id: int | None


def _take_marks() -> list[Mark]:
    """Consumes the stale marks, in the transaction that acts on them."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reporting_staleday RETURNING from_day, source, patient_id")
        return [Mark(*row) for row in cursor.fetchall()]


def _months_never_computed(kept: list[datetime.date]) -> tuple[set[datetime.date], set[datetime.date]]:
    """The kept months without rows (every computed month has its centre rows), and of them the
    new ones: after the last month computed (a month just begun), or all of them before any run.
    A gap a chosen-range run left before that is filled only when a change reaches it."""
    computed = set(
        IndicatorValue.objects.filter(month__in=kept, unit_kind=UnitKind.CENTRE, unit_id=0)
        .values_list("month", flat=True)
        .distinct()
    )
    never = {m for m in kept if m not in computed}
    return never, {m for m in never if not computed or m > max(computed)}


def _first_contact_months(patients: set[int]) -> dict[int, datetime.date]:
    """The month of each citizen's first contact, story or counted appointment: a team change can
    move the operational figures (counted by the team on the day) only from then on."""
    firsts: dict[int, datetime.datetime] = {}
    for model, moment, extra in (
        (Encounter, "started_at", Q()),
        (Story, "decided_at", Q(decided_at__isnull=False)),
        (Appointment, "starts_at", Q(status__in=statuses(counts_for_no_show))),
    ):
        for patient_id, first in (
            model.objects.filter(extra, patient_id__in=patients)
            .values("patient_id")
            .annotate(first=Min(moment))
            .values_list("patient_id", "first")
        ):
            firsts[patient_id] = min(first, firsts.get(patient_id, first))
    return {p: timezone.localdate(first).replace(day=1) for p, first in firsts.items()}


def _team_change_months(
    team_changes: dict[int, datetime.date], parts: dict[str, frozenset[str]]
) -> dict[str, datetime.date]:
    """The first month each part counted by the team on a day (a contact's, a story's) must be
    recomputed from after citizens' team changes: the later of the change's month and the
    citizen's first contact or story. A new citizen's first team, dated from the start, moves
    nothing until they have one."""
    found: dict[str, datetime.date] = {}
    first_contacts = _first_contact_months(set(team_changes)) if team_changes else {}
    for patient_id, changed in team_changes.items():
        if patient_id in first_contacts:
            month = max(changed, first_contacts[patient_id])
            for name, sources in parts.items():
                if TEAM_HISTORY in sources:
                    found[name] = min(month, found.get(name, month))
    return found


def _plan(marks: list[Mark], today: datetime.date) -> Plan:
    """From the marks taken: the citizens whose facts to recompute from which month, whether
    everyone's must be, and the months of each operational part; and every kept month never
    computed, in full. A mark from a table nothing names (there is none) makes everything stale."""
    kept = months_between(oldest_month_kept(today), today)
    floor, this_month = kept[0], kept[-1]
    parts = {name: part.sources for name, part in OPERATIONAL.items()} | {"activity": ACTIVITY_SOURCES}
    known = FACT_SOURCES.union(*parts.values())

    everyone_from = citizens_from = None
    citizens: set[int] = set()
    operational_from: dict[str, datetime.date] = {}
    team_changes: dict[int, datetime.date] = {}

    def earliest(found: datetime.date | None, month: datetime.date) -> datetime.date:
        return month if found is None else min(found, month)

    for mark in marks:
        if mark.from_day.replace(day=1) > this_month:
            continue  # nothing kept can depend on it yet
        month = max(floor, mark.from_day.replace(day=1))
        if mark.source in FACT_SOURCES or mark.source not in known:
            if mark.patient_id is None:
                everyone_from = earliest(everyone_from, month)
            else:
                citizens.add(mark.patient_id)
                citizens_from = earliest(citizens_from, month)
        if mark.source == TEAM_HISTORY and mark.patient_id is not None:
            team_changes[mark.patient_id] = earliest(team_changes.get(mark.patient_id), month)
            continue
        for name, sources in parts.items():
            if mark.source in sources or mark.source not in known:
                operational_from[name] = earliest(operational_from.get(name), month)
    for name, month in _team_change_months(team_changes, parts).items():
        operational_from[name] = earliest(operational_from.get(name), month)
    never, new = _months_never_computed(kept)

    def from_on(month: datetime.date | None) -> set[datetime.date]:
        return new | set(months_between(month, this_month) if month else [])

    citizens_months = from_on(citizens_from) - new if citizens else set()
    operational = {name: from_on(operational_from.get(name)) for name in parts}
    # A month without rows that a change reaches is computed in full: it has no facts of anyone
    # else to aggregate with the citizens' new ones, and no rows of the other indicators.
    whole = never & citizens_months.union(*operational.values())
    everyone = from_on(everyone_from) | whole
    return Plan(
        everyone=sorted(everyone),
        citizens=sorted(citizens),
        citizens_months=sorted(citizens_months - everyone),
        operational={name: sorted(months | whole) for name, months in operational.items()},
    )


def take_stale_months() -> datetime.date:
    """Consumes the stale marks and answers the first month they (or a kept month never computed)
    make stale; at least this month. Before any run: the oldest month kept."""
    today = timezone.localdate()
    with transaction.atomic():
        plan = _plan(_take_marks(), today)
    return min([today.replace(day=1), *plan.months])


def run_incremental(*, progress=None) -> RollupRun:
    """Recomputes what changes since the last run can affect, up to this month: the facts of the
    citizens whose data changed and the figures of the months those move, the operational figures
    from the first month a change to their sources can move, and any kept month never computed.
    With nothing changed it computes nothing. The marks are taken in the run's own transaction."""
    with _one_run_at_a_time():
        today = timezone.localdate()
        with transaction.atomic():
            # Recorded first, so that a run that dies is seen; the months come from a look at the marks.
            marks = [Mark(*row) for row in StaleDay.objects.values_list("from_day", "source", "patient_id")]
            peek = _plan(marks, today)
            first = peek.months[0] if peek.months else today
            run = _start_run(first, today, kind=RunKind.INCREMENTAL)
        return _compute(run, lambda: _plan(_take_marks(), today), progress=progress)


def run_full(*, progress=None) -> RollupRun:
    """Recomputes every month kept for everyone, comparing with the stored rows first (nightly);
    drops the facts of months no longer kept."""
    with _one_run_at_a_time():
        today = timezone.localdate()
        run = _start_run(oldest_month_kept(today), today, kind=RunKind.FULL)
        months = months_between(run.first_month, run.last_month)

        def everything() -> Plan:
            _take_marks()
            # Every kept month's facts are remade and no other month's are needed: emptied at once
            # rather than row by row (a deleted row is dead weight until vacuumed). Nothing reads
            # the table outside a run, and no other run waits for it (_one_run_at_a_time).
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE reporting_citizenmonth")
            return Plan.all_of(months)

        return _compute(run, everything, compare=True, progress=progress)
