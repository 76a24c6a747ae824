"""The citizen's record in the API (issue 12, patients/api.py): the citizen's details, the search, and
the relatives, consents, conditions, enrolments, measurements and goals under each citizen. Requests
go through the HTTP interface with personal tokens (and the browser's session where that matters);
every list has a query budget that does not grow with the data."""

import base64
import datetime
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.apps import apps
from django.db import connection
from django.forms.models import model_to_dict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from healthcenter.api import api_token_issue
from healthcenter.models import AccessLog, AccessOutcome
from patients.models import (
    Condition,
    ConditionKind,
    Consent,
    Enrolment,
    Goal,
    Measurement,
    MeasurementType,
    Patient,
    Programme,
    Relative,
)

from .conftest import client_for
from .factories import (
    ConditionFactory,
    ConsentFactory,
    EncounterFactory,
    EnrolmentFactory,
    GoalFactory,
    MeasurementFactory,
    PatientFactory,
    RelativeFactory,
    valid_cpr,
)

JSON = "application/json"


@pytest.fixture
def tokens(administrator):
    """A client with a personal token of the user's, write scope unless told."""

    def issue(user, scope="write") -> Client:
        _token, secret = api_token_issue(actor=administrator, user=user, name="tests", scope=scope)
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    return issue


def send(client: Client, method: str, url: str, data=None, **headers):
    body = json.dumps(data) if data is not None else ""
    return client.generic(method, url, body, content_type=JSON, **headers)


def error_shape(response) -> dict:
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


@pytest.fixture
def record(patient, member):
    """One of each part of the citizen's record."""
    return {
        "relative": RelativeFactory(patient=patient),
        "consent": ConsentFactory(patient=patient, recorded_by=member, kind="share_relatives"),
        "condition": ConditionFactory(patient=patient),
        "enrolment": EnrolmentFactory(patient=patient, end_on=None),
        "measurement": MeasurementFactory(patient=patient),
        "goal": GoalFactory(patient=patient, created_by=member),
    }


def read_urls(patient, record) -> dict[str, str]:
    c = patient.public_id
    return {
        "citizen": reverse("api-patients:citizen-detail", args=[c]),
        "relatives": reverse("api-patients:citizen-relatives", args=[c]),
        "relative": reverse("api-patients:relative-detail", args=[c, record["relative"].public_id]),
        "consents": reverse("api-patients:citizen-consents", args=[c]),
        "consent": reverse("api-patients:consent-detail", args=[record["consent"].public_id]),
        "conditions": reverse("api-patients:citizen-conditions", args=[c]),
        "condition": reverse("api-patients:condition-detail", args=[c, record["condition"].public_id]),
        "enrolments": reverse("api-patients:citizen-enrolments", args=[c]),
        "enrolment": reverse("api-patients:enrolment-detail", args=[record["enrolment"].public_id]),
        "measurements": reverse("api-patients:citizen-measurements", args=[c]),
        "measurement": reverse("api-patients:measurement-detail", args=[record["measurement"].public_id]),
        "goals": reverse("api-patients:citizen-goals", args=[c]),
        "goal": reverse("api-patients:goal-detail", args=[record["goal"].public_id]),
    }


def today() -> str:
    return timezone.localdate().isoformat()


def write_requests(patient, record) -> dict[str, tuple[str, str, dict]]:
    """A valid write of each kind: (method, url, body)."""
    c = patient.public_id
    return {
        "citizen": (
            "PATCH",
            reverse("api-patients:citizen-detail", args=[c]),
            {"city": "Vejle", "version": patient.version},
        ),
        "relative": (
            "POST",
            reverse("api-patients:citizen-relatives", args=[c]),
            {"name": "Ole Hansen", "relation": "søn", "phone": "12 34 56 78"},
        ),
        "consent": (
            "POST",
            reverse("api-patients:citizen-consents", args=[c]),
            {"kind": "story_reports", "given_on": today(), "given_by": "Borgeren"},
        ),
        "consent_withdraw": (
            "POST",
            reverse("api-patients:consent-withdraw", args=[record["consent"].public_id]),
            {"withdrawn_on": today(), "withdrawn_by": "Borgeren"},
        ),
        "condition": (
            "POST",
            reverse("api-patients:citizen-conditions", args=[c]),
            {"kind": "prediabetes", "diagnosed_on": "2021-03-04"},
        ),
        "enrolment": (
            "POST",
            reverse("api-patients:citizen-enrolments", args=[c]),
            {"programme": "diabetes-course", "referral_received_on": "2024-01-02", "start_on": "2024-01-10"},
        ),
        "enrolment_end": (
            "POST",
            reverse("api-patients:enrolment-end", args=[record["enrolment"].public_id]),
            {"end_on": today(), "end_reason": "completed"},
        ),
        "measurement": (
            "POST",
            reverse("api-patients:citizen-measurements", args=[c]),
            {
                "code": "weight",
                "value": "81.5",
                "measured_at": (timezone.now() - datetime.timedelta(hours=1)).isoformat(),
            },
        ),
        "measurement_correct": (
            "POST",
            reverse("api-patients:measurement-correct", args=[record["measurement"].public_id]),
            {"value": "56", "reason": "Tastefejl"},
        ),
        "goal": (
            "POST",
            reverse("api-patients:citizen-goals", args=[c]),
            {"text": "Gå til fodbold", "review_on": "2031-01-01"},
        ),
        "goal_change": (
            "PATCH",
            reverse("api-patients:goal-detail", args=[record["goal"].public_id]),
            {"text": "Gå til håndbold", "version": record["goal"].version},
        ),
    }


