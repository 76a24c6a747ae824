"""The authorisation matrix (issue 10): every URL pattern, for every role and care relation, against
the table in tests/authorisation_matrix.csv (its header says what the codes mean).

A URL pattern without a row fails `test_every_url_has_a_row`, naming it; a row naming a URL that is
gone fails `test_every_row_names_a_url`. Each (row, persona) is one test, named after the URL, the
method and the persona. Every refusal (404) of a URL whose row says `citizen` must leave a denied
access-log row under the citizen's public id, and every answer let through one row under them: the
promise of healthcenter/access.py.

The citizen and everything about them are built once for the module, inside a transaction that is
rolled back at the end; each test runs in a savepoint of it, so what a POST changes is gone before
the next test."""

import csv
import dataclasses
import datetime
import fnmatch
import pathlib
import re
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from coordination.models import HandoverNote
from healthcenter.models import AccessLog, AccessOutcome, Role, User
from patients.models import LabImport, Programme
from scheduling.models import Course, CourseParticipant, CourseSession

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
    ReferralFactory,
    RelativeFactory,
    RoomFactory,
    StoryFactory,
    TaskFactory,
    TeamFactory,
    UserFactory,
)

TABLE = pathlib.Path(__file__).with_name("authorisation_matrix.csv")
# Parts of the table kept beside it, one per area (authorisation_matrix_<area>.csv), with the same header.
TABLES = [TABLE, *sorted(TABLE.parent.glob("authorisation_matrix_*.csv"))]

PERSONAS = [
    "member",
    "colleague",
    "outsider",
    "coordinator",
    "other_coordinator",
    "manager",
    "administrator",
    "unverified_admin",
    "anonymous",
]
CODES = {"200", "ok", "400", "401", "403", "404", "405", "415", "login", "otp", "admin-login"}
LOGGED = {"citizen", "user", "-"}
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
# Every URL has a GET and a POST row; an API URL (a namespace starting with "api") a row for every method.
REQUIRED_METHODS = ("GET", "POST")
API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


# --- the table ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    method: str
    args: tuple[str, ...]
    query: str
    logged: str
    expected: dict[str, str]
    line: int

    @property
    def label(self) -> str:
        variant = "".join(f" {arg}" for arg in self.args) + (f"?{self.query}" if self.query else "")
        return f"{self.name} {self.method}{variant}".replace("{", "").replace("}", "")


def read_table() -> list[Row]:
    rows = [row for table in TABLES for row in read_part(table)]
    keys = [(row.name, row.method, row.args, row.query) for row in rows]
    duplicates = {key for key in keys if keys.count(key) > 1}
    assert not duplicates, f"rows given twice: {duplicates}"
    return rows


def read_part(table: pathlib.Path) -> list[Row]:
    lines = table.read_text(encoding="utf-8").splitlines()
    numbered = [
        (number, line) for number, line in enumerate(lines, start=1) if line.strip() and not line.startswith("#")
    ]
    reader = csv.reader([line for _number, line in numbered], skipinitialspace=True)
    header = [cell.strip() for cell in next(reader)]
    assert header == ["url name", "method", "args", "query", "logged", *PERSONAS], header
    rows = []
    for (number, _line), raw in zip(numbered[1:], reader, strict=True):
        cells = [cell.strip() for cell in raw]
        assert len(cells) == len(header), f"{table.name} line {number}: {len(cells)} cells, expected {len(header)}"
        name, method, args, query, logged, *codes = cells
        expected = dict(zip(PERSONAS, codes, strict=True))
        assert method in METHODS, f"{table.name} line {number}: method {method!r}"
        assert logged in LOGGED, f"{table.name} line {number}: logged {logged!r}"
        unknown = {code for code in codes if code not in CODES}
        assert not unknown, f"{table.name} line {number}: unknown codes {unknown}"
        rows.append(Row(name, method, tuple(args.split()), query, logged, expected, number))
    return rows


def url_patterns() -> tuple[dict[str, URLPattern], list[str]]:
    """Every named URL pattern by its full name (namespaces included), and the unnamed ones."""
    named: dict[str, URLPattern] = {}
    unnamed: list[str] = []

    def walk(resolver: URLResolver, namespaces: list[str], prefix: str) -> None:
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry, [*namespaces, entry.namespace] if entry.namespace else namespaces, route)
            elif entry.name:
                named[":".join([*namespaces, entry.name])] = entry
            else:
                unnamed.append(":".join(namespaces) + " " + route)

    walk(get_resolver(), [], "")
    return named, unnamed


def admin_generated_names() -> set[str]:
    """The pages the admin makes for every registered model. Their changelists are covered by the
    table's one generic row (admin:*_changelist); add, change, delete and history pass the same
    permission check of the admin site (has_permission) and are not requested one by one."""
    suffixes = ("changelist", "add", "change", "delete", "history")
    return {
        f"admin:{model._meta.app_label}_{model._meta.model_name}_{suffix}"
        for model in admin.site._registry
        for suffix in suffixes
    }


