"""Coordination in the API (coordination/api.py): personas per endpoint with tokens, writes that leave
the rows the pages leave, stale versions, bad input, and query budgets that do not grow with the data."""

import datetime
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse
from django.utils import timezone

from coordination.models import ActionPlan, HandoverAcknowledgement, HandoverNote, Referral, Task, TaskComment
from healthcenter.api import api_token_issue
from healthcenter.models import AccessLog, AccessOutcome, Role
from patients.models import Amendment, Encounter, Enrolment, MeasurementType, Programme
from scheduling.models import Appointment

from .factories import (
    AppointmentFactory,
    ConditionFactory,
    EncounterFactory,
    EnrolmentFactory,
    PatientFactory,
    ReferralFactory,
    TaskFactory,
    UserFactory,
)

# The API's own URLs: other helpers' apps are wired into healthcenter/urls.py while they are being
# written; these tests need only the citizens' and coordination's resources.
urlpatterns = [
    path("api/v1/", include("patients.api")),
    path("api/v1/", include("coordination.api")),
]
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

NS = "api-coordination"


@pytest.fixture
def other_coordinator(other_team):
    return UserFactory(username="other-coordinator", role=Role.COORDINATOR, profession="", teams=[other_team])


class Api:
    """A client that sends a personal token (Authorization: Bearer) and JSON bodies."""

    def __init__(self, user, secret):
        self.user = user
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def get(self, url, params=None, **headers):
        return self.client.get(url, params or {}, headers=headers)

    def send(self, method, url, body=None, **headers):
        data = json.dumps(body if body is not None else {})
        return self.client.generic(method, url, data, content_type="application/json", headers=headers)

    def post(self, url, body=None, **headers):
        return self.send("POST", url, body, **headers)

    def patch(self, url, body=None, **headers):
        return self.send("PATCH", url, body, **headers)


@pytest.fixture
def api(administrator):
    def make(user, scope="write"):
        _token, secret = api_token_issue(actor=administrator, user=user, name="test", scope=scope)
        return Api(user, secret)

    return make


def url(name, *args):
    return reverse(f"{NS}:{name}", args=[str(a) for a in args])


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["message"]
    if code is not None:
        assert body["code"] == code
    return body


def denied_under(user, patient) -> bool:
    return AccessLog.objects.filter(
        user=user, outcome=AccessOutcome.DENIED, patient_public_id=patient.public_id
    ).exists()


def now_minus(**kwargs):
    return (timezone.now() - datetime.timedelta(**kwargs)).isoformat()


def in_days(days):
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


# --- personas, endpoint by endpoint --------------------------------------------------------------------


@pytest.fixture
def world(patient, member, colleague, coordinator):
    signed = EncounterFactory(patient=patient, professional=member)
    draft = EncounterFactory(patient=patient, professional=member, signed_at=None)
    task = TaskFactory(team=patient.team, patient=patient, assignee=member)
    referral = ReferralFactory(patient=patient, created_by=coordinator)
    note = HandoverNote.objects.create(patient=patient, author=colleague, text="Datteren ringede", to_team=patient.team)
    return {"signed": signed, "draft": draft, "task": task, "referral": referral, "handover": note}


READS = [
    ("citizen-encounters", "patient"),
    ("citizen-handovers", "patient"),
    ("citizen-briefing", "patient"),
    ("encounter", "signed"),
    ("encounter", "draft"),
    ("task", "task"),
    ("referral", "referral"),
]


@pytest.mark.parametrize(("name", "thing"), READS)
def test_reads_by_persona(
    api, world, patient, member, colleague, coordinator, outsider, other_coordinator, manager, name, thing
):
    target = patient if thing == "patient" else world[thing]
    address = url(name, target.public_id)
    for user in (member, colleague, coordinator):
        response = api(user, "read").get(address)
        assert response.status_code == 200, (user, response.content)
        assert AccessLog.objects.filter(user=user, patient_public_id=patient.public_id).exists()
    for user in (outsider, other_coordinator):
        assert_error(api(user, "read").get(address), 404, "not_found")
        assert denied_under(user, patient), user
    assert_error(api(manager, "read").get(address), 404)
    assert AccessLog.objects.filter(user=manager, outcome=AccessOutcome.DENIED).exists()


