"""The pre-meeting briefing and the caseload worklist: what a professional needs to know about a
citizen before the next meeting, and which citizens need attention first. Reads only; a fixed
number of queries whatever the length of a citizen's history."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    DateField,
    DecimalField,
    Exists,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Star
from django.db.models.functions import Coalesce, Collate, Round, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from healthcenter import access
from healthcenter.formatting import percent_text
from healthcenter.models import User
from patients.charts import Band
from patients.definitions import (
    counted_measurements,
    followed_up,
    has_own_range,
    hba1c_goal_range,
    latest_value,
    within_own_range,
)
from patients.models import (
    DEMENTIA_CONDITIONS,
    DIABETES_CONDITIONS,
    ConditionGroup,
    ConditionKind,
    ConsentKind,
    Encounter,
    Enrolment,
    Goal,
    GoalStatus,
    MeasurementType,
    Patient,
    PatientStatus,
)
from scheduling.models import Appointment, AppointmentStatus

from .models import OPEN_STATUSES, CareGap, CareGapCheck, CareGapRule, HandoverAcknowledgement, Task

Points = list[tuple[datetime.datetime, float]]


def relevant_measurements(condition_kinds: set[str]) -> list[str]:
    codes = []
    if condition_kinds & {k.value for k in DIABETES_CONDITIONS}:
        codes += ["hba1c", "systolic_bp", "weight"]
    if condition_kinds & ({k.value for k in DEMENTIA_CONDITIONS} | {ConditionKind.MILD_COGNITIVE_IMPAIRMENT.value}):
        codes += ["mmse"] + ([] if "weight" in codes else ["weight"])
    return codes


@dataclass
class MeasurementChange:
    type: MeasurementType
    latest: tuple[datetime.datetime, Decimal] | None
    at_last_meeting: tuple[datetime.datetime, Decimal] | None
    at_enrolment: tuple[datetime.datetime, Decimal] | None
    band: Band | None
    points: Points = field(default_factory=list)

    last_meeting_at: datetime.datetime | None = None

    @property
    def new_since_last_meeting(self) -> bool:
        """A value measured at the last meeting or after it."""
        return self.latest is not None and self.last_meeting_at is not None and self.latest[0] >= self.last_meeting_at

    @property
    def in_band(self) -> bool | None:
        if self.band is None or self.latest is None:
            return None
        value = float(self.latest[1])
        return (self.band.low is None or value >= self.band.low) and (self.band.high is None or value <= self.band.high)


@dataclass
class AgreedItem:
    text: str
    task: Task | None


# The appointments to come that the briefing lists.
BRIEFING_APPOINTMENTS = 3


def with_booking(gaps: list[CareGap], today: datetime.date) -> list[CareGap]:
    """Each gap with `booked_day`: the day of the appointment booked for it while that is still
    to come (CareGap.booked_on), else None, shown as missing. The gaps were read with their
    appointment (select_related)."""
    for gap in gaps:
        gap.booked_day = gap.booked_on(today)
    return gaps


def upcoming_appointments(patient_ids, now: datetime.datetime) -> QuerySet[Appointment]:
    """The citizens' booked appointments from now on, soonest first: through the index on
    (patient, starts_at)."""
    return Appointment.objects.filter(
        patient_id__in=patient_ids, status=AppointmentStatus.BOOKED, starts_at__gte=now
    ).order_by("patient_id", "starts_at", "id")


@dataclass
class BriefingData:
    patient: Patient
    conditions: list
    enrolments: list
    last_meeting: Encounter | None
    what_matters: list[Encounter]
    goals: list[tuple[Goal, MeasurementChange | None]]
    agreed: list[AgreedItem]
    changes: list[MeasurementChange]
    gaps: list[CareGap]
    tasks: list[Task]
    unread_handovers: list
    caregiver: object
    may_share_with_relatives: bool
    recent_notes: list[Encounter]
    encounter_times: list[datetime.datetime]
    programme_events: list[tuple[datetime.date, str]]
    next_appointments: list[Appointment] = field(default_factory=list)


def _pick(points: list[tuple[datetime.datetime, Decimal]], *, before=None, on_or_after=None):
    if before is not None:
        earlier = [p for p in points if p[0] < before]
        return earlier[-1] if earlier else None
    later = [p for p in points if p[0] >= on_or_after]
    return later[0] if later else (points[-1] if points else None)


def briefing(user: User, patient: Patient) -> BriefingData:
    today = timezone.localdate()
    now = timezone.now()
    conditions = list(patient.conditions.order_by("diagnosed_on", "id"))
    enrolments = list(
        patient.enrolments.select_related("programme").filter(Q(end_on__isnull=True) | Q(end_on__gte=today))
    )
    all_enrolments = list(patient.enrolments.select_related("programme").order_by("start_on"))
    encounters = list(
        patient.encounters.filter(started_at__lte=now)
        .select_related("professional")
        .only(
            "id",
            "public_id",
            "kind",
            "started_at",
            "note",
            "what_matters",
            "signed_at",
            "patient_id",
            "caregiver_present",
            "professional__first_name",
            "professional__last_name",
            "professional__username",
            "professional__profession",
        )
        .order_by("-started_at", "-id")[:12]
    )
    encounter_times = list(
        patient.encounters.filter(started_at__lte=now).order_by("started_at").values_list("started_at", flat=True)
    )
    last_meeting = encounters[0] if encounters else None
    what_matters = [e for e in encounters if e.what_matters][:3]
    # Newest first, like the timeline.
    recent_notes = [e for e in encounters[:3] if e.note]

    # Agreed last time: the most recent encounter with agreed actions, and what became of each.
    agreed: list[AgreedItem] = []
    last_with_actions = patient.encounters.filter(agreed_actions__isnull=False).order_by("-started_at", "-id").first()
    if last_with_actions is not None:
        tasks_by_action = {
            t.agreed_action_id: t for t in Task.objects.filter(agreed_action__encounter=last_with_actions)
        }
        agreed = [AgreedItem(a.text, tasks_by_action.get(a.id)) for a in last_with_actions.agreed_actions.all()]

    codes = relevant_measurements({c.kind for c in conditions})
    goals = list(
        patient.goals.filter(status=GoalStatus.ACTIVE).select_related("measurement_type").order_by("review_on")
    )
    for goal in goals:
        if goal.measurement_type_id and goal.measurement_type.code not in codes:
            codes.append(goal.measurement_type.code)
    types = {t.code: t for t in MeasurementType.objects.filter(code__in=codes)}
    series: dict[str, list[tuple[datetime.datetime, Decimal]]] = {code: [] for code in codes}
    for code, at, value in (
        # Values of the record only: no draft's values, no value that has been corrected.
        counted_measurements()
        .filter(patient=patient, type__code__in=codes, value__isnull=False, measured_at__lte=now)
        .order_by("measured_at", "id")
        .values_list("type__code", "measured_at", "value")
    ):
        series[code].append((at, value))
    bands = {
        g.measurement_type.code: Band(
            float(g.target_low) if g.target_low is not None else None,
            float(g.target_high) if g.target_high is not None else None,
            _("Own target"),
        )
        for g in goals
        if g.measurement_type_id and g.has_target
    }
    enrolment_start = min((e.start_on for e in enrolments), default=None)
    enrolment_moment = (
        datetime.datetime.combine(enrolment_start, datetime.time.min, tzinfo=timezone.get_current_timezone())
        if enrolment_start
        else None
    )
    changes = []
    for code in codes:
        points = series[code]
        if code not in types:
            continue
        changes.append(
            MeasurementChange(
                type=types[code],
                latest=points[-1] if points else None,
                # The value the citizen came into the last meeting with.
                at_last_meeting=_pick(points, before=last_meeting.started_at) if last_meeting else None,
                at_enrolment=_pick(points, on_or_after=enrolment_moment) if enrolment_moment and points else None,
                band=bands.get(code),
                points=[(at, float(value)) for at, value in points],
                last_meeting_at=last_meeting.started_at if last_meeting else None,
            )
        )
    by_code = {c.type.code: c for c in changes}
    goal_progress = [(g, by_code.get(g.measurement_type.code) if g.measurement_type_id else None) for g in goals]

    gaps = with_booking(
        list(
            CareGap.objects.filter(patient=patient, closed_at__isnull=True).select_related(
                "rule", "task", "appointment"
            )
        ),
        today,
    )
    next_appointments = list(
        upcoming_appointments([patient.pk], now)
        .select_related("room")
        .prefetch_related(Prefetch("professionals", queryset=User.objects.order_by("first_name", "last_name", "id")))[
            :BRIEFING_APPOINTMENTS
        ]
    )
    tasks = list(
        Task.objects.filter(patient=patient, status__in=OPEN_STATUSES)
        .select_related("assignee")
        .order_by("due_on", "-priority")
    )
    unread_handovers = list(
        patient.handovers.exclude(author=user)
        .exclude(Exists(HandoverAcknowledgement.objects.filter(note=OuterRef("pk"), user=user)))
        .select_related("author")
        .order_by("-created_at")[:5]
    )
    relatives = list(patient.relatives.all())
    caregiver = next((r for r in relatives if r.is_primary_caregiver), None)
    may_share = patient.consents.filter(kind=ConsentKind.SHARE_WITH_RELATIVES, withdrawn_on__isnull=True).exists()
    programme_events = []
    for e in all_enrolments:
        programme_events.append((e.start_on, _("Start: %(programme)s") % {"programme": e.programme.name}))
        if e.end_on:
            programme_events.append((e.end_on, _("End: %(programme)s") % {"programme": e.programme.name}))
    return BriefingData(
        patient=patient,
        conditions=conditions,
        enrolments=enrolments,
        last_meeting=last_meeting,
        what_matters=what_matters,
        goals=goal_progress,
        agreed=agreed,
        changes=changes,
        gaps=gaps,
        tasks=tasks,
        unread_handovers=unread_handovers,
        caregiver=caregiver,
        may_share_with_relatives=may_share,
        recent_notes=recent_notes,
        encounter_times=encounter_times,
        programme_events=programme_events,
        next_appointments=next_appointments,
    )


# --- the worklist ---------------------------------------------------------------------------------------------

TREND_CHECKS = (CareGapCheck.RISING, CareGapCheck.FALLING)
WORKLIST_PAGE = 50

# The priority score, in points: 4 for each open trend gap (a value rising or falling), 3 for each
# other open gap, 2 for each overdue task, and one for every 30 days since the last contact, at most
# 6; a citizen never seen counts as 180 days. Ranked and shown to one decimal.
TREND_GAP_POINTS = 4
OTHER_GAP_POINTS = 3
OVERDUE_TASK_POINTS = 2
DAYS_PER_CONTACT_POINT = 30
MAX_CONTACT_POINTS = 6
NEVER_SEEN_DAYS = 180
LONG_SINCE_CONTACT_DAYS = 42


@dataclass
class WorklistRow:
    patient: Patient
    score: float
    # Why the citizen is where they are: the open gaps' rules first, then the rest.
    reasons: list[str]
    # The open gaps, each with `booked_day` (with_booking), in the order of their reasons.
    gaps: list[CareGap]
    next_appointment: Appointment | None = None

    @property
    def other_reasons(self) -> list[str]:
        """The reasons that are not a gap (overdue tasks, time since the last contact)."""
        return self.reasons[len(self.gaps) :]


class _DaysSince(Func):
    """Whole days from the local date of a time (NULL for none) to a day: in PostgreSQL a date
    minus a date is an integer."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = IntegerField()

    def __init__(self, moment, day: datetime.date):
        super().__init__(Value(day, output_field=DateField()), TruncDate(moment))