READS = [
    "citizen",
    "relatives",
    "relative",
    "consents",
    "consent",
    "conditions",
    "condition",
    "enrolments",
    "enrolment",
    "measurements",
    "measurement",
    "goals",
    "goal",
]
WRITES = [
    "citizen",
    "relative",
    "consent",
    "consent_withdraw",
    "condition",
    "enrolment",
    "enrolment_end",
    "measurement",
    "measurement_correct",
    "goal",
    "goal_change",
]


# --- who may read ---------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestPersonasRead:
    @pytest.mark.parametrize("name", READS)
    @pytest.mark.parametrize("persona", ["member", "colleague", "coordinator"])
    def test_the_care_relation_reads_and_is_logged_under_the_citizen(
        self, request, tokens, patient, record, name, persona
    ):
        user = request.getfixturevalue(persona)
        response = tokens(user, "read").get(read_urls(patient, record)[name])
        assert response.status_code == 200, response.content
        assert AccessLog.objects.filter(
            user=user, patient_public_id=patient.public_id, outcome=AccessOutcome.ALLOWED
        ).exists()

    @pytest.mark.parametrize("name", READS)
    @pytest.mark.parametrize("persona", ["outsider", "manager"])
    def test_it_refuses_others_with_404_and_a_denied_row_under_the_citizen(
        self, request, tokens, patient, record, name, persona
    ):
        user = request.getfixturevalue(persona)
        response = tokens(user).get(read_urls(patient, record)[name])
        assert response.status_code == 404
        assert error_shape(response)["code"] == "not_found"
        assert AccessLog.objects.filter(
            user=user, patient_public_id=patient.public_id, outcome=AccessOutcome.DENIED
        ).exists()

    def test_the_browser_session_reads_too(self, member, patient, record):
        response = client_for(member).get(read_urls(patient, record)["measurements"])
        assert response.status_code == 200
        assert [m["id"] for m in response.json()["results"]] == [str(record["measurement"].public_id)]

    def test_anonymous_gets_401(self, patient, record):
        response = Client().get(read_urls(patient, record)["goals"])
        assert response.status_code == 401
        assert error_shape(response)["code"] == "not_authenticated"

    def test_a_record_of_another_citizen_is_not_found_under_this_one(self, tokens, team, member, patient, record):
        other = PatientFactory(team=team)
        url = reverse("api-patients:relative-detail", args=[other.public_id, record["relative"].public_id])
        assert tokens(member).get(url).status_code == 404


# --- who may write ----------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestPersonasWrite:
    @pytest.mark.parametrize("name", WRITES)
    @pytest.mark.parametrize("persona", ["member", "colleague"])
    def test_the_care_relation_writes(self, request, tokens, patient, record, name, persona):
        user = request.getfixturevalue(persona)
        method, url, body = write_requests(patient, record)[name]
        response = send(tokens(user), method, url, body)
        assert response.status_code in (200, 201), response.content

    @pytest.mark.parametrize("name", WRITES)
    @pytest.mark.parametrize("persona", ["outsider", "manager"])
    def test_it_refuses_others_and_writes_nothing(self, request, tokens, patient, record, name, persona):
        user = request.getfixturevalue(persona)
        method, url, body = write_requests(patient, record)[name]
        before = history_count(patient)
        response = send(tokens(user), method, url, body)
        assert response.status_code == 404
        assert AccessLog.objects.filter(
            user=user, patient_public_id=patient.public_id, outcome=AccessOutcome.DENIED
        ).exists()
        assert history_count(patient) == before

    @pytest.mark.parametrize("name", WRITES)
    def test_a_read_only_token_is_refused_on_writes(self, tokens, member, patient, record, name):
        method, url, body = write_requests(patient, record)[name]
        before = history_count(patient)
        response = send(tokens(member, "read"), method, url, body)
        assert response.status_code == 403
        assert error_shape(response)["code"] == "read_only_token"
        assert history_count(patient) == before