@pytest.mark.parametrize("name", ["tasks", "referrals", "worklist"])
def test_lists_by_persona(api, world, member, outsider, manager, name):
    mine = api(member, "read").get(url(name))
    assert mine.status_code == 200
    theirs = api(outsider, "read").get(url(name))
    assert theirs.status_code == 200
    assert theirs.json()["results"] == []
    assert_error(api(manager, "read").get(url(name)), 404)


def test_anonymous_is_401(world):
    response = Client().get(url("tasks"))
    assert_error(response, 401)


WRITES = [
    ("POST", "citizen-encounters", "patient"),
    ("PATCH", "encounter", "draft"),
    ("POST", "encounter-sign", "draft"),
    ("POST", "encounter-amendments", "signed"),
    ("POST", "tasks", None),
    ("POST", "task-status", "task"),
    ("POST", "task-assign", "task"),
    ("POST", "task-comments", "task"),
    ("POST", "referrals", None),
    ("POST", "referral-accept", "referral"),
    ("POST", "referral-decline", "referral"),
    ("POST", "citizen-handovers", "patient"),
    ("POST", "handover-acknowledge", "handover"),
]


@pytest.mark.parametrize(("method", "name", "thing"), WRITES)
def test_a_read_only_token_cannot_write(api, world, patient, member, coordinator, method, name, thing):
    target = None if thing is None else (patient if thing == "patient" else world[thing])
    address = url(name, target.public_id) if target else url(name)
    user = coordinator if "referral" in name else member
    before = (Task.objects.count(), Encounter.objects.count(), TaskComment.objects.count())
    assert_error(api(user, "read").send(method, address, {"text": "x"}), 403, "read_only_token")
    assert (Task.objects.count(), Encounter.objects.count(), TaskComment.objects.count()) == before


@pytest.mark.parametrize(("method", "name", "thing"), [w for w in WRITES if w[2] is not None])
def test_writes_outside_the_care_relation_are_404_under_the_citizen(api, world, patient, outsider, method, name, thing):
    target = patient if thing == "patient" else world[thing]
    assert_error(api(outsider).send(method, url(name, target.public_id), {}), 404)
    assert denied_under(outsider, patient)


# --- encounters -------------------------------------------------------------------------------------------


def encounter_body(**changes):
    body = {
        "kind": "individual",
        "started_at": now_minus(hours=1),
        "duration_minutes": 30,
        "note": "Gik godt",
        "what_matters": "Barnebarnets konfirmation",
        "agreed_actions": [],
        "measurements": [{"code": "hba1c", "value": "54"}],
    }
    body.update(changes)
    return body


