"""FHIR R4 (read), issue 12: every resource kind the server emits validates with fhir.resources (R4B
models), the personas (member and colleague read, an outsider and a manager meet 404 with a denied
row under the citizen), searches as clients send them (identifier, patient, date, code, status,
_count paging), errors as OperationOutcomes, the access log as AuditEvents, query budgets that do
not grow with the data."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent
from fhir.resources.R4B.bundle import Bundle as FhirBundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement as FhirCapabilityStatement
from fhir.resources.R4B.careplan import CarePlan as FhirCarePlan
from fhir.resources.R4B.condition import Condition as FhirCondition
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir.resources.R4B.goal import Goal as FhirGoal
from fhir.resources.R4B.observation import Observation as FhirObservation
from fhir.resources.R4B.operationoutcome import OperationOutcome as FhirOperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.relatedperson import RelatedPerson as FhirRelatedPerson
from fhir.resources.R4B.task import Task as FhirTask

from healthcenter.api import api_token_issue
from healthcenter.models import AccessLog, AccessOutcome, Role
from patients.models import MeasurementType, Programme

from .conftest import client_for
from .factories import (
    AppointmentFactory,
    ConditionFactory,
    ConsentFactory,
    EncounterFactory,
    EnrolmentFactory,
    GoalFactory,
    MeasurementFactory,
    PatientFactory,
    RelativeFactory,
    RoomFactory,
    TaskFactory,
    UserFactory,
)

MODELS = {
    "Patient": FhirPatient,
    "Encounter": FhirEncounter,
    "Observation": FhirObservation,
    "Condition": FhirCondition,
    "Goal": FhirGoal,
    "CarePlan": FhirCarePlan,
    "Task": FhirTask,
    "Consent": FhirConsent,
    "RelatedPerson": FhirRelatedPerson,
    "Appointment": FhirAppointment,
    "AuditEvent": FhirAuditEvent,
    "Bundle": FhirBundle,
    "CapabilityStatement": FhirCapabilityStatement,
    "OperationOutcome": FhirOperationOutcome,
}
CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"
FHIR_JSON = "application/fhir+json"


def validated(resource: dict):
    """The resource as the R4B model of its type reads it (raises on anything invalid)."""
    return MODELS[resource["resourceType"]].model_validate(resource)


def body(response, status=200) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    data = response.json()
    validated(data)
    return data


def entries(bundle: dict) -> list[dict]:
    return [e["resource"] for e in bundle.get("entry", [])]


@pytest.fixture
def record(patient, member, colleague, team):
    """A citizen with one of everything, as the demo has them."""
    patient.phone = "12345678"
    patient.email = "karen@example.dk"
    patient.address, patient.postal_code, patient.city = "Nørregade 1", "8000", "Aarhus C"
    patient.gp_name, patient.gp_phone = "Lægerne i Midtbyen", "87654321"
    patient.save()
    ConditionFactory(patient=patient, kind="dm2", icd10="E11", diagnosed_on=datetime.date(2019, 5, 1))
    ConditionFactory(patient=patient, kind="dem_mixed", icd10="F00.2", diagnosed_on=datetime.date(2024, 2, 1))
    signed = EncounterFactory(
        patient=patient, professional=member, started_at=timezone.now() - datetime.timedelta(days=3)
    )
    draft = EncounterFactory(patient=patient, professional=member, signed_at=None)
    types = {t.code: t for t in MeasurementType.objects.all()}
    now = timezone.now()
    hba1c = MeasurementFactory(
        patient=patient, type=types["hba1c"], value=Decimal(53), measured_at=now - datetime.timedelta(days=10)
    )
    MeasurementFactory(
        patient=patient,
        type=types["systolic_bp"],
        value=Decimal(142),
        source="encounter",
        encounter=signed,
        measured_at=signed.started_at,
    )
    MeasurementFactory(
        patient=patient,
        type=types["weight"],
        value=Decimal("81.4"),
        source="encounter",
        encounter=draft,
        measured_at=draft.started_at,
    )
    wrong = MeasurementFactory(
        patient=patient,
        type=types["ldl"],
        value=Decimal("9.9"),
        source="lab",
        measured_at=now - datetime.timedelta(days=20),
    )
    MeasurementFactory(
        patient=patient,
        type=types["ldl"],
        value=Decimal("2.4"),
        source="lab",
        measured_at=wrong.measured_at,
        corrects=wrong,
        correction_reason="Tastefejl",
    )
    MeasurementFactory(patient=patient, type=types["urine_acr"], value=Decimal("3.1"), source="lab")
    MeasurementFactory(patient=patient, type=types["mmse"], value=Decimal(26))
    MeasurementFactory(patient=patient, type=types["foot_exam"], value=None, result="abnormal")
    GoalFactory(
        patient=patient,
        created_by=member,
        target_low=Decimal(48),
        target_high=Decimal(58),
        text="At kunne gå tur med hunden",
    )
    GoalFactory(
        patient=patient,
        created_by=member,
        measurement_type=None,
        status="achieved",
        achieved_on=datetime.date(2026, 1, 2),
    )
    EnrolmentFactory(patient=patient, end_on=None)
    EnrolmentFactory(
        patient=patient,
        programme=Programme.objects.get(code="diabetes-course"),
        start_on=datetime.date(2021, 1, 1),
        end_on=datetime.date(2022, 1, 1),
        end_reason="dropped_out",
    )
    TaskFactory(patient=patient, team=team, assignee=member, title="Ring til borgeren", description="Om blodtrykket")
    TaskFactory(patient=patient, team=team, status="done", completed_at=now, priority=4)
    ConsentFactory(patient=patient, kind="treatment", recorded_by=member)
    ConsentFactory(
        patient=patient,
        kind="share_relatives",
        recorded_by=member,
        withdrawn_on=datetime.date(2021, 1, 1),
        withdrawn_by="Borgeren",
    )
    RelativeFactory(
        patient=patient,
        relation="datter",
        phone="11223344",
        primary_caregiver_from=datetime.date(2022, 3, 1),
        primary_caregiver_until=None,
    )
    RelativeFactory(patient=patient, relation="nabo", primary_caregiver_until=None)
    AppointmentFactory(patient=patient, professionals=[member, colleague], room=RoomFactory())
    AppointmentFactory(
        patient=patient, starts_at=now - datetime.timedelta(days=3), status="did_not_attend", professionals=[member]
    )
    AppointmentFactory(
        patient=patient,
        starts_at=now - datetime.timedelta(days=2),
        status="cancelled_citizen",
        cancel_reason="Syg",
        professionals=[member],
    )
    return {"patient": patient, "signed": signed, "draft": draft, "hba1c": hba1c, "wrong": wrong}


def url(path: str) -> str:
    return f"/fhir/{path}"


def pid(record) -> str:
    return str(record["patient"].public_id)


# --- every kind validates ---------------------------------------------------------------------------------


def test_everything_holds_every_kind_and_each_validates(record, as_member):
    bundle = body(as_member.get(url(f"Patient/{pid(record)}/$everything")))
    assert bundle["type"] == "searchset"
    assert bundle["total"] == len(bundle["entry"])
    kinds = {}
    for item in bundle["entry"]:
        resource = item["resource"]
        validated(resource)
        assert item["fullUrl"] == f"http://testserver/fhir/{resource['resourceType']}/{resource['id']}"
        kinds[resource["resourceType"]] = kinds.get(resource["resourceType"], 0) + 1
    assert kinds == {
        "Patient": 1,
        "Encounter": 1,  # the draft is not part of the record
        "Observation": 6,  # hba1c, the signed encounter's blood pressure, ldl's correction, acr, mmse, foot exam
        "Condition": 2,
        "Goal": 2,
        "CarePlan": 2,
        "Task": 2,
        "Consent": 2,
        "RelatedPerson": 2,
        "Appointment": 3,
    }


def test_each_resource_reads_by_its_full_url_and_validates(record, as_member):
    bundle = body(as_member.get(url(f"Patient/{pid(record)}/$everything")))
    for item in bundle["entry"]:
        resource = body(as_member.get(item["fullUrl"]))
        assert resource == item["resource"]


def test_the_validation_refuses_what_is_not_valid():
    """The check the other tests rely on catches a resource that lacks what R4 requires."""
    with pytest.raises(ValueError):
        validated({"resourceType": "Observation", "id": "x"})  # no status, no code
    with pytest.raises(ValueError):
        validated({"resourceType": "Patient", "birthDate": "1990-13-01"})
    with pytest.raises(ValueError):
        validated({"resourceType": "Patient", "unknownElement": 1})


def test_patient_content(record, as_member, team):
    patient = body(as_member.get(url(f"Patient/{pid(record)}")))
    assert patient["identifier"] == [{"use": "official", "system": CPR_SYSTEM, "value": record["patient"].cpr}]
    assert patient["name"][0]["family"] == "Jensen" and patient["name"][0]["given"] == ["Karen"]
    assert patient["gender"] == record["patient"].sex
    assert patient["birthDate"] == record["patient"].birth_date.isoformat()
    assert patient["address"][0]["postalCode"] == "8000"
    assert {t["system"] for t in patient["telecom"]} == {"phone", "email"}
    assert patient["generalPractitioner"][0]["display"].startswith("Lægerne i Midtbyen")
    assert patient["managingOrganization"] == {"display": team.name}


def test_observation_codes_units_and_values(record, as_member):
    found = entries(body(as_member.get(url(f"Observation?patient=Patient/{pid(record)}"))))
    by_code = {o["code"]["coding"][0]["code"]: o for o in found}
    hba1c = by_code["59261-8"]
    assert hba1c["code"]["coding"] == [
        {"system": "http://loinc.org", "code": "59261-8", "display": "HbA1c"},
        {"system": "urn:oid:1.2.208.176.2.1", "code": "NPU27300"},
    ]
    assert hba1c["valueQuantity"] == {
        "value": 53,
        "unit": "mmol/mol",
        "system": "http://unitsofmeasure.org",
        "code": "mmol/mol",
    }
    assert by_code["8480-6"]["valueQuantity"]["code"] == "mm[Hg]"
    assert by_code["8480-6"]["encounter"] == {"reference": f"Encounter/{record['signed'].public_id}"}
    assert by_code["72106-8"]["valueQuantity"]["code"] == "{score}"
    assert by_code["39469-2"]["valueQuantity"]["value"] == 2.4  # the correction counts, the wrong value does not
    assert by_code["39469-2"]["status"] == "corrected"
    assert by_code["9318-7"]["valueQuantity"]["code"] == "mg/mmol"
    assert by_code["9318-7"]["code"]["coding"][1] == {"system": "urn:oid:1.2.208.176.2.1", "code": "NPU19661"}
    assert len(by_code["8480-6"]["code"]["coding"]) == 1  # no NPU code for a blood pressure
    foot = by_code["401191002"]
    assert foot["code"]["coding"][0]["system"] == "http://snomed.info/sct"
    assert foot["valueCodeableConcept"]["coding"][0]["code"] == "A"
    assert "29463-7" not in by_code  # the weight on a draft encounter does not count yet


def test_a_value_that_does_not_count_is_not_found(record, as_member):
    response = as_member.get(url(f"Observation/{record['wrong'].public_id}"))
    assert response.status_code == 404
    validated(response.json())
    draft = as_member.get(url(f"Encounter/{record['draft'].public_id}"))
    assert draft.status_code == 404


def test_encounter_period_and_class(record, as_member):
    (encounter,) = entries(body(as_member.get(url(f"Encounter?patient={pid(record)}"))))
    signed = record["signed"]
    assert encounter["status"] == "finished"
    assert encounter["class"]["code"] == "AMB"
    start = datetime.datetime.fromisoformat(encounter["period"]["start"])
    end = datetime.datetime.fromisoformat(encounter["period"]["end"])
    assert start == signed.started_at.replace(microsecond=0)
    assert end - start == datetime.timedelta(minutes=signed.duration_minutes)


def test_condition_goal_careplan_task_consent_relatedperson_appointment_content(record, as_member):
    patient = pid(record)
    conditions = entries(body(as_member.get(url(f"Condition?patient={patient}"))))
    assert [(c["code"]["coding"][0]["code"], c["onsetDateTime"]) for c in conditions] == [
        ("E11", "2019-05-01"),
        ("F00.2", "2024-02-01"),
    ]
    goals = entries(body(as_member.get(url(f"Goal?patient={patient}"))))
    with_target = next(g for g in goals if g.get("target"))
    assert with_target["description"]["text"] == "At kunne gå tur med hunden"
    assert with_target["target"][0]["detailRange"]["low"]["value"] == 48
    assert {g["lifecycleStatus"] for g in goals} == {"active", "completed"}
    plans = entries(body(as_member.get(url(f"CarePlan?patient={patient}"))))
    assert sorted(p["status"] for p in plans) == ["active", "revoked"]
    tasks = entries(body(as_member.get(url(f"Task?patient={patient}"))))
    assert {(t["status"], t["priority"]) for t in tasks} == {("ready", "routine"), ("completed", "asap")}
    assert next(t for t in tasks if t["status"] == "ready")["restriction"]["period"]["end"] == "2030-01-01"
    consents = entries(body(as_member.get(url(f"Consent?patient={patient}"))))
    assert sorted(c["status"] for c in consents) == ["active", "inactive"]
    relatives = entries(body(as_member.get(url(f"RelatedPerson?patient={patient}"))))
    primary = relatives[0]
    assert primary["relationship"][1]["coding"][0]["code"] == "CAREGIVER"
    assert primary["extension"][0]["valuePeriod"] == {"start": "2022-03-01"}
    appointments = entries(body(as_member.get(url(f"Appointment?patient={patient}"))))
    assert sorted(a["status"] for a in appointments) == ["booked", "cancelled", "noshow"]
    booked = next(a for a in appointments if a["status"] == "booked")
    assert booked["description"] == "Opfølgning"
    assert len(booked["participant"]) == 4  # the citizen, two professionals, the room


def test_capability_statement_validates_and_names_every_resource(record, as_member):
    statement = body(as_member.get(url("metadata")))
    assert statement["fhirVersion"] == "4.0.1"
    assert {r["type"] for r in statement["rest"][0]["resource"]} == set(MODELS) - {
        "Bundle",
        "CapabilityStatement",
        "OperationOutcome",
    }


# --- personas ------------------------------------------------------------------------------------------


def _urls(record) -> list[str]:
    patient = pid(record)
    found = [
        f"Patient/{patient}",
        f"Patient/{patient}/$everything",
        f"Patient?_id={patient}",
        f"AuditEvent?patient=Patient/{patient}",
    ]
    found += [
        f"{kind}?patient={patient}"
        for kind in [
            "Encounter",
            "Observation",
            "Condition",
            "Goal",
            "CarePlan",
            "Task",
            "Consent",
            "RelatedPerson",
            "Appointment",
        ]
    ]
    return found


@pytest.fixture
def read_urls(record, as_member):
    """Every list and every resource's own address."""
    bundle = body(as_member.get(url(f"Patient/{pid(record)}/$everything")))
    return [url(u) for u in _urls(record)] + [item["fullUrl"] for item in bundle["entry"]]


