"""Care-gap rules: which citizens are missing something their condition calls for.

`find_gaps` evaluates the rules (CareGapRule rows) in SQL, a few queries per rule whatever the
number of citizens. `evaluate_care_gaps` turns the result into CareGap rows and tasks: it opens a
task for each new gap and closes gap and task when the gap is filled, through the task services
like any other change of a task (a transition, the version check, the assignee told). It is idempotent: a second
run, or two runs at once, change nothing more. Who is followed, what counts as measured and what
is "in time" are patients.definitions, which the indicators use too.

The job looks only at citizens whose answer can have changed: those whose data changed (database
triggers write CareGapChange rows, see migration 0009), those whose recheck day has come (a
CareGapReview keeps, per citizen, the first day on which an interval runs out or an enrolment
starts or ends), and all of them when the rules changed (the review keeps the rules' fingerprint).
It works through them in small batches, each in a transaction of its own that locks only its
citizens (an advisory lock per citizen): an encounter save never waits for it, and the evaluation
after a signature waits at most for the one batch that holds its citizen."""

import datetime
import functools
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Max, Min, Q, QuerySet, Window
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
from .models import CareGap, CareGapChange, CareGapCheck, CareGapReview, CareGapRule, TaskPriority

GAP_TASK_DUE_DAYS = 14
# The first key of the two-key advisory lock that serialises the evaluations of one citizen (the
# second is the citizen's id).
CITIZEN_LOCK_SPACE = 4_202_611
# Citizens per transaction: what an evaluation after a signature waits for at most.
BATCH_SIZE = 1000


def cutoff(rule: CareGapRule, as_of: datetime.date) -> datetime.date:
    """The first day still within the rule's interval on `as_of` (the indicators' own window)."""
    return _interval_start(rule.interval_months, rule.interval_weeks, as_of)


def _interval_start(months: int | None, weeks: int | None, as_of: datetime.date) -> datetime.date:
    if months:
        return window_start(as_of, months)
    return as_of - datetime.timedelta(weeks=weeks or 0) + datetime.timedelta(days=1)


class _Calendar:
    """A rule's interval on the days after `as_of`: on which day a date drops out of it, or the
    interval reaches back to a date. The first day of the interval never moves back, so a bisection
    over the days of one interval's length answers both."""

    def __init__(self, rule: CareGapRule, as_of: datetime.date):
        self.first = as_of + datetime.timedelta(days=1)
        self.starts = _interval_starts(rule.interval_months, rule.interval_weeks, self.first)

    def day_out(self, day: datetime.date) -> datetime.date:
        """The first day after `as_of` on which `day` is no longer within the interval."""
        return self.first + datetime.timedelta(days=bisect_right(self.starts, day))

    def day_reaching(self, day: datetime.date) -> datetime.date:
        """The first day after `as_of` whose interval starts on or after `day`."""
        return self.first + datetime.timedelta(days=bisect_left(self.starts, day))


@functools.lru_cache(maxsize=32)
def _interval_starts(months: int | None, weeks: int | None, first: datetime.date) -> tuple[datetime.date, ...]:
    # A day more than the longest interval: whatever is inside on `first - 1` is out by then.
    days = (months or 0) * 31 + (weeks or 0) * 7 + 1
    return tuple(_interval_start(months, weeks, first + datetime.timedelta(days=i)) for i in range(days))


def _sooner(recheck: dict[int, datetime.date], patient_id: int, day: datetime.date) -> None:
    if patient_id not in recheck or day < recheck[patient_id]:
        recheck[patient_id] = day


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


def _due_gaps(
    rule: CareGapRule, ids: list[int], as_of: datetime.date, now: datetime.datetime, recheck: dict[int, datetime.date]
) -> list[Gap]:
    """The citizens who have gone too long without something; in `recheck`, for those still in
    time, the day they no longer are."""
    check = {
        CareGapCheck.MEASUREMENT_DUE: _measurement_due,
        CareGapCheck.CAREGIVER_CONTACT_DUE: _caregiver_contact_due,
        CareGapCheck.ENCOUNTER_DUE: _encounter_due,
    }[rule.check_kind]
    return check(rule, ids, as_of, now, recheck)


def _gap_or_recheck(rule, pid, day, *, limit, calendar, recheck, never) -> Gap | None:
    """A gap when the citizen's last day is missing (`never`) or before `limit`; otherwise none, and
    in `recheck` the day the last one falls out of the interval."""
    if day is None:
        return Gap(pid, rule, str(never))
    if day < limit:
        return Gap(pid, rule, str(_("last %(date)s")) % {"date": _when(day)})
    _sooner(recheck, pid, calendar.day_out(day))
    return None