def test_logging_signed_makes_the_agreed_actions_tasks_as_the_page_does(api, patient, member, colleague):
    body = encounter_body(
        sign=True,
        agreed_actions=[
            {"text": "Ring om blodprøvesvar", "task": {"assignee": str(colleague.public_id), "due_on": in_days(7)}},
            {"text": "Overvej kostvejleder"},
        ],
    )
    response = api(member).post(url("citizen-encounters", patient.public_id), body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["signed"] is True
    assert response["ETag"] == f'W/"{data["version"]}"'
    encounter = Encounter.objects.get(public_id=data["id"])
    task = Task.objects.get(agreed_action__encounter=encounter)
    assert (task.origin, task.assignee, task.patient, task.title) == (
        "agreed_action",
        colleague,
        patient,
        "Ring om blodprøvesvar",
    )
    assert [a["task"] for a in data["agreed_actions"]] == [str(task.public_id), None]
    assert [m["code"] for m in data["measurements"]] == ["hba1c"]


def test_a_draft_keeps_its_plans_until_it_is_signed(api, patient, member, colleague):
    client = api(member)
    body = encounter_body(
        agreed_actions=[{"text": "Ring om blodprøvesvar", "task": {"assignee": None, "due_on": in_days(3)}}]
    )
    data = client.post(url("citizen-encounters", patient.public_id), body).json()
    assert data["signed"] is False
    assert not Task.objects.exists()
    assert ActionPlan.objects.count() == 1
    # The colleague is not the author: the service refuses (400), nothing signed.
    other = api(colleague).post(url("encounter-sign", data["id"]), {"version": data["version"]})
    assert_error(other, 400)
    assert AccessLog.objects.filter(user=colleague, outcome=AccessOutcome.REJECTED).exists()
    signed = client.post(url("encounter-sign", data["id"]), {"version": data["version"]})
    assert signed.status_code == 200, signed.content
    assert signed.json()["signed"] is True
    assert Task.objects.get().origin == "agreed_action"


def test_a_draft_is_changed_with_its_version_and_a_stale_one_is_409_or_412(api, patient, member, colleague):
    client = api(member)
    data = client.post(url("citizen-encounters", patient.public_id), encounter_body()).json()
    address = url("encounter", data["id"])
    changed = client.patch(address, encounter_body(note="Rettet", version=data["version"]))
    assert changed.status_code == 200, changed.content
    assert changed.json()["note"] == "Rettet"
    stale = client.patch(address, encounter_body(note="Gammel", version=data["version"]))
    assert_error(stale, 409)
    conditional = client.patch(address, encounter_body(note="Gammel"), **{"If-Match": f'W/"{data["version"]}"'})
    assert_error(conditional, 412)
    assert Encounter.objects.get(public_id=data["id"]).note == "Rettet"
    assert_error(client.patch(address, encounter_body(note="Uden version")), 400)
    not_author = api(colleague).patch(address, encounter_body(version=changed.json()["version"]))
    assert_error(not_author, 400)


def test_logging_from_an_appointment_links_it_and_signing_attends_it(api, patient, member):
    appointment = AppointmentFactory(
        patient=patient, starts_at=timezone.now() - datetime.timedelta(hours=2), ends_at=timezone.now()
    )
    body = encounter_body(sign=True, appointment=str(appointment.public_id))
    response = api(member).post(url("citizen-encounters", patient.public_id), body)
    assert response.status_code == 201, response.content
    appointment.refresh_from_db()
    assert str(appointment.encounter.public_id) == response.json()["id"]
    assert appointment.status == "attended"


def test_an_appointment_of_another_citizen_is_404(api, patient, member, team):
    someone_else = PatientFactory(team=team)
    appointment = AppointmentFactory(patient=someone_else)
    body = encounter_body(appointment=str(appointment.public_id))
    assert_error(api(member).post(url("citizen-encounters", patient.public_id), body), 404)
    assert not Encounter.objects.exists()


def test_amending_a_signed_encounter(api, patient, member, colleague):
    signed = EncounterFactory(patient=patient, professional=member)
    response = api(colleague).post(url("encounter-amendments", signed.public_id), {"text": "Vægten var 82 kg"})
    assert response.status_code == 201, response.content
    assert Amendment.objects.get().text == "Vægten var 82 kg"
    assert response.json()["amendments"][0]["text"] == "Vægten var 82 kg"
    draft = EncounterFactory(patient=patient, professional=member, signed_at=None)
    assert_error(api(member).post(url("encounter-amendments", draft.public_id), {"text": "x"}), 400)
    assert "text" in assert_error(api(member).post(url("encounter-amendments", signed.public_id), {}), 400)["fields"]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "nonsense"},
        encounter_body(started_at="not a time"),
        encounter_body(duration_minutes=0),
        encounter_body(started_at=(timezone.now() + datetime.timedelta(days=2)).isoformat()),
        encounter_body(measurements=[{"code": "no-such-code", "value": "1"}]),
        encounter_body(measurements=[{"code": "hba1c", "value": "9999"}]),
        encounter_body(agreed_actions=[{"text": "x", "task": {"due_on": "yesterday"}}]),
        encounter_body(agreed_actions=[{"text": "x", "task": {"assignee": "not-a-uuid", "due_on": in_days(1)}}]),
        encounter_body(appointment="not-a-uuid"),
        ["a", "list"],
    ],
)
def test_bad_encounter_input_is_400_never_500(api, patient, member, body):
    response = api(member).post(url("citizen-encounters", patient.public_id), body)
    assert_error(response, 400)
    assert not Encounter.objects.exists()
    assert AccessLog.objects.filter(
        user=member, outcome=AccessOutcome.REJECTED, patient_public_id=patient.public_id
    ).exists()


def test_a_nested_field_error_is_readable_under_its_field(api, patient, member):
    # An error inside a list of objects (DRF gives {0: {"value": [...]}}) is its message with where it is,
    # in the request's language, not the Python repr of DRF's error objects.
    body = encounter_body(measurements=[{"code": "hba1c", "value": "1" * 20}])
    fields = assert_error(api(member).post(url("citizen-encounters", patient.public_id), body), 400)["fields"]
    assert list(fields) == ["measurements"]
    (message,) = fields["measurements"]
    assert message.startswith("0.value: ")
    assert "ErrorDetail" not in message and "{" not in message


