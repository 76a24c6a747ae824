import importlib

import django_otp
import pytest
from django.apps import apps as django_apps
from django.http import HttpRequest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice

from healthcenter.accounts.selectors import two_factor_required_by_role
from healthcenter.models import Role

from .factories import PatientFactory, TeamFactory, UserFactory


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Production settings use the manifest storage, which needs collectstatic; tests serve files as they are.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Argon2, the production hasher (tests/test_accounts.py), costs a noticeable fraction of a second per
    # factory user and per login; the tests that are not about it use the fastest one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


REFERENCE_DATA_MIGRATIONS = [
    "patients.migrations.0002_reference_data",
    "coordination.migrations.0002_programme_tasks",
    "coordination.migrations.0004_care_gap_rules",
    "reporting.migrations.0002_indicators",
    "reporting.migrations.0005_operational_indicators",
    "reporting.migrations.0012_calendar_indicators",
]


def load_reference_data() -> None:
    """The catalogue, programmes, care-gap rules and indicators, loaded the way their data
    migrations load them."""
    for module in REFERENCE_DATA_MIGRATIONS:
        importlib.import_module(module).load(django_apps, None)


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    # The flush after each transactional test empties the tables the data migrations filled.
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        load_reference_data()


@pytest.fixture
def team(db):
    return TeamFactory(name="Diabetes Nord")


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Diabetes Syd")


@pytest.fixture
def member(team):
    """The professional responsible for the citizen."""
    return UserFactory(username="member", teams=[team])


@pytest.fixture
def colleague(team):
    """Another professional in the same team."""
    return UserFactory(username="colleague", teams=[team])


@pytest.fixture
def outsider(other_team):
    """A professional of another team: no care relation."""
    return UserFactory(username="outsider", teams=[other_team])


@pytest.fixture
def coordinator(team):
    return UserFactory(username="coordinator", role=Role.COORDINATOR, profession="", teams=[team])


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", role=Role.MANAGER, profession="")


@pytest.fixture
def administrator(db):
    return UserFactory(
        username="administrator", role=Role.ADMINISTRATOR, profession="", is_staff=True, is_superuser=True
    )


@pytest.fixture
def patient(team, member):
    return PatientFactory(team=team, responsible_professional=member, first_name="Karen", last_name="Jensen")


def client_for(user) -> Client:
    """A signed-in client. Managers and administrators also get what the second step of signing in gives
    them (a session verified with a second factor), as django_otp.login gives it; tests/test_accounts.py
    goes through the real steps."""
    client = Client()
    client.force_login(user)
    if two_factor_required_by_role(user):
        verify_session(client, user)
    return client


def verify_session(client: Client, user) -> None:
    device, _created = StaticDevice.objects.get_or_create(user=user, name="tests", defaults={"confirmed": True})
    request = HttpRequest()
    request.session = client.session
    request.user = user
    django_otp.login(request, device)
    request.session.save()


@pytest.fixture
def as_member(member):
    return client_for(member)


@pytest.fixture
def as_colleague(colleague):
    return client_for(colleague)


@pytest.fixture
def as_outsider(outsider):
    return client_for(outsider)
