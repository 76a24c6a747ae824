"""Each citizen's facts for a month (reporting.CitizenMonth), computed once, in one SQL statement
for any number of months and citizens.

Who is counted and what counts as measured or as a signed contact are the shared querysets of
patients.definitions (qualifying_enrolments, counted_measurements, signed_encounters), compiled into
the statement unchanged. What the statement adds is set-based "as of each month's last day" over
many months at once, which the one-day expressions of patients.definitions (team_on,
hba1c_goal_range, primary_caregiver_on, latest_value, in_window) cannot do without one look-up per
citizen and month. The same definitions, written for many days; the windows' first days and every
month's end come from patients.definitions in Python, so no month arithmetic is repeated in SQL. The
exactness tests hold each stored fact against those one-day expressions
(tests/test_indicator_exactness.py) and every aggregated figure against the independent
recomputation.

"Something in the last N months on L" is "the latest of it before the end of L is on or after the
window's first day": each dated event (a counted measurement, a signed contact with the caregiver)
is the latest of its citizen and kind for the month ends from its own moment until the next one's,
so the statement expands each event over those months only and keeps it where it is inside the
window."""

import datetime

from django.db import connection
from django.db.models import F, Q, QuerySet, Value
from django.db.models.fields import CharField, DateField

from patients.definitions import (
    DEMENTIA,
    counted_measurements,
    day_start,
    month_end,
    qualifying_enrolments,
    signed_encounters,
    window_start,
)
from patients.models import ConditionGroup

# What a fact asks: the latest counted value (or any counted record) of a measurement, or a signed
# contact with the caregiver present, in the last N months (DESIGN.md, "Indicator definitions").
CAREGIVER_CONTACT = "caregiver-contact"
DATED_FACTS: dict[str, tuple[str, int]] = {
    # column: (measurement code or CAREGIVER_CONTACT, window in months)
    "latest_hba1c": ("hba1c", 12),
    "bp_measured": ("systolic_bp", 12),
    "albumin_screened": ("urine_acr", 24),
    "eye_screened": ("eye_screening", 24),
    "foot_examined": ("foot_exam", 24),
    "cognition_tested": ("mmse", 12),
    "caregiver_spoken_with": (CAREGIVER_CONTACT, 6),
}
# The one fact that keeps the value (latest_value: the latest value in the window, not any record).
VALUE_FACT = "latest_hba1c"
LONGEST_WINDOW = max(months for _what, months in DATED_FACTS.values())


def month_index(month: datetime.date) -> int:
    return month.year * 12 + month.month - 1


def utc_month_index(column: str) -> str:
    """The month of a moment in UTC: never after its local month in Copenhagen (ahead of UTC) and
    at most one before it. Used only to bound the months an event can be the latest for; the exact
    tests are against the local day boundaries passed in."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return f"(EXTRACT(YEAR FROM {utc})::int * 12 + EXTRACT(MONTH FROM {utc})::int - 1)"


class Statement:
    """Named parameters, and querysets compiled into the text with theirs renamed."""

    def __init__(self):
        self.params: dict[str, object] = {}

    def param(self, name: str, value) -> str:
        self.params[name] = value
        return f"%({name})s"

    def queryset(self, name: str, queryset: QuerySet) -> str:
        return self.fragment(name, *queryset.query.sql_with_params())

    def fragment(self, name: str, sql: str, params) -> str:
        """Compiled SQL with positional parameters, its parameters renamed into this statement's."""
        parts = sql.split("%s")
        assert len(parts) == len(params) + 1, "a compiled queryset holds a literal %s"
        text = parts[0]
        for index, (value, rest) in enumerate(zip(params, parts[1:], strict=True)):
            text += self.param(f"{name}_{index}", value) + rest
        return text


def _for(queryset: QuerySet, patients: list[int] | None) -> QuerySet:
    return queryset if patients is None else queryset.filter(patient_id__in=patients)