def test_a_body_that_is_not_json_is_400(api, patient, member):
    client = api(member)
    response = client.client.post(url("citizen-encounters", patient.public_id), "{", content_type="application/json")
    assert_error(response, 400)


# --- tasks ---------------------------------------------------------------------------------------------


def test_my_tasks_filtered_and_ordered(api, patient, member, colleague, team):
    soon = TaskFactory(team=team, patient=patient, assignee=member, due_on=timezone.localdate(), priority=3)
    later = TaskFactory(
        team=team, patient=patient, assignee=member, due_on=timezone.localdate() + datetime.timedelta(5)
    )
    TaskFactory(team=team, patient=patient, assignee=colleague)
    TaskFactory(team=team, assignee=member, status="done", completed_at=timezone.now())
    client = api(member)
    ids = [t["id"] for t in client.get(url("tasks"), {"mine": "true", "status": "open"}).json()["results"]]
    assert ids == [str(soon.public_id), str(later.public_id)]
    ids = [
        t["id"]
        for t in client.get(url("tasks"), {"mine": "true", "status": "open", "ordering": "-due_on"}).json()["results"]
    ]
    assert ids == [str(later.public_id), str(soon.public_id)]
    before = client.get(url("tasks"), {"due_before": in_days(1), "citizen": str(patient.public_id)}).json()
    assert [t["id"] for t in before["results"]] == [str(soon.public_id)]
    assert len(client.get(url("tasks"), {"team": str(team.public_id)}).json()["results"]) == 4
    assert_error(client.get(url("tasks"), {"status": "bogus"}), 400)
    assert_error(client.get(url("tasks"), {"due_before": "soon"}), 400)


def test_tasks_filtered_by_a_citizen_outside_the_care_relation_are_404(api, patient, outsider):
    assert_error(api(outsider).get(url("tasks"), {"citizen": str(patient.public_id)}), 404)
    assert denied_under(outsider, patient)


def test_a_task_is_created_changed_assigned_and_commented(api, patient, member, colleague):
    client = api(member)
    created = client.post(
        url("tasks"),
        {"title": "Bestil fodterapeut", "citizen": str(patient.public_id), "due_on": in_days(7), "priority": 3},
    )
    assert created.status_code == 201, created.content
    data = created.json()
    task = Task.objects.get(public_id=data["id"])
    assert (task.team, task.patient, task.created_by, task.transitions.count()) == (patient.team, patient, member, 1)
    started = client.post(url("task-status", task.public_id), {"status": "in_progress", "version": data["version"]})
    assert started.status_code == 200, started.content
    assert [t["to_status"] for t in started.json()["transitions"]] == ["open", "in_progress"]
    stale = client.post(url("task-status", task.public_id), {"status": "done", "version": data["version"]})
    assert_error(stale, 409)
    conditional = client.post(
        url("task-status", task.public_id), {"status": "done"}, **{"If-Match": f'W/"{data["version"]}"'}
    )
    assert_error(conditional, 412)
    version = started.json()["version"]
    assigned = client.post(
        url("task-assign", task.public_id), {"assignee": str(colleague.public_id), "version": version}
    )
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["assignee"]["id"] == str(colleague.public_id)
    commented = client.post(url("task-comments", task.public_id), {"text": "Ringet, venter svar"})
    assert commented.status_code == 201
    assert commented.json()["comments"][0]["text"] == "Ringet, venter svar"
    task.refresh_from_db()
    assert (task.status, task.assignee) == ("in_progress", colleague)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("task-status", {"status": "flying", "version": 1}),
        ("task-status", {"status": "done", "version": "one"}),
        ("task-status", {"status": "done"}),
        ("task-assign", {"assignee": "nobody", "version": 1}),
        ("task-assign", {"assignee": "00000000-0000-0000-0000-000000000001", "version": 1}),
        ("task-comments", {"text": ""}),
        ("task-comments", {}),
    ],
)
def test_bad_task_changes_are_400(api, world, member, name, body):
    assert_error(api(member).post(url(name, world["task"].public_id), body), 400)