class _ContactPoints(Func):
    """A point per 30 days since the last contact, at most 6, never seen as 180 days; exact
    (numeric), so that rounding to one decimal gives what Python's would."""

    template = (
        f"LEAST(COALESCE(%(expressions)s, {NEVER_SEEN_DAYS})::numeric / {DAYS_PER_CONTACT_POINT}, {MAX_CONTACT_POINTS})"
    )
    output_field = DecimalField()


def _row_count(rows: QuerySet) -> Coalesce:
    """The number of rows of a correlated queryset, as one scalar subquery."""
    return Coalesce(
        Subquery(rows.order_by().annotate(n=Func(Star(), function="COUNT", output_field=IntegerField())).values("n")), 0
    )


def worklist_ranked(
    user: User, *, scope: str = "mine", programme_id: int | None = None, rule_id: int | None = None
) -> QuerySet[Patient]:
    """The user's active citizens (or their teams') ranked by need for attention, ranked in SQL:
    each carries `score`, `overdue_tasks` and `last_contact` (any encounter that has begun), the
    highest score first, then by last name (in code-point order, as Python sorts) and id. Every
    fact is an index look-up for one citizen (open gaps, open tasks, the latest encounter); the
    caller slices a page of it."""
    today = timezone.localdate()
    patients = Patient.objects.filter(status=PatientStatus.ACTIVE, team_id__in=access.care_team_ids(user))
    if scope == "mine":
        patients = patients.filter(responsible_professional=user)
    if programme_id:
        patients = patients.filter(
            Exists(Enrolment.objects.filter(patient=OuterRef("pk"), programme_id=programme_id, end_on__isnull=True))
        )
    if rule_id:
        patients = patients.filter(
            Exists(CareGap.objects.filter(patient=OuterRef("pk"), rule_id=rule_id, closed_at__isnull=True))
        )
    gap_points = Coalesce(
        Subquery(
            CareGap.objects.filter(patient=OuterRef("pk"), closed_at__isnull=True)
            .order_by()
            .annotate(
                points=Func(
                    Case(
                        When(
                            rule__in=CareGapRule.objects.filter(check_kind__in=TREND_CHECKS),
                            then=Value(TREND_GAP_POINTS),
                        ),
                        default=Value(OTHER_GAP_POINTS),
                    ),
                    function="SUM",
                )
            )
            .values("points"),
            output_field=IntegerField(),
        ),
        0,
    )
    overdue = _row_count(Task.objects.filter(patient=OuterRef("pk"), status__in=OPEN_STATUSES, due_on__lt=today))
    last_contact = Subquery(
        Encounter.objects.filter(patient=OuterRef("pk"), started_at__lte=timezone.now())
        .order_by("-started_at")
        .values("started_at")[:1]
    )
    score = Round(
        gap_points + OVERDUE_TASK_POINTS * overdue + _ContactPoints(_DaysSince(last_contact, today)),
        1,
        output_field=DecimalField(),
    )
    return (
        # Only what the list shows: every citizen of a team passes through the sort.
        patients.only("id", "public_id", "first_name", "last_name")
        .annotate(score=score, overdue_tasks=overdue, last_contact=last_contact)
        .order_by("-score", Collate("last_name", "C"), "id")
    )