def _populations(statement: Statement, months: list[datetime.date], patients: list[int] | None) -> str:
    """patients.definitions.qualifying_enrolments on each month's last day, as (month, population,
    patient, programme) rows."""
    parts = []
    for month in months:
        for group in (ConditionGroup.DIABETES, ConditionGroup.DEMENTIA):
            enrolments = _for(qualifying_enrolments(group, month_end(month)), patients).annotate(
                fact_month=Value(month, output_field=DateField()),
                population=Value(group.value, output_field=CharField()),
            )
            parts.append(
                statement.queryset(
                    f"pop_{month:%Y%m}_{group.value}",
                    enrolments.values("fact_month", "population", "patient_id", "programme_id"),
                )
            )
    return "\nUNION ALL\n".join(f"({part})" for part in parts)


def _events(statement: Statement, months: list[datetime.date], patients: list[int] | None) -> str:
    """The dated events the facts ask about, inside the longest window of the first month and before
    the end of the last: counted measurements and signed contacts with the caregiver present."""
    since = day_start(window_start(month_end(months[0]), LONGEST_WINDOW))
    until = day_start(month_end(months[-1]) + datetime.timedelta(days=1))
    codes = [what for what, _months in DATED_FACTS.values() if what != CAREGIVER_CONTACT]
    value_code = DATED_FACTS[VALUE_FACT][0]
    measurements = (
        _for(counted_measurements(), patients)
        .filter(type__code__in=codes, measured_at__gte=since, measured_at__lt=until)
        # latest_value: the latest value, so a row without one is not the latest HbA1c.
        .exclude(Q(type__code=value_code) & Q(value__isnull=True))
        .values_list("patient_id", F("type__code"), "measured_at", "id", "value")
    )
    contacts = (
        _for(signed_encounters(), patients)
        .filter(caregiver_present=True, started_at__gte=since, started_at__lt=until)
        .annotate(what=Value(CAREGIVER_CONTACT, output_field=CharField()))
        .values_list("patient_id", "what", "started_at", "id")
    )
    return f"""
        SELECT patient_id, what, at, id, value FROM (
            {statement.queryset("measurements", measurements)}
        ) AS measured (patient_id, what, at, id, value)
        UNION ALL
        SELECT patient_id, what, at, id, NULL FROM (
            {statement.queryset("contacts", contacts)}
        ) AS contacted (patient_id, what, at, id)
    """  # noqa: S608  # nosec B608  # compiled querysets with their parameters


def _patient_filter(statement: Statement, column: str, patients: list[int] | None) -> str:
    if patients is None:
        return "TRUE"
    return f"{column} = ANY({statement.param('patients', patients)}::int[])"


def team_periods_sql(where: str = "TRUE") -> str:
    """patients.definitions.team_on as periods: each responsibility row holds from its day
    (undated: from the start) until the next row's; undated rows come before every dated one, and
    on one date the later record wins (an earlier one's period is empty). A citizen's team on day
    D is the row with from_day <= D < until_day (no until_day: for good)."""
    return f"""
        SELECT patient_id, team_id, COALESCE(valid_from, '-infinity') AS from_day,
               lead(COALESCE(valid_from, '-infinity'))
                   OVER (PARTITION BY patient_id ORDER BY valid_from NULLS FIRST, id) AS until_day
        FROM patients_teamresponsibility
        WHERE {where}
    """  # noqa: S608  # nosec B608  # `where` is ours, its values parameters


def months_table(statement: Statement, months: list[datetime.date]) -> str:
    """The months as rows (idx, month, last_day, day_after: the first moment after the last day)."""
    statement.param("m_idx", [month_index(m) for m in months])
    statement.param("m_month", months)
    statement.param("m_last_day", [month_end(m) for m in months])
    statement.param("m_day_after", [day_start(month_end(m) + datetime.timedelta(days=1)) for m in months])
    return """
        SELECT * FROM unnest(%(m_idx)s::int[], %(m_month)s::date[], %(m_last_day)s::date[],
                             %(m_day_after)s::timestamptz[]) AS m (idx, month, last_day, day_after)
    """


