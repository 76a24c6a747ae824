"""Reads of citizens' data. Everything that reaches a citizen goes through `patient_for` (or one of
the `*_for` helpers built on it): they find the citizen, and the access layer (healthcenter.access)
decides on the care relation and writes the access log."""

import datetime
import re
import uuid
from dataclasses import dataclass

from django.apps import apps
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, TextField, Value
from django.utils import timezone
from django.utils.translation import gettext_noop

from healthcenter import access
from healthcenter.models import AccessAction, AccessOutcome, User

from . import cpr as cpr_rules
from .definitions import counted_measurements
from .models import (
    Amendment,
    Condition,
    Consent,
    Encounter,
    Enrolment,
    Goal,
    GoalStatus,
    LabImport,
    Measurement,
    MeasurementType,
    Patient,
    Relative,
    conditions_in_group,
    searchable,
)


def patients_visible_to(user: User) -> QuerySet[Patient]:
    return Patient.objects.filter(team_id__in=access.care_team_ids(user))


def patient_for(
    user: User,
    public_id: uuid.UUID,
    *,
    what: str,
    action: AccessAction = AccessAction.VIEW,
    work: access.Work = access.Work.CITIZENS,
) -> Patient:
    """The citizen, if the user has a care relation to them; otherwise 404. Logs either way, under
    the citizen (healthcenter.access decides and writes the row)."""
    patient = Patient.objects.select_related("team", "responsible_professional").filter(public_id=public_id).first()
    access.authorise(user, patient, what=what, action=action, work=work, requested_id=public_id)
    return patient


def _child_for(user: User, queryset: QuerySet, public_id: uuid.UUID, *, what: str, action: AccessAction):
    """A record that belongs to a citizen follows the citizen's care relation, and is logged under them."""
    obj = queryset.select_related("patient", "patient__team").filter(public_id=public_id).first()
    access.authorise(user, obj.patient if obj else None, what=what, action=action)
    return obj


def encounter_for(
    user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW
) -> Encounter:
    return _child_for(user, Encounter.objects.all(), public_id, what=what, action=action)


def goal_for(user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW) -> Goal:
    return _child_for(user, Goal.objects.all(), public_id, what=what, action=action)


def consent_for(user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW) -> Consent:
    return _child_for(user, Consent.objects.all(), public_id, what=what, action=action)


def enrolment_for(
    user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW
) -> Enrolment:
    return _child_for(user, Enrolment.objects.select_related("programme"), public_id, what=what, action=action)


def condition_for(
    user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW
) -> Condition:
    return _child_for(user, Condition.objects.all(), public_id, what=what, action=action)


def relative_for(user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW) -> Relative:
    return _child_for(user, Relative.objects.all(), public_id, what=what, action=action)


def measurement_for(
    user: User, public_id: uuid.UUID, *, what: str, action: AccessAction = AccessAction.VIEW
) -> Measurement:
    return _child_for(
        user,
        Measurement.objects.select_related("type", "encounter", "recorded_by").annotate(is_superseded=_superseded()),
        public_id,
        what=what,
        action=action,
    )


def _superseded() -> Exists:
    """The value has been corrected: shown struck through, no longer counted."""
    return Exists(Measurement.objects.filter(corrects=OuterRef("pk")))


@dataclass(frozen=True)
class PatientSearch:
    term: str = ""
    team_id: int | None = None
    programme_id: int | None = None
    condition_group: str = ""

    def describe(self) -> str:
        """The criterion written to the access log instead of a row per hit."""
        parts = []
        if self.term:
            parts.append(f"term={self.term!r}")
        if self.team_id:
            parts.append(f"team={self.team_id}")
        if self.programme_id:
            parts.append(f"programme={self.programme_id}")
        if self.condition_group:
            parts.append(f"condition={self.condition_group}")
        return "citizen list " + (" ".join(parts) or "(all)")