def history_count(patient: Patient) -> int:
    total = apps.get_model("patients", "PatientEvent").objects.filter(pgh_obj_id=patient.pk).count()
    for name in ("RelativeEvent", "ConsentEvent", "ConditionEvent", "EnrolmentEvent", "MeasurementEvent", "GoalEvent"):
        total += apps.get_model("patients", name).objects.filter(patient_id=patient.pk).count()
    return total


# --- writes are the pages' writes ------------------------------------------------------------------------

IGNORED = {"id", "public_id", "patient", "created_at", "recorded_at", "updated_at"}

# (kind, model, the page's URL name, the page's form data, the API's body)
SAME_AS_PAGE = [
    (
        "relatives",
        Relative,
        "patients:relative_add",
        {"name": "Ole Hansen", "relation": "søn", "phone": "12345678", "is_primary_caregiver": "on"},
        {"name": "Ole Hansen", "relation": "søn", "phone": "12345678", "is_primary_caregiver": True},
    ),
    (
        "consents",
        Consent,
        "patients:consent_give",
        {"kind": "share_relatives", "given_on": "2024-05-06", "given_by": "Borgeren"},
        {"kind": "share_relatives", "given_on": "2024-05-06", "given_by": "Borgeren"},
    ),
    (
        "conditions",
        Condition,
        "patients:condition_add",
        {"kind": "dm2", "icd10": "", "diagnosed_on": "2019-02-03"},
        {"kind": "dm2", "diagnosed_on": "2019-02-03"},
    ),
    (
        "enrolments",
        Enrolment,
        "patients:enrolment_create",
        {"programme": "PROGRAMME", "referral_received_on": "2024-01-02", "start_on": "2024-01-10"},
        {"programme": "diabetes-course", "referral_received_on": "2024-01-02", "start_on": "2024-01-10"},
    ),
    (
        "goals",
        Goal,
        "patients:goal_create",
        {"text": "Gå til fodbold", "review_on": "2031-01-01", "status": "active"},
        {"text": "Gå til fodbold", "review_on": "2031-01-01"},
    ),
]


