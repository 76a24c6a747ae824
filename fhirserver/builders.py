"""The centre's records as FHIR R4 resources (JSON dicts), one builder per kind, and the querysets
a citizen's resources of each kind come from. Codes: the CPR number under the Danish CPR system
(urn:oid:1.2.208.176.1.2, as DK Core), measurements in LOINC with the Danish NPU code as a second
coding where there is one, UCUM units, ICD-10 diagnoses, SNOMED CT procedures. What has no standard
code (an encounter's kind, a programme, a role) is coded in this server's own code systems under
<base>/CodeSystem/."""

import datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from coordination.models import Task, TaskPriority, TaskStatus
from healthcenter.models import AccessAction, AccessOutcome
from patients.definitions import counted_measurements, signed_encounters
from patients.models import (
    Condition,
    Consent,
    ConsentKind,
    EncounterKind,
    EndReason,
    Enrolment,
    Goal,
    GoalStatus,
    LabCode,
    MeasurementKind,
    MeasurementSource,
    Patient,
    PatientStatus,
    ProcedureResult,
    Relative,
)
from scheduling.models import Appointment, AppointmentStatus

CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
# The Danish NPU terminology as MedCom and the eHealth infrastructure name it; DK Core and HL7's
# terminology name the same codes http://npu-terminology.org (searches take either).
NPU = "urn:oid:1.2.208.176.2.1"
NPU_SYSTEMS = {NPU, "http://npu-terminology.org"}
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SYSTEMS = {"LOINC": LOINC, "SNOMED": SNOMED}

# The catalogue's unit as UCUM writes it.
UCUM_UNITS = {"mmHg": "mm[Hg]", "point": "{score}", "points": "{score}"}
# NPU codes the catalogue lists for a type (patients.LabCode) that stand for the value in another unit
# than the catalogue's: HbA1c in % (DCCT) is not the mmol/mol (IFCC) value the record keeps.
OTHER_UNIT_NPU = {"NPU03835"}
CATEGORY = {
    "hba1c": "laboratory",
    "ldl": "laboratory",
    "urine_acr": "laboratory",
    "weight": "vital-signs",
    "height": "vital-signs",
    "systolic_bp": "vital-signs",
    "diastolic_bp": "vital-signs",
    "mmse": "survey",
}
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


class Context:
    """What every builder needs from the request: the server's base address, and the catalogue's NPU
    codes (one query, the first time a measurement is coded)."""

    def __init__(self, base: str):
        self.base = base.rstrip("/") + "/"
        self._npu: dict[int, str] | None = None

    def npu(self, type_id: int) -> str | None:
        if self._npu is None:
            self._npu = {}
            for type_pk, code in (
                LabCode.objects.filter(system="NPU").exclude(code__in=OTHER_UNIT_NPU).order_by("code")
            ).values_list("type_id", "code"):
                self._npu.setdefault(type_pk, code)
        return self._npu.get(type_id)

    def url(self, resource_type: str, public_id) -> str:
        return f"{self.base}{resource_type}/{public_id}"

    def system(self, name: str) -> str:
        return f"{self.base}CodeSystem/{name}"


