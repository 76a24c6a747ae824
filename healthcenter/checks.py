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
