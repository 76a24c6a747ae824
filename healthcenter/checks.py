"""System checks of our own, registered in HealthcenterConfig.ready().

`manage.py check --deploy` fails, with an error rather than Django's warning (security.W009), on a secret
key that is a placeholder or too weak: the key signs sessions, password-reset links and the CSRF token,
and one copied from .env.example or a tutorial is known to everyone who has read it. Django's own check
lets the placeholder in .env.example through (it is long and varied enough)."""

from django.conf import settings
from django.core.checks import Error

# Django's own limits for a weak key (django.core.checks.security.base), here an error.
MIN_LENGTH = 50
MIN_DIFFERENT_CHARACTERS = 5
# Words that make a value a placeholder rather than a secret. Six letters or more, so that a random key
# contains one by chance only about once in ten million.
PLACEHOLDER_WORDS = (
    "replace",
    "change-me",
    "change_me",
    "changeme",
    "placeholder",
    "example",
    "insecure",
    "secret",
    "default",
    "sample",
)
HINT = "Generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(64))'"


def secret_key_problem(key: str) -> str | None:
    """What is wrong with the key, in words that do not repeat it; None for a good key."""
    lowered = key.lower()
    word = next((word for word in PLACEHOLDER_WORDS if word in lowered), None)
    if word is not None:
        return f"is a placeholder (it contains {word!r})"
    if len(key) < MIN_LENGTH or len(set(key)) < MIN_DIFFERENT_CHARACTERS:
        return f"is too weak (under {MIN_LENGTH} characters, or under {MIN_DIFFERENT_CHARACTERS} different ones)"
    return None


def check_secret_key(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    keys = [("SECRET_KEY", settings.SECRET_KEY)]
    keys += [(f"SECRET_KEY_FALLBACKS[{i}]", key) for i, key in enumerate(settings.SECRET_KEY_FALLBACKS)]
    for name, key in keys:
        problem = secret_key_problem(str(key))
        if problem is not None:
            errors.append(Error(f"{name} {problem}.", hint=HINT, id="healthcenter.E001"))
    return errors


# What the process's own database login may do to the access log. The log is append-only because the
# role the application runs as has no other privilege on it (healthcenter/dbroles.py); a process that
# logs in as the owner or a superuser could switch the trigger off and delete. Run by
# `manage.py check --deploy --database default`, which docker-compose.yml runs before gunicorn starts.
ACCESS_LOG_PRIVILEGE_SQL = """
SELECT r.rolsuper,
       pg_catalog.pg_get_userbyid(c.relowner) = current_user,
       has_table_privilege(c.oid, 'UPDATE'),
       has_table_privilege(c.oid, 'DELETE'),
       has_table_privilege(c.oid, 'TRUNCATE')
  FROM pg_catalog.pg_class c, pg_catalog.pg_roles r
 WHERE c.oid = 'healthcenter_accesslog'::regclass AND r.rolname = current_user
"""


def access_log_privilege_problems(cursor) -> list[str]:
    """What the current database user could do to the access log beyond adding and reading rows."""
    cursor.execute(ACCESS_LOG_PRIVILEGE_SQL)
    superuser, owner, *privileges = cursor.fetchone()
    problems = ["is a superuser"] if superuser else []
    if owner:
        problems.append("owns the access log (and may switch its trigger off)")
    problems += [
        f"may {verb} the access log"
        for verb, held in zip(("UPDATE", "DELETE", "TRUNCATE"), privileges, strict=True)
        if held
    ]
    return problems


def check_runtime_role(app_configs=None, databases=None, **kwargs) -> list[Error]:
    if not databases or "default" not in databases or settings.DEBUG:
        return []
    from django.db import connections

    with connections["default"].cursor() as cursor:
        problems = access_log_privilege_problems(cursor)
    if not problems:
        return []
    return [
        Error(
            f"The database user in DATABASE_URL {', '.join(problems)}.",
            hint="Run the application as the runtime role (RUNTIME_DATABASE_URL; manage.py grant_runtime_role) and "
            "keep the owner for migrate and the retention job (DATABASE_OWNER_URL). See README, Security.",
            id="healthcenter.E002",
        )
    ]
