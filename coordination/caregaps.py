"""Care-gap rules: which citizens are missing something their condition calls for.

`find_gaps` evaluates the rules (CareGapRule rows) in SQL, a few queries per rule whatever the
number of citizens. `evaluate_care_gaps` turns the result into CareGap rows and tasks: it opens a
task for each new gap and closes gap and task when the gap is filled, through the task services
like any other change of a task (a transition, the version check, the assignee told). It is idempotent: a second
run, or two runs at once, change nothing more. Who is followed, what counts as measured and what
is "in time" are patients.definitions, which the indicators use too."""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Max, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from healthcenter.formatting import number
from healthcenter.models import User
from patients.definitions import (
    counted_measurements,
    day_start,
    followed_up,
    primary_caregiver_on,
    signed_encounters,
    window_start,
)
from patients.models import Enrolment, Patient

from . import services
from .models import CareGap, CareGapCheck, CareGapRule, TaskPriority

GAP_TASK_DUE_DAYS = 14
ADVISORY_LOCK_ID = 4_202_611  # serialises concurrent runs of the job


def cutoff(rule: CareGapRule, as_of: datetime.date) -> datetime.date:
    """The first day still within the rule's interval on `as_of` (the indicators' own window)."""
    if rule.interval_months:
        return window_start(as_of, rule.interval_months)
    return as_of - datetime.timedelta(weeks=rule.interval_weeks or 0) + datetime.timedelta(days=1)


@dataclass(frozen=True)
class Gap:
    patient_id: int
    rule: CareGapRule
    reason: str


def eligible_patients(rule: CareGapRule, as_of: datetime.date, patient_ids=None) -> QuerySet[Patient]:
    """The citizens a rule follows on `as_of`: its group's population, the indicators' own."""
    patients = followed_up(rule.condition_group or None, as_of)
    if patient_ids is not None:
        patients = patients.filter(pk__in=patient_ids)
    return patients


def _local_date(moment: datetime.datetime | None) -> datetime.date | None:
    return timezone.localdate(moment) if moment is not None else None


def _when(day: datetime.date) -> str:
    # The language's short date (27.11.2026 in Danish), like every date on the pages.
    return formats.date_format(day, "SHORT_DATE_FORMAT")


def _due_gaps(rule: CareGapRule, ids: list[int], as_of: datetime.date, now: datetime.datetime) -> list[Gap]:
    limit = cutoff(rule, as_of)
    gaps = []
    if rule.check_kind == CareGapCheck.MEASUREMENT_DUE:
        last = dict(
            counted_measurements()
            .filter(patient_id__in=ids, type__code=rule.measurement_code, measured_at__lte=now)
            .values("patient_id")
            .annotate(last=Max("measured_at"))
            .values_list("patient_id", "last")
        )
        for pid in ids:
            day = _local_date(last.get(pid))
            if day is None:
                gaps.append(Gap(pid, rule, str(_("never recorded"))))
            elif day < limit:
                gaps.append(Gap(pid, rule, str(_("last %(date)s")) % {"date": _when(day)}))
    elif rule.check_kind == CareGapCheck.CAREGIVER_CONTACT_DUE:
        with_caregiver = set(
            Patient.objects.filter(pk__in=ids).filter(primary_caregiver_on(as_of)).values_list("pk", flat=True)
        )
        last = dict(
            signed_encounters()
            .filter(patient_id__in=ids, caregiver_present=True, started_at__lte=now)
            .values("patient_id")
            .annotate(last=Max("started_at"))
            .values_list("patient_id", "last")
        )
        for pid in ids:
            day = _local_date(last.get(pid))
            if pid not in with_caregiver:
                gaps.append(Gap(pid, rule, str(_("no primary caregiver registered"))))
            elif day is None:
                gaps.append(Gap(pid, rule, str(_("never spoken with"))))
            elif day < limit:
                gaps.append(Gap(pid, rule, str(_("last %(date)s")) % {"date": _when(day)}))
    elif rule.check_kind == CareGapCheck.ENCOUNTER_DUE:
        last = dict(
            signed_encounters()
            .filter(patient_id__in=ids, started_at__lte=now)
            .values("patient_id")
            .annotate(last=Max("started_at"))
            .values_list("patient_id", "last")
        )
        # Only enrolments that have run for the whole interval can have missed it.
        started_long_enough = set(
            Enrolment.objects.filter(patient_id__in=ids, start_on__lte=limit)
            .filter(Q(end_on__isnull=True) | Q(end_on__gte=as_of))
            .values_list("patient_id", flat=True)
        )
        for pid in started_long_enough:
            day = _local_date(last.get(pid))
            if day is None or day < limit:
                reason = _("last %(date)s") % {"date": _when(day)} if day else _("no encounter yet")
                gaps.append(Gap(pid, rule, str(reason)))
    return gaps