def _measurement_due(rule, ids, as_of, now, recheck) -> list[Gap]:
    limit = cutoff(rule, as_of)
    calendar = _Calendar(rule, as_of)
    gaps = []
    last = {}
    for pid, latest, first_ahead in (
        counted_measurements()
        .filter(patient_id__in=ids, type__code=rule.measurement_code)
        .values("patient_id")
        .annotate(
            latest=Max("measured_at", filter=Q(measured_at__lte=now)),
            ahead=Min("measured_at", filter=Q(measured_at__gt=now)),
        )
        .values_list("patient_id", "latest", "ahead")
    ):
        last[pid] = latest
        if first_ahead is not None:
            # A value dated ahead (bypassing the services, which refuse one) counts from its day.
            _sooner(recheck, pid, _local_date(first_ahead))
    for pid in ids:
        gap = _gap_or_recheck(
            rule,
            pid,
            _local_date(last.get(pid)),
            limit=limit,
            calendar=calendar,
            recheck=recheck,
            never=_("never recorded"),
        )
        if gap is not None:
            gaps.append(gap)
    return gaps


def _caregiver_contact_due(rule, ids, as_of, now, recheck) -> list[Gap]:
    limit = cutoff(rule, as_of)
    calendar = _Calendar(rule, as_of)
    gaps = []
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
        if pid not in with_caregiver:
            gaps.append(Gap(pid, rule, str(_("no primary caregiver registered"))))
            continue
        gap = _gap_or_recheck(
            rule,
            pid,
            _local_date(last.get(pid)),
            limit=limit,
            calendar=calendar,
            recheck=recheck,
            never=_("never spoken with"),
        )
        if gap is not None:
            gaps.append(gap)
    return gaps


def _encounter_due(rule, ids, as_of, now, recheck) -> list[Gap]:
    limit = cutoff(rule, as_of)
    calendar = _Calendar(rule, as_of)
    gaps = []
    last = dict(
        signed_encounters()
        .filter(patient_id__in=ids, started_at__lte=now)
        .values("patient_id")
        .annotate(last=Max("started_at"))
        .values_list("patient_id", "last")
    )
    # Only enrolments that have run for the whole interval can have missed it: the first start
    # of those not ended before `as_of` says whether one has, or from which day one will have.
    first_start = dict(
        Enrolment.objects.filter(patient_id__in=ids)
        .filter(Q(end_on__isnull=True) | Q(end_on__gte=as_of))
        .values("patient_id")
        .annotate(first=Min("start_on"))
        .values_list("patient_id", "first")
    )
    for pid, start in first_start.items():
        day = _local_date(last.get(pid))
        if start <= limit and (day is None or day < limit):
            reason = _("last %(date)s") % {"date": _when(day)} if day else _("no encounter yet")
            gaps.append(Gap(pid, rule, str(reason)))
        else:
            # Missed once the interval reaches back past both the start and the last encounter.
            missed_on = calendar.day_reaching(start)
            if day is not None:
                missed_on = max(missed_on, calendar.day_out(day))
            _sooner(recheck, pid, missed_on)
    return gaps


def _trend_gaps(
    rule: CareGapRule, ids: list[int], now: datetime.datetime, recheck: dict[int, datetime.date]
) -> list[Gap]:
    ahead = (
        counted_measurements()
        .filter(patient_id__in=ids, type__code=rule.measurement_code, measured_at__gt=now)
        .values("patient_id")
        .annotate(first=Min("measured_at"))
        .values_list("patient_id", "first")
    )
    for pid, first_ahead in ahead:
        _sooner(recheck, pid, _local_date(first_ahead))
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
    return _examine(list(CareGapRule.objects.filter(is_active=True)), as_of, patient_ids, recheck={})


def _examine(rules: list[CareGapRule], as_of: datetime.date, patient_ids, *, recheck: dict[int, datetime.date]):
    """The gaps on `as_of`; in `recheck`, per citizen, the first later day on which a rule's interval
    alone would change the answer."""
    # Everything recorded up to the end of the day: so the job today and the indicators for a
    # month's last day see the same values.
    now = day_start(as_of + datetime.timedelta(days=1)) - datetime.timedelta(microseconds=1)
    gaps = []
    # Rules of one target group follow the same citizens: asked once per group.
    followed: dict[str, list[int]] = {}
    for rule in rules:
        if rule.condition_group not in followed:
            followed[rule.condition_group] = list(
                eligible_patients(rule, as_of, patient_ids).values_list("id", flat=True)
            )
        ids = followed[rule.condition_group]
        if not ids:
            continue
        if rule.check_kind in (CareGapCheck.RISING, CareGapCheck.FALLING):
            gaps += _trend_gaps(rule, ids, now, recheck)
        else:
            gaps += _due_gaps(rule, ids, as_of, now, recheck)
    return gaps


