"""An independent recomputation of the monthly quality indicators.

Written from DESIGN.md ("Quality indicators", "Indicator definitions, exactly") and the models
alone, never from the rollup code: the raw rows are loaded with plain `.values()` queries and every
rule is applied here in Python, one citizen at a time. Two differently built answers that agree on a
year of deliberately awkward history are the product's proof that its stored figures are exact.

Rows are keyed (code, month, unit_kind, unit_id) and hold (numerator, denominator, value), the shape
of reporting.IndicatorValue. The conventions of the stored rows are part of the contract:
- a centre row (unit_id 0) exists for every indicator and month, with value None when nothing is
  counted; team and programme rows exist only when their denominator is above 0;
- shares are 100 * numerator / denominator as a Decimal rounded half up to 0.01;
- a citizen counts once for the centre and the team, and once in every programme that qualifies.
"""

import calendar
import datetime
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

from coordination.models import Referral, Task, TaskTransition
from patients.models import (
    Condition,
    Consent,
    Encounter,
    Enrolment,
    Goal,
    Measurement,
    Programme,
    Relative,
    TeamResponsibility,
)
from reporting.models import IndicatorValue, Story
from scheduling.models import Appointment, Course, CourseParticipant, CourseSession

LOCAL = ZoneInfo(settings.TIME_ZONE)
CENTRE, TEAM, PROGRAMME = "centre", "team", "programme"
CENT = Decimal("0.01")

# Written out here rather than imported, so that a wrong grouping in the product cannot hide itself.
DIABETES = {"dm1", "dm2"}  # prediabetes is not diabetes
DEMENTIA = {"dem_alzheimer", "dem_vascular", "dem_mixed", "dem_lewy", "dem_frontotemporal", "dem_unspecified"}
UNSPECIFIED_DEMENTIA = "dem_unspecified"
DIABETES_GROUP, DEMENTIA_GROUP = "diabetes", "dementia"

# The measurement window of each indicator in months (DESIGN.md table), by catalogue code.
DIABETES_MEASURED = {
    "DM-HBA1C-MEASURED": ("hba1c", 12),
    "DM-BP-MEASURED": ("systolic_bp", 12),
    "DM-ALBUMIN-SCREENED": ("urine_acr", 24),
    "DM-EYE-SCREENED": ("eye_screening", 24),
    "DM-FOOT-EXAMINED": ("foot_exam", 24),
}
CODES = [
    "DM-HBA1C-MEASURED",
    "DM-HBA1C-LT59",
    "DM-HBA1C-GE75",
    "DM-AT-OWN-TARGET",
    "DM-BP-MEASURED",
    "DM-ALBUMIN-SCREENED",
    "DM-EYE-SCREENED",
    "DM-FOOT-EXAMINED",
    "DEM-SPECIFIC-DIAGNOSIS",
    "DEM-COGNITION-TESTED",
    "DEM-CAREGIVER-CONTACT",
    "OPS-WAIT-DAYS",
    "OPS-TASKS-OVERDUE",
    "OPS-LOOP-CLOSED",
    "STORIES-APPROVED",
    "OPS-NO-SHOW",
    "OPS-COURSE-COMPLETION",
]
OPEN_TASK_STATUSES = {"open", "in_progress"}
# OPS-NO-SHOW: held or missed counts, cancellations (and appointments still booked) do not.
HELD_OR_MISSED = {"attended", "did_not_attend"}

Key = tuple[str, datetime.date, str, int]
Figures = tuple[int, int, Decimal | None]


# --- days -----------------------------------------------------------------------------------------------------


