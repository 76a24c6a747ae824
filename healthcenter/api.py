"""The API's shared parts (issue 12): personal tokens, the role and scope check, throttling, cursor
pagination, optimistic concurrency and the one shape of every error. The resources themselves live in
each app's `api.py` and go through the same selectors (access decided and logged under the citizen),
services and display function as the pages; nothing here knows an app's models.

Every API view names the work it does (`access_work`, a healthcenter.access.Work), as the pages'
decorators do; tests/test_api_access.py walks the URLconf and fails on a view that does not."""

import datetime
import hashlib
import re
import secrets
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from rest_framework import authentication, exceptions, pagination, permissions, serializers, status, throttling
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from . import access
from .models import AccessAction, ApiScope, ApiToken, Role, User

# --- tokens ----------------------------------------------------------------------------------------------

TOKEN_PREFIX_LENGTH = 8


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def may_issue_tokens(user: User) -> bool:
    """Administrators issue and revoke tokens (DESIGN.md: they give people access)."""
    return user.is_active and (user.role == Role.ADMINISTRATOR or user.is_superuser)


@transaction.atomic
def api_token_issue(
    *, actor: User, user: User, name: str, scope: str, expires_on: datetime.date | None = None
) -> tuple[ApiToken, str]:
    """Issues a personal token for `user` and returns it with its secret, which is shown once and
    never stored (only its SHA-256)."""
    if not may_issue_tokens(actor):
        raise DjangoValidationError(_("Only an administrator can issue API tokens."))
    if scope not in ApiScope.values:
        raise DjangoValidationError({"scope": _("Choose one of the options.")})
    if not name.strip():
        raise DjangoValidationError({"name": _("Say what the token is for.")})
    if expires_on is not None and expires_on <= timezone.localdate():
        raise DjangoValidationError({"expires_on": _("The end date must be in the future.")})
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        scope=scope,
        prefix=secret[:TOKEN_PREFIX_LENGTH],
        digest=token_digest(secret),
        created_by=actor,
        expires_on=expires_on,
    )
    access.record(actor=actor, action=AccessAction.CREATE, what=f"API token {token.prefix} issued to {user.username}")
    return token, secret


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    if not may_issue_tokens(actor):
        raise DjangoValidationError(_("Only an administrator can revoke API tokens."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        access.record(actor=actor, action=AccessAction.UPDATE, what=f"API token {token.prefix} revoked")
    return token


def _live_token(secret: str) -> ApiToken | None:
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(secret)).first()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    if token.expires_on is not None and token.expires_on < timezone.localdate():
        return None
    return token


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <secret>`. Each use is logged (one access-log row naming the token and
    the request; reads of a citizen's data add their own rows under the citizen) and stamps the
    token's last use."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Give the token as: Authorization: Bearer <token>."))
        token = _live_token(header[1])
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is unknown, expired or revoked."))
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        access.record(
            actor=token.user,
            action=AccessAction.VIEW if request.method in permissions.SAFE_METHODS else AccessAction.UPDATE,
            what=f"API {request.method} {request.path} (token {token.prefix})",
        )
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser's session, with its CSRF check on writes. A session still waiting for its second
    factor never reaches a view: the accounts middleware sends it to the code step first."""

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied:
            # DRF's text quotes Django's reason in English; say what to send, in the request's language.
            raise exceptions.PermissionDenied(
                _("A write with the session needs its CSRF token in the X-CSRFToken header."), code="csrf_failed"
            ) from None


# --- the role, the scope, the rate -------------------------------------------------------------------------


class WorkPermission(permissions.BasePermission):
    """The view's `access_work` (a healthcenter.access.Work, or a set of them of which the role must have
    one) for the user's role, as the pages decide it:
    a role that may not gets 404 and a denied access-log row. A read-only token may only read. The
    care relation to a citizen is decided by the app's `*_for` selector, as on the pages."""

    def has_permission(self, request, view) -> bool:
        work = getattr(view, "access_work", None)
        if work is None:
            raise ImproperlyConfigured(f"{type(view).__name__} names no access_work")
        user = request.user
        if not (user and user.is_authenticated):
            raise exceptions.NotAuthenticated
        works = work if isinstance(work, (frozenset, set, tuple)) else (work,)
        if not any(access.may(user, each) for each in works):
            access.deny(user, what=request.path, action=_action(request))
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is not None and token.scope != ApiScope.WRITE and request.method not in permissions.SAFE_METHODS:
            raise exceptions.PermissionDenied(_("This token may only read."), code="read_only_token")
        return True


def _action(request) -> AccessAction:
    return AccessAction.VIEW if request.method in permissions.SAFE_METHODS else AccessAction.UPDATE


class PerTokenThrottle(throttling.SimpleRateThrottle):
    """A rate per token (per user for the browser's session), counted in Redis so that every worker
    process counts together."""

    scope = "token"
    cache = caches["throttle"]

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class Cursor(pagination.CursorPagination):
    """Stable pages over changing data, whatever the list's length (a cursor, not an offset)."""

    page_size = settings.REST_FRAMEWORK.get("PAGE_SIZE", 50)
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"


# --- optimistic concurrency ---------------------------------------------------------------------------


def etag(version: int) -> str:
    return f'W/"{version}"'


def versioned(serializer: serializers.Serializer, *, status: int = 200) -> Response:
    """The serialized record with its ETag (the version the client sends back to change it)."""
    return Response(serializer.data, status=status, headers={"ETag": etag(serializer.instance.version)})


_ETAG = re.compile(r'^\s*(?:W/)?"([0-9]{1,18})"\s*$')  # ASCII digits, few enough for int() and a bigint


def expected_version(request) -> int:
    """The version the client last read: `If-Match: W/"3"` (the ETag of the resource) or `version` in
    the body. A change without either is refused: the API never overwrites what the client has not
    seen."""
    header = request.headers.get("If-Match")
    if header is not None:
        match = _ETAG.match(header)
        if match is None:
            raise exceptions.ValidationError({"If-Match": [_('Give the ETag you read, e.g. W/"3".')]})
        return int(match.group(1))
    value = request.data.get("version") if hasattr(request.data, "get") else None
    if value is None:
        raise exceptions.ValidationError(
            {"version": [_('Give the version you last read (the field "version" or an If-Match header).')]}
        )
    try:
        return int(value)
    except (TypeError, ValueError):
        raise exceptions.ValidationError({"version": [_("A whole number is required.")]}) from None


# --- input ------------------------------------------------------------------------------------------------


def valid(serializer: serializers.Serializer) -> serializers.Serializer:
    """The serializer, validated: invalid input is a 400 with `fields` through exception_handler."""
    serializer.is_valid(raise_exception=True)
    return serializer


def valid_input(serializer_class, request, **kwargs) -> dict:
    """The request body, validated by `serializer_class` (kwargs: partial, instance, context...)."""
    return valid(serializer_class(data=request.data, **kwargs)).validated_data


# --- a refused write, logged as the pages log a refused form ------------------------------------------------


@contextmanager
def rejection_logged(user: User, patient, what: str, *, action: AccessAction = AccessAction.UPDATE):
    """Runs the write inside; when it is refused (the input serializer's or a service's
    ValidationError, a stale version) writes the pages' rejected row under the citizen
    (access.rejected) and lets the error through to exception_handler. `patient` may be None (a
    task about no citizen): then there is no one to log under."""
    try:
        yield
    except (DjangoValidationError, exceptions.ValidationError):
        if patient is not None:
            access.rejected(user, patient.public_id, what, action=action)
        raise


# --- the language of the answer ---------------------------------------------------------------------------


class LanguageNegotiation(DefaultContentNegotiation):
    """The API answers in the language the client asks for. The pages ignore the browser's
    Accept-Language (healthcenter.middleware.DanishFirstLocaleMiddleware: shared PCs are set up in
    English, the staff work in Danish); an API client has no language switch, so here a language
    cookie (the browser's choice) comes first, then Accept-Language, then Danish. Negotiated with the
    media type, before authentication, so that every message of the request (401 included) is in it."""

    def select_renderer(self, request, renderers, format_suffix=None):
        language = translation.get_language_from_request(request._request)
        translation.activate(language)
        request._request.LANGUAGE_CODE = translation.get_language()
        return super().select_renderer(request, renderers, format_suffix)


# --- one shape for every error ----------------------------------------------------------------------------


class Refused(exceptions.APIException):
    """A service's refusal that is about no one field (a clash, an appointment already closed): 400
    with the service's code and its message, e.g. {"code": "clash", "message": "Hanne Jensen already
    has an appointment on ..."}."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, message: str, code: str | None):
        super().__init__(message, code or self.default_code)


def _service_code(exc: DjangoValidationError) -> str | None:
    # A refusal of several messages keeps its code only as the exception's second argument (Django
    # stores no `code` on a list of errors): the clash of two professionals is one of those.
    code = getattr(exc, "code", None)
    if code is None and len(exc.args) > 1 and isinstance(exc.args[1], str):
        code = exc.args[1]
    return code


def _from_django(exc: DjangoValidationError, request) -> exceptions.APIException:
    """A service's ValidationError: a stale version is 409 (412 with If-Match), field errors are 400
    with `fields`, any other refusal 400 with the service's code (e.g. "clash", "closed")."""
    code = _service_code(exc)
    if code == "stale" or _codes(exc) == {"stale"}:
        conditional = request is not None and request.headers.get("If-Match") is not None
        code = "precondition_failed" if conditional else "conflict"
        error = exceptions.APIException(" ".join(exc.messages), code=code)
        error.status_code = status.HTTP_412_PRECONDITION_FAILED if conditional else status.HTTP_409_CONFLICT
        error.default_code = code
        return error
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError({field: list(messages) for field, messages in exc.message_dict.items()})
    return Refused(" ".join(exc.messages), code)


def _codes(exc: DjangoValidationError) -> set:
    return {error.code for error in exc.error_list} if hasattr(exc, "error_list") else set()


def exception_handler(exc, context):
    """Every error as {"code", "message", "fields"} in the request's language: a service's
    ValidationError is a 400 with its fields (or a 409/412 when someone saved in between), a refusal
    404 as on the pages."""
    from rest_framework.views import exception_handler as drf_exception_handler  # imports these settings

    request = context.get("request")
    if isinstance(exc, DjangoValidationError):
        exc = _from_django(exc, request)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    if isinstance(exc, exceptions.Throttled):
        # DRF's text is half translated ("... Expected available in N seconds." stays English).
        wait = exc.wait
        exc = exceptions.Throttled(wait=wait)
        if wait is None:
            message = _("Too many requests for this token: try again later.")
        else:
            message = ngettext(
                "Too many requests for this token: try again in %(seconds)d second.",
                "Too many requests for this token: try again in %(seconds)d seconds.",
                wait,
            ) % {"seconds": wait}
        exc.detail = exceptions.ErrorDetail(message, code="throttled")
    if isinstance(exc, OverflowError):
        # A date or time past what Python's dates hold (0001-01-01T00:00 in Copenhagen is year 0 in UTC: DRF's
        # DateTimeField overflows converting it) is the client's input out of range, not a server error.
        exc = exceptions.ValidationError(
            {"non_field_errors": [_("A date, time or number is outside what can be stored.")]}, code="out_of_range"
        )
    if isinstance(exc, exceptions.ParseError):
        # DRF's text quotes the JSON decoder in English; the client needs to know that the body is not JSON.
        exc = exceptions.ParseError(_("The request body is not valid JSON."))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    response.data = error_body(exc, response.data)
    return response


def error_body(exc, data) -> dict:
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.APIException):
        detail = exc.get_codes()
        code = detail if isinstance(detail, str) else code
    fields: dict = {}
    message = ""
    if isinstance(data, dict) and "detail" not in data:
        for field, messages in data.items():
            texts = _texts(messages)
            if field == "non_field_errors":
                message = " ".join(texts)
            else:
                fields[field] = texts
        message = message or _("Some fields are not valid.")
        code = "invalid" if code in ("invalid", "error") else code
    elif isinstance(data, dict):
        message = str(data["detail"])
    elif isinstance(data, list):
        message = " ".join(str(m) for m in data)
    return {"code": str(code), "message": message, "fields": fields}


def _texts(messages, where: str = "") -> list[str]:
    """A field's messages as text. A nested serializer's or a list's errors ({0: {"value": [...]}}) are
    their messages, each after where it is ("0.value: ..."), not the repr of DRF's error objects."""
    if isinstance(messages, dict):
        return [text for key, inner in messages.items() for text in _texts(inner, f"{where}{key}.")]
    if isinstance(messages, list):
        return [text for inner in messages for text in _texts(inner, where)]
    return [f"{where[:-1]}: {messages}" if where else str(messages)]


LOGGED_DENIAL = gettext_noop("API request refused")


# --- the schema: every operation's errors, the two ways in ------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """The one shape of every error (exception_handler): a stable `code` to branch on, a `message` in
    the request's language (Danish, or English with Accept-Language: en) and the field errors."""

    def get_fields(self):
        # "fields" is also a Serializer attribute, hence declared here rather than on the class.
        return {
            "code": serializers.CharField(
                help_text="Stable code, e.g. invalid, parse_error, not_authenticated, authentication_failed, "
                "read_only_token, csrf_failed, not_found, method_not_allowed, unsupported_media_type, conflict, "
                "precondition_failed, throttled."
            ),
            "message": serializers.CharField(help_text="For people, in the request's language."),
            "fields": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                help_text="Field name -> its messages (empty unless the input was invalid).",
            ),
        }

    class Meta:
        ref_name = "Error"
