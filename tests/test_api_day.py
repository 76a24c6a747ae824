"""Issue 12's "done": a client that knows only the OpenAPI schema can do a professional's day through
the API. The client below is given the schema's address and a personal write token, and nothing else:
every other request is built from the schema (an operation found by its operationId, its method and
path template from the schema, its parameters and body fields checked against what the schema
declares). The day:

  list today's appointments (mine) -> read the first citizen's briefing -> log and sign an encounter from
  the appointment -> see the appointment attended -> list my tasks and complete one -> post a handover
  note to the team.

The world is made with the factories (a citizen with an appointment today, a task for the professional);
what the day does is checked through the API's own answers and once in the database."""

import datetime
import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from coordination.models import Task
from healthcenter.api import api_token_issue
from healthcenter.models import AccessLog, ApiScope
from patients.models import Encounter
from scheduling.models import Appointment

from .factories import AppointmentFactory, TaskFactory
from .test_api_platform import clear_rate

SCHEMA_URL = "/api/schema/?format=json"


@pytest.fixture(autouse=True)
def _fresh_rate():
    clear_rate()
    yield
    clear_rate()


class SchemaClient:
    """Knows the schema's address and a token; finds everything else in the schema."""

    def __init__(self, secret: str):
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
        response = self.client.get(SCHEMA_URL, **self.headers)
        assert response.status_code == 200
        self.schema = json.loads(response.content)
        self.operations = {
            operation["operationId"]: (method, path, operation)
            for path, item in self.schema["paths"].items()
            for method, operation in item.items()
            if isinstance(operation, dict) and "operationId" in operation
        }

    def component(self, ref: str) -> dict:
        return self.schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]

    def call(self, operation_id: str, *, path: dict | None = None, query: dict | None = None, body: dict | None = None):
        assert operation_id in self.operations, f"the schema has no operation {operation_id}"
        method, template, operation = self.operations[operation_id]
        parameters = {(p["in"], p["name"]): p for p in operation.get("parameters", [])}
        url = template
        for name, value in (path or {}).items():
            assert ("path", name) in parameters, f"{operation_id} has no path parameter {name}"
            url = url.replace("{" + name + "}", str(value))
        assert not re.search(r"\{[^}]+\}", url), f"{operation_id}: path parameters left in {url}"
        for name in query or {}:
            assert ("query", name) in parameters, f"{operation_id} has no query parameter {name}"
        kwargs = {}
        if body is not None:
            declared = self.component(operation["requestBody"]["content"]["application/json"]["schema"]["$ref"])
            unknown = set(body) - set(declared["properties"])
            assert not unknown, f"{operation_id}: the schema declares no {unknown}"
            missing = set(declared.get("required", [])) - set(body)
            assert not missing, f"{operation_id}: the schema requires {missing}"
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        elif query:
            kwargs = {"data": query}
        response = getattr(self.client, method)(url, **kwargs, **self.headers)
        documented = set(operation["responses"])
        assert str(response.status_code) in documented, (
            f"{operation_id}: {response.status_code} is not among its documented answers {sorted(documented)}"
        )
        return response

    def ok(self, operation_id: str, **kwargs) -> dict:
        response = self.call(operation_id, **kwargs)
        assert 200 <= response.status_code < 300, f"{operation_id}: {response.status_code} {response.content[:500]!r}"
        return response.json() if response.content else {}


def first_operation(client: SchemaClient, method: str, path_pattern: str) -> str:
    """An operationId by its method and path in the schema (for a reader who knows the resource, not the
    operation's name)."""
    found = [
        operation_id
        for operation_id, (m, path, _operation) in client.operations.items()
        if m == method and re.fullmatch(path_pattern, path)
    ]
    assert found, f"no {method.upper()} {path_pattern} in the schema"
    return found[0]


@pytest.fixture
def day(administrator, member, patient, team):
    now = timezone.localtime()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = max(midnight, now - datetime.timedelta(hours=1)).replace(second=0, microsecond=0)
    appointment = AppointmentFactory(
        patient=patient, starts_at=starts, ends_at=starts + datetime.timedelta(minutes=30), professionals=[member]
    )
    task = TaskFactory(team=team, patient=patient, assignee=member, title="Ring til egen læge")
    _token, secret = api_token_issue(actor=administrator, user=member, name="the day", scope=ApiScope.WRITE)
    return appointment, task, secret