def local_date(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(LOCAL).date()


def month_end(month: datetime.date) -> datetime.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def minus_months(day: datetime.date, months: int) -> datetime.date:
    """Calendar month arithmetic that clips to the month's end: 31 Oct - 12 months = 31 Oct,
    30 Sep - 6 months = 30 Mar, 29 Feb - 12 months = 28 Feb."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def in_window(day: datetime.date, *, last_day: datetime.date, months: int) -> bool:
    """DESIGN.md: "in the last N months" on T is T - N months < D <= T."""
    return minus_months(last_day, months) < day <= last_day


def months_from(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def quarter_start(day: datetime.date) -> datetime.date:
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def share(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return (Decimal(100 * numerator) / Decimal(denominator)).quantize(CENT, rounding=ROUND_HALF_UP)


# --- the raw rows -----------------------------------------------------------------------------------------------


@dataclass
class Sources:
    """Everything the figures are computed from, as it stands when the reference runs."""

    team_history: dict[int, list[tuple[datetime.date, int, int]]] = field(default_factory=lambda: defaultdict(list))
    conditions: dict[int, list[tuple[datetime.date, int, str]]] = field(default_factory=lambda: defaultdict(list))
    programme_group: dict[int, str] = field(default_factory=dict)
    enrolments: list[dict] = field(default_factory=list)
    # (patient, catalogue code) -> [(measured_at, id, local date, value)], counted measurements only.
    measurements: dict[tuple[int, str], list[tuple]] = field(default_factory=lambda: defaultdict(list))
    encounters: list[dict] = field(default_factory=list)
    relatives: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    goals: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    tasks: list[dict] = field(default_factory=list)
    transitions: dict[int, list[tuple[datetime.datetime, int, str]]] = field(default_factory=lambda: defaultdict(list))
    referrals: list[dict] = field(default_factory=list)
    stories: list[dict] = field(default_factory=list)
    story_consent: set[int] = field(default_factory=set)
    # (patient, local day of the start, status) of every appointment.
    appointments: list[tuple[int, datetime.date, str]] = field(default_factory=list)
    courses: dict[int, dict] = field(default_factory=dict)
    sessions: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))  # by course
    participants: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))  # by course
    # (session, patient) -> the statuses of the citizen's appointments for the session
    session_statuses: dict[tuple[int, int], list[str]] = field(default_factory=lambda: defaultdict(list))

    def team_on(self, patient_id: int, day: datetime.date) -> int:
        """The latest responsibility row dated on or before the day (no date: from the start);
        two rows on one day: the later record wins."""
        rows = [row for row in self.team_history[patient_id] if row[0] <= day]
        return max(rows)[2]


def load_sources() -> Sources:
    s = Sources()
    for row in TeamResponsibility.objects.values("patient_id", "team_id", "valid_from", "id"):
        s.team_history[row["patient_id"]].append((row["valid_from"] or datetime.date.min, row["id"], row["team_id"]))
    for row in Condition.objects.values("patient_id", "kind", "diagnosed_on", "id"):
        s.conditions[row["patient_id"]].append((row["diagnosed_on"], row["id"], row["kind"]))
    s.programme_group = dict(Programme.objects.values_list("id", "condition_group"))
    s.enrolments = list(Enrolment.objects.values("patient_id", "programme_id", "start_on", "end_on"))
    signed = set(Encounter.objects.filter(signed_at__isnull=False).values_list("id", flat=True))
    corrected = set(Measurement.objects.filter(corrects__isnull=False).values_list("corrects_id", flat=True))
    for row in Measurement.objects.values(
        "id", "patient_id", "type__code", "value", "measured_at", "source", "encounter_id"
    ):
        # A draft encounter's values are not yet part of the record; a corrected value no longer is.
        if row["id"] in corrected:
            continue
        if row["source"] in ("lab", "manual") or (row["source"] == "encounter" and row["encounter_id"] in signed):
            s.measurements[row["patient_id"], row["type__code"]].append(
                (row["measured_at"], row["id"], local_date(row["measured_at"]), row["value"])
            )
    s.encounters = [
        {**row, "day": local_date(row["started_at"])}
        for row in Encounter.objects.values("id", "patient_id", "started_at", "signed_at", "caregiver_present")
    ]
    for row in Relative.objects.values("patient_id", "primary_caregiver_from", "primary_caregiver_until"):
        s.relatives[row["patient_id"]].append(row)
    for row in Goal.objects.values(
        "id", "patient_id", "measurement_type__code", "target_low", "target_high", "created_at", "dropped_on"
    ):
        s.goals[row["patient_id"]].append({**row, "created_on": local_date(row["created_at"])})
    s.tasks = [
        {
            **row,
            "created_on": local_date(row["created_at"]),
            "completed_on": local_date(row["completed_at"]) if row["completed_at"] else None,
        }
        for row in Task.objects.values("id", "team_id", "created_at", "due_on", "status", "origin", "completed_at")
    ]
    for row in TaskTransition.objects.values("task_id", "at", "id", "to_status"):
        s.transitions[row["task_id"]].append((row["at"], row["id"], row["to_status"]))
    s.referrals = list(Referral.objects.values("id", "patient_id", "status", "received_on", "programme_id"))
    s.stories = [
        {**row, "approved_on": local_date(row["decided_at"])}
        for row in Story.objects.filter(status="approved").values("id", "patient_id", "decided_at")
    ]
    s.story_consent = set(
        Consent.objects.filter(kind="story_reports", withdrawn_on__isnull=True).values_list("patient_id", flat=True)
    )
    for row in Appointment.objects.values("patient_id", "starts_at", "status", "session_id"):
        s.appointments.append((row["patient_id"], local_date(row["starts_at"]), row["status"]))
        if row["session_id"] is not None:
            s.session_statuses[row["session_id"], row["patient_id"]].append(row["status"])
    s.courses = {row["id"]: row for row in Course.objects.values("id", "team_id", "programme_id")}
    for row in CourseSession.objects.values("id", "course_id", "starts_at", "cancelled"):
        s.sessions[row["course_id"]].append({**row, "day": local_date(row["starts_at"])})
    for row in CourseParticipant.objects.values("course_id", "patient_id", "status", "dropped_out_on"):
        s.participants[row["course_id"]].append(row)
    return s


# --- populations ------------------------------------------------------------------------------------------------


def population(s: Sources, *, group: str, last_day: datetime.date) -> dict[int, set[int]]:
    """Citizens with the group's condition diagnosed on or before L and an enrolment in one of the
    group's programmes active on L, each with the programmes that qualify them."""
    kinds = DIABETES if group == DIABETES_GROUP else DEMENTIA
    diagnosed = {
        patient
        for patient, rows in s.conditions.items()
        if any(kind in kinds and diagnosed_on <= last_day for diagnosed_on, _id, kind in rows)
    }
    programmes: dict[int, set[int]] = defaultdict(set)
    for e in s.enrolments:
        active = e["start_on"] <= last_day and (e["end_on"] is None or e["end_on"] >= last_day)
        if active and s.programme_group[e["programme_id"]] == group and e["patient_id"] in diagnosed:
            programmes[e["patient_id"]].add(e["programme_id"])
    return dict(programmes)


def measured_in_window(s: Sources, patient_id: int, code: str, *, last_day: datetime.date, months: int) -> list:
    return [m for m in s.measurements.get((patient_id, code), []) if in_window(m[2], last_day=last_day, months=months)]


def primary_caregiver_on(s: Sources, patient_id: int, day: datetime.date) -> bool:
    return any(
        r["primary_caregiver_from"] is not None
        and r["primary_caregiver_from"] <= day
        and (r["primary_caregiver_until"] is None or r["primary_caregiver_until"] > day)
        for r in s.relatives.get(patient_id, [])
    )


def hba1c_goal_in_force(s: Sources, patient_id: int, day: datetime.date) -> dict | None:
    """Created on or before L, not dropped before L (an achieved goal stays in force), with an
    HbA1c target; of several, the latest created (ties: the later record)."""
    candidates = [
        g
        for g in s.goals.get(patient_id, [])
        if g["measurement_type__code"] == "hba1c"
        and (g["target_low"] is not None or g["target_high"] is not None)
        and g["created_on"] <= day
        and (g["dropped_on"] is None or g["dropped_on"] >= day)
    ]
    return max(candidates, key=lambda g: (g["created_at"], g["id"])) if candidates else None


def task_status_at_end_of(s: Sources, task_id: int, day: datetime.date) -> str:
    """The to_status of the task's latest transition before the start of the next day; a task
    with no transition by then is in the state it was created in."""
    start_of_next_day = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=LOCAL)
    before = [t for t in s.transitions.get(task_id, []) if t[0] < start_of_next_day]
    return max(before)[2] if before else "open"