def facts_sql(months: list[datetime.date], patients: list[int] | None = None) -> tuple[str, dict]:
    """The SELECT of every CitizenMonth row of these months (first days, ascending), for these
    citizens (None: everyone)."""
    s = Statement()
    months_sql = months_table(s, months)
    last_days = [month_end(m) for m in months]
    windows = [
        (month_index(m), what, day_start(window_start(d, n)))
        for m, d in zip(months, last_days, strict=True)
        for what, n in DATED_FACTS.values()
    ]
    s.param("w_idx", [w[0] for w in windows])
    s.param("w_what", [w[1] for w in windows])
    s.param("w_since", [w[2] for w in windows])
    s.param("first_idx", month_index(months[0]))
    s.param("last_idx", month_index(months[-1]))
    s.param("dementia", DEMENTIA)
    populations = _populations(s, months, patients)
    events = _events(s, months, patients)
    pivot = ",\n".join(
        f"max(s.value) FILTER (WHERE s.what = '{what}') AS {column}"
        if column == VALUE_FACT
        else f"bool_or(s.what = '{what}') AS {column}"
        for column, (what, _n) in DATED_FACTS.items()
    )
    dated_columns = ", ".join(
        f"f.{column}" if column == VALUE_FACT else f"COALESCE(f.{column}, FALSE)" for column in DATED_FACTS
    )
    sql = f"""
    WITH months AS ({months_sql}),
    windows AS (
        SELECT * FROM unnest(%(w_idx)s::int[], %(w_what)s::text[], %(w_since)s::timestamptz[])
            AS w (idx, what, since)
    ),
    citizens AS (
        -- Two enrolments in one programme count once: made distinct first, by hashing (an aggregate's
        -- own DISTINCT sorts every group).
        SELECT q.fact_month AS month, q.patient_id,
               array_agg(q.programme_id) FILTER (WHERE q.population = 'diabetes') AS diabetes_programmes,
               array_agg(q.programme_id) FILTER (WHERE q.population = 'dementia') AS dementia_programmes
        FROM (SELECT DISTINCT * FROM ({populations}) AS e) AS q (fact_month, population, patient_id, programme_id)
        GROUP BY 1, 2
    ),
    series AS (
        -- Each event is the latest of its citizen and kind until the next one.
        SELECT e.patient_id, e.what, e.at, e.value,
               lead(e.at) OVER (PARTITION BY e.patient_id, e.what ORDER BY e.at, e.id) AS next_at
        FROM ({events}) AS e
        WHERE e.patient_id IN (SELECT patient_id FROM citizens)
    ),
    expanded AS (
        -- The months whose end can fall between an event and the next one (a few more: the bounds
        -- are taken in UTC). OFFSET 0 keeps it a unit: expanded before any join (the planner,
        -- misjudging the sizes, joined the windows first and expanded every event 27 times).
        SELECT s.patient_id, s.what, s.at, s.next_at, s.value, g.idx
        FROM series s
        CROSS JOIN LATERAL generate_series(
            GREATEST({utc_month_index("s.at")}, %(first_idx)s),
            LEAST(COALESCE({utc_month_index("s.next_at")} + 1, %(last_idx)s), %(last_idx)s)
        ) AS g (idx)
        OFFSET 0
    ),
    latest AS (
        SELECT m.month, s.patient_id, {pivot}
        FROM expanded s
        JOIN months m ON m.idx = s.idx
        JOIN windows w ON w.idx = s.idx AND w.what = s.what
        WHERE s.at < m.day_after AND (s.next_at IS NULL OR s.next_at >= m.day_after) AND s.at >= w.since
        GROUP BY 1, 2
    ),
    team_periods AS ({team_periods_sql(_patient_filter(s, "patient_id", patients))}),
    goals AS (
        -- patients.definitions.hba1c_goal_range: the latest goal with a range created on or before
        -- the day and not dropped before it.
        SELECT DISTINCT ON (c.month, c.patient_id) c.month, c.patient_id, g.target_low, g.target_high
        FROM citizens c
        JOIN months m ON m.month = c.month
        JOIN patients_goal g ON g.patient_id = c.patient_id
        JOIN patients_measurementtype t ON t.id = g.measurement_type_id AND t.code = '{DATED_FACTS[VALUE_FACT][0]}'
        WHERE c.diabetes_programmes IS NOT NULL
          AND (g.target_low IS NOT NULL OR g.target_high IS NOT NULL)
          AND g.created_at < m.day_after
          AND (g.dropped_on IS NULL OR g.dropped_on >= m.last_day)
        ORDER BY c.month, c.patient_id, g.created_at DESC, g.id DESC
    ),
    diagnoses AS (
        -- The latest dementia diagnosis on or before the day (ties: the later record).
        SELECT DISTINCT ON (c.month, c.patient_id) c.month, c.patient_id, d.kind
        FROM citizens c
        JOIN months m ON m.month = c.month
        JOIN patients_condition d ON d.patient_id = c.patient_id
        WHERE c.dementia_programmes IS NOT NULL AND d.kind = ANY(%(dementia)s::text[]) AND d.diagnosed_on <= m.last_day
        ORDER BY c.month, c.patient_id, d.diagnosed_on DESC, d.id DESC
    ),
    caregivers AS (
        -- patients.definitions.primary_caregiver_on: registered on or before the day, still that day.
        SELECT DISTINCT c.month, c.patient_id
        FROM citizens c
        JOIN months m ON m.month = c.month
        JOIN patients_relative r ON r.patient_id = c.patient_id
        WHERE c.dementia_programmes IS NOT NULL
          AND r.primary_caregiver_from <= m.last_day
          AND (r.primary_caregiver_until IS NULL OR r.primary_caregiver_until > m.last_day)
    )
    SELECT c.month, c.patient_id, t.team_id, c.diabetes_programmes, c.dementia_programmes,
           g.target_low, g.target_high, COALESCE(d.kind, ''), r.patient_id IS NOT NULL,
           {dated_columns}
    FROM citizens c
    JOIN months m ON m.month = c.month
    LEFT JOIN team_periods t
        ON t.patient_id = c.patient_id AND t.from_day <= m.last_day
       AND (t.until_day IS NULL OR t.until_day > m.last_day)
    LEFT JOIN latest f ON f.month = c.month AND f.patient_id = c.patient_id
    LEFT JOIN goals g ON g.month = c.month AND g.patient_id = c.patient_id
    LEFT JOIN diagnoses d ON d.month = c.month AND d.patient_id = c.patient_id
    LEFT JOIN caregivers r ON r.month = c.month AND r.patient_id = c.patient_id
    """  # noqa: S608  # nosec B608  # the text is ours; the values are parameters
    return sql, s.params