@pytest.mark.parametrize("persona", ["member", "colleague"])
def test_the_care_team_reads_everything(record, read_urls, persona, request):
    client = client_for(request.getfixturevalue(persona))
    for address in read_urls:
        before = AccessLog.objects.filter(
            patient_public_id=record["patient"].public_id, outcome=AccessOutcome.ALLOWED
        ).count()
        body(client.get(address))
        after = AccessLog.objects.filter(
            patient_public_id=record["patient"].public_id, outcome=AccessOutcome.ALLOWED
        ).count()
        assert after > before, f"{address} read without a row under the citizen"


@pytest.mark.parametrize("persona", ["outsider", "manager", "coordinator_elsewhere"])
def test_outside_the_care_relation_nothing_exists(record, read_urls, persona, request, other_team):
    if persona == "coordinator_elsewhere":
        user = UserFactory(username="coordinator_elsewhere", role=Role.COORDINATOR, profession="", teams=[other_team])
    else:
        user = request.getfixturevalue(persona)
    client = client_for(user)
    for address in read_urls:
        response = client.get(address)
        outcome = body(response, 404)
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == "not-found"
        if persona != "manager":  # a manager's role is refused before any citizen is looked up
            denied = AccessLog.objects.filter(user=user, outcome=AccessOutcome.DENIED)
            assert denied.filter(patient_public_id=record["patient"].public_id).exists(), address
        assert AccessLog.objects.filter(user=user, outcome=AccessOutcome.DENIED).exists()
    assert not AccessLog.objects.filter(
        user=user, outcome=AccessOutcome.ALLOWED, patient_public_id=record["patient"].public_id
    ).exists()


