"""Production settings pass Django's deployment checklist, and production refuses to start without
a secret key or with a placeholder one. These run `manage.py check --deploy`, or a request, in a fresh
process, because the settings are read from the environment once, at import. The compose file publishes
the app on the loopback interface only, behind the proxy whose X-Forwarded-Proto the app then trusts."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.db import connection

from healthcenter.checks import secret_key_problem
from healthcenter.runtime import POSTGRES_SETTINGS

ROOT = Path(__file__).resolve().parent.parent

# Everything settings.py reads; the tests start from none of them so that the machine's own
# configuration (e.g. SECURE_SSL_REDIRECT=false on a developer box) cannot hide a warning.
SETTINGS_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REPLICA_DATABASE_URL",
    "REDIS_URL",
    "DB_CONN_MAX_AGE",
    "SESSION_COOKIE_AGE",
    "SESSION_IDLE_MINUTES",
    "SESSION_MAX_HOURS",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_LOCKOUT_MINUTES",
    "TRUSTED_PROXY_COUNT",
    "TOTP_ISSUER",
    "CENTRE_PHONE",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "LOG_LEVEL",
    "TRUST_X_FORWARDED_PROTO",
    # Database roles and the access log's retention (healthcenter/dbroles.py, healthcenter/retention.py)
    "RUNTIME_DATABASE_URL",
    "DATABASE_OWNER_URL",
    "ACCESS_LOG_RETENTION_DAYS",
    "ACCESS_LOG_ARCHIVE_DIR",
    "DJANGO_SETTINGS_MODULE",
}


def production_environment(**values: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS_VARIABLES}
    env.update(
        DEBUG="false",
        ALLOWED_HOSTS="sundhed.example.dk",
        DATABASE_URL=os.environ["DATABASE_URL"],
        REDIS_URL=os.environ["REDIS_URL"],
        CENTRE_PHONE="33 66 33 66",
    )
    env.update(values)
    return env


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_passes_the_deployment_checklist_with_production_settings():
    secret_key = secrets.token_urlsafe(64)
    assert len(secret_key) >= 60

    result = check_deploy(production_environment(SECRET_KEY=secret_key))

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output, output


def test_it_refuses_to_start_in_production_without_a_secret_key():
    result = check_deploy(production_environment())

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_it_refuses_the_placeholder_secret_key_of_env_example():
    placeholder = env_example()["SECRET_KEY"]

    # The default fail level: an error, not only a warning (Django's own check lets this key through).
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env=production_environment(SECRET_KEY=placeholder),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "healthcenter.E001" in output
    assert placeholder not in output  # the message does not repeat the key


@pytest.mark.parametrize(
    "key",
    [
        "insecure-development-key",  # the DEBUG default
        "django-insecure-" + secrets.token_urlsafe(50),  # what startproject writes
        "change-me-" + secrets.token_hex(30),
        "Replace-Me-With-A-Real-One-" + secrets.token_hex(20),
        secrets.token_urlsafe(30),  # random but short
        "ab" * 40,  # long but two characters
    ],
)
def test_a_placeholder_or_weak_key_is_a_problem(key):
    assert secret_key_problem(key) is not None


def test_a_random_key_is_not_a_problem():
    for _ in range(200):
        assert secret_key_problem(secrets.token_urlsafe(64)) is None


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME:-default}: the default when NAME is unset or empty."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda match: env.get(match.group(1)) or match.group(2), value)


def test_compose_publishes_the_app_on_the_loopback_interface_only():
    services = compose()["services"]

    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert all(str(port).startswith("127.0.0.1:") for port in published), published


def test_compose_trusts_the_proxy_header_with_the_env_example_values():
    web = compose()["services"]["web"]["environment"]

    assert interpolate(web["TRUST_X_FORWARDED_PROTO"], env_example()) == "true"
    assert interpolate(web["TRUST_X_FORWARDED_PROTO"], {"TRUST_X_FORWARDED_PROTO": "false"}) == "false"


def test_compose_runs_postgres_with_the_settings_of_the_embedded_server():
    postgres = compose()["services"]["postgres"]
    command = postgres["command"]

    assert command[0] == "postgres"
    options = command[1:]
    assert options[::2] == ["-c"] * len(POSTGRES_SETTINGS)
    assert dict(option.split("=", 1) for option in options[1::2]) == POSTGRES_SETTINGS
    assert postgres["shm_size"] == "512mb"


# Run in a production process: three requests and a session through the real middleware.
PROBE = """
import json

import django

django.setup()
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

# collectstatic has not run: the plain storage instead of the manifest (as tests/conftest.py does).
override_settings(
    STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
).enable()
HOST = "sundhed.example.dk"
client = Client(HTTP_HOST=HOST)
login = reverse(settings.LOGIN_URL)


def cookie(response, name):
    morsel = response.cookies.get(name)
    return None if morsel is None else {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"])}


def starts_a_session(request):
    request.session["seen"] = True
    return HttpResponse()


plain = client.get(login)
https = client.get(login, secure=True)
claimed = client.get(login, HTTP_X_FORWARDED_PROTO="https")
session = SessionMiddleware(starts_a_session)(RequestFactory().get("/", secure=True, HTTP_HOST=HOST))
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "https": [https.status_code, https.get("Strict-Transport-Security"), cookie(https, settings.CSRF_COOKIE_NAME)],
    "claimed": [claimed.status_code, claimed.get("Strict-Transport-Security")],
    "session_cookie": cookie(session, settings.SESSION_COOKIE_NAME),
}))
"""


def production_responses(**values: str) -> dict:
    # The test database, which pytest-django created and migrated; the probe's session row goes there.
    database = urlsplit(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    env = production_environment(
        SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=database,
        DJANGO_SETTINGS_MODULE="healthcenter.settings",
        **values,
    )
    result = subprocess.run(  # noqa: S603 - the probe above, not outside input
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


HSTS = "max-age=31536000; includeSubDomains; preload"


@pytest.mark.django_db(transaction=True)
def test_production_sends_hsts_and_secure_cookies_and_ignores_a_claimed_https():
    responses = production_responses()

    assert responses["plain"] == [301, "https://sundhed.example.dk/accounts/login/"]
    status, hsts, csrf_cookie = responses["https"]
    assert (status, hsts) == (200, HSTS)
    assert csrf_cookie == {"secure": True, "httponly": True}
    assert responses["session_cookie"] == {"secure": True, "httponly": True}
    # Any client can send the header: without a proxy that is trusted to set it, it changes nothing.
    assert responses["claimed"] == [301, None]


@pytest.mark.django_db(transaction=True)
def test_production_behind_a_trusted_proxy_takes_its_word_for_https():
    responses = production_responses(TRUST_X_FORWARDED_PROTO="true")

    assert responses["claimed"] == [200, HSTS]
    assert responses["plain"][0] == 301  # the proxy did not say https: redirected
