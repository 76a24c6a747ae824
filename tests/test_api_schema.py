"""The OpenAPI schema (issue 12): it generates without a warning or an error and validates; it has both
ways in as securitySchemes; every operation documents its error responses with the one Error shape;
and every documented error is one the API actually produces.

How "every documented error is produced by a test" is held, honestly and without a hand-kept list:
the documented errors of an operation are the platform's (healthcenter.api_docs.error_statuses) by its
kind — read or write, list with filters, write to one existing object — plus what a view declares
itself. The errors come from three places, and each is produced here or in the platform's tests:

- 401, 403 (read-only token), 404 (a role without the view's work), 429 (the rate) come from the
  platform before any view code runs (authentication, WorkPermission, PerTokenThrottle). They are
  produced HERE for EVERY operation of the schema, found by its path and method in the schema only,
  each answer checked for the Error shape.
- 400 is the exception handler's answer to invalid input: produced here for every write operation
  by a malformed JSON body (400, or 404 where the view finds its object before it reads the body; never
  a 500), for every list with filters by a value outside a filter's choices where the schema names
  one, and in tests/test_api_platform.py with field errors in Danish and English.
- 409 and 412 are the exception handler's answer to a service's stale-version error, the same for
  every operation that needs the version the client read (healthcenter.api.expected_version):
  produced in tests/test_api_platform.py (test_errors_have_one_shape_in_danish_or_english), and per
  resource in the apps' own API tests. Here: every operation documenting them is a write to one
  object (PUT, PATCH, DELETE or a POST action on one object), the only operations that take a version.

An operation that documents any other error status, or lacks one of its kind's, fails below by name."""

import itertools
import json
import re
import uuid

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import Resolver404, resolve
from drf_spectacular.validation import validate_schema

from healthcenter import access
from healthcenter.api import PerTokenThrottle, api_token_issue
from healthcenter.api_docs import error_statuses
from healthcenter.models import ApiScope, Role

from .factories import UserFactory
from .test_api_platform import clear_rate

WRITES = {"post", "put", "patch", "delete"}
ARGUMENT_VALUES = (str(uuid.UUID(int=1)), "1", "x")


@pytest.fixture(autouse=True)
def _fresh_rate():
    clear_rate()
    yield
    clear_rate()


@pytest.fixture
def schema(member) -> dict:
    """As a client gets it: /api/schema/ in JSON, for a signed-in user."""
    from .conftest import client_for

    response = client_for(member).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    target = tmp_path / "schema.json"
    # --fail-on-warn raises on the first warning or error of the generation (drf-spectacular's own
    # collection of them, printed above the exception).
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(target))
    validate_schema(json.loads(target.read_text()))


def test_both_ways_in_are_security_schemes(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["token"]["description"],
    }
    assert schemes["session"]["type"] == "apiKey" and schemes["session"]["in"] == "cookie"
    for path, method, operation in operations(schema):
        assert {"token": []} in operation["security"], f"{method} {path}"
        assert {"session": []} in operation["security"], f"{method} {path}"
        assert {} not in operation["security"], f"{method} {path} documents anonymous access"


def test_the_error_shape_is_one_component(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"code", "message", "fields"}
    assert set(error["required"]) == {"code", "message", "fields"}
    assert error["properties"]["fields"]["additionalProperties"]["type"] == "array"


def test_every_operation_documents_its_errors_and_only_those(schema):
    assert len(list(operations(schema))) >= 2
    for path, method, operation in operations(schema):
        if not path.startswith("/api/"):
            continue
        documented = {code for code in operation["responses"] if code >= "400"}
        for code in documented:
            content = operation["responses"][code].get("content", {})
            assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (
                f"{method} {path} {code}"
            )
        assert {"401", "404", "429"} <= documented, f"{method} {path}"
        everything = set(error_statuses(method.upper(), detail=True, filtered=True))
        assert documented <= everything, f"{method} {path} documents {sorted(documented - everything)}"
        if method in WRITES:
            assert {"400", "403"} <= documented, f"{method} {path}"
        if method in {"put", "patch", "delete"}:
            assert {"409", "412"} <= documented, f"{method} {path}"
        if "409" in documented or "412" in documented:
            assert {"409", "412"} <= documented, f"{method} {path}"
            assert method in {"put", "patch", "delete"} or re.search(r"\{[^}]+\}/[^/{}]+/$", path), (
                f"{method} {path}: 409/412 on an operation that takes no version"
            )
        assert "429" in documented and "Retry-After" in operation["responses"]["429"]["headers"]


PAGING = {"cursor", "page_size", "ordering"}


def params(operation: dict) -> list[dict]:
    return operation.get("parameters", [])


# --- producing the documented errors of every operation ---------------------------------------------------


