"""The OpenAPI schema and its two documentation pages, and what makes the schema complete: every
operation's error responses (AutoSchema, settings DEFAULT_SCHEMA_CLASS) and the two ways in as
securitySchemes (bearer token, session cookie).

The pages load nothing but our own files (drf-spectacular's sidecar, served as static files) and no
inline script or style, so that the strict Content-Security-Policy holds for them too
(tests/browser/test_api_docs.py): Swagger UI fetches its start-up script from its own URL
(SpectacularSwaggerSplitView), ReDoc starts from static/api/redoc-init.js; the page's few rules are in
static/api/docs.css. These modules sit apart from healthcenter/api.py because drf-spectacular's schema
module reads the REST_FRAMEWORK settings, which name healthcenter.api's classes, when it is imported."""

from django.conf import settings
from django.urls import path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import permissions

from .access import Work
from .api import (
    ErrorSerializer,
    PerTokenThrottle,
    SessionAuthentication,
    TokenAuthentication,
    WorkPermission,
    exception_handler,
)

ERROR_DESCRIPTIONS = {
    "400": "Invalid input (code invalid, with `fields`), malformed JSON (parse_error) or a bad filter value.",
    "401": "No credentials, or a token that is unknown, expired, revoked or whose user is deactivated.",
    "403": "A read-only token tried to write (code read_only_token), or a session's write lacked its CSRF token "
    "(csrf_failed).",
    "404": "Not found, or outside the user's role or care relation: it does not exist for this user.",
    "409": "Someone saved in between (code conflict): the version sent is not the current one; nothing changed.",
    "412": "As 409, when the version was sent as If-Match (code precondition_failed).",
    "429": "Too many requests for this token (code throttled); wait the seconds in Retry-After.",
}


def error_statuses(method: str, *, detail: bool, filtered: bool) -> list[str]:
    """The errors an operation can answer, as the platform produces them (tests/test_api_platform.py
    produces each kind; tests/test_api_schema.py holds every operation to this list):
    - every operation: 401 (credentials), 404 (role, care relation, unknown id), 429 (rate);
    - a list with filters: 400 for a bad filter value;
    - a write: 400 (input, malformed JSON) and 403 (read-only token, CSRF);
    - a write to something that exists (PUT, PATCH, DELETE, a POST action on one object of a viewset such
      as a transition): 409/412, as it needs the version. A view that answers 409 elsewhere declares it
      (extend_schema responses) and gets the Error body for it here."""
    codes = {"401", "404", "429"}
    if method in permissions.SAFE_METHODS:
        if filtered:
            codes.add("400")
    else:
        codes |= {"400", "403"}
        if method != "POST" or detail:
            codes |= {"409", "412"}
    return sorted(codes)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema with the error responses of every operation (ERROR_DESCRIPTIONS, all
    with ErrorSerializer) added to what the view declares; a declared error without a body gets it."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response" or self.view.get_exception_handler() is not exception_handler:
            # Another error shape (FHIR's OperationOutcome) documents its own errors.
            return responses
        view = self.view
        detail = bool(getattr(view, "detail", False)) and getattr(view, "action", None) is not None
        filtered = (
            self._is_list_view()
            and self.method == "GET"
            and bool(getattr(view, "filterset_fields", None) or getattr(view, "filterset_class", None))
        )
        for code in error_statuses(self.method, detail=detail, filtered=filtered):
            if code in responses and responses[code].get("content"):
                continue
            response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
            response["description"] = ERROR_DESCRIPTIONS[code]
            if code == "429":
                response["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
                }
            responses[code] = response
        return dict(sorted(responses.items()))


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token issued by an administrator (read or write scope).",
        }


class SessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = SessionAuthentication
    name = "session"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The browser's session (signed in, with the second factor where the role needs it); "
            "writes need the CSRF token in the X-CSRFToken header.",
        }


# --- the schema and its pages ------------------------------------------------------------------------------

# Imported after AutoSchema: drf-spectacular's views resolve DEFAULT_SCHEMA_CLASS (this module's) on import.
from drf_spectacular.views import (  # noqa: E402
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)


class _Documented:
    # The schema describes the API, no citizen's data: every role that does some work through the API
    # may read it (professionals and coordinators the records, managers the figures and stories,
    # administrators the access log). Signed in, as for any other API view.
    access_work = frozenset(Work)
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [WorkPermission]
    throttle_classes = [PerTokenThrottle]


class Schema(_Documented, SpectacularAPIView):
    pass


class Swagger(_Documented, SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script as a file of its own (this URL with ?script), so the
    Content-Security-Policy needs no inline script; the page's template has no inline style."""

    template_name = "api/swagger_ui.html"


# The one <style> ReDoc's bundle writes with fixed text (its webpack style-loader's CSS), allowed by its
# hash on the ReDoc page only. Another sidecar version may write another text: tests/browser/test_api_docs.py
# then fails on the violation, whose message names the hash to put here.
REDOC_STYLE_HASHES = ["'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='"]


class Redoc(_Documented, SpectacularRedocView):
    """ReDoc started by a static script of ours (static/api/redoc-init.js, the schema's address in a
    data attribute). Its search runs in a worker made from a blob, which the policy refuses (script-src
    'self'), so search is off; its side menu shows Redocly's logo from their CDN, which the start-up
    script keeps from being requested."""

    template_name = "api/redoc.html"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response._csp_update = {"style-src": REDOC_STYLE_HASHES}
        return response


app_name = "api"

urlpatterns = [
    path("schema/", Schema.as_view(), name="schema"),
    path("docs/", Swagger.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", Redoc.as_view(url_name="api:schema"), name="redoc"),
]