@pytest.mark.django_db
class TestWritesAreThePagesWrites:
    @pytest.mark.parametrize(("kind", "model", "page", "form", "body"), SAME_AS_PAGE, ids=[r[0] for r in SAME_AS_PAGE])
    def test_it_writes_the_same_row_and_history_as_the_page(self, tokens, team, member, kind, model, page, form, body):
        by_page, by_api = PatientFactory(team=team), PatientFactory(team=team)
        if "programme" in form:
            form = {**form, "programme": Programme.objects.get(code="diabetes-course").pk}
        response = client_for(member).post(reverse(page, args=[by_page.public_id]), form)
        assert response.status_code == 302, response.content
        response = send(tokens(member), "POST", reverse(f"api-patients:citizen-{kind}", args=[by_api.public_id]), body)
        assert response.status_code == 201, response.content

        page_row, api_row = model.objects.get(patient=by_page), model.objects.get(patient=by_api)
        assert str(api_row.public_id) == response.json()["id"]
        exclude = lambda row: {k: v for k, v in model_to_dict(row).items() if k not in IGNORED}  # noqa: E731
        assert exclude(api_row) == exclude(page_row)
        event_model = apps.get_model("patients", f"{model.__name__}Event")
        for row in (page_row, api_row):
            events = event_model.objects.filter(pgh_obj_id=row.pk).select_related("pgh_context")
            assert [e.pgh_label for e in events] == ["insert"]
            # The acting user is in the history, for the token as for the session.
            assert int(events[0].pgh_context.metadata["user"]) == member.pk

    def test_a_measurement_is_recorded_by_hand_with_its_codes_and_counts(self, tokens, member, patient):
        measured = timezone.now() - datetime.timedelta(hours=2)
        url = reverse("api-patients:citizen-measurements", args=[patient.public_id])
        response = send(
            tokens(member), "POST", url, {"code": "hba1c", "value": 61, "measured_at": measured.isoformat()}
        )
        assert response.status_code == 201, response.content
        body = response.json()
        hba1c = MeasurementType.objects.get(code="hba1c")
        assert body["code"] == "hba1c"
        assert body["unit"] == hba1c.unit
        assert (body["coding_system"], body["coding_code"]) == (hba1c.coding_system, hba1c.coding_code)
        assert body["source"] == "manual"
        assert body["counts"] is True
        row = Measurement.objects.get(public_id=body["id"])
        assert (row.value, row.recorded_by, row.measured_at) == (Decimal(61), member, measured)

    def test_a_value_with_a_decimal_comma_is_refused_and_a_time_without_offset_is_copenhagen(
        self, tokens, member, patient
    ):
        url = reverse("api-patients:citizen-measurements", args=[patient.public_id])
        refused = send(
            tokens(member), "POST", url, {"code": "weight", "value": "82,5", "measured_at": "2026-07-01T10:00"}
        )
        assert refused.status_code == 400
        assert list(error_shape(refused)["fields"]) == ["value"]
        assert not Measurement.objects.filter(patient=patient).exists()
        for naive, offset in (("2026-07-01T10:00", 2), ("2026-11-02T10:00", 1)):
            response = send(tokens(member), "POST", url, {"code": "weight", "value": "82.5", "measured_at": naive})
            assert response.status_code == 201, response.content
            row = Measurement.objects.get(public_id=response.json()["id"])
            assert row.value == Decimal("82.5")
            assert timezone.localtime(row.measured_at).hour == 10
            assert timezone.localtime(row.measured_at).utcoffset() == datetime.timedelta(hours=offset)

    def test_a_correction_keeps_the_original_which_no_longer_counts(self, tokens, member, patient):
        original = MeasurementFactory(patient=patient, value=Decimal(55))
        url = reverse("api-patients:measurement-correct", args=[original.public_id])
        response = send(tokens(member), "POST", url, {"value": "65", "reason": "Tastefejl"})
        assert response.status_code == 201, response.content
        assert response.json()["corrects"] == str(original.public_id)
        assert response.json()["counts"] is True
        shown = tokens(member).get(reverse("api-patients:measurement-detail", args=[original.public_id])).json()
        assert shown["counts"] is False
        # Corrected once: a second correction of the original is the service's refusal.
        again = send(tokens(member), "POST", url, {"value": "66", "reason": "Igen"})
        assert again.status_code == 400
        assert error_shape(again)["code"] == "invalid"
        assert AccessLog.objects.filter(
            user=member, patient_public_id=patient.public_id, outcome=AccessOutcome.REJECTED
        ).exists()

    def test_withdrawing_a_consent_and_ending_an_enrolment(self, tokens, member, patient, record):
        client = tokens(member)
        method, url, body = write_requests(patient, record)["consent_withdraw"]
        response = send(client, method, url, body)
        assert response.status_code == 200
        assert response.json()["in_force"] is False
        assert send(client, method, url, body).status_code == 400  # already withdrawn: the service says so
        method, url, body = write_requests(patient, record)["enrolment_end"]
        response = send(client, method, url, body)
        assert response.status_code == 200
        assert response.json()["active"] is False
        assert Enrolment.objects.get(pk=record["enrolment"].pk).end_reason == "completed"

    def test_a_citizens_contact_details_and_status(self, tokens, member, patient):
        url = reverse("api-patients:citizen-detail", args=[patient.public_id])
        current = tokens(member).get(url).json()
        body = {field: current[field] for field in ("address", "postal_code", "city", "email", "gp_name", "gp_phone")}
        body.update(phone="+45 87 65 43 21", status="active", version=current["version"])
        response = send(tokens(member), "PUT", url, body)
        assert response.status_code == 200, response.content
        assert response.json()["phone"] == "87654321"
        assert response["ETag"] == f'W/"{current["version"] + 1}"'
        # Name, CPR number and team are not the API's to change: sent or not, they stay.
        response = send(
            tokens(member), "PATCH", url, {"first_name": "X", "cpr": valid_cpr(), "version": current["version"] + 1}
        )
        assert response.status_code == 200
        patient.refresh_from_db()
        assert (patient.first_name, patient.phone) == ("Karen", "87654321")
        # The change history names the token's user, as it names the page's.
        updates = apps.get_model("patients", "PatientEvent").objects.filter(pgh_obj_id=patient.pk, pgh_label="update")
        assert [int(e.pgh_context.metadata["user"]) for e in updates.select_related("pgh_context")] == [member.pk] * 2

    def test_a_discharge_ends_the_open_enrolments_as_on_the_page(self, tokens, member, patient, record):
        url = reverse("api-patients:citizen-detail", args=[patient.public_id])
        response = send(tokens(member), "PATCH", url, {"status": "discharged", "version": patient.version})
        assert response.status_code == 200, response.content
        assert Enrolment.objects.get(pk=record["enrolment"].pk).end_on == timezone.localdate()


# --- optimistic concurrency -------------------------------------------------------------------------------


