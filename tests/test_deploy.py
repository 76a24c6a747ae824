"""Production settings pass Django's deployment checklist, and production refuses to start without
a secret key. Both run `manage.py check --deploy` in a fresh process, because the settings are read
from the environment once, at import."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

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
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "LOG_LEVEL",
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