# --- rows ---------------------------------------------------------------------------------------------------------


def share_rows(code: str, month: datetime.date, counted: Iterable[tuple[bool, list[tuple[str, int]]]]) -> dict:
    """counted: for each citizen (or task) whether it is in the numerator, and the team and
    programme units it belongs to. The centre row is always written."""
    tally: dict[tuple[str, int], list[int]] = {(CENTRE, 0): [0, 0]}
    for in_numerator, units in counted:
        for unit in [(CENTRE, 0), *set(units)]:
            counts = tally.setdefault(unit, [0, 0])
            counts[0] += int(in_numerator)
            counts[1] += 1
    return {(code, month, kind, unit_id): (n, d, share(n, d)) for (kind, unit_id), (n, d) in tally.items()}


def units_of(s: Sources, patient_id: int, day: datetime.date, programmes: Iterable[int]) -> list[tuple[str, int]]:
    return [(TEAM, s.team_on(patient_id, day)), *((PROGRAMME, p) for p in programmes)]


def diabetes_rows(s: Sources, month: datetime.date) -> dict[Key, Figures]:
    last_day = month_end(month)
    dm = population(s, group=DIABETES_GROUP, last_day=last_day)
    rows: dict[Key, Figures] = {}
    for code, (measurement, months) in DIABETES_MEASURED.items():
        rows |= share_rows(
            code,
            month,
            (
                (
                    bool(measured_in_window(s, p, measurement, last_day=last_day, months=months)),
                    units_of(s, p, last_day, programmes),
                )
                for p, programmes in dm.items()
            ),
        )
    latest: dict[int, Decimal] = {}
    for p in dm:
        in_window_ = measured_in_window(s, p, "hba1c", last_day=last_day, months=12)
        if in_window_:
            # The latest time; at one time, the later record.
            latest[p] = max(in_window_)[3]
    rows |= share_rows(
        "DM-HBA1C-LT59", month, ((value < 59, units_of(s, p, last_day, dm[p])) for p, value in latest.items())
    )
    rows |= share_rows(
        "DM-HBA1C-GE75", month, ((value >= 75, units_of(s, p, last_day, dm[p])) for p, value in latest.items())
    )
    at_target = []
    for p, value in latest.items():
        goal = hba1c_goal_in_force(s, p, last_day)
        if goal is None:
            continue
        inside = (goal["target_low"] is None or value >= goal["target_low"]) and (
            goal["target_high"] is None or value <= goal["target_high"]
        )
        at_target.append((inside, units_of(s, p, last_day, dm[p])))
    rows |= share_rows("DM-AT-OWN-TARGET", month, at_target)
    return rows