@pytest.mark.django_db
class TestVersions:
    @pytest.mark.parametrize("kind", ["citizen", "goal"])
    def test_a_stale_version_is_409_and_changes_nothing(self, tokens, member, patient, record, kind):
        thing = patient if kind == "citizen" else record["goal"]
        url = read_urls(patient, record)[kind]
        field = "city" if kind == "citizen" else "text"
        type(thing).objects.filter(pk=thing.pk).update(version=thing.version + 1)  # someone saved in between
        response = send(tokens(member), "PATCH", url, {field: "Ny", "version": thing.version})
        assert response.status_code == 409
        assert error_shape(response)["code"] == "conflict"
        thing.refresh_from_db()
        assert getattr(thing, field) != "Ny"

    @pytest.mark.parametrize("kind", ["citizen", "goal"])
    def test_if_match_is_412_when_stale_and_200_when_current(self, tokens, member, patient, record, kind):
        client = tokens(member)
        url = read_urls(patient, record)[kind]
        field = "city" if kind == "citizen" else "text"
        tag = client.get(url)["ETag"]
        stale = send(client, "PATCH", url, {field: "Først"}, HTTP_IF_MATCH=tag)
        assert stale.status_code == 200
        response = send(client, "PATCH", url, {field: "Ny"}, HTTP_IF_MATCH=tag)
        assert response.status_code == 412
        assert error_shape(response)["code"] == "precondition_failed"
        assert client.get(url).json()[field] == "Først"

    def test_a_change_without_a_version_is_refused(self, tokens, member, patient, record):
        response = send(tokens(member), "PATCH", read_urls(patient, record)["goal"], {"text": "Ny"})
        assert response.status_code == 400
        assert "version" in error_shape(response)["fields"]


# --- lists: filters, order, budgets -----------------------------------------------------------------------


LIST_FACTORIES = {
    "relatives": lambda patient, i: RelativeFactory(patient=patient),
    # One consent of a kind in force and one condition of a kind: the rest withdrawn, ended, of other kinds.
    "consents": lambda patient, i: ConsentFactory(
        patient=patient, given_on=datetime.date(2020, 1, 1 + i), withdrawn_on=datetime.date(2021, 1, 1)
    ),
    "conditions": lambda patient, i: ConditionFactory(patient=patient, kind=list(ConditionKind)[i]),
    "enrolments": lambda patient, i: EnrolmentFactory(
        patient=patient, start_on=datetime.date(2020, 1, 1 + i), end_on=datetime.date(2021, 1, 1)
    ),
    "measurements": lambda patient, i: MeasurementFactory(
        patient=patient, measured_at=timezone.now() - datetime.timedelta(days=i + 1)
    ),
    "goals": lambda patient, i: GoalFactory(patient=patient),
}
LIST_BUDGET = 8  # token (read, stamp, log), the citizen and its log row, the page, and a little room