def patient_search(user: User, search: PatientSearch) -> QuerySet[Patient]:
    """The user's citizens matching the search, in name order. Name terms use the trigram index;
    terms of digits search the CPR number by prefix."""
    patients = patients_visible_to(user)
    term = search.term.strip()
    if term:
        digits = cpr_rules.normalise(term)
        if digits.isdigit():
            patients = patients.filter(cpr__startswith=digits)
        else:
            # "Nielsen, Thomas" as the list writes names, "Thomas Nielsen" as people say them, or
            # the start of either name: every word must be part of the name. Each word is folded by
            # PostgreSQL exactly as search_name is (so "aase" finds Åse and "oe" finds ø), and
            # being a constant it lets the trigram index answer the LIKE.
            for index, word in enumerate(re.split(r"[\s,;]+", term)):
                if word:
                    patients = patients.annotate(
                        **{f"_word{index}": searchable(Value(word, output_field=TextField()))}
                    ).filter(search_name__contains=F(f"_word{index}"))
    if search.team_id:
        patients = patients.filter(team_id=search.team_id)
    if search.programme_id:
        patients = patients.filter(
            Exists(
                Enrolment.objects.filter(patient=OuterRef("pk"), programme_id=search.programme_id, end_on__isnull=True)
            )
        )
    if search.condition_group:
        patients = patients.filter(
            Exists(
                Condition.objects.filter(patient=OuterRef("pk"), kind__in=conditions_in_group(search.condition_group))
            )
        )
    return (
        patients.select_related("team", "responsible_professional")
        .prefetch_related(
            Prefetch("conditions", queryset=Condition.objects.order_by("kind")),
            Prefetch(
                "enrolments",
                queryset=Enrolment.objects.filter(end_on__isnull=True).select_related("programme"),
                to_attr="active_enrolments",
            ),
        )
        .order_by("last_name", "first_name", "id")
    )


def patient_search_logged(user: User, search: PatientSearch, *, page: int) -> None:
    """Writes the list's access-log row. A term that is a whole CPR number asks about one person:
    when a citizen has that number, the row is written under them, allowed or denied, whether or not
    the list may show them (their own log then shows who looked them up); otherwise the row holds
    the criterion."""
    number = cpr_rules.normalise(search.term.strip())
    if len(number) == 10 and number.isdigit():
        found = Patient.objects.filter(cpr=number).only("public_id", "team_id").first()
        if found is not None:
            access.check(
                user, found, what=gettext_noop("citizen list, searched by CPR number"), action=AccessAction.SEARCH
            )
            return
    access.listed(user, f"{search.describe()} page={page}")


def citizen_for_access_log_export(user: User, cpr: str) -> Patient | None:
    """The citizen whose access log an administrator exports (GDPR art. 15), found by CPR number.
    The request is logged either way: under the citizen, or, when nobody has the number, as a
    rejected export without one (the request was still made and answered)."""
    patient = Patient.objects.filter(cpr=cpr).only("public_id", "team_id").first()
    if patient is None:
        access.record(
            actor=user,
            action=AccessAction.EXPORT,
            what=gettext_noop("access log export (GDPR art. 15): no citizen has this CPR number"),
            outcome=AccessOutcome.REJECTED,
        )
        return None
    access.authorise(
        user,
        patient,
        what=gettext_noop("access log export (GDPR art. 15)"),
        action=AccessAction.EXPORT,
        work=access.Work.ACCESS_LOG_EXPORT,
    )
    return patient


TIMELINE_PAGE = 15


@dataclass
class Timeline:
    encounters: list[Encounter]
    events: list[tuple[datetime.datetime, str, object]]  # (when, kind, object), newest first
    next_after: Encounter | None  # the cursor for the next (older) page, if there is one