def instant(moment: datetime.datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def day(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def ref(resource_type: str, public_id, display: str | None = None) -> dict:
    reference = {"reference": f"{resource_type}/{public_id}"}
    if display:
        reference["display"] = display
    return reference


def coding(system: str, code: str, display: str | None = None) -> dict:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def concept(codings: list[dict], text: str | None = None) -> dict:
    found: dict = {"coding": codings} if codings else {}
    if text:
        found["text"] = text
    return found


def _compact(resource: dict) -> dict:
    """FHIR has no empty values: drop None, empty strings, lists and objects."""
    return {k: v for k, v in resource.items() if v not in (None, "", [], {})}


def quantity(value: Decimal | None, mtype) -> dict | None:
    if value is None:
        return None
    places = mtype.decimal_places
    number = value.quantize(Decimal(1).scaleb(-places)) if places else value.quantize(Decimal(1))
    shown = int(number) if places == 0 else float(number)
    unit = mtype.unit
    return _compact(
        {"value": shown, "unit": unit, "system": UCUM if unit else None, "code": UCUM_UNITS.get(unit, unit) or None}
    )


def measurement_codings(mtype, ctx: Context) -> list[dict]:
    codings = [coding(SYSTEMS.get(mtype.coding_system, mtype.coding_system), mtype.coding_code, mtype.label)]
    npu = ctx.npu(mtype.pk)
    if npu:
        codings.append(coding(NPU, npu))
    return codings


# --- Patient ---------------------------------------------------------------------------------------------


def patient(p: Patient, ctx: Context) -> dict:
    telecom = []
    if p.phone:
        telecom.append({"system": "phone", "value": p.phone_formatted, "use": "home"})
    if p.email:
        telecom.append({"system": "email", "value": p.email, "use": "home"})
    address = _compact(
        {
            "use": "home",
            "type": "physical",
            "line": [p.address] if p.address else None,
            "postalCode": p.postal_code,
            "city": p.city,
            "country": "DK",
        }
    )
    return _compact(
        {
            "resourceType": "Patient",
            "id": str(p.public_id),
            "meta": {"versionId": str(p.version), "lastUpdated": instant(p.updated_at)},
            "identifier": [{"use": "official", "system": CPR_SYSTEM, "value": p.cpr}],
            "active": p.status == PatientStatus.ACTIVE,
            "name": [{"use": "official", "family": p.last_name, "given": p.first_name.split(), "text": p.full_name}],
            "telecom": telecom,
            "gender": p.sex,
            "birthDate": day(p.birth_date),
            "deceasedBoolean": True if p.status == PatientStatus.DECEASED else None,
            "address": [address] if len(address) > 3 else [],
            "generalPractitioner": [
                _compact({"display": p.gp_name + (f" ({p.gp_phone_formatted})" if p.gp_phone else "")})
            ]
            if p.gp_name
            else [],
            "managingOrganization": {"display": p.team.name},
        }
    )


# --- Encounter -------------------------------------------------------------------------------------------

ENCOUNTER_CLASS = {
    EncounterKind.INDIVIDUAL: ("AMB", "ambulatory"),
    EncounterKind.GROUP: ("AMB", "ambulatory"),
    EncounterKind.HOME_VISIT: ("HH", "home health"),
    EncounterKind.PHONE: ("VR", "virtual"),
    EncounterKind.VIDEO: ("VR", "virtual"),
}
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def encounters(p: Patient) -> QuerySet:
    """Signed encounters only: a draft is not yet part of the record (as its values do not count)."""
    return signed_encounters().filter(patient=p).select_related("professional").order_by("-started_at", "-id")


def encounter(e, ctx: Context, patient_id) -> dict:
    code, display = ENCOUNTER_CLASS[e.kind]
    return _compact(
        {
            "resourceType": "Encounter",
            "id": str(e.public_id),
            "meta": {"versionId": str(e.version)},
            "status": "finished",
            "class": coding(ACT_CODE, code, display),
            "type": [concept([coding(ctx.system("encounter-kind"), e.kind, e.get_kind_display())])],
            "subject": ref("Patient", patient_id),
            "participant": [{"individual": {"display": str(e.professional)}}],
            "period": {
                "start": instant(e.started_at),
                "end": instant(e.started_at + datetime.timedelta(minutes=e.duration_minutes)),
            },
            "length": {"value": e.duration_minutes, "unit": "min", "system": UCUM, "code": "min"},
        }
    )


# --- Observation -----------------------------------------------------------------------------------------


def observations(p: Patient) -> QuerySet:
    """The values that count (patients.definitions.counted_measurements)."""
    return (
        counted_measurements()
        .filter(patient=p)
        .select_related("type", "encounter", "recorded_by")
        .order_by("-measured_at", "-id")
    )


def observation(m, ctx: Context, patient_id) -> dict:
    mtype = m.type
    procedure = mtype.kind == MeasurementKind.PROCEDURE
    category = (
        "exam" if procedure else CATEGORY.get(mtype.code, "laboratory" if m.source == MeasurementSource.LAB else "exam")
    )
    resource = {
        "resourceType": "Observation",
        "id": str(m.public_id),
        "status": "corrected" if m.corrects_id else "final",
        "category": [concept([coding(OBSERVATION_CATEGORY, category)])],
        "code": concept(measurement_codings(mtype, ctx), mtype.label),
        "subject": ref("Patient", patient_id),
        "encounter": ref("Encounter", m.encounter.public_id) if m.encounter_id else None,
        "effectiveDateTime": instant(m.measured_at),
        "issued": instant(m.recorded_at),
        "performer": [{"display": str(m.recorded_by)}] if m.recorded_by else [],
    }
    if procedure:
        normal = m.result == ProcedureResult.NORMAL
        interpretation = coding(INTERPRETATION, "N" if normal else "A", "Normal" if normal else "Abnormal")
        resource["valueCodeableConcept"] = concept([interpretation], m.get_result_display())
        resource["interpretation"] = [concept([interpretation])]
    else:
        resource["valueQuantity"] = quantity(m.value, mtype)
    return _compact(resource)


# --- Condition -------------------------------------------------------------------------------------------


def conditions(p: Patient) -> QuerySet:
    return Condition.objects.filter(patient=p).order_by("diagnosed_on", "id")


def condition(c, ctx: Context, patient_id) -> dict:
    return {
        "resourceType": "Condition",
        "id": str(c.public_id),
        "clinicalStatus": concept(
            [coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active")]
        ),
        "verificationStatus": concept(
            [coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed")]
        ),
        "category": [
            concept(
                [
                    coding(
                        "http://terminology.hl7.org/CodeSystem/condition-category",
                        "problem-list-item",
                        "Problem List Item",
                    )
                ]
            )
        ],
        "code": concept([coding(ICD10, c.icd10, c.get_kind_display())], c.get_kind_display()),
        "subject": ref("Patient", patient_id),
        "onsetDateTime": day(c.diagnosed_on),
    }


# --- Goal ------------------------------------------------------------------------------------------------

GOAL_STATUS = {GoalStatus.ACTIVE: "active", GoalStatus.ACHIEVED: "completed", GoalStatus.DROPPED: "cancelled"}


def goals(p: Patient) -> QuerySet:
    return Goal.objects.filter(patient=p).select_related("measurement_type").order_by("-created_at", "-id")


def goal(g, ctx: Context, patient_id) -> dict:
    target = []
    if g.measurement_type_id:
        mtype = g.measurement_type
        detail = _compact({"low": quantity(g.target_low, mtype), "high": quantity(g.target_high, mtype)})
        target.append(
            _compact(
                {
                    "measure": concept(measurement_codings(mtype, ctx), mtype.label),
                    "detailRange": detail,
                }
            )
        )
    achievement = None
    if g.status == GoalStatus.ACHIEVED:
        achievement = concept(
            [coding("http://terminology.hl7.org/CodeSystem/goal-achievement", "achieved", "Achieved")]
        )
    return _compact(
        {
            "resourceType": "Goal",
            "id": str(g.public_id),
            "meta": {"versionId": str(g.version)},
            "lifecycleStatus": GOAL_STATUS[g.status],
            "achievementStatus": achievement,
            "description": {"text": g.text},
            "subject": ref("Patient", patient_id),
            "expressedBy": ref("Patient", patient_id),
            "startDate": day(timezone.localtime(g.created_at).date()) if g.created_at else None,
            "statusDate": day(g.achieved_on or g.dropped_on),
            "target": target,
            "note": [{"text": _("Review on %(date)s") % {"date": g.review_on.isoformat()}}] if g.review_on else [],
        }
    )


# --- CarePlan (an enrolment) ------------------------------------------------------------------------------

CAREPLAN_STATUS = {
    "": "active",
    EndReason.COMPLETED: "completed",
    EndReason.DROPPED_OUT: "revoked",
    EndReason.MOVED: "revoked",
    EndReason.DECEASED: "revoked",
    EndReason.TRANSFERRED: "revoked",
}


def careplans(p: Patient) -> QuerySet:
    return Enrolment.objects.filter(patient=p).select_related("programme").order_by("-start_on", "-id")


def careplan(e, ctx: Context, patient_id) -> dict:
    programme = e.programme
    return _compact(
        {
            "resourceType": "CarePlan",
            "id": str(e.public_id),
            "status": CAREPLAN_STATUS.get(e.end_reason, "completed") if e.end_on else "active",
            "intent": "plan",
            "category": [concept([coding(ctx.system("programme"), programme.code, programme.name)], programme.name)],
            "title": programme.name,
            "subject": ref("Patient", patient_id),
            "period": _compact({"start": day(e.start_on), "end": day(e.end_on)}),
            "note": [{"text": e.get_end_reason_display()}] if e.end_reason else [],
        }
    )


# --- Task ------------------------------------------------------------------------------------------------

TASK_STATUS = {
    TaskStatus.OPEN: "ready",
    TaskStatus.IN_PROGRESS: "in-progress",
    TaskStatus.DONE: "completed",
    TaskStatus.CANCELLED: "cancelled",
}
TASK_PRIORITY = {
    TaskPriority.LOW: "routine",
    TaskPriority.NORMAL: "routine",
    TaskPriority.HIGH: "urgent",
    TaskPriority.URGENT: "asap",
}


def tasks(p: Patient) -> QuerySet:
    return Task.objects.filter(patient=p).select_related("team", "assignee").order_by("due_on", "-priority", "id")


def task(t, ctx: Context, patient_id) -> dict:
    owner = str(t.assignee) if t.assignee_id else t.team.name
    return _compact(
        {
            "resourceType": "Task",
            "id": str(t.public_id),
            "meta": {"versionId": str(t.version)},
            "status": TASK_STATUS[t.status],
            "intent": "plan",
            "priority": TASK_PRIORITY.get(t.priority, "routine"),
            "code": concept([coding(ctx.system("task-origin"), t.origin, t.get_origin_display())]),
            "description": t.title,
            "for": ref("Patient", patient_id),
            "authoredOn": instant(t.created_at),
            "executionPeriod": _compact({"start": instant(t.created_at), "end": instant(t.completed_at)}),
            "owner": {"display": owner},
            "restriction": {"period": {"end": day(t.due_on)}},
            "note": [{"text": t.description}] if t.description else [],
        }
    )


# --- Consent ---------------------------------------------------------------------------------------------

CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"


def consents(p: Patient) -> QuerySet:
    return Consent.objects.filter(patient=p).order_by("-given_on", "-id")


def consent(c, ctx: Context, patient_id) -> dict:
    scope = "treatment" if c.kind == ConsentKind.TREATMENT else "patient-privacy"
    return _compact(
        {
            "resourceType": "Consent",
            "id": str(c.public_id),
            "status": "active" if c.withdrawn_on is None else "inactive",
            "scope": concept([coding(CONSENT_SCOPE, scope)]),
            "category": [concept([coding(ctx.system("consent-kind"), c.kind, c.get_kind_display())])],
            "patient": ref("Patient", patient_id),
            "dateTime": day(c.given_on),
            "performer": [{"display": c.given_by}],
            "policyRule": concept([coding(ACT_CODE, "OPTIN", "opt-in")]),
            "provision": {
                "type": "permit",
                "period": _compact({"start": day(c.given_on), "end": day(c.withdrawn_on)}),
            },
        }
    )


# --- RelatedPerson ---------------------------------------------------------------------------------------


def related_people(p: Patient) -> QuerySet:
    return Relative.objects.filter(patient=p).order_by("-is_primary_caregiver", "name", "id")


def related_person(r, ctx: Context, patient_id) -> dict:
    relationship = [{"text": r.relation}]
    extension = []
    if r.is_primary_caregiver:
        relationship.append(
            concept([coding("http://terminology.hl7.org/CodeSystem/v3-RoleClass", "CAREGIVER", "caregiver")])
        )
    if r.primary_caregiver_from:
        extension.append(
            {
                "url": f"{ctx.base}StructureDefinition/primary-caregiver",
                "valuePeriod": _compact(
                    {"start": day(r.primary_caregiver_from), "end": day(r.primary_caregiver_until)}
                ),
            }
        )
    return _compact(
        {
            "resourceType": "RelatedPerson",
            "id": str(r.public_id),
            "extension": extension,
            "active": True,
            "patient": ref("Patient", patient_id),
            "relationship": relationship,
            "name": [{"text": r.name}],
            "telecom": [{"system": "phone", "value": r.phone_formatted}] if r.phone else [],
        }
    )


# --- Appointment -----------------------------------------------------------------------------------------

APPOINTMENT_STATUS = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.ATTENDED: "fulfilled",
    AppointmentStatus.DID_NOT_ATTEND: "noshow",
    AppointmentStatus.CANCELLED_BY_CITIZEN: "cancelled",
    AppointmentStatus.CANCELLED_BY_CENTRE: "cancelled",
}
CANCELLED_BY = {AppointmentStatus.CANCELLED_BY_CITIZEN: "pat", AppointmentStatus.CANCELLED_BY_CENTRE: "prov"}


def appointments(p: Patient) -> QuerySet:
    return (
        Appointment.objects.filter(patient=p)
        .select_related("room")
        .prefetch_related(Prefetch("professionals"))
        .order_by("-starts_at", "-id")
    )


def appointment(a, ctx: Context, patient_id) -> dict:
    participants = [{"actor": ref("Patient", patient_id), "required": "required", "status": "accepted"}]
    for person in sorted(a.professionals.all(), key=lambda u: (u.last_name, u.first_name, u.pk)):
        participants.append(
            {
                "actor": {"display": str(person)},
                "required": "required",
                "status": "accepted",
            }
        )
    if a.room_id:
        participants.append({"actor": {"display": a.room.name}, "required": "required", "status": "accepted"})
    reason = None
    if a.status in CANCELLED_BY:
        reason = concept(
            [
                coding(
                    "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
                    CANCELLED_BY[a.status],
                    a.get_status_display(),
                )
            ],
            a.cancel_reason,
        )
    return _compact(
        {
            "resourceType": "Appointment",
            "id": str(a.public_id),
            "meta": {"versionId": str(a.version)},
            "status": APPOINTMENT_STATUS[a.status],
            "cancelationReason": reason,
            "appointmentType": concept([coding(ctx.system("encounter-kind"), a.kind, a.get_kind_display())]),
            "description": a.purpose,
            "start": instant(a.starts_at),
            "end": instant(a.ends_at),
            "minutesDuration": int((a.ends_at - a.starts_at).total_seconds() // 60),
            "created": instant(a.booked_at),
            "participant": participants,
        }
    )


# --- AuditEvent (the access log) -------------------------------------------------------------------------

AUDIT_ACTION = {
    AccessAction.CREATE: "C",
    AccessAction.VIEW: "R",
    AccessAction.EXPORT: "R",
    AccessAction.UPDATE: "U",
    AccessAction.SEARCH: "E",
}


def audit_event(entry, ctx: Context, patient_id, what: str) -> dict:
    user = entry.user
    name = str(user)
    allowed = entry.outcome == AccessOutcome.ALLOWED
    return {
        "resourceType": "AuditEvent",
        "id": str(entry.pk),
        "type": coding("http://dicom.nema.org/resources/ontology/DCM", "110110", "Patient Record"),
        "action": AUDIT_ACTION.get(entry.action, "E"),
        "recorded": instant(entry.at),
        "outcome": "0" if allowed else "4",
        "outcomeDesc": entry.get_outcome_display(),
        "agent": [
            {
                "type": concept(
                    [coding("http://terminology.hl7.org/CodeSystem/extra-security-role-type", "humanuser")]
                ),
                "role": [concept([coding(ctx.system("role"), entry.role, entry.get_role_display())])],
                "who": {
                    "identifier": {"system": f"{ctx.base}NamingSystem/username", "value": user.username},
                    "display": name,
                },
                "name": name,
                "requestor": True,
            }
        ],
        "source": {"observer": {"display": "Sundhedscenter"}},
        "entity": [
            {
                "what": ref("Patient", patient_id),
                "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"),
                "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"),
                "description": what,
            }
        ],
    }