def worklist_rows(patients: list[Patient]) -> list[WorklistRow]:
    """The citizens of one page of `worklist_ranked`, each with its reasons in words: one query for
    their open gaps (with the appointments booked for them) and one for their next appointments,
    whatever the number of citizens or appointments."""
    today = timezone.localdate()
    gaps_by_patient: dict[int, list[CareGap]] = {}
    for gap in CareGap.objects.filter(patient__in=patients, closed_at__isnull=True).select_related(
        "rule", "appointment"
    ):
        gaps_by_patient.setdefault(gap.patient_id, []).append(gap)
    next_appointment = (
        {
            appointment.patient_id: appointment
            for appointment in upcoming_appointments([p.pk for p in patients], timezone.now())
            # The first of each citizen's (PostgreSQL's DISTINCT ON): one row per citizen, each an index
            # look-up on (patient, starts_at).
            .distinct("patient_id")
            .only("id", "public_id", "patient_id", "starts_at", "kind")
        }
        if patients
        else {}
    )
    rows = []
    for patient in patients:
        gaps = with_booking(gaps_by_patient.get(patient.id, []), today)
        trends = [g for g in gaps if g.rule.check_kind in TREND_CHECKS]
        others = [g for g in gaps if g.rule.check_kind not in TREND_CHECKS]
        gaps = trends + others
        reasons = [g.rule.name for g in gaps]
        if patient.overdue_tasks:
            reasons.append(
                ngettext("%(count)d overdue task", "%(count)d overdue tasks", patient.overdue_tasks)
                % {"count": patient.overdue_tasks}
            )
        if patient.last_contact is None:
            reasons.append(_("no encounter yet"))
        else:
            days = (today - timezone.localdate(patient.last_contact)).days
            if days > LONG_SINCE_CONTACT_DAYS:
                reasons.append(_("last contact %(days)d days ago") % {"days": days})
        rows.append(
            WorklistRow(
                patient=patient,
                score=float(patient.score),
                reasons=reasons,
                gaps=gaps,
                next_appointment=next_appointment.get(patient.id),
            )
        )
    return rows