def dementia_rows(s: Sources, month: datetime.date) -> dict[Key, Figures]:
    last_day = month_end(month)
    dem = population(s, group=DEMENTIA_GROUP, last_day=last_day)
    specific, tested, caregiver = [], [], []
    for p, programmes in dem.items():
        units = units_of(s, p, last_day, programmes)
        latest_dementia = max(
            (diagnosed_on, id_, kind)
            for diagnosed_on, id_, kind in s.conditions[p]
            if kind in DEMENTIA and diagnosed_on <= last_day
        )
        specific.append((latest_dementia[2] != UNSPECIFIED_DEMENTIA, units))
        tested.append((bool(measured_in_window(s, p, "mmse", last_day=last_day, months=12)), units))
        spoken_with = any(
            e["patient_id"] == p
            and e["signed_at"] is not None
            and e["caregiver_present"]
            and in_window(e["day"], last_day=last_day, months=6)
            for e in s.encounters
        )
        caregiver.append((primary_caregiver_on(s, p, last_day) and spoken_with, units))
    return (
        share_rows("DEM-SPECIFIC-DIAGNOSIS", month, specific)
        | share_rows("DEM-COGNITION-TESTED", month, tested)
        | share_rows("DEM-CAREGIVER-CONTACT", month, caregiver)
    )


