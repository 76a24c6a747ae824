"""Every API view has an access decision (issue 12): the test walks the URLconf and, for every view
under a namespace "api", "api-*" or "fhir", checks that

- it names its work (`access_work`, a healthcenter.access.Work or a set of them; FHIR views may name
  several as `access_works`, fhirserver/views.py's FhirPermission choosing the one the role has);
- its permission is healthcenter.api.WorkPermission (FHIR's FhirPermission is a subclass of it) and
  nothing that lets everyone in (AllowAny);
- it authenticates with the API's own token and session classes (which log every token use);
- a role without that work, with a token that could otherwise write, gets 404 and a denied
  access-log row, whatever the URL's arguments are (the role check runs before the view looks
  anything up, and before the method is even checked);
- no one unauthenticated gets in (401).

A view added without an access decision fails here by name."""

import itertools
import uuid

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from rest_framework.permissions import AllowAny

from healthcenter import access
from healthcenter.access import Work
from healthcenter.api import SessionAuthentication, TokenAuthentication, WorkPermission, api_token_issue
from healthcenter.models import AccessLog, AccessOutcome, ApiScope, Role

from .factories import UserFactory

API_NAMESPACE_PREFIXES = ("api", "fhir")
# The schema and its documentation pages describe the API and no citizen's data: every role with some
# work through the API reads them (healthcenter/api_docs.py). Nothing else may be open to every role.
OPEN_TO_EVERY_ROLE = {"api:schema", "api:docs", "api:redoc"}
# Tried in turn for each argument of a URL until reverse() accepts them.
ARGUMENT_VALUES = (str(uuid.UUID(int=1)), "1", "Patient", "x")


def api_patterns() -> list[tuple[str, object]]:
    """(namespaced name, view callback) of every URL pattern in an API namespace."""
    found = []

    def walk(patterns, namespaces):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, namespaces + ([pattern.namespace] if pattern.namespace else []))
            elif namespaces and namespaces[0].startswith(API_NAMESPACE_PREFIXES):
                found.append((":".join([*namespaces, pattern.name or "?"]), pattern))

    walk(get_resolver().url_patterns, [])
    return found


def view_class(pattern: URLPattern):
    return getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)


def works_of(cls) -> frozenset:
    named = []
    for attribute in ("access_work", "access_works"):
        value = getattr(cls, attribute, None)
        if value is None:
            continue
        named.extend(value if isinstance(value, (frozenset, set, tuple, list)) else [value])
    return frozenset(named)


def url_of(name: str, pattern: URLPattern) -> str:
    arguments = list(pattern.pattern.regex.groupindex)
    for values in itertools.product(ARGUMENT_VALUES, repeat=len(arguments)):
        try:
            return reverse(name, kwargs=dict(zip(arguments, values, strict=True)))
        except NoReverseMatch:
            continue
    raise AssertionError(f"{name}: no arguments found that reverse() accepts")


PATTERNS = api_patterns()


def test_the_walk_finds_the_api():
    names = {name for name, _pattern in PATTERNS}
    assert {"api:schema", "api:docs", "api:redoc", "api-patients:citizen-list", "api-patients:citizen-detail"} <= names


@pytest.mark.parametrize(("name", "pattern"), PATTERNS, ids=[name for name, _pattern in PATTERNS])
def test_every_api_view_names_its_work_and_uses_the_work_permission(name, pattern):
    cls = view_class(pattern)
    assert cls is not None, f"{name} is not a DRF view"
    works = works_of(cls)
    assert works, f"{name} ({cls.__name__}) names no access_work"
    assert all(isinstance(work, Work) for work in works), f"{name}: access_work must be healthcenter.access.Work"
    permissions = list(cls.permission_classes)
    assert any(issubclass(p, WorkPermission) for p in permissions), f"{name} does not use WorkPermission"
    assert not any(issubclass(p, AllowAny) for p in permissions), f"{name} lets everyone in"
    authentication = list(cls.authentication_classes)
    assert authentication and all(
        issubclass(a, (TokenAuthentication, SessionAuthentication)) for a in authentication
    ), f"{name} authenticates otherwise than with the API's token and session ({authentication})"
    if works >= set(Work):
        assert name in OPEN_TO_EVERY_ROLE, f"{name} is open to every role"


def roles_without(works: frozenset) -> list[str]:
    return [role for role in Role.values if not any(role in access.WORK_ROLES[work] for work in works)]


@pytest.mark.parametrize(("name", "pattern"), PATTERNS, ids=[name for name, _pattern in PATTERNS])
def test_a_role_without_the_work_gets_404_and_a_denied_row(name, pattern, administrator, team):
    works = works_of(view_class(pattern))
    refused = roles_without(works)
    if not refused:
        assert name in OPEN_TO_EVERY_ROLE
        return
    url = url_of(name, pattern)
    for role in refused:
        user = UserFactory(role=role, teams=[team], is_superuser=False)
        secret = api_token_issue(actor=administrator, user=user, name="walk", scope=ApiScope.WRITE)[1]
        for method in ("get", "post"):
            before = AccessLog.objects.filter(user=user, outcome=AccessOutcome.DENIED).count()
            response = getattr(Client(), method)(url, HTTP_AUTHORIZATION=f"Bearer {secret}")
            assert response.status_code == 404, f"{role} {method.upper()} {url}: {response.status_code}"
            after = AccessLog.objects.filter(user=user, outcome=AccessOutcome.DENIED).count()
            assert after == before + 1, f"{role} {method.upper()} {url}: no denied access-log row"


@pytest.mark.parametrize(("name", "pattern"), PATTERNS, ids=[name for name, _pattern in PATTERNS])
def test_no_api_view_answers_anyone_unauthenticated(name, pattern, db):
    url = url_of(name, pattern)
    for method in ("get", "post", "delete"):
        response = getattr(Client(), method)(url)
        assert response.status_code == 401, f"anonymous {method.upper()} {url}: {response.status_code}"