def worklist(
    user: User,
    *,
    scope: str = "mine",
    programme_id: int | None = None,
    rule_id: int | None = None,
    page_number=None,
) -> Page:
    """One page of the worklist: a count, the page's citizens ranked in SQL, their open gaps and
    their next appointments; four queries whatever the caseload and the calendar."""
    ranked = worklist_ranked(user, scope=scope, programme_id=programme_id, rule_id=rule_id)
    page = Paginator(ranked, WORKLIST_PAGE).get_page(page_number)
    page.object_list = worklist_rows(list(page.object_list))
    return page


@dataclass(frozen=True)
class Share:
    part: int
    whole: int

    @property
    def percent(self) -> str | None:
        """Shown like every other share (one decimal, rounded half up), e.g. "33,3 %"."""
        return percent_text(Decimal(100 * self.part) / self.whole) if self.whole else None


@dataclass(frozen=True)
class CaseloadFigures:
    label: str
    at_own_target: Share
    without_gaps: Share


def caseload_figures(patients: QuerySet[Patient], label: str) -> CaseloadFigures:
    """Two queries, with the indicators' own definitions on today: of the citizens with diabetes
    followed today who have an HbA1c in the last 12 months and their own HbA1c range, how many are
    inside it (DM-AT-OWN-TARGET); of the citizens followed today, how many have no open care gap."""
    today = timezone.localdate()
    low, high = hba1c_goal_range(today)
    with_range = (
        followed_up(ConditionGroup.DIABETES, today)
        .filter(pk__in=patients.values("pk"))
        .annotate(latest=latest_value("hba1c", today, months=12), low=low, high=high)
        .filter(latest__isnull=False)
        .filter(has_own_range("low", "high"))
    )
    totals = with_range.aggregate(
        citizens=Count("id"), inside=Count("id", filter=within_own_range("latest", "low", "high"))
    )
    counts = (
        followed_up(None, today)
        .filter(pk__in=patients.values("pk"))
        .aggregate(
            active=Count("id"),
            without=Count("id", filter=~Exists(CareGap.objects.filter(patient=OuterRef("pk"), closed_at__isnull=True))),
        )
    )
    return CaseloadFigures(
        label=label,
        at_own_target=Share(totals["inside"], totals["citizens"]),
        without_gaps=Share(counts["without"], counts["active"]),
    )