def first_contacts(s: Sources) -> list[tuple[dict, datetime.date]]:
    """Each referral that was not declined, with the day of the first signed encounter with its
    citizen on or after the day it was received."""
    signed_by_patient: dict[int, list[dict]] = defaultdict(list)
    for e in s.encounters:
        if e["signed_at"] is not None:
            signed_by_patient[e["patient_id"]].append(e)
    found = []
    for r in s.referrals:
        if r["status"] == "declined":
            continue
        after = [e for e in signed_by_patient[r["patient_id"]] if e["day"] >= r["received_on"]]
        if after:
            found.append((r, min(after, key=lambda e: (e["started_at"], e["id"]))["day"]))
    return found


def wait_rows(s: Sources, month: datetime.date, contacts: list[tuple[dict, datetime.date]]) -> dict[Key, Figures]:
    days: dict[tuple[str, int], list[int]] = {(CENTRE, 0): []}
    for referral, day in contacts:
        if day.replace(day=1) != month:
            continue
        units = [(CENTRE, 0), (TEAM, s.team_on(referral["patient_id"], day))]
        if referral["programme_id"] is not None:
            units.append((PROGRAMME, referral["programme_id"]))
        for unit in units:
            days.setdefault(unit, []).append((day - referral["received_on"]).days)
    rows = {}
    for (kind, unit_id), waits in days.items():
        median = Decimal(str(statistics.median(waits))).quantize(CENT, rounding=ROUND_HALF_UP) if waits else None
        rows["OPS-WAIT-DAYS", month, kind, unit_id] = (len(waits), len(waits), median)
    return rows


def task_rows(s: Sources, month: datetime.date) -> dict[Key, Figures]:
    last_day = month_end(month)
    open_tasks = [
        (t["due_on"] < last_day, [(TEAM, t["team_id"])])
        for t in s.tasks
        if t["created_on"] <= last_day and task_status_at_end_of(s, t["id"], last_day) in OPEN_TASK_STATUSES
    ]
    closed_loops = [
        (t["status"] == "done" and t["completed_on"] <= t["due_on"], [(TEAM, t["team_id"])])
        for t in s.tasks
        if t["origin"] == "agreed_action" and t["due_on"].replace(day=1) == month and t["status"] != "cancelled"
    ]
    return share_rows("OPS-TASKS-OVERDUE", month, open_tasks) | share_rows("OPS-LOOP-CLOSED", month, closed_loops)


def story_rows(s: Sources, month: datetime.date) -> dict[Key, Figures]:
    last_day = month_end(month)
    counts: dict[tuple[str, int], int] = {(CENTRE, 0): 0}
    for story in s.stories:
        if story["patient_id"] in s.story_consent and quarter_start(month) <= story["approved_on"] <= last_day:
            for unit in [(CENTRE, 0), (TEAM, s.team_on(story["patient_id"], story["approved_on"]))]:
                counts[unit] = counts.get(unit, 0) + 1
    return {("STORIES-APPROVED", month, kind, unit_id): (n, n, Decimal(n)) for (kind, unit_id), n in counts.items()}