def expanded_rows() -> list[Row]:
    """The table's rows, a generic row (a name with *) stood in for by one row per URL it matches
    that has no row of its own."""
    rows = read_table()
    named, _unnamed = url_patterns()
    explicit = {(row.name, row.method) for row in rows if "*" not in row.name}
    result = []
    for row in rows:
        if "*" not in row.name:
            result.append(row)
            continue
        for name in sorted(named):
            if fnmatch.fnmatchcase(name, row.name) and (name, row.method) not in explicit:
                result.append(dataclasses.replace(row, name=name))
    return result


ROWS = expanded_rows()


# --- the world: one citizen of the member's team and everything about them ----------------------------


@dataclasses.dataclass
class World:
    users: dict[str, User]
    patient: object
    placeholders: dict[str, str]
    cookies: dict[str, SimpleCookie] = dataclasses.field(default_factory=dict)
    # One client for every request: a new one loads the middleware again, and WhiteNoise's reads
    # every static file (most of a request's cost).
    client: Client = dataclasses.field(default_factory=Client)


def build_world() -> World:
    team = TeamFactory(name="Matrix Nord")
    other_team = TeamFactory(name="Matrix Syd")
    member = UserFactory(username="matrix-member", teams=[team])
    colleague = UserFactory(username="matrix-colleague", teams=[team])
    outsider = UserFactory(username="matrix-outsider", teams=[other_team])
    coordinator = UserFactory(username="matrix-coordinator", role=Role.COORDINATOR, profession="", teams=[team])
    other_coordinator = UserFactory(
        username="matrix-other-coordinator", role=Role.COORDINATOR, profession="", teams=[other_team]
    )
    manager = UserFactory(username="matrix-manager", role=Role.MANAGER, profession="")
    administrator = UserFactory(
        username="matrix-administrator", role=Role.ADMINISTRATOR, profession="", is_staff=True, is_superuser=True
    )
    # Someone else's authenticator, for the admin's pages about one (never a persona's: a professional
    # with an authenticator is asked for a code at every login).
    device = TOTPDevice.objects.create(
        user=UserFactory(username="matrix-device-holder", teams=[team]), name="authenticator", confirmed=True
    )

    patient = PatientFactory(team=team, responsible_professional=member, first_name="Karen", last_name="Matrix")
    draft = EncounterFactory(patient=patient, professional=member, signed_at=None)
    signed = EncounterFactory(patient=patient, professional=member)
    # A story consent: a submitted story is only the manager's to review while it is in force.
    consent = ConsentFactory(patient=patient, recorded_by=member, kind="story_reports")
    task = TaskFactory(team=team, patient=patient, assignee=member)
    note = HandoverNote.objects.create(patient=patient, author=colleague, text="Datteren ringede", to_team=team)
    objects = {
        "patient": patient,
        "draft": draft,
        "signed": signed,
        "goal": GoalFactory(patient=patient, created_by=member),
        "consent": consent,
        "enrolment": EnrolmentFactory(patient=patient, end_on=None),
        "measurement": MeasurementFactory(patient=patient),
        "relative": RelativeFactory(patient=patient),
        "condition": ConditionFactory(patient=patient),
        "task": task,
        "referral": ReferralFactory(patient=patient, created_by=coordinator),
        "handover": note,
        "story": StoryFactory(patient=patient, author=member),
        "submitted_story": StoryFactory(patient=patient, author=member, status="submitted"),
        "team": team,
        "member": member,
    }
    # The calendar (issue 13): an appointment of the citizen with the member in a room, and a course of
    # the team with one session.
    room = RoomFactory(name="Matrix-rummet")
    objects["room"] = room
    objects["appointment"] = AppointmentFactory(patient=patient, booked_by=member, room=room)
    course = Course.objects.create(
        name="Matrix-skolen",
        programme=Programme.objects.get(code="diabetes-course"),
        team=team,
        room=room,
        weekday=1,
        starts_at=datetime.time(10),
        ends_at=datetime.time(12),
        first_day=timezone.localdate(),
        session_count=1,
        created_by=coordinator,
    )
    course.professionals.set([member])
    objects["course"] = course
    start = timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time(10)))
    objects["session"] = CourseSession.objects.create(
        course=course, number=1, starts_at=start, ends_at=start + datetime.timedelta(hours=2)
    )
    objects["participant"] = CourseParticipant.objects.create(
        course=course, patient=patient, joined_on=timezone.localdate(), added_by=coordinator
    )
    # Laboratory results in (issue 12): an import a coordinator ran.
    objects["lab_import"] = LabImport.objects.create(
        uploaded_by=coordinator, file_name="lab.csv", stored_as="", format="csv", status="done"
    )
    placeholders = {name: str(thing.public_id) for name, thing in objects.items()}
    placeholders.update(
        member_pk=str(member.pk),
        device_pk=str(device.pk),
        user_content_type=str(ContentType.objects.get_for_model(User).pk),
    )
    users = {
        "member": member,
        "colleague": colleague,
        "outsider": outsider,
        "coordinator": coordinator,
        "other_coordinator": other_coordinator,
        "manager": manager,
        "administrator": administrator,
        "unverified_admin": administrator,
    }
    return World(users=users, patient=patient, placeholders=placeholders)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=fast):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = build_world()
            # One session per persona for the whole module (signing in is most of a request's cost);
            # each test starts from a copy of its cookies, so a logout or a language chosen in one
            # test is gone by the next (and what a request changed in the session, with the savepoint).
            for persona in PERSONAS:
                built.cookies[persona] = signed_in(persona, built).cookies
            yield built
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def fill(text: str, world: World) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: world.placeholders[match.group(1)], text)