def patient_timeline(
    patient: Patient, *, after: Encounter | None = None, limit: int = TIMELINE_PAGE, overview: dict | None = None
) -> Timeline:
    """One page of the patient's history, newest first: encounters with their measurements, actions
    and amendments, merged with measurements made outside encounters, goals, consents and
    enrolments in the same period. Pages are cut after an encounter (keyset on time and id), and a
    page costs a fixed number of queries whatever the history's length. The patient page passes its
    `patient_overview`, whose goals, consents and enrolments are then not read a second time."""
    measurements = Measurement.objects.select_related("type", "recorded_by").annotate(is_superseded=_superseded())
    encounters_qs = patient.encounters.select_related("professional").prefetch_related(
        Prefetch("measurements", queryset=measurements.order_by("type__display_order", "id")),
        "agreed_actions",
        Prefetch("amendments", queryset=Amendment.objects.select_related("author")),
    )
    if after is not None:
        encounters_qs = encounters_qs.filter(
            Q(started_at__lt=after.started_at) | Q(started_at=after.started_at, id__lt=after.id)
        )
    encounters = list(encounters_qs.order_by("-started_at", "-id")[: limit + 1])
    has_more = len(encounters) > limit
    encounters = encounters[:limit]
    newest = after.started_at if after is not None else None
    oldest = encounters[-1].started_at if has_more else None

    def in_window(qs, field):
        if newest is not None:
            qs = qs.filter(**{f"{field}__lt": newest})
        if oldest is not None:
            qs = qs.filter(**{f"{field}__gte": oldest})
        return qs

    events: list[tuple[datetime.datetime, str, object]] = [(e.started_at, "encounter", e) for e in encounters]
    standalone = measurements.filter(patient=patient, encounter__isnull=True).order_by("-measured_at", "id")
    for m in in_window(standalone, "measured_at"):
        events.append((m.measured_at, "measurement", m))
    # A citizen has a handful of goals, consents and enrolments: all are read, and the page's are picked here.
    facts = overview or {
        "every_goal": patient.goals.select_related("measurement_type", "created_by"),
        "consents": patient.consents.all(),
        "enrolments": patient.enrolments.select_related("programme"),
    }
    events += [(g.created_at, "goal", g) for g in facts["every_goal"] if _moment_in(g.created_at, newest, oldest)]
    tz = timezone.get_current_timezone()

    def at_midday(day: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(12), tzinfo=tz)

    # Dates of consents and enrolments are the centre's calendar days.
    date_window = {}
    if newest is not None:
        date_window["lt"] = timezone.localdate(newest)
    if oldest is not None:
        date_window["gte"] = timezone.localdate(oldest)
    for c in facts["consents"]:
        for day, kind in ((c.given_on, "consent_given"), (c.withdrawn_on, "consent_withdrawn")):
            if day and _date_in(day, date_window):
                events.append((at_midday(day), kind, c))
    for e in facts["enrolments"]:
        for day, kind in ((e.start_on, "enrolment_started"), (e.end_on, "enrolment_ended")):
            if day and _date_in(day, date_window):
                events.append((at_midday(day), kind, e))
    # Stable: a correction stays right after the value it corrects (same time, later id).
    events.sort(key=lambda item: item[0], reverse=True)
    return Timeline(encounters=encounters, events=events, next_after=encounters[-1] if has_more else None)


def _moment_in(at: datetime.datetime, newest: datetime.datetime | None, oldest: datetime.datetime | None) -> bool:
    return (newest is None or at < newest) and (oldest is None or at >= oldest)


def _date_in(day: datetime.date, window: dict) -> bool:
    return ("lt" not in window or day < window["lt"]) and ("gte" not in window or day >= window["gte"])


CHARTED_MEASUREMENTS = ["hba1c", "weight", "systolic_bp", "diastolic_bp", "mmse"]


def measurement_series(patient: Patient, codes: list[str]) -> dict[str, list[tuple[datetime.datetime, float]]]:
    """Values of the record in time order per catalogue code, in one query: no draft's values and
    no value that has been corrected (its correction is there instead)."""
    series: dict[str, list[tuple[datetime.datetime, float]]] = {code: [] for code in codes}
    rows = (
        counted_measurements()
        .filter(patient=patient, type__code__in=codes, value__isnull=False)
        .order_by("measured_at", "id")
        .values_list("type__code", "measured_at", "value")
    )
    for code, at, value in rows:
        series[code].append((at, float(value)))
    return series


