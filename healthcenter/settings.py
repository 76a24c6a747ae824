"""One settings file. Every value that differs between machines comes from the environment
through the small typed helpers below, which refuse values they cannot read."""

import datetime
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from healthcenter.content_security import plotly_style_hashes

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Environment variable {name} is required")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "insecure-development-key" if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "healthcenter.accounts.apps.VerifiedAdminConfig",  # django.contrib.admin behind our sign-in and second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "pgtrigger",
    "pghistory",
    # Accounts (issue 10): lockout after failed logins, second factor (authenticator app, backup codes)
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",  # the API (issue 12): healthcenter/api.py and each app's api.py
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc from the installed package, no CDN
    "csp",  # Content-Security-Policy header (CONTENT_SECURITY_POLICY below) and its system checks
    "healthcenter",
    "healthcenter.outbox",  # jobs asked for in a transaction, handed to Celery after it (issue 10, faults)
    "patients",
    "scheduling",  # appointments, rooms and group courses (issue 13)
    "coordination",
    "reporting",
    "fhirserver",  # FHIR R4 read (issue 12), app label "fhir"
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "healthcenter.middleware.DanishFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "healthcenter.middleware.NoStoreWhenSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Accounts (issue 10): idle and absolute session limits, then the second factor before anything else.
    "healthcenter.accounts.middleware.SessionLifetimeMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "healthcenter.accounts.middleware.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Attaches the acting user to every history row the database triggers write.
    "pghistory.middleware.HistoryMiddleware",
    # Turns a locked-out login into the lockout page (AXES_LOCKOUT_CALLABLE); last, as django-axes asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "healthcenter.urls"
WSGI_APPLICATION = "healthcenter.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Use `make demo` / `make test`, which start an embedded "
        "PostgreSQL when no server is configured, or point DATABASE_URL at PostgreSQL."
    )
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL")