def no_show_rows(s: Sources, month: datetime.date) -> dict[Key, Figures]:
    """Appointments starting in the month (local day), attended or not attended; numerator: not
    attended; unit: the citizen's team on the appointment's day."""
    counted = [
        (status == "did_not_attend", [(TEAM, s.team_on(patient_id, day))])
        for patient_id, day, status in s.appointments
        if day.replace(day=1) == month and status in HELD_OR_MISSED
    ]
    return share_rows("OPS-NO-SHOW", month, counted)


def course_rows(s: Sources, month: datetime.date) -> dict[Key, Figures]:
    """Participants of the courses whose last session that was not cancelled starts in the month;
    those recorded as dropped out on a day before the first such session are left out; numerator:
    the citizen's appointment had the status attended in at least 75 % of those sessions (compared
    in whole numbers: 4 * attended >= 3 * held); units: the course's team and programme."""
    counted = []
    for course_id, course in s.courses.items():
        held = [session for session in s.sessions[course_id] if not session["cancelled"]]
        if not held:
            continue
        first_day = min(session["day"] for session in held)
        last_day = max(session["day"] for session in held)
        if last_day.replace(day=1) != month:
            continue
        for p in s.participants[course_id]:
            if p["status"] == "dropped_out" and p["dropped_out_on"] < first_day:
                continue
            attended = sum(
                1 for session in held if "attended" in s.session_statuses.get((session["id"], p["patient_id"]), [])
            )
            counted.append(
                (4 * attended >= 3 * len(held), [(TEAM, course["team_id"]), (PROGRAMME, course["programme_id"])])
            )
    return share_rows("OPS-COURSE-COMPLETION", month, counted)


def reference_rows(*, first_month: datetime.date, last_month: datetime.date) -> dict[Key, Figures]:
    """Every indicator row of every month from first_month through last_month (first days)."""
    s = load_sources()
    contacts = first_contacts(s)
    rows: dict[Key, Figures] = {}
    for month in months_from(first_month, last_month):
        rows |= diabetes_rows(s, month)
        rows |= dementia_rows(s, month)
        rows |= wait_rows(s, month, contacts)
        rows |= task_rows(s, month)
        rows |= story_rows(s, month)
        rows |= no_show_rows(s, month)
        rows |= course_rows(s, month)
    return rows


# --- comparing with the stored rows --------------------------------------------------------------------------------


def stored_rows(*, first_month: datetime.date | None = None, last_month: datetime.date | None = None) -> dict:
    """The stored IndicatorValue rows of the indicators above, in the reference's shape."""
    values = IndicatorValue.objects.filter(indicator__code__in=CODES)
    if first_month is not None:
        values = values.filter(month__gte=first_month)
    if last_month is not None:
        values = values.filter(month__lte=last_month)
    return {
        (row["indicator__code"], row["month"], row["unit_kind"], row["unit_id"]): (
            row["numerator"],
            row["denominator"],
            row["value"],
        )
        for row in values.values(
            "indicator__code", "month", "unit_kind", "unit_id", "numerator", "denominator", "value"
        )
    }


def differences(expected: dict, actual: dict, *, expected_name: str = "reference", actual_name: str = "stored") -> str:
    """A readable list of the keys where two sets of rows disagree; empty when they agree."""
    lines = []
    for key in sorted(expected.keys() | actual.keys(), key=lambda k: (k[1], k[0], k[2], k[3])):
        want, got = expected.get(key), actual.get(key)
        if want != got:
            code, month, kind, unit_id = key
            lines.append(
                f"{month:%Y-%m} {code:24} {kind}:{unit_id:<5} "
                f"{expected_name}={_figures(want)}  {actual_name}={_figures(got)}"
            )
    if lines:
        total = len(expected.keys() | actual.keys())
        lines.insert(0, f"{len(lines)} of {total} rows differ (shown as numerator/denominator value):")
    return "\n".join(lines)


def _figures(figures: Figures | None) -> str:
    if figures is None:
        return "(no row)"
    numerator, denominator, value = figures
    return f"{numerator}/{denominator} {value}"