def test_a_token_reads_as_its_user(record, member, administrator):
    _token, secret = api_token_issue(actor=administrator, user=member, name="EPJ", scope="read")
    client = Client()
    patient = body(client.get(url(f"Patient/{pid(record)}"), headers={"Authorization": f"Bearer {secret}"}))
    assert patient["id"] == pid(record)
    response = client.get(url(f"Patient/{pid(record)}"), headers={"Authorization": "Bearer nonsense"})
    assert body(response, 401)["issue"][0]["code"] == "login"


def test_anonymous_gets_401(record):
    response = Client().get(url(f"Patient/{pid(record)}"))
    assert body(response, 401)["issue"][0]["code"] == "login"
    assert body(Client().get(url("metadata")), 401)


def test_the_server_only_reads(record, as_member):
    for address in [url("metadata"), url(f"Patient/{pid(record)}"), url("Observation")]:
        response = as_member.post(address, {}, content_type="application/fhir+json")
        assert body(response, 405)["issue"][0]["code"] == "not-supported"


# --- Patient search by identifier ----------------------------------------------------------------------------


def test_patient_search_by_cpr_identifier(record, as_member, member):
    cpr = record["patient"].cpr
    found = body(as_member.get(url("Patient"), {"identifier": f"{CPR_SYSTEM}|{cpr}"}))
    assert found["total"] == 1 and found["entry"][0]["resource"]["id"] == pid(record)
    row = AccessLog.objects.filter(user=member).latest("id")
    assert row.patient_public_id == record["patient"].public_id and row.outcome == AccessOutcome.ALLOWED
    # A bare number and one written with a dash find the same citizen.
    assert body(as_member.get(url("Patient"), {"identifier": f"{cpr[:6]}-{cpr[6:]}"}))["total"] == 1
    # Another system's identifier is no CPR number.
    assert body(as_member.get(url("Patient"), {"identifier": f"urn:oid:1.2.3|{cpr}"}))["total"] == 0