def test_a_professional_s_day_from_the_schema_alone(day, member, patient):
    appointment, task, secret = day
    api = SchemaClient(secret)

    # 1. Today's appointments, mine.
    listing = first_operation(api, "get", r"/api/v1/appointments/")
    today = api.ok(listing, query={"mine": "true", "day": timezone.localdate().isoformat()})
    assert today["results"], "no appointments today"
    first = today["results"][0]
    assert first["id"] == str(appointment.public_id) and first["status"] == "booked"
    citizen = first["citizen"]["id"]

    # 2. The first citizen's briefing.
    briefing = first_operation(api, "get", r"/api/v1/citizens/\{[^}]+\}/briefing/")
    path_name = re.search(r"\{([^}]+)\}", api.operations[briefing][1]).group(1)
    assert api.ok(briefing, path={path_name: citizen})

    # 3. An encounter logged from the appointment, then signed with the version just read.
    log = first_operation(api, "post", r"/api/v1/citizens/\{[^}]+\}/encounters/")
    path_name = re.search(r"\{([^}]+)\}", api.operations[log][1]).group(1)
    encounter = api.ok(
        log,
        path={path_name: citizen},
        body={
            "kind": first["kind"],
            "started_at": first["starts_at"],
            "duration_minutes": 30,
            "note": "Gennemgik blodsukkerdagbogen.",
            "what_matters": "At kunne gå ture med hunden.",
            "appointment": first["id"],
        },
    )
    assert encounter["signed"] is False
    sign = first_operation(api, "post", r"/api/v1/encounters/\{[^}]+\}/sign/")
    path_name = re.search(r"\{([^}]+)\}", api.operations[sign][1]).group(1)
    signed = api.ok(sign, path={path_name: encounter["id"]}, body={"version": encounter["version"]})
    assert signed["signed"] is True and signed["signed_at"]

    # 4. The appointment is now attended.
    detail = first_operation(api, "get", r"/api/v1/appointments/\{[^}]+\}/")
    path_name = re.search(r"\{([^}]+)\}", api.operations[detail][1]).group(1)
    assert api.ok(detail, path={path_name: first["id"]})["status"] == "attended"

    # 5. My tasks; one completed with the version read.
    tasks = first_operation(api, "get", r"/api/v1/tasks/")
    mine = api.ok(tasks, query={"mine": "true"})["results"]
    assert str(task.public_id) in {t["id"] for t in mine}
    chosen = next(t for t in mine if t["id"] == str(task.public_id))
    transition = first_operation(api, "post", r"/api/v1/tasks/\{[^}]+\}/status/")
    path_name = re.search(r"\{([^}]+)\}", api.operations[transition][1]).group(1)
    done = api.ok(transition, path={path_name: chosen["id"]}, body={"status": "done", "version": chosen["version"]})
    assert done["status"] == "done"
    # Reopening it with the version read before: refused in the error shape (the task is closed, and
    # the version is stale), nothing overwritten.
    again = api.call(transition, path={path_name: chosen["id"]}, body={"status": "open", "version": chosen["version"]})
    assert again.status_code in (400, 409) and again.json()["message"], again.content

    # 6. A handover note to the whole team.
    handover = first_operation(api, "post", r"/api/v1/citizens/\{[^}]+\}/handovers/")
    path_name = re.search(r"\{([^}]+)\}", api.operations[handover][1]).group(1)
    note = api.ok(
        handover, path={path_name: citizen}, body={"text": "Ændret aftale om blodsukkermåling.", "whole_team": True}
    )
    assert note["whole_team"] is True

    # What the day left behind, in the database.
    appointment.refresh_from_db()
    task.refresh_from_db()
    assert appointment.status == "attended"
    assert task.status == "done"
    assert Encounter.objects.get(public_id=encounter["id"]).signed_at is not None
    assert Appointment.objects.filter(pk=appointment.pk, status="attended").exists()
    assert Task.objects.filter(pk=task.pk, status="done").exists()
    # Every request of the day was logged under the token.
    assert AccessLog.objects.filter(user=member, what__contains="(token ").count() >= 9