def briefing_figure(change: MeasurementChange, *, encounter_times, programme_events) -> dict:
    """A small trend chart for the briefing: the values, the citizen's own target band, a tick
    for every encounter and a line for each programme start or end."""
    from patients.charts import d3_date_format, trend_figure

    figure = trend_figure(
        {change.type.code: change.points},
        title=f"{change.type.label} ({change.type.unit})",
        unit=change.type.unit,
        band=change.band,
        labels={change.type.code: change.type.label},
    )
    figure["layout"]["height"] = 180
    figure["layout"]["margin"] = {"l": 40, "r": 8, "t": 30, "b": 24}
    figure["layout"]["yaxis2"] = {"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True}
    figure["data"].append(
        {
            "type": "scatter",
            "mode": "markers",
            "x": [timezone.localtime(at).replace(tzinfo=None).isoformat() for at in encounter_times],
            "y": [0.03] * len(encounter_times),
            "yaxis": "y2",
            "name": _("Encounters"),
            "marker": {"symbol": "triangle-up", "size": 7, "color": "#999"},
            "hovertemplate": "%{x|" + d3_date_format() + "}<extra>" + _("Encounter") + "</extra>",
        }
    )
    for day, _label in programme_events:
        figure["layout"]["shapes"].append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": day.isoformat(),
                "x1": day.isoformat(),
                "y0": 0,
                "y1": 1,
                "line": {"color": "#b45f06", "width": 1, "dash": "dot"},
            }
        )
    return figure