OVERVIEW_PARTS = ("conditions", "enrolments", "relatives", "consents", "goals")


def patient_overview(patient: Patient) -> dict:
    """The patient page's side panels, each in one query; every goal, not only the active ones the
    panel shows, for the timeline."""
    every_goal = list(patient.goals.select_related("measurement_type", "created_by").order_by("review_on", "id"))
    return {
        "conditions": list(patient.conditions.order_by("diagnosed_on", "id")),
        "enrolments": list(patient.enrolments.select_related("programme").order_by("-start_on", "-id")),
        "relatives": list(Relative.objects.filter(patient=patient).order_by("-is_primary_caregiver", "name")),
        "consents": list(patient.consents.order_by("withdrawn_on", "-given_on", "kind")),
        "goals": [goal for goal in every_goal if goal.status == GoalStatus.ACTIVE],
        "every_goal": every_goal,
    }


# The change-history tables (pghistory, written by database triggers on every insert, update and delete,
# whichever code path or raw SQL made the change) of what the patient page's record part shows: those whose
# rows name the citizen, and those of an encounter's parts (agreed actions, amendments), tied to the
# citizen through the encounter.
RECORD_HISTORY = [
    "EncounterEvent",
    "MeasurementEvent",
    "GoalEvent",
    "ConsentEvent",
    "EnrolmentEvent",
    "ConditionEvent",
    "RelativeEvent",
]
ENCOUNTER_PART_HISTORY = ["AgreedActionEvent", "AmendmentEvent"]


def patient_record_version(patient: Patient) -> str:
    """A version of the citizen's record for caching what the patient page draws from it, in one query
    over the change history. Every committed change adds a history row, so the row count moves even
    when a transaction that began earlier commits after a later one (a largest id or time alone could
    miss that); the latest time tells a restored database's rows apart from the cached ones of before
    the restore. It counts every event of every row that was ever the citizen's (by the row's id, not
    its present citizen), so a row moved to another citizen moves this citizen's version too; served by
    the history tables' patient_id/encounter_id and pgh_obj_id indexes. Read before the record itself,
    so that a fragment cached under this version is never older than it."""
    # The table names are ours, the citizen a parameter (hence the noqa/nosec below).
    encounters = Encounter._meta.db_table
    parts = []
    for model_name in RECORD_HISTORY + ENCOUNTER_PART_HISTORY:
        table = apps.get_model("patients", model_name)._meta.db_table
        if model_name in ENCOUNTER_PART_HISTORY:
            ever_theirs = f"""SELECT h.pgh_obj_id FROM {table} AS h
                JOIN {encounters} AS e ON e.id = h.encounter_id WHERE e.patient_id = %s"""  # noqa: S608  # nosec B608
        else:
            ever_theirs = f"SELECT h.pgh_obj_id FROM {table} AS h WHERE h.patient_id = %s"  # noqa: S608  # nosec B608
        parts.append(f"""(
            SELECT count(*) || '/' || coalesce(max(event.pgh_created_at)::text, '') FROM {table} AS event
             WHERE event.pgh_obj_id IN ({ever_theirs})
        )""")  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT concat_ws(';', {', '.join(parts)})", [patient.pk] * len(parts))
        return cursor.fetchone()[0]


def catalogue() -> list[MeasurementType]:
    return list(MeasurementType.objects.all())


def lab_import_for(user: User, public_id, *, what: str, action: AccessAction = AccessAction.VIEW):
    """A laboratory import, for the coordinators who run them (the views' Work.TRIAGE decides the
    role); its rejected rows name CPR numbers, so every read is logged, naming the import."""
    lab_import = LabImport.objects.select_related("uploaded_by").filter(public_id=public_id).first()
    if lab_import is None:
        access.deny(user, what=what, action=action)
    access.record(actor=user, action=action, what=f"{what} {lab_import.public_id}")
    return lab_import