def _trend_gaps(rule: CareGapRule, ids: list[int], now: datetime.datetime) -> list[Gap]:
    latest_two = (
        counted_measurements()
        .filter(patient_id__in=ids, type__code=rule.measurement_code, value__isnull=False, measured_at__lte=now)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("patient_id")], order_by=[F("measured_at").desc(), F("id").desc()])
        )
        .filter(rank__lte=2)
        .values_list("patient_id", "rank", "value")
    )
    values: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for pid, rank, value in latest_two:
        values[pid][rank] = value
    gaps = []
    for pid, pair in values.items():
        if 1 not in pair or 2 not in pair:
            continue
        change = pair[1] - pair[2]
        rising = rule.check_kind == CareGapCheck.RISING and change >= rule.threshold
        falling = rule.check_kind == CareGapCheck.FALLING and -change >= rule.threshold
        if rising or falling:
            gaps.append(Gap(pid, rule, f"{number(pair[2])} → {number(pair[1])}"))
    return gaps


def find_gaps(*, as_of: datetime.date | None = None, patient_ids=None) -> list[Gap]:
    """Every open gap for the active rules, for all citizens or the given ones."""
    as_of = as_of or timezone.localdate()
    # Everything recorded up to the end of the day: so the job today and the indicators for a
    # month's last day see the same values.
    now = day_start(as_of + datetime.timedelta(days=1)) - datetime.timedelta(microseconds=1)
    gaps = []
    for rule in CareGapRule.objects.filter(is_active=True):
        ids = list(eligible_patients(rule, as_of, patient_ids).values_list("id", flat=True))
        if not ids:
            continue
        if rule.check_kind in (CareGapCheck.RISING, CareGapCheck.FALLING):
            gaps += _trend_gaps(rule, ids, now)
        else:
            gaps += _due_gaps(rule, ids, as_of, now)
    return gaps


@dataclass(frozen=True)
class EvaluationResult:
    opened: int
    closed: int
    open_now: int


@transaction.atomic
def evaluate_care_gaps(*, patient_ids=None) -> EvaluationResult:
    """Opens a gap and a task for each new gap, closes both when a gap is filled. Safe to run
    twice and to run concurrently (an advisory lock serialises runs)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_ID])
    now = timezone.now()
    today = timezone.localdate(now)
    found = {(gap.patient_id, gap.rule.id): gap for gap in find_gaps(as_of=today, patient_ids=patient_ids)}
    open_gaps = CareGap.objects.filter(closed_at__isnull=True)
    if patient_ids is not None:
        open_gaps = open_gaps.filter(patient_id__in=patient_ids)
    existing = {(gap.patient_id, gap.rule_id): gap for gap in open_gaps}

    filled = [gap for key, gap in existing.items() if key not in found]
    for gap in filled:
        services.care_gap_close(gap=gap, at=now)

    new_keys = [key for key in found if key not in existing]
    patients = Patient.objects.select_related("team").in_bulk({pid for pid, _rule in new_keys})
    responsible_in_team = _responsible_in_team(patients.values())
    assignees = User.objects.in_bulk({p.responsible_professional_id for p in patients.values()} - {None})
    for key in new_keys:
        gap = found[key]
        patient = patients[gap.patient_id]
        in_team = patient.pk in responsible_in_team
        trend = gap.rule.check_kind in (CareGapCheck.RISING, CareGapCheck.FALLING)
        services.care_gap_open(
            patient=patient,
            rule=gap.rule,
            reason=gap.reason,
            assignee=assignees[patient.responsible_professional_id] if in_team else None,
            due_on=today + datetime.timedelta(days=GAP_TASK_DUE_DAYS),
            priority=TaskPriority.HIGH if trend else TaskPriority.NORMAL,
        )
    return EvaluationResult(opened=len(new_keys), closed=len(filled), open_now=len(found))


def _responsible_in_team(patients) -> set[int]:
    pairs = {(p.responsible_professional_id, p.team_id) for p in patients if p.responsible_professional_id}
    members = set(User.objects.filter(id__in={u for u, _t in pairs}, is_active=True).values_list("id", "teams"))
    return {p.pk for p in patients if (p.responsible_professional_id, p.team_id) in members}