@pytest.mark.parametrize(
    ("name", "thing", "body"),
    [
        # A NUL byte in a text the view reads from the body itself (PostgreSQL refuses it: a 500).
        ("task-comments", "task", {"text": "a\x00b"}),
        ("encounter-amendments", "signed", {"text": "a\x00b"}),
        # A body that is no object, with the version in If-Match (request.data is then a list).
        ("task-status", "task", ["done"]),
        ("task-assign", "task", ["assignee"]),
    ],
)
def test_a_text_with_a_nul_or_a_body_that_is_no_object_is_400(api, world, member, name, thing, body):
    response = api(member).post(url(name, world[thing].public_id), body, **{"If-Match": 'W/"1"'})
    assert_error(response, 400)


def test_a_decline_with_a_nul_in_its_reason_is_400(api, world, coordinator):
    referral = world["referral"]
    assert_error(api(coordinator).post(url("referral-decline", referral.public_id), {"reason": "a\x00b"}), 400)
    referral.refresh_from_db()
    assert referral.status == "received"


def test_a_task_for_someone_outside_the_team_is_400(api, patient, member, outsider):
    response = api(member).post(
        url("tasks"),
        {"title": "x", "citizen": str(patient.public_id), "due_on": in_days(1), "assignee": str(outsider.public_id)},
    )
    assert "assignee" in assert_error(response, 400)["fields"]
    assert_error(api(member).post(url("tasks"), {"title": "x", "due_on": in_days(1)}), 400)


# --- referrals ------------------------------------------------------------------------------------------