def test_patient_search_by_cpr_outside_the_care_relation_is_empty_and_logged_as_denied(record, as_outsider, outsider):
    found = body(as_outsider.get(url("Patient"), {"identifier": f"{CPR_SYSTEM}|{record['patient'].cpr}"}))
    assert found["total"] == 0 and "entry" not in found
    row = AccessLog.objects.filter(user=outsider).latest("id")
    assert row.patient_public_id == record["patient"].public_id and row.outcome == AccessOutcome.DENIED


def test_patient_search_by_post_keeps_the_number_out_of_the_address(record, member, outsider, administrator):
    _token, secret = api_token_issue(actor=administrator, user=member, name="EPJ", scope="read")
    client = Client()
    form = {"identifier": f"{CPR_SYSTEM}|{record['patient'].cpr}"}
    found = body(client.post(url("Patient/_search"), form, headers={"Authorization": f"Bearer {secret}"}))
    assert found["total"] == 1 and found["entry"][0]["resource"]["id"] == pid(record)
    assert record["patient"].cpr not in found["link"][0]["url"]
    row = AccessLog.objects.filter(user=member, patient_public_id=record["patient"].public_id).latest("id")
    assert row.outcome == AccessOutcome.ALLOWED
    refused = body(client_for(outsider).post(url("Patient/_search"), form))
    assert refused["total"] == 0
    row = AccessLog.objects.filter(user=outsider).latest("id")
    assert row.patient_public_id == record["patient"].public_id and row.outcome == AccessOutcome.DENIED
    assert body(client_for(member).get(url("Patient/_search")), 405)
    as_json = client_for(member).post(url("Patient/_search"), form, content_type="application/json")
    assert body(as_json, 415)["issue"][0]["code"]
    bad = client_for(member).post(url("Patient/_search"), {"family": "Jensen"})
    assert body(bad, 400)["issue"][0]["code"] == "not-supported"