def _dated_ahead(ids: list[int], as_of: datetime.date) -> dict[int, datetime.date]:
    """Per citizen, the first day after `as_of` on which something already recorded takes effect: a
    diagnosis, an enrolment starting or ending, a caregiver role beginning or ending, an encounter
    dated ahead. Who is followed, and what counts, can change on that day. (Values dated ahead are
    found by the rules that read them, from the rows they read anyway.)"""
    tomorrow = as_of + datetime.timedelta(days=1)
    from_tomorrow = day_start(tomorrow)
    zone = str(timezone.get_current_timezone())
    sql = """
        SELECT patient_id, min(day) FROM (
            SELECT patient_id, diagnosed_on AS day FROM patients_condition
             WHERE patient_id = ANY(%(ids)s) AND diagnosed_on >= %(tomorrow)s
            UNION ALL
            SELECT patient_id, start_on FROM patients_enrolment
             WHERE patient_id = ANY(%(ids)s) AND start_on >= %(tomorrow)s
            UNION ALL
            SELECT patient_id, end_on + 1 FROM patients_enrolment
             WHERE patient_id = ANY(%(ids)s) AND end_on >= %(as_of)s
            UNION ALL
            SELECT patient_id, primary_caregiver_from FROM patients_relative
             WHERE patient_id = ANY(%(ids)s) AND primary_caregiver_from >= %(tomorrow)s
            UNION ALL
            SELECT patient_id, primary_caregiver_until FROM patients_relative
             WHERE patient_id = ANY(%(ids)s) AND primary_caregiver_until >= %(tomorrow)s

            UNION ALL
            SELECT patient_id, (min(started_at) AT TIME ZONE %(zone)s)::date FROM patients_encounter
             WHERE patient_id = ANY(%(ids)s) AND started_at >= %(from_tomorrow)s GROUP BY patient_id
        ) ahead GROUP BY patient_id
    """
    params = {
        "ids": ids,
        "as_of": as_of,
        "tomorrow": tomorrow,
        "from_tomorrow": from_tomorrow,
        "zone": zone,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


@dataclass(frozen=True)
class EvaluationResult:
    opened: int
    closed: int
    # Open gaps of the citizens the run is about: everyone for the job, the given ones otherwise.
    open_now: int
    # Citizens evaluated: for the job, those whose data, recheck day or rules called for it.
    reviewed: int = 0


def rules_fingerprint() -> str:
    """What the answers depend on besides a citizen's own data: the rules, the programmes' target
    groups and the measurement codes. A review made under another fingerprint is out of date."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT md5(concat_ws('|',
                (SELECT string_agg(r::text, ',' ORDER BY r.id) FROM coordination_caregaprule r),
                (SELECT string_agg(concat_ws(':', p.id, p.condition_group), ',' ORDER BY p.id)
                   FROM patients_programme p),
                (SELECT string_agg(concat_ws(':', t.id, t.code), ',' ORDER BY t.id) FROM patients_measurementtype t)))
            """
        )
        return cursor.fetchone()[0]


def _awaiting_review(as_of: datetime.date, rules: str, among: list[int] | None = None) -> list[int]:
    """The citizens the job must look at, in id order: data changed since their review (new citizens
    count as changed), recheck day come, or reviewed under other rules; all of them, or those `among`
    the given ones. Each part is read through its own index, so a quiet night reads next to nothing
    (tests/test_query_plans.py); "other rules" is asked as below-or-above, which a btree can answer
    where it cannot answer "not equal"."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT patient_id FROM coordination_caregapchange
             WHERE %(among)s::bigint[] IS NULL OR patient_id = ANY(%(among)s)
            UNION
            SELECT patient_id FROM coordination_caregapreview
             WHERE recheck_on <= %(as_of)s AND (%(among)s::bigint[] IS NULL OR patient_id = ANY(%(among)s))
            UNION
            SELECT patient_id FROM coordination_caregapreview
             WHERE (rules < %(rules)s OR rules > %(rules)s)
               AND (%(among)s::bigint[] IS NULL OR patient_id = ANY(%(among)s))
            ORDER BY 1
            """,
            {"as_of": as_of, "rules": rules, "among": among},
        )
        return [row[0] for row in cursor.fetchall()]