def test_the_coordinator_triages_accepting(api, patient, coordinator, member):
    referral = ReferralFactory(patient=patient, created_by=coordinator)
    ReferralFactory(patient=patient, created_by=coordinator, status="declined")
    client = api(coordinator)
    awaiting = client.get(url("referrals"), {"status": "received"}).json()["results"]
    assert [r["id"] for r in awaiting] == [str(referral.public_id)]
    assert awaiting[0]["waiting_so_far"] is not None
    response = client.post(
        url("referral-accept", referral.public_id),
        {"programme": "diabetes-follow-up", "start_on": in_days(0), "assignee": str(member.public_id)},
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
    referral.refresh_from_db()
    assert referral.enrolment == Enrolment.objects.get()
    assert Task.objects.get(origin="referral").assignee == member
    again = client.post(url("referral-decline", referral.public_id), {"reason": "for sent"})
    assert_error(again, 400)


def test_accepting_with_a_first_contact_books_it(api, patient, coordinator, member):
    referral = ReferralFactory(patient=patient, created_by=coordinator)
    start = timezone.now() + datetime.timedelta(days=2)
    start = start.replace(hour=10, minute=0, second=0, microsecond=0)
    while timezone.localtime(start).weekday() >= 5:
        start += datetime.timedelta(days=1)
    body = {
        "programme": "diabetes-follow-up",
        "start_on": in_days(0),
        "first_contact": {
            "kind": "individual",
            "starts_at": start.isoformat(),
            "ends_at": (start + datetime.timedelta(minutes=45)).isoformat(),
            "place": "home",
            "professionals": [str(member.public_id)],
        },
    }
    response = api(coordinator).post(url("referral-accept", referral.public_id), body)
    assert response.status_code == 200, response.content
    task = Task.objects.get(origin="referral")
    assert task.due_on == timezone.localdate(start)
    # No purpose given: the meeting is named as its task is (referral_accept, the page's rule too).
    assert Appointment.objects.get(patient=patient).purpose == task.title


def test_declining_needs_a_reason(api, patient, coordinator):
    referral = ReferralFactory(patient=patient, created_by=coordinator)
    client = api(coordinator)
    assert "reason" in assert_error(client.post(url("referral-decline", referral.public_id), {}), 400)["fields"]
    response = client.post(url("referral-decline", referral.public_id), {"reason": "Hører under hospitalet"})
    assert response.json()["status"] == "declined"


def test_triage_is_the_citizens_coordinators(api, patient, coordinator, member, other_coordinator):
    referral = ReferralFactory(patient=patient, created_by=coordinator)
    body = {"programme": "diabetes-follow-up", "start_on": in_days(0)}
    for user in (member, other_coordinator):
        assert_error(api(user).post(url("referral-accept", referral.public_id), body), 404)
        assert_error(api(user).post(url("referral-decline", referral.public_id), {"reason": "x"}), 404)
        assert denied_under(user, patient)
    referral.refresh_from_db()
    assert referral.status == "received"


@pytest.mark.parametrize(
    "body",
    [
        {"programme": "no-such", "start_on": "2026-01-01"},
        {"programme": "diabetes-follow-up", "start_on": "tomorrow"},
        {"programme": "diabetes-follow-up", "start_on": "2026-01-01", "assignee": "x"},
        {"programme": "diabetes-follow-up", "start_on": "2026-01-01", "first_contact": {"kind": "individual"}},
    ],
)
def test_bad_acceptances_are_400(api, patient, coordinator, body):
    referral = ReferralFactory(patient=patient, created_by=coordinator)
    assert_error(api(coordinator).post(url("referral-accept", referral.public_id), body), 400)
    assert not Enrolment.objects.exists()


def test_receiving_a_referral(api, team, coordinator, member, patient):
    body = {
        "team": str(team.public_id),
        "cpr": patient.cpr,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "source": "gp",
        "reason": "Dysreguleret diabetes",
        "received_on": in_days(0),
    }
    response = api(coordinator).post(url("referrals"), body)
    assert response.status_code == 202, response.content
    assert set(response.json()) == {"message"}
    assert Referral.objects.get().patient == patient
    assert_error(api(member).post(url("referrals"), body), 404)
    assert_error(api(coordinator).post(url("referrals"), {**body, "received_on": in_days(3)}), 400)
    assert_error(api(coordinator).post(url("referrals"), {**body, "cpr": "123"}), 400)


# --- handover notes -----------------------------------------------------------------------------------


def test_handover_notes_posted_listed_and_acknowledged(api, patient, member, colleague):
    posted = api(member).post(
        url("citizen-handovers", patient.public_id),
        {"text": "Datteren ringede", "recipients": [str(colleague.public_id)]},
    )
    assert posted.status_code == 201, posted.content
    note = HandoverNote.objects.get()
    assert list(note.recipients.all()) == [colleague]
    listed = api(colleague).get(url("citizen-handovers", patient.public_id)).json()["results"]
    assert [(n["id"], n["acknowledged"]) for n in listed] == [(str(note.public_id), False)]
    acknowledged = api(colleague).post(url("handover-acknowledge", note.public_id))
    assert acknowledged.status_code == 204
    assert HandoverAcknowledgement.objects.filter(note=note, user=colleague).exists()
    assert_error(api(member).post(url("citizen-handovers", patient.public_id), {"text": "x"}), 400)
    assert_error(api(member).post(url("citizen-handovers", patient.public_id), {"text": "x", "recipients": ["y"]}), 400)


# --- the briefing and the worklist ---------------------------------------------------------------------


def test_the_briefing_says_what_the_page_says(api, patient, member):
    EncounterFactory(patient=patient, professional=member, what_matters="Haven")
    TaskFactory(team=patient.team, patient=patient, assignee=member, title="Ring til lægen")
    data = api(member).get(url("citizen-briefing", patient.public_id)).json()
    assert data["citizen"] == str(patient.public_id)
    assert data["what_matters"][0]["text"] == "Haven"
    assert [t["title"] for t in data["open_tasks"]] == ["Ring til lægen"]
    assert {"care_gaps", "changes", "goals", "next_appointments", "may_share_with_relatives"} <= set(data)


def test_the_worklist(api, patient, member):
    ConditionFactory(patient=patient)
    EnrolmentFactory(patient=patient, end_on=None)
    data = api(member).get(url("worklist")).json()
    assert [r["citizen"] for r in data["results"]] == [str(patient.public_id)]
    assert data["results"][0]["reasons"]
    # The page's two figures, with the indicators' definitions: a followed citizen with diabetes, no gap, no target.
    assert data["my_citizens"] == {"at_own_target": {"part": 0, "whole": 0}, "without_gaps": {"part": 1, "whole": 1}}
    assert_error(api(member).get(url("worklist"), {"scope": "everyone"}), 400)
    assert_error(api(member).get(url("worklist"), {"page": "x"}), 400)
    assert_error(api(member).get(url("worklist"), {"programme": "none"}), 400)
    # Never a 500: a NUL the database refuses, digits int() does not read, more digits than it converts.
    assert_error(api(member).get(url("worklist"), {"gap": "\x00"}), 400)
    assert_error(api(member).get(url("worklist"), {"programme": "a\x00"}), 400)
    assert_error(api(member).get(url("worklist"), {"page": "\u00b2"}), 400)
    assert_error(api(member).get(url("worklist"), {"page": "9" * 5000}), 400)


# --- budgets: the same number of queries for 1 row as for 20 -------------------------------------------


def _queries(client, address, params=None) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(address, params)
        assert response.status_code == 200, response.content
    return len(context)


def _grow(patient, member, colleague, team, n):
    for i in range(n):
        citizen = patient if i == 0 else PatientFactory(team=team, responsible_professional=member)
        signed = EncounterFactory(patient=patient, professional=member)
        TaskFactory(team=team, patient=citizen, assignee=member)
        ReferralFactory(patient=citizen, created_by=member)
        note = HandoverNote.objects.create(patient=patient, author=colleague, text=f"Note {i}", to_team=team)
        note.recipients.set([member])
        del signed


@pytest.mark.parametrize(
    ("name", "per_citizen", "params"),
    [
        ("citizen-encounters", True, None),
        ("citizen-handovers", True, None),
        ("tasks", False, {"mine": "true", "ordering": "priority"}),
        ("referrals", False, {"status": "received"}),
        ("worklist", False, {"scope": "team"}),
    ],
)
def test_list_budgets_do_not_grow(
    api, patient, member, colleague, team, name, per_citizen, params, django_assert_max_num_queries
):
    client = api(member, "read")
    address = url(name, patient.public_id) if per_citizen else url(name)
    _grow(patient, member, colleague, team, 1)
    one = _queries(client, address, params)
    _grow(patient, member, colleague, team, 19)
    twenty = _queries(client, address, params)
    assert twenty == one, (one, twenty)
    with django_assert_max_num_queries(14):
        client.get(address, params)


def test_detail_budgets(api, patient, member, colleague, team, django_assert_max_num_queries):
    client = api(member, "read")
    encounter = EncounterFactory(patient=patient, professional=member)
    task = TaskFactory(team=team, patient=patient, assignee=member)
    with django_assert_max_num_queries(14):
        assert client.get(url("encounter", encounter.public_id)).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(url("task", task.public_id)).status_code == 200
    with django_assert_max_num_queries(40):
        assert client.get(url("citizen-briefing", patient.public_id)).status_code == 200


def test_the_programme_fixture_exists():
    # The acceptances above name the programme by its code.
    assert Programme.objects.filter(code="diabetes-follow-up").exists()


# --- the schema --------------------------------------------------------------------------------------


def test_every_operation_documents_its_errors():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)
    operations = [
        (route, method, operation)
        for route, item in schema["paths"].items()
        if "/citizens/{public_id}/" in route or not route.startswith("/api/v1/citizens")
        for method, operation in item.items()
        if method in ("get", "post", "patch", "put", "delete")
    ]
    assert len(operations) >= 20
    for route, method, operation in operations:
        documented = set(operation["responses"])
        assert {"401", "404"} <= documented, (route, method)
        if method != "get":
            assert {"400", "403"} <= documented, (route, method)
        if route.endswith(("/status/", "/assign/", "/sign/")) or (method == "patch"):
            assert {"409", "412"} <= documented, (route, method)