def test_patient_search_without_parameters_lists_the_users_citizens(record, as_member, as_outsider, team):
    PatientFactory(team=team, last_name="Aabo")
    mine = body(as_member.get(url("Patient")))
    assert mine["total"] == 2
    assert body(as_outsider.get(url("Patient")))["total"] == 0


# --- searches ----------------------------------------------------------------------------------------------


def test_observation_search_by_code_and_date(record, as_member):
    patient = pid(record)

    def search(**params):
        return body(as_member.get(url("Observation"), {"patient": f"Patient/{patient}", **params}))

    assert search(code="http://loinc.org|59261-8")["total"] == 1
    assert search(code="59261-8")["total"] == 1
    assert search(code="urn:oid:1.2.208.176.2.1|NPU27300")["total"] == 1
    assert search(code="http://npu-terminology.org|NPU27300")["total"] == 1
    assert search(code="http://snomed.info/sct|401191002")["total"] == 1
    assert search(code="http://loinc.org|59261-8,http://loinc.org|8480-6")["total"] == 2
    assert search(code="http://loinc.org|0000-0")["total"] == 0
    measured = record["hba1c"].measured_at
    day = timezone.localtime(measured).date()
    assert search(code="59261-8", date=f"ge{day.isoformat()}")["total"] == 1
    assert search(code="59261-8", date=f"gt{day.isoformat()}")["total"] == 0
    assert search(code="59261-8", date=day.isoformat())["total"] == 1
    both = as_member.get(
        url("Observation"),
        {"patient": patient, "code": "59261-8", "date": [f"ge{day.year}-01-01", f"le{day.year}-12-31"]},
    )
    assert body(both)["total"] == 1
    before = as_member.get(url("Observation"), {"patient": patient, "date": [f"lt{day.isoformat()}"]})
    assert all(e["resource"]["effectiveDateTime"] < day.isoformat() for e in body(before)["entry"])