def signed_in(persona: str, world: World) -> Client:
    if persona == "anonymous":
        return Client()
    user = world.users[persona]
    if persona == "unverified_admin":
        # Signed in with the password, the second factor not yet given.
        client = Client()
        client.force_login(user)
        return client
    return client_for(user)


def client_as(persona: str, world: World) -> Client:
    client = world.client
    client.cookies = SimpleCookie()
    for key, morsel in world.cookies[persona].items():
        client.cookies[key] = morsel.value
    return client


def outcome(response) -> str:
    """The response as one of the table's codes."""
    if response.status_code in (301, 302, 303, 307, 308):
        path = urlsplit(response["Location"]).path
        if path == reverse("login"):
            return "login"
        if path in (reverse("accounts:verify"), reverse("accounts:setup")):
            return "otp"
        if path == reverse("admin:login"):
            return "admin-login"
        return "ok"
    if response.status_code in (200, 204):
        return "200"
    return str(response.status_code)


def matches(expected: str, observed: str) -> bool:
    return observed == expected or (expected == "ok" and observed == "200")


# --- the tests -----------------------------------------------------------------------------------------


def test_every_url_has_a_row():
    named, unnamed = url_patterns()
    rows = read_table()
    covered = {(name, row.method) for row in rows for name in named if fnmatch.fnmatchcase(name, row.name)}
    generated = admin_generated_names()
    missing = [
        f"{name} {method}"
        for name in sorted(named)
        if name not in generated
        for method in (API_METHODS if name.startswith("api") else REQUIRED_METHODS)
        if (name, method) not in covered
    ]
    missing += [
        f"{name} GET"
        for name in sorted(generated & set(named))
        if name.endswith("_changelist") and (name, "GET") not in covered
    ]
    assert missing == [], f"URL patterns without a row in {TABLE.name}: {missing}"
    # The admin's per-object redirect and its catch-all are unnamed; any other pattern needs a name to have a row.
    assert [route for route in unnamed if not route.startswith("admin ")] == []


def test_every_row_names_a_url():
    named, _unnamed = url_patterns()
    gone = [
        f"line {row.line}: {row.name}"
        for row in read_table()
        if not any(fnmatch.fnmatchcase(name, row.name) for name in named)
    ]
    assert gone == [], f"rows in {TABLE.name} naming no URL pattern: {gone}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "persona"),
    [pytest.param(row, persona, id=f"{row.label} {persona}") for row in ROWS for persona in PERSONAS],
)
def test_outcome(world, row, persona):
    url = reverse(row.name, args=[fill(arg, world) for arg in row.args])
    if row.query:
        url += "?" + fill(row.query, world)
    client = client_as(persona, world)
    if row.method == "GET":
        response = client.get(url)
    elif row.method == "POST":
        response = client.post(url, {})
    else:
        response = client.generic(row.method, url)
    observed, expected = outcome(response), row.expected[persona]
    where = f" (to {response['Location']})" if response.has_header("Location") else ""
    assert matches(expected, observed), (
        f"{row.method} {url} ({row.name}, line {row.line}) as {persona}: {observed}{where}, table says {expected}"
    )

    if persona == "anonymous" or row.logged == "-":
        return
    rows = AccessLog.objects.filter(user=world.users[persona])
    if expected == "404":
        denied = rows.filter(outcome=AccessOutcome.DENIED)
        if row.logged == "citizen":
            denied = denied.filter(patient_public_id=world.patient.public_id)
        assert denied.exists(), f"{row.method} {url} ({row.name}) refused {persona} without a denied access-log row" + (
            " under the citizen" if row.logged == "citizen" else ""
        )
    elif expected in ("200", "ok") and row.logged == "citizen":
        assert rows.filter(patient_public_id=world.patient.public_id).exists(), (
            f"{row.method} {url} ({row.name}) let {persona} through without an access-log row under the citizen"
        )