# --- the same rows as the pages' service calls ---------------------------------------------------------


def _task_rows(patient):
    return [
        (t.title, t.description, t.origin, t.assignee_id, t.due_on, t.priority, t.status, t.transitions.count())
        for t in Task.objects.filter(patient=patient).order_by("title")
    ]


def test_a_signed_encounter_leaves_what_the_pages_service_call_leaves(api, patient, member, colleague, team):
    from coordination import services
    from patients import services as patient_services

    started = timezone.now() - datetime.timedelta(hours=1)
    due = timezone.localdate() + datetime.timedelta(days=7)
    body = encounter_body(
        sign=True,
        started_at=started.isoformat(),
        agreed_actions=[
            {
                "text": "Ring om blodprøvesvar",
                "task": {"assignee": str(colleague.public_id), "due_on": due.isoformat()},
            },
            {"text": "Uden opgave"},
        ],
    )
    assert api(member).post(url("citizen-encounters", patient.public_id), body).status_code == 201
    # The page (coordination.views.encounter_create) calls the service with what its form read.
    other = PatientFactory(team=team, responsible_professional=member)
    services.encounter_log(
        actor=member,
        patient=other,
        data=patient_services.EncounterData(
            kind="individual",
            started_at=started,
            duration_minutes=30,
            note="Gik godt",
            what_matters="Barnebarnets konfirmation",
            agreed_actions=["Ring om blodprøvesvar", "Uden opgave"],
            measurements=[patient_services.MeasurementInput(type=MeasurementType.objects.get(code="hba1c"), value=54)],
        ),
        sign=True,
        action_tasks=[services.ActionTask(assignee=colleague, due_on=due), None],
    )
    assert _task_rows(patient) == _task_rows(other) != []
    signed_rows = AccessLog.objects.filter(user=member, what="encounter signed")
    assert signed_rows.filter(patient_public_id=patient.public_id).count() == 1
    assert signed_rows.filter(patient_public_id=other.public_id).count() == 1
    ours, theirs = (Encounter.objects.get(patient=p) for p in (patient, other))
    assert [(m.type.code, m.value) for m in ours.measurements.all()] == [
        (m.type.code, m.value) for m in theirs.measurements.all()
    ]