REPLICA_DATABASE_URL = os.environ.get("REPLICA_DATABASE_URL", "")
if REPLICA_DATABASE_URL:
    DATABASES["replica"] = dj_database_url.parse(REPLICA_DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    # In tests the replica is the primary itself, so that what was just written can be read.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["reporting.routers.ReplicaRouter"]

# --- Database roles and the access log's retention (issue 10: healthcenter/dbroles.py, healthcenter/retention.py) ---
# DATABASE_URL is the role this process logs in as: in production the runtime role, which may add to the access
# log but never change or remove a row. `migrate` runs with DATABASE_URL = the owner and RUNTIME_DATABASE_URL = the
# runtime role's URL, and then creates or updates that role and its privileges. DATABASE_OWNER_URL gives a process
# (the Celery worker) the owner as the "owner" alias, which only the retention job uses; without it that job runs
# on DATABASE_URL, which must then be the owner. Unset, everything runs as one role (tests, a developer).
RUNTIME_DATABASE_URL = os.environ.get("RUNTIME_DATABASE_URL", "")
DATABASE_OWNER_URL = os.environ.get("DATABASE_OWNER_URL", "")
if DATABASE_OWNER_URL:
    DATABASES["owner"] = dj_database_url.parse(DATABASE_OWNER_URL, conn_max_age=0)
    DATABASES["owner"]["TEST"] = {"MIRROR": "default"}
# Access-log entries stay in the database this many days, then move to a compressed archive file
# (default five years, leap days included; the rule is in healthcenter/retention.py).
ACCESS_LOG_RETENTION_DAYS = env_int("ACCESS_LOG_RETENTION_DAYS", 1827)
if ACCESS_LOG_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("ACCESS_LOG_RETENTION_DAYS must be at least 1")
ACCESS_LOG_ARCHIVE_DIR = Path(env_str("ACCESS_LOG_ARCHIVE_DIR", str(BASE_DIR / ".local" / "access-log-archive")))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "healthcenter.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "da"
LANGUAGES = [("da", _("Danish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["healthcenter.formats"]
TIME_ZONE = "Europe/Copenhagen"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Third-party front-end code comes from installed Python packages, never from a CDN.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "healthcenter.staticfinders.VendorFinder",
]
WHITENOISE_USE_FINDERS = DEBUG

# --- Caches and sessions (issue 11) ---
# Pages never need Redis (tests/test_faults_redis_down.py: with Redis down people still work), so the
# caches are each process's own memory. That suits what is cached: rendered fragments of a citizen's
# record, whose keys hold the user, the language and a version of the record read from PostgreSQL on
# every request (patients.selectors.patient_record_version), so a worker never serves a fragment from
# before a change another worker made, nor one user's fragment to another. The tags' timeout (ten
# minutes) only bounds what the version does not cover (a colleague's renamed account, a catalogue label).
# Sessions stay in PostgreSQL (one primary-key read per request, a write at most once a minute): a
# session in one worker's memory would outlive a logout handled by the other, and a cookie session
# would put the search term (a name or a CPR number) and flash messages into the browser.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
    "template_fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "template-fragments",
        # About 40 kB per patient page: at most ~40 MB per worker.
        "OPTIONS": {"MAX_ENTRIES": 1000},
    },
}

# Flash messages can name a citizen: keep them server-side, not in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# --- Headers and deployment (issue 10) ---
# X-Forwarded-Proto is believed only when the operator says a proxy sets it: otherwise any client could
# send "https" over plain HTTP and pass for a secure request. Only trust it when the app can be reached
# through the proxy alone (docker-compose.yml publishes gunicorn on 127.0.0.1 for that reason) and the
# proxy overwrites the header.
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Only our own files run: no inline script, no inline event handler, no eval (htmx is told not to use
# it, see <meta name="htmx-config"> in base.html). No inline styles either, except the two <style> elements
# plotly.js adds itself, allowed by their hashes (healthcenter/content_security.py). img-src allows data: for
# Bootstrap's icons (SVG data URIs in its CSS) and plotly's image export. tests/browser/test_csp.py loads the
# main pages in Chromium and fails on any violation.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF, *plotly_style_hashes()],
        "img-src": [csp.SELF, "data:"],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        "form-action": [csp.SELF],
    }
}

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# The API's rate per token, counted together by every worker process.
CACHES["throttle"] = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": REDIS_URL,
    "KEY_PREFIX": "throttle",
}
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker killed in the middle of a job never acknowledges its message (acks late), and Redis hands
# the message out again after the visibility timeout. It must be longer than the longest job, or a job
# still running is handed to a second worker as well (harmless, as the jobs are idempotent and
# serialised by PostgreSQL locks, but wasted): the nightly full recomputation takes about half a minute
# for the demo's 500 citizens. A killed pool process (the worker itself survives) gives its job back at
# once (reject on worker lost). The periodic jobs do not rely on this: the next run redoes what a killed
# one left undone. Short socket timeouts: a Redis that vanishes without closing the connection is noticed.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 30 * 60),
    "socket_connect_timeout": 5,
    "socket_timeout": 30,
}
# The whole beat schedule lives here; every entry is also a management command.
CELERY_BEAT_SCHEDULE = {
    "evaluate-care-gaps": {
        "task": "coordination.tasks.evaluate_care_gaps_task",
        "schedule": 60 * 15,
    },
    "compute-rollups": {
        "task": "reporting.tasks.compute_rollups_task",
        "schedule": 60 * 60,
    },
    "recompute-rollups-nightly": {
        "task": "reporting.tasks.recompute_rollups_task",
        "schedule": crontab(hour=2, minute=30),
    },
    "relay-outbox": {
        "task": "healthcenter.outbox.tasks.relay_jobs",
        "schedule": 60,
    },
    "clear-expired-sessions": {
        "task": "healthcenter.tasks.clear_expired_sessions",
        "schedule": 60 * 60 * 6,
    },
    "forget-old-login-records": {
        "task": "healthcenter.tasks.forget_old_login_records",
        "schedule": crontab(hour=3, minute=45),
    },
    # Runs as the owner (DATABASE_OWNER_URL); see healthcenter/retention.py.
    "archive-access-log": {
        "task": "healthcenter.tasks.archive_access_log",
        "schedule": crontab(hour=3, minute=15),
    },
}


# --- Accounts (issue 10): passwords, lockout, second factor, session lifetimes ---
# Argon2 for new and changed passwords; older PBKDF2 hashes still verify and are rehashed at the next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
if "SESSION_COOKIE_AGE" in os.environ:
    raise ImproperlyConfigured("SESSION_COOKIE_AGE is replaced by SESSION_IDLE_MINUTES and SESSION_MAX_HOURS")
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 30)
# Failures from one address, against any accounts, before the address is locked; raise it where the PCs
# reach the app through one NAT address (healthcenter.accounts.lockout.AccountAndAddressHandler).
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", LOGIN_FAILURE_LIMIT)
# How many proxies of ours stand in front of the app, each adding to X-Forwarded-For. 0 (the default):
# none, the client is REMOTE_ADDR and X-Forwarded-For is ignored, since anyone can send it.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# django-axes (AXES_* below) records every sign-in and failed sign-in with address and browser: personal
# data kept for following up an incident, forgotten after this many days by the nightly
# forget-old-login-records job.
LOGIN_RECORD_RETENTION_DAYS = env_int("LOGIN_RECORD_RETENTION_DAYS", 90)
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_MINUTES", 30) * 60
SESSION_ABSOLUTE_TIMEOUT = env_int("SESSION_MAX_HOURS", 12) * 60 * 60
for _name, _value in [
    ("LOGIN_FAILURE_LIMIT", LOGIN_FAILURE_LIMIT),
    ("LOGIN_LOCKOUT_MINUTES", LOGIN_LOCKOUT_MINUTES),
    ("LOGIN_ADDRESS_FAILURE_LIMIT", LOGIN_ADDRESS_FAILURE_LIMIT),
    # 0 or less would put the cut-off at or after now: the job would forget every record, open lockouts too.
    ("LOGIN_RECORD_RETENTION_DAYS", LOGIN_RECORD_RETENTION_DAYS),
    ("SESSION_IDLE_MINUTES", SESSION_IDLE_TIMEOUT),
    ("SESSION_MAX_HOURS", SESSION_ABSOLUTE_TIMEOUT),
]:
    if _value <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number")
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more")

AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
# Locked per account and, apart from that, per address: guessing one password and trying one password
# on many accounts are both stopped. A successful login clears its own account's failures only
# (healthcenter.accounts.signals), from every address, so that the typos of everyone behind one municipal
# NAT address do not add up to a lockout. Not axes' reset on success, which also clears the address's
# failures against other accounts: guess four times at a colleague, sign in as oneself, and again.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "healthcenter.accounts.lockout.AccountAndAddressHandler"
AXES_COOLOFF_TIME = datetime.timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "healthcenter.accounts.lockout.client_ip_address"
AXES_LOCKOUT_CALLABLE = "healthcenter.accounts.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429

OTP_TOTP_ISSUER = env_str("TOTP_ISSUER", "Sundhedscenter")
# The number citizens call to cancel or move an appointment, printed in every invitation letter
# (scheduling). The demo's is made up; a real centre must set its own.
CENTRE_PHONE = env_str("CENTRE_PHONE", "70 20 30 40" if DEBUG else None).strip()
if not CENTRE_PHONE:
    raise ImproperlyConfigured("Environment variable CENTRE_PHONE is required")
# Administrators may remove someone's lost authenticator in the admin, but never read its secret.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Idle limit: SESSION_COOKIE_AGE, renewed by healthcenter.accounts.middleware.SessionLifetimeMiddleware
# at most once a minute while the person makes requests, not on every request (no
# SESSION_SAVE_EVERY_REQUEST): the badge htmx polls every minute would keep an abandoned page signed in.
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_PASSIVE_URL_NAMES = ["coordination:news_badge"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Faults (issue 10): a database outage answers 503 and the app reconnects by itself ---
# healthcenter.outage turns a lost database into a 503 page (handler500 in urls.py too) and drops the
# broken connection. A kept connection is tested before a request uses it, so the first request after a
# PostgreSQL restart does not fail on a dead socket; an unreachable server (not only a refused port)
# fails a request within seconds instead of holding a worker. tests/test_outage.py restarts a proxy.
# Before django-axes, which asks to be last; only its process_exception matters, for errors in views.
_AXES = "axes.middleware.AxesMiddleware"
MIDDLEWARE.insert(
    MIDDLEWARE.index(_AXES) if _AXES in MIDDLEWARE else len(MIDDLEWARE),
    "healthcenter.outage.DatabaseUnavailableMiddleware",
)
for _database in DATABASES.values():
    _database["CONN_HEALTH_CHECKS"] = True
    _database.setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))


# --- the API (issue 12) ---------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "healthcenter.api.TokenAuthentication",
        "healthcenter.api.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["healthcenter.api.WorkPermission"],
    "DEFAULT_THROTTLE_CLASSES": ["healthcenter.api.PerTokenThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env_str("API_RATE", "600/minute")},
    "DEFAULT_PAGINATION_CLASS": "healthcenter.api.Cursor",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "healthcenter.api.LanguageNegotiation",
    "EXCEPTION_HANDLER": "healthcenter.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "healthcenter.api_docs.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Sundhedscenter API",
    "DESCRIPTION": (
        "The health centre's records, coordination, calendar and figures. Authenticate with a personal token "
        "issued by an administrator (the header `Authorization: Bearer` followed by the token), or the browser's "
        "session. Outside the care relation a citizen does not exist (404). Every error has the shape "
        "{code, message, fields}."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Several models have a "kind" or a "status": each choice set gets its model's name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "PatientStatusEnum": "patients.models.PatientStatus",
        "ConsentKindEnum": "patients.models.ConsentKind",
        "ConditionKindEnum": "patients.models.ConditionKind",
        "MeasurementKindEnum": "patients.models.MeasurementKind",
        "EncounterKindEnum": "patients.models.EncounterKind",
        "GoalStatusEnum": "patients.models.GoalStatus",
        "AppointmentStatusEnum": "scheduling.models.AppointmentStatus",
        "CourseStatusEnum": "scheduling.models.CourseStatus",
        "ParticipantStatusEnum": "scheduling.models.ParticipantStatus",
        "TaskStatusEnum": "coordination.models.TaskStatus",
        "ReferralStatusEnum": "coordination.models.ReferralStatus",
        "IndicatorKindEnum": "reporting.models.IndicatorKind",
        "StoryStatusEnum": "reporting.models.StoryStatus",
    },
}