def test_other_searches(record, as_member):
    patient = pid(record)
    assert (
        body(as_member.get(url("Condition"), {"patient": patient, "code": "http://hl7.org/fhir/sid/icd-10|E11"}))[
            "total"
        ]
        == 1
    )
    assert body(as_member.get(url("Condition"), {"patient": patient, "code": "F00"}))["total"] == 1
    assert body(as_member.get(url("Condition"), {"subject": f"Patient/{patient}", "date": "2019"}))["total"] == 1
    assert body(as_member.get(url("Encounter"), {"patient": patient, "date": "ge2000-01-01"}))["total"] == 1
    assert body(as_member.get(url("Goal"), {"patient": patient, "lifecycle-status": "completed"}))["total"] == 1
    assert body(as_member.get(url("Task"), {"patient": patient, "status": "ready,in-progress"}))["total"] == 1
    assert body(as_member.get(url("Appointment"), {"patient": patient, "status": "noshow"}))["total"] == 1
    assert body(as_member.get(url("Consent"), {"patient": patient, "date": "2020-01-01"}))["total"] == 2


@pytest.mark.parametrize(
    "query",
    [
        "Observation",  # no citizen named
        "Observation?patient=nonsense",
        "Observation?patient=Encounter/{patient}",
        "Observation?patient={patient}&patient={patient}",
        "Observation?patient={patient}&date=2026-13-45",
        "Observation?patient={patient}&date=yesterday",
        "Observation?patient={patient}&date=ap2026-01-01",
        "Observation?patient={patient}&code=http://loinc.org|",
        "Observation?patient={patient}&_count=many",
        "Observation?patient={patient}&_offset=-1",
        "Observation?patient={patient}&name=Karen",
        "Observation?patient={patient}&value-quantity=gt50",
        "Patient?identifier=a&identifier=b",
        "Patient?family=Jensen",
        "AuditEvent",
        "AuditEvent?patient={patient}&date=soon",
        "Condition?patient={patient}&date=1999-02-30",
        # Digits int() does not read (a superscript two), a number with more digits than it converts, and a
        # moment whose local day is the last a date can hold (the day after it overflows): 400, not 500.
        "Observation?patient={patient}&_count=\u00b2",
        "Observation?patient={patient}&_offset=" + "9" * 5000,
        "Condition?patient={patient}&date=9999-12-31T23:30:00Z",
        "CarePlan?patient={patient}&date=9999-12-31T23:30:00",
        "Consent?patient={patient}&date=le9999-12-31T23:59:59",
        # A NUL byte, which PostgreSQL refuses in a query (a 500), in a code and in a reference.
        "Observation?patient={patient}&code=%00",
        "Condition?patient={patient}&code=E11%00",
        "Observation?patient=Patient/%00",
    ],
)
def test_a_bad_search_is_a_400_operation_outcome(record, as_member, query):
    response = as_member.get(url(query.format(patient=pid(record))))
    outcome = body(response, 400)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] in {"invalid", "not-supported", "required"}
    assert outcome["issue"][0]["diagnostics"]