@pytest.mark.django_db
class TestLists:
    @pytest.mark.parametrize("kind", sorted(LIST_FACTORIES))
    def test_the_query_count_does_not_grow_with_the_rows(
        self, tokens, team, member, kind, django_assert_max_num_queries
    ):
        client = tokens(member, "read")
        counts = []
        for rows in (1, len(ConditionKind) if kind == "conditions" else 20):
            patient = PatientFactory(team=team)
            for i in range(rows):
                LIST_FACTORIES[kind](patient, i)
            url = reverse(f"api-patients:citizen-{kind}", args=[patient.public_id])
            with django_assert_max_num_queries(LIST_BUDGET), CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200
            assert len(response.json()["results"]) == rows
            counts.append(len(queries))
        assert counts[0] == counts[1]

    def test_the_citizens_list_budget_does_not_grow(self, tokens, team, member, django_assert_max_num_queries):
        client = tokens(member, "read")
        counts = []
        for more in (1, 19):
            PatientFactory.create_batch(more, team=team)
            with django_assert_max_num_queries(LIST_BUDGET), CaptureQueriesContext(connection) as queries:
                response = client.get(reverse("api-patients:citizen-list"))
            assert response.status_code == 200
            counts.append((len(response.json()["results"]), len(queries)))
        assert [rows for rows, _queries in counts] == [1, 20]
        assert counts[0][1] == counts[1][1]

    def test_the_citizen_search_budget_does_not_grow(self, tokens, team, member, django_assert_max_num_queries):
        client = tokens(member)
        PatientFactory(team=team, last_name="Budgetsen")
        url = reverse("api-patients:citizen-search")
        with django_assert_max_num_queries(10):
            assert send(client, "POST", url, {"term": "budgetsen"}).json()["count"] == 1
        PatientFactory.create_batch(20, team=team, last_name="Budgetsen")
        with django_assert_max_num_queries(10):
            assert len(send(client, "POST", url, {"term": "budgetsen"}).json()["results"]) == 21

    def test_measurements_filter_by_code_and_days_in_time_order(self, tokens, member, patient):
        now = timezone.localtime()
        hba1c = MeasurementType.objects.get(code="hba1c")
        weight = MeasurementType.objects.get(code="weight")
        old = MeasurementFactory(patient=patient, type=hba1c, measured_at=now - datetime.timedelta(days=40))
        recent = MeasurementFactory(patient=patient, type=hba1c, measured_at=now - datetime.timedelta(days=3))
        newest = MeasurementFactory(patient=patient, type=hba1c, measured_at=now - datetime.timedelta(days=1))
        MeasurementFactory(
            patient=patient, type=weight, value=Decimal(80), measured_at=now - datetime.timedelta(days=2)
        )
        url = reverse("api-patients:citizen-measurements", args=[patient.public_id])
        client = tokens(member)
        ids = lambda query: [m["id"] for m in client.get(url, query).json()["results"]]  # noqa: E731
        assert ids({"code": "hba1c"}) == [str(m.public_id) for m in (old, recent, newest)]
        since = (now - datetime.timedelta(days=3)).date().isoformat()
        until = (now - datetime.timedelta(days=3)).date().isoformat()
        assert ids({"code": "hba1c", "since": since}) == [str(recent.public_id), str(newest.public_id)]
        assert ids({"code": "hba1c", "until": until}) == [str(old.public_id), str(recent.public_id)]
        assert ids({"code": "hba1c", "ordering": "-measured_at"}) == [str(m.public_id) for m in (newest, recent, old)]

    def test_a_draft_encounters_values_do_not_count(self, tokens, member, patient):
        draft = EncounterFactory(patient=patient, professional=member, signed_at=None)
        signed = EncounterFactory(patient=patient, professional=member)
        in_draft = MeasurementFactory(patient=patient, encounter=draft, source="encounter")
        in_signed = MeasurementFactory(patient=patient, encounter=signed, source="encounter")
        url = reverse("api-patients:citizen-measurements", args=[patient.public_id])
        shown = {m["id"]: m for m in tokens(member).get(url).json()["results"]}
        assert shown[str(in_draft.public_id)]["counts"] is False
        assert shown[str(in_draft.public_id)]["encounter"] == str(draft.public_id)
        assert shown[str(in_signed.public_id)]["counts"] is True
        counted = tokens(member).get(url, {"counts": "true"}).json()["results"]
        assert [m["id"] for m in counted] == [str(in_signed.public_id)]

    def test_lists_are_paginated_by_cursor(self, tokens, member, patient):
        for i in range(5):
            GoalFactory(patient=patient, review_on=datetime.date(2030, 1, 1 + i))
        url = reverse("api-patients:citizen-goals", args=[patient.public_id])
        first = tokens(member).get(url, {"page_size": 2}).json()
        assert len(first["results"]) == 2
        second = tokens(member).get(first["next"]).json()
        assert [g["review_on"] for g in second["results"]] == ["2030-01-03", "2030-01-04"]

    def test_no_cursor_carries_a_name(self, tokens, team, member, patient):
        PatientFactory(team=team, last_name="Cursorsen")
        RelativeFactory(patient=patient, name="Anna Cursorsen")
        RelativeFactory(patient=patient, name="Bo Cursorsen")
        client = tokens(member)
        for url in (
            reverse("api-patients:citizen-list"),
            reverse("api-patients:citizen-relatives", args=[patient.public_id]),
        ):
            for ordering in (None, "name", "last_name", "-created_at"):
                query = {"page_size": 1, **({"ordering": ordering} if ordering else {})}
                cursor = parse_qs(urlsplit(client.get(url, query).json()["next"]).query)["cursor"][0]
                decoded = base64.b64decode(cursor + "==").decode()
                assert "Cursorsen" not in decoded
                assert "Jensen" not in decoded

    def test_consents_and_enrolments_filter_by_whether_they_are_in_force(self, tokens, member, patient):
        ConsentFactory(patient=patient, kind="story_reports")
        ConsentFactory(patient=patient, kind="share_relatives", withdrawn_on=datetime.date(2021, 1, 1))
        EnrolmentFactory(patient=patient, end_on=None)
        EnrolmentFactory(patient=patient, end_on=datetime.date(2021, 1, 1))
        client = tokens(member)
        consents = client.get(reverse("api-patients:citizen-consents", args=[patient.public_id]), {"in_force": "true"})
        assert [c["kind"] for c in consents.json()["results"]] == ["story_reports"]
        enrolments = client.get(
            reverse("api-patients:citizen-enrolments", args=[patient.public_id]), {"active": "false"}
        )
        assert [e["end_on"] for e in enrolments.json()["results"]] == ["2021-01-01"]