def evaluate_care_gaps(
    *,
    patient_ids=None,
    everyone: bool = False,
    as_of: datetime.date | None = None,
    open_new_gaps: Callable[..., None] | None = None,
) -> EvaluationResult:
    """Opens a gap and a task for each new gap, closes both when a gap is filled: for the given
    citizens, for everyone (`everyone`: after data was loaded with the triggers off, as the large demo
    does, or on request: `manage.py evaluate_care_gaps --all`), or (the job) for every citizen whose
    answer can have changed since their last review.
    Safe to run twice and to run concurrently (each citizen's evaluation is serialised).
    `open_new_gaps(gaps, due_on=...)` opens the new gaps (by default through services.care_gap_open one
    by one); the large demo's seeding gives one that writes the same rows in bulk."""
    as_of = as_of or timezone.localdate()
    rules_now = rules_fingerprint()
    rules = list(CareGapRule.objects.filter(is_active=True))
    if everyone:
        candidates = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    elif patient_ids is None:
        candidates = _awaiting_review(as_of, rules_now)
    else:
        candidates = sorted({int(pid) for pid in patient_ids})
    opened = closed = reviewed = 0
    for start in range(0, len(candidates), BATCH_SIZE):
        batch = _review_batch(
            candidates[start : start + BATCH_SIZE],
            rules=rules,
            fingerprint=rules_now,
            as_of=as_of,
            only_awaiting=patient_ids is None and not everyone,
            open_new_gaps=open_new_gaps or _open_gaps,
        )
        opened, closed, reviewed = opened + batch[0], closed + batch[1], reviewed + batch[2]
    open_gaps = CareGap.objects.filter(closed_at__isnull=True)
    if patient_ids is not None:
        open_gaps = open_gaps.filter(patient_id__in=candidates)
    return EvaluationResult(opened=opened, closed=closed, open_now=open_gaps.count(), reviewed=reviewed)


@transaction.atomic
def _review_batch(
    candidates: list[int],
    *,
    rules: list[CareGapRule],
    fingerprint: str,
    as_of: datetime.date,
    only_awaiting: bool,
    open_new_gaps: Callable[..., None],
) -> tuple[int, int, int]:
    """Evaluates a few citizens in one short transaction that holds only their locks. Returns the
    gaps opened, closed, and the citizens reviewed."""
    with connection.cursor() as cursor:
        # In id order, as every batch takes them, so two runs never wait for each other in a circle.
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, id::int)) FROM unnest(%s::bigint[]) AS id",
            [CITIZEN_LOCK_SPACE, candidates],
        )
    if only_awaiting:
        # Another run may have reviewed some of them while this one waited for their locks.
        candidates = _awaiting_review(as_of, fingerprint, among=candidates)
    # The changes seen before the data is read: those committed later stay for the next run.
    seen = list(CareGapChange.objects.filter(patient_id__in=candidates).values_list("id", flat=True))
    ids = list(Patient.objects.filter(pk__in=candidates).order_by("pk").values_list("pk", flat=True))
    recheck = _dated_ahead(ids, as_of) if ids else {}
    found = {(gap.patient_id, gap.rule.id): gap for gap in _examine(rules, as_of, ids, recheck=recheck)}
    existing = {
        (gap.patient_id, gap.rule_id): gap for gap in CareGap.objects.filter(closed_at__isnull=True, patient_id__in=ids)
    }
    now = timezone.now()
    filled = [gap for key, gap in existing.items() if key not in found]
    for gap in filled:
        services.care_gap_close(gap=gap, at=now)
    new_keys = [key for key in found if key not in existing]
    open_new_gaps(
        [found[key] for key in new_keys], due_on=timezone.localdate(now) + datetime.timedelta(days=GAP_TASK_DUE_DAYS)
    )
    CareGapChange.objects.filter(pk__in=seen).delete()
    CareGapReview.objects.bulk_create(
        [
            CareGapReview(patient_id=pid, reviewed_on=as_of, recheck_on=recheck.get(pid), rules=fingerprint)
            for pid in ids
        ],
        update_conflicts=True,
        unique_fields=["patient"],
        update_fields=["reviewed_on", "recheck_on", "rules"],
    )
    return len(new_keys), len(filled), len(ids)


def _open_gaps(gaps: list[Gap], *, due_on: datetime.date) -> None:
    patients = Patient.objects.select_related("team").in_bulk({gap.patient_id for gap in gaps})
    responsible_in_team = _responsible_in_team(patients.values())
    assignees = User.objects.in_bulk({p.responsible_professional_id for p in patients.values()} - {None})
    for gap in gaps:
        patient = patients[gap.patient_id]
        in_team = patient.pk in responsible_in_team
        trend = gap.rule.check_kind in (CareGapCheck.RISING, CareGapCheck.FALLING)
        services.care_gap_open(
            patient=patient,
            rule=gap.rule,
            reason=gap.reason,
            assignee=assignees[patient.responsible_professional_id] if in_team else None,
            due_on=due_on,
            priority=TaskPriority.HIGH if trend else TaskPriority.NORMAL,
        )


def _responsible_in_team(patients) -> set[int]:
    pairs = {(p.responsible_professional_id, p.team_id) for p in patients if p.responsible_professional_id}
    members = set(User.objects.filter(id__in={u for u, _t in pairs}, is_active=True).values_list("id", "teams"))
    return {p.pk for p in patients if (p.responsible_professional_id, p.team_id) in members}