def test_an_unknown_or_malformed_id_is_a_404(record, as_member):
    for address in ["Patient/not-a-uuid", "Observation/00000000-0000-0000-0000-000000000000", "Encounter/x"]:
        assert body(as_member.get(url(address)), 404)["issue"][0]["code"] == "not-found"


def test_a_search_for_another_citizen_of_the_wrong_id_is_a_404(record, as_member):
    response = as_member.get(url("Observation"), {"patient": "Patient/00000000-0000-0000-0000-000000000000"})
    body(response, 404)


# --- paging and query budgets --------------------------------------------------------------------------------


def test_count_pages_with_next_links(record, as_member):
    patient = pid(record)
    first = body(as_member.get(url("Observation"), {"patient": patient, "_count": 4}))
    assert first["total"] == 6 and len(first["entry"]) == 4
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "previous" not in links
    second = body(as_member.get(links["next"]))
    assert len(second["entry"]) == 2
    second_links = {link["relation"] for link in second["link"]}
    assert "next" not in second_links and "previous" in second_links
    seen = [e["resource"]["id"] for e in first["entry"] + second["entry"]]
    assert len(set(seen)) == 6
    only_total = body(as_member.get(url("Observation"), {"patient": patient, "_count": 0}))
    assert only_total["total"] == 6 and not only_total.get("entry")


def _queries(client, address, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        body(client.get(address, params))
    return len(queries)


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("Observation", lambda p, m, t: MeasurementFactory(patient=p)),
        ("Encounter", lambda p, m, t: EncounterFactory(patient=p, professional=m)),
        ("Appointment", lambda p, m, t: AppointmentFactory(patient=p, professionals=[m], starts_at=_later())),
        ("Task", lambda p, m, t: TaskFactory(patient=p, team=t, assignee=m)),
        ("Goal", lambda p, m, t: GoalFactory(patient=p, created_by=m)),
        ("Condition", None),
        ("Patient/$everything", None),
        ("AuditEvent", None),
    ],
)
def test_query_budget_does_not_grow_with_the_data(patient, member, team, as_member, kind, make):
    def grow(n):
        for _ in range(n):
            if make:
                make(patient, member, team)
            else:
                MeasurementFactory(patient=patient)
                AppointmentFactory(patient=patient, professionals=[member], starts_at=_later())
                body(as_member.get(url(f"Patient/{patient.public_id}")))  # an access-log row

    def count() -> int:
        if kind == "Patient/$everything":
            return _queries(as_member, url(f"Patient/{patient.public_id}/$everything"), {})
        return _queries(as_member, url(kind), {"patient": str(patient.public_id)})

    grow(1)
    one = count()
    grow(19)
    twenty = count()
    assert twenty == one, f"{kind}: {one} queries with one, {twenty} with twenty"
    assert one <= 25


_SLOTS = iter(range(1, 10_000))


def _later() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=30, hours=next(_SLOTS))


# --- AuditEvent ------------------------------------------------------------------------------------------------