# --- the search ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestSearch:
    def test_it_finds_by_name_and_by_cpr_among_the_users_citizens_only(self, tokens, team, other_team, member, patient):
        PatientFactory(team=other_team, first_name="Karen", last_name="Jensen")
        url = reverse("api-patients:citizen-search")
        client = tokens(member)
        by_name = send(client, "POST", url, {"term": "karen jensen"})
        assert by_name.status_code == 200
        assert [c["id"] for c in by_name.json()["results"]] == [str(patient.public_id)]
        by_cpr = send(client, "POST", url, {"term": patient.cpr})
        assert [c["id"] for c in by_cpr.json()["results"]] == [str(patient.public_id)]
        # A whole CPR number is logged under its citizen, as the citizens list logs it.
        assert AccessLog.objects.filter(user=member, patient_public_id=patient.public_id, action="search").exists()

    def test_the_term_is_never_in_the_address(self, tokens, member, patient):
        response = tokens(member).get(reverse("api-patients:citizen-search"), {"term": "Karen"})
        assert response.status_code == 405

    def test_it_pages_and_refuses_a_page_that_is_not_there(self, tokens, member, patient):
        url = reverse("api-patients:citizen-search")
        response = send(tokens(member), "POST", url, {"term": "", "page": 9})
        assert response.status_code == 400
        assert "page" in error_shape(response)["fields"]

    def test_roles_without_citizens_are_refused(self, tokens, manager):
        response = send(tokens(manager), "POST", reverse("api-patients:citizen-search"), {"term": "Karen"})
        assert response.status_code == 404


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestBadInput:
    @pytest.mark.parametrize(
        ("name", "body", "field"),
        [
            ("relative", {"relation": "søn"}, "name"),
            ("relative", {"name": "Ole", "relation": "søn", "phone": "12"}, "phone"),
            (
                "relative",
                {"name": "Ole", "relation": "søn", "primary_caregiver_from": "31-02-2024"},
                "primary_caregiver_from",
            ),
            ("consent", {"kind": "nonsense", "given_on": "2024-01-01", "given_by": "B"}, "kind"),
            ("consent", {"kind": "story_reports", "given_on": "2999-01-01", "given_by": "B"}, "given_on"),
            ("condition", {"kind": "dm2", "diagnosed_on": None}, "diagnosed_on"),
            ("condition", {"kind": "dm2", "icd10": "xx", "diagnosed_on": "2020-01-01"}, "icd10"),
            (
                "enrolment",
                {"programme": "nope", "referral_received_on": "2024-01-01", "start_on": "2024-01-01"},
                "programme",
            ),
            (
                "enrolment",
                {"programme": "diabetes-course", "referral_received_on": "2024-01-05", "start_on": "2024-01-01"},
                "start_on",
            ),
            ("measurement", {"code": "hba1c", "value": "5000", "measured_at": "2024-01-01T10:00"}, "value"),
            ("measurement", {"code": "hba1c", "value": "NaN", "measured_at": "2024-01-01T10:00"}, "value"),
            ("measurement", {"code": "hba1c", "value": "50.123", "measured_at": "2024-01-01T10:00"}, "value"),
            ("measurement", {"code": "hba1c", "value": "50", "measured_at": "yesterday"}, "measured_at"),
            ("measurement_correct", {"value": "60", "reason": ""}, "reason"),
            ("goal", {"text": "", "review_on": "2031-01-01"}, "text"),
            (
                "goal",
                {
                    "text": "Mål",
                    "review_on": "2031-01-01",
                    "measurement_type": "hba1c",
                    "target_low": 60,
                    "target_high": 50,
                },
                "target_high",
            ),
            ("consent_withdraw", {"withdrawn_on": "2019-01-01", "withdrawn_by": "B"}, "withdrawn_on"),
            ("enrolment_end", {"end_on": "2020-01-01", "end_reason": "bored"}, "end_reason"),
            ("citizen", {"postal_code": "12", "version": 1}, "postal_code"),
            ("citizen", {"email": "nope", "version": 1}, "email"),
            ("citizen", {"status": "gone", "version": 1}, "status"),
            ("citizen", {"version": "one"}, "version"),
            ("goal_change", {"text": "Ny", "version": 1, "review_on": "someday"}, "review_on"),
        ],
    )
    def test_it_answers_400_with_the_field(self, tokens, member, patient, record, name, body, field):
        method, url, _body = write_requests(patient, record)[name]
        before = history_count(patient)
        response = send(tokens(member), method, url, body)
        assert response.status_code == 400, response.content
        assert field in error_shape(response)["fields"], response.json()
        assert history_count(patient) == before
        assert AccessLog.objects.filter(
            user=member, patient_public_id=patient.public_id, outcome=AccessOutcome.REJECTED
        ).exists()

    @pytest.mark.parametrize("name", WRITES)
    @pytest.mark.parametrize("body", ["not json", "[1, 2]", "null"])
    def test_a_body_that_is_no_object_is_400(self, tokens, member, patient, record, name, body):
        method, url, _body = write_requests(patient, record)[name]
        response = tokens(member).generic(method, url, body, content_type=JSON)
        assert response.status_code == 400, response.content
        error_shape(response)

    @pytest.mark.parametrize(
        "url",
        [
            "/api/v1/citizens/not-a-uuid/",
            "/api/v1/citizens/not-a-uuid/measurements/",
            "/api/v1/measurements/123/",
            "/api/v1/goals/00000000-0000-0000-0000-00000000000g/",
        ],
    )
    def test_a_malformed_id_is_404(self, tokens, member, url):
        assert tokens(member).get(url).status_code == 404

    def test_an_unknown_id_is_404_and_logged(self, tokens, member):
        url = reverse("api-patients:citizen-goals", args=["00000000-0000-4000-8000-000000000000"])
        response = tokens(member).get(url)
        assert response.status_code == 404
        assert AccessLog.objects.filter(user=member, outcome=AccessOutcome.DENIED).exists()

    @pytest.mark.parametrize(
        ("query", "field"),
        [({"since": "2024-13-01"}, "since"), ({"until": "tomorrow"}, "until"), ({"source": "robot"}, "source")],
    )
    def test_a_bad_filter_is_400(self, tokens, member, patient, query, field):
        url = reverse("api-patients:citizen-measurements", args=[patient.public_id])
        response = tokens(member).get(url, query)
        assert response.status_code == 400
        assert field in error_shape(response)["fields"]

    def test_the_last_day_a_date_holds_is_a_filter_not_a_500(self, tokens, member, patient):
        MeasurementFactory(patient=patient)
        url = reverse("api-patients:citizen-measurements", args=[patient.public_id])
        response = tokens(member).get(url, {"until": "9999-12-31"})
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) == 1

    def test_a_time_before_what_can_be_stored_is_400_not_500(self, tokens, member, patient):
        # 0001-01-01 00:00 in Copenhagen is in year 0 in UTC: the parsing overflowed.
        url = reverse("api-patients:citizen-measurements", args=[patient.public_id])
        body = {"code": "hba1c", "value": "55", "measured_at": "0001-01-01T00:00"}
        response = send(tokens(member), "POST", url, body)
        assert response.status_code == 400, response.content
        error_shape(response)
        assert not Measurement.objects.filter(patient=patient).exists()

    @pytest.mark.parametrize(
        ("kind", "body", "field"),
        [
            ("goals", {"text": "x", "measurement_type": "\x00", "review_on": "2030-01-01"}, "measurement_type"),
            ("measurements", {"code": "hb\x00", "value": "55", "measured_at": "2026-01-01T10:00"}, "code"),
            (
                "enrolments",
                {"programme": "\x00", "referral_received_on": "2026-01-01", "start_on": "2026-01-01"},
                "programme",
            ),
        ],
    )
    def test_a_code_with_a_nul_byte_is_400_not_500(self, tokens, member, patient, kind, body, field):
        # PostgreSQL refuses a NUL in a text query: the lookup of the code gave a 500.
        response = send(tokens(member), "POST", f"/api/v1/citizens/{patient.public_id}/{kind}/", body)
        assert response.status_code == 400, response.content
        assert field in error_shape(response)["fields"]

    def test_a_bad_cursor_is_404_not_500(self, tokens, member, patient):
        # "bz14" is base64 for "o=x": an offset that is no number.
        url = reverse("api-patients:citizen-goals", args=[patient.public_id])
        response = tokens(member).get(url, {"cursor": "bz14"})
        assert response.status_code == 404
        error_shape(response)


# --- the schema ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_schema_documents_each_operation_with_its_errors(member):
    schema = client_for(member).get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = {
        path: operations
        for path, operations in schema["paths"].items()
        if "/citizens/" in path or path.split("/")[3] in ("consents", "enrolments", "measurements", "goals")
    }
    expected = {
        "/api/v1/citizens/{citizen_id}/measurements/": {"get", "post"},
        "/api/v1/citizens/{citizen_id}/relatives/{public_id}/": {"get"},
        "/api/v1/consents/{public_id}/withdraw/": {"post"},
        "/api/v1/enrolments/{public_id}/end/": {"post"},
        "/api/v1/measurements/{public_id}/correct/": {"post"},
        "/api/v1/goals/{public_id}/": {"get", "put", "patch"},
        "/api/v1/citizens/{public_id}/": {"get", "put", "patch"},
        "/api/v1/citizens/search/": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) >= methods, path
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            assert "401" in operation["responses"], (path, method)
            if "{" in path:
                assert "404" in operation["responses"], (path, method)
            if method != "get":
                assert "400" in operation["responses"], (path, method)
            if method in ("put", "patch"):
                assert {"409", "412"} <= set(operation["responses"]), (path, method)