def concrete(path: str) -> str:
    """The operation's path with arguments that the URLconf accepts (the objects need not exist: the
    errors produced here come before any lookup)."""
    names = re.findall(r"\{([^}]+)\}", path)
    for values in itertools.product(ARGUMENT_VALUES, repeat=len(names)):
        url = path
        for name, value in zip(names, values, strict=True):
            url = url.replace("{" + name + "}", value)
        try:
            resolve(url)
        except Resolver404:
            continue
        return url
    raise AssertionError(f"{path}: no arguments the URLconf accepts")


def works_of(url: str) -> frozenset:
    cls = resolve(url).func.cls
    named = []
    for attribute in ("access_work", "access_works"):
        value = getattr(cls, attribute, None)
        if value is not None:
            named.extend(value if isinstance(value, (frozenset, set, tuple, list)) else [value])
    return frozenset(named)


class People:
    """One user per role in the team, with a read and a write token each."""

    def __init__(self, administrator, team):
        self.read, self.write = {}, {}
        for role in Role.values:
            user = administrator if role == Role.ADMINISTRATOR else UserFactory(role=role, teams=[team])
            self.read[role] = api_token_issue(actor=administrator, user=user, name="r", scope=ApiScope.READ)[1]
            self.write[role] = api_token_issue(actor=administrator, user=user, name="w", scope=ApiScope.WRITE)[1]

    @staticmethod
    def having(works) -> list[str]:
        """The roles with one of the works, the coordinator first: a view may narrow its work by the
        method (registering a referral is triage), and the coordinator has every work of the records."""
        order = [Role.COORDINATOR, Role.PROFESSIONAL, Role.MANAGER, Role.ADMINISTRATOR]
        return [role for role in order if any(role in access.WORK_ROLES[work] for work in works)]


def send(method: str, url: str, secret: str | None = None, body: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
    if body is not None:
        return getattr(Client(), method)(url, body, content_type="application/json", **headers)
    return getattr(Client(), method)(url, **headers)


def shaped(response, status: int, what: str) -> dict:
    assert response.status_code == status, f"{what}: {response.status_code} {response.content[:300]!r}"
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, what
    return body


def test_every_operation_produces_its_platform_errors(schema, administrator, team, monkeypatch):
    people = People(administrator, team)
    seen: dict[str, set[str]] = {}
    for path, method, operation in operations(schema):
        if not path.startswith("/api/"):
            continue
        documented = {code for code in operation["responses"] if code >= "400"}
        url = concrete(path)
        what = f"{method.upper()} {path}"
        works = works_of(url)
        allowed, refused = People.having(works), [r for r in Role.values if r not in People.having(works)]
        assert allowed and refused, f"{what}: every role or no role may use it"
        produced = set()

        assert shaped(send(method, url), 401, what)["code"] == "not_authenticated"
        produced.add("401")

        assert shaped(send(method, url, people.write[refused[0]]), 404, what)["code"] == "not_found"
        produced.add("404")

        if method in WRITES:
            body = shaped(send(method, url, people.read[allowed[0]], "{}"), 403, what)
            assert body["code"] == "read_only_token"
            produced.add("403")

        clear_rate()  # none counted yet: with a rate of none a minute, Retry-After is the whole minute
        monkeypatch.setattr(PerTokenThrottle, "THROTTLE_RATES", {"token": "0/minute"})
        response = send(method, url, people.write[allowed[0]], "{}" if method in WRITES else None)
        monkeypatch.setattr(PerTokenThrottle, "THROTTLE_RATES", {"token": "600/minute"})
        assert shaped(response, 429, what)["code"] == "throttled"
        assert int(response["Retry-After"]) > 0
        produced.add("429")

        if method in WRITES:
            response = send(method, url, people.write[allowed[0]], '{"broken": ')
            assert response.status_code in (400, 404), f"{what}: malformed JSON gave {response.status_code}"
            shaped(response, response.status_code, what)
            produced.add(str(response.status_code))
        else:
            choice = next(
                (p for p in params(operation) if p["in"] == "query" and p.get("schema", {}).get("enum")), None
            )
            if choice is not None:
                response = send(method, f"{url}?{choice['name']}=no-such-choice", people.write[allowed[0]])
                if "{" in path and response.status_code == 404:
                    # The list's citizen (not found here) is looked up before the filter is read.
                    shaped(response, 404, what)
                else:
                    # The bad choice named, or a criterion the list needs first (appointments: citizen or mine).
                    assert shaped(response, 400, what)["fields"], what
                    produced.add("400")
        seen[what] = produced
        # 400 and 409/412 beyond this: see the module's docstring.
        assert produced <= documented, f"{what}: produced {sorted(produced - documented)} without documenting it"
    assert seen