def test_audit_events_show_who_read_and_who_was_refused(record, as_member, as_outsider, outsider, member):
    as_outsider.get(url(f"Patient/{pid(record)}"))  # refused, logged under the citizen
    bundle = body(as_member.get(url("AuditEvent"), {"patient": f"Patient/{pid(record)}"}))
    events = entries(bundle)
    for event in events:
        validated(event)
        assert event["entity"][0]["what"] == {"reference": f"Patient/{pid(record)}"}
    refused = [e for e in events if e["agent"][0]["who"]["identifier"]["value"] == outsider.username]
    assert refused and refused[0]["outcome"] == "4" and refused[0]["action"] == "R"
    mine = events[0]  # newest first: this very request
    assert mine["agent"][0]["who"]["identifier"]["value"] == member.username
    assert mine["outcome"] == "0"
    assert mine["agent"][0]["role"][0]["coding"][0]["code"] == "professional"
    assert bundle["total"] == AccessLog.objects.filter(patient_public_id=record["patient"].public_id).count()
    by_entity = body(as_member.get(url("AuditEvent"), {"entity": f"Patient/{pid(record)}", "_count": 1}))
    assert len(by_entity["entry"]) == 1 and any(link["relation"] == "next" for link in by_entity["link"])
    search = body(as_member.get(url("Patient"), {"identifier": record["patient"].cpr}))
    assert search["total"] == 1
    latest = entries(body(as_member.get(url("AuditEvent"), {"patient": pid(record), "_count": 3})))
    assert "E" in {e["action"] for e in latest}  # the search by CPR number
    today = timezone.localdate().isoformat()
    assert body(as_member.get(url("AuditEvent"), {"patient": pid(record), "date": f"ge{today}"}))["total"] > 0
    assert body(as_member.get(url("AuditEvent"), {"patient": pid(record), "date": "lt2000"}))["total"] == 0


def test_administrators_export_the_access_log_by_id_or_cpr_number(record, administrator):
    client = client_for(administrator)
    bundle = body(client.get(url("AuditEvent"), {"patient": pid(record)}))
    assert bundle["total"] >= 1
    export = AccessLog.objects.filter(user=administrator, patient_public_id=record["patient"].public_id).latest("id")
    assert export.action == "export" and export.outcome == AccessOutcome.ALLOWED
    by_number = body(client.get(url("AuditEvent"), {"patient.identifier": f"{CPR_SYSTEM}|{record['patient'].cpr}"}))
    assert by_number["total"] >= 2
    nobody = body(client.get(url("AuditEvent"), {"patient.identifier": f"{CPR_SYSTEM}|0101010000"}))
    assert nobody["total"] == 0
    assert AccessLog.objects.filter(user=administrator, outcome=AccessOutcome.REJECTED).exists()
    # The administrator reads no record: the citizen does not exist for them.
    assert client.get(url(f"Patient/{pid(record)}")).status_code == 404
    assert body(client.get(url("metadata")))["resourceType"] == "CapabilityStatement"


def test_audit_events_are_refused_outside_the_care_relation(record, as_outsider, manager):
    body(as_outsider.get(url("AuditEvent"), {"patient": pid(record)}), 404)
    body(client_for(manager).get(url("AuditEvent"), {"patient": pid(record)}), 404)


# --- the demo's data ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_resource_of_the_demo_validates():
    """The demo's citizens, as the seeders write them (texts, values, appointments of every status):
    each one's $everything, and each resource in it, validates; the kinds of the whole demo cover every
    kind this server emits."""
    from coordination.demo import seed_coordination
    from healthcenter.models import User
    from patients.demo import Seeder
    from patients.models import Patient
    from scheduling.demo import CalendarSeeder

    Seeder(citizens=12).run()
    seed_coordination()
    CalendarSeeder(days_back=7, days_ahead=7, months_back=0).run()  # a fortnight: every status, a course
    kinds = set()
    clients = {}
    for patient in Patient.objects.select_related("team"):
        if patient.team_id not in clients:
            carer = User.objects.filter(teams=patient.team, role=Role.PROFESSIONAL, is_active=True).first()
            clients[patient.team_id] = client_for(carer)
        client = clients[patient.team_id]
        bundle = body(client.get(url(f"Patient/{patient.public_id}/$everything")))
        for resource in entries(bundle):
            validated(resource)
            kinds.add(resource["resourceType"])
        for event in entries(body(client.get(url("AuditEvent"), {"patient": str(patient.public_id), "_count": 5}))):
            validated(event)
            kinds.add("AuditEvent")
    assert kinds == set(MODELS) - {"Bundle", "CapabilityStatement", "OperationOutcome"}