def test_an_appointment_already_logged_is_refused(api, patient, member):
    appointment = AppointmentFactory(
        patient=patient, starts_at=timezone.now() - datetime.timedelta(hours=2), ends_at=timezone.now()
    )
    client = api(member)
    body = encounter_body(appointment=str(appointment.public_id))
    assert client.post(url("citizen-encounters", patient.public_id), body).status_code == 201
    assert_error(client.post(url("citizen-encounters", patient.public_id), body), 400)
    assert Encounter.objects.count() == 1


@pytest.mark.parametrize(("method", "name", "thing"), [w for w in WRITES if w[2] is not None])
def test_a_manager_cannot_write(api, world, patient, manager, method, name, thing):
    target = patient if thing == "patient" else world[thing]
    assert_error(api(manager).send(method, url(name, target.public_id), {"text": "x"}), 404)
    assert AccessLog.objects.filter(user=manager, outcome=AccessOutcome.DENIED).exists()


def test_signing_with_a_stale_version_signs_nothing(api, patient, member):
    draft = EncounterFactory(patient=patient, professional=member, signed_at=None)
    client = api(member)
    assert_error(client.post(url("encounter-sign", draft.public_id), {"version": draft.version + 1}), 409)
    stale_tag = {"If-Match": f'W/"{draft.version + 1}"'}
    assert_error(client.post(url("encounter-sign", draft.public_id), **stale_tag), 412)
    assert_error(client.post(url("encounter-sign", draft.public_id), **{"If-Match": "three"}), 400)
    draft.refresh_from_db()
    assert not draft.is_signed
    signed = client.post(url("encounter-sign", draft.public_id), **{"If-Match": f'W/"{draft.version}"'})
    assert signed.status_code == 200, signed.content


def test_encounters_filtered_and_ordered(api, patient, member):
    old = EncounterFactory(patient=patient, professional=member, started_at=timezone.now() - datetime.timedelta(days=9))
    new = EncounterFactory(patient=patient, professional=member)
    draft = EncounterFactory(patient=patient, professional=member, signed_at=None)
    client = api(member)
    address = url("citizen-encounters", patient.public_id)
    ids = [e["id"] for e in client.get(address, {"signed": "true"}).json()["results"]]
    assert ids == [str(new.public_id), str(old.public_id)]
    ids = [e["id"] for e in client.get(address, {"signed": "false"}).json()["results"]]
    assert ids == [str(draft.public_id)]
    page = client.get(address, {"page_size": 1, "ordering": "started_at"}).json()
    assert [e["id"] for e in page["results"]] == [str(old.public_id)]
    assert page["next"]
    assert_error(client.get(address, {"started_after": "yesterday"}), 400)


@pytest.mark.parametrize("name", ["tasks", "referrals"])
def test_a_cursor_that_is_not_ours_is_refused_in_the_error_shape(api, member, name):
    # The platform's cursor pagination answers a cursor it did not make with 404 (DRF's "Invalid cursor").
    assert_error(api(member).get(url(name), {"cursor": "not-a-cursor"}), 404)