FACT_COLUMNS = [
    "month",
    "patient_id",
    "team_id",
    "diabetes_programmes",
    "dementia_programmes",
    "goal_low",
    "goal_high",
    "latest_dementia",
    "caregiver_registered",
    *DATED_FACTS,
]


def refresh_facts(months: list[datetime.date], patients: list[int] | None = None) -> int:
    """Replaces the CitizenMonth rows of these months (of these citizens; None: everyone) by freshly
    computed ones; returns how many there are now."""
    if not months or patients == []:
        return 0
    months = sorted(months)
    select, params = facts_sql(months, patients)
    with connection.cursor() as cursor:
        only = "" if patients is None else " AND patient_id = ANY(%(patients)s::int[])"
        cursor.execute(
            f"DELETE FROM reporting_citizenmonth WHERE month = ANY(%(m_month)s::date[]){only}",  # noqa: S608  # nosec B608  # fixed text; values are parameters
            params,
        )
        # The planner cannot see how many rows the CTEs hold (a million citizen-months at 50,000
        # citizens; it guesses thousands), so it sorts four million events to group them and merges
        # the joins (49 s); told to hash where it can instead, 33 s (both measured in one session).
        # For everyone it also looked goals, diagnoses and caregivers up one citizen-month at a time
        # (a million index probes, 9 s; hashed, 5 s). For a few citizens those look-ups are right.
        cursor.execute("SET LOCAL enable_sort = off")
        if patients is None:
            cursor.execute("SET LOCAL enable_nestloop = off")
        # Computed into a table of the transaction's own first: PostgreSQL plans no parallel
        # workers for the SELECT of an INSERT, but does for CREATE TABLE AS.
        columns = ", ".join(FACT_COLUMNS)
        cursor.execute(f"CREATE TEMPORARY TABLE citizen_month_new ({columns}) ON COMMIT DROP AS {select}", params)
        # The column names are FACT_COLUMNS, ours.
        cursor.execute(f"INSERT INTO reporting_citizenmonth ({columns}) SELECT {columns} FROM citizen_month_new")  # noqa: S608  # nosec B608
        inserted = cursor.rowcount
        cursor.execute("DROP TABLE citizen_month_new")
        cursor.execute("SET LOCAL enable_sort = on")
        cursor.execute("SET LOCAL enable_nestloop = on")
        return inserted
