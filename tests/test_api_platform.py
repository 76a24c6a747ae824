"""The API platform (issue 12, healthcenter/api.py): personal tokens (issued and revoked by an
administrator, stored hashed, expiring, dead with their user), every use logged, the read-only scope,
the rate per token, the one error shape in the request's language, malformed input, the browser's
session with its CSRF check, and the admin where tokens are issued and revoked.

The error cases that need a write (400 with fields, 403 read-only, 409/412) are produced on a probe
resource of this module, built only of the platform's parts (WorkPermission, expected_version, etag,
a service's stale ValidationError), so that they test the platform and not one app's endpoint; the
others go through the real citizens' endpoints (patients/api.py)."""

import datetime
import hashlib
import uuid

import pytest
from django.core.cache import caches
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.test import Client
from django.urls import include, path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

import healthcenter.urls
from healthcenter.access import Work
from healthcenter.api import PerTokenThrottle, api_token_issue, api_token_revoke, etag, expected_version
from healthcenter.models import AccessLog, AccessOutcome, ApiScope, ApiToken
from patients.services import stale_error

from .conftest import client_for

# --- a probe resource of the platform's parts only ----------------------------------------------------------

PROBE_VERSION = 3


class ProbeSerializer(serializers.Serializer):
    n = serializers.IntegerField()


class ProbeViewSet(viewsets.ViewSet):
    access_work = Work.CITIZENS

    def list(self, request):
        return Response({"version": PROBE_VERSION}, headers={"ETag": etag(PROBE_VERSION)})

    def create(self, request):
        serializer = ProbeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.data, status=201)

    def partial_update(self, request, pk=None):
        if expected_version(request) != PROBE_VERSION:
            raise stale_error()
        serializer = ProbeSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response({"version": PROBE_VERSION + 1})

    def destroy(self, request, pk=None):
        if expected_version(request) != PROBE_VERSION:
            raise stale_error()
        return Response(status=204)


_router = SimpleRouter()
_router.register("probes", ProbeViewSet, basename="probe")
urlpatterns = [
    path("api/probe/", include((_router.urls, "api-probe"))),
    *healthcenter.urls.urlpatterns,
]

PROBES = "/api/probe/probes/"
PROBE = "/api/probe/probes/1/"
CITIZENS = "/api/v1/citizens/"


@pytest.fixture(autouse=True)
def _probe_urls(settings):
    settings.ROOT_URLCONF = __name__


def clear_rate() -> None:
    """The rate is counted in Redis (the REDIS_URL's database, a helper's own in development): each test
    starts with no requests counted. Only the throttle's own keys are deleted, never the whole database
    (the Celery broker may share it)."""
    cache = caches["throttle"]
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_rate():
    clear_rate()
    yield
    clear_rate()


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def write_secret(administrator, member) -> str:
    return api_token_issue(actor=administrator, user=member, name="care system", scope=ApiScope.WRITE)[1]


@pytest.fixture
def read_secret(administrator, member) -> str:
    return api_token_issue(actor=administrator, user=member, name="dashboard", scope=ApiScope.READ)[1]


def error(response, status: int) -> dict:
    """The one shape of every error, nothing else in it."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    assert all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in body["fields"].values())
    return body


def danish(msgid: str) -> str:
    with translation.override("da"):
        return gettext(msgid)


# --- tokens: issue, store, revoke, expire ----------------------------------------------------------------


def test_an_issued_token_keeps_only_its_prefix_and_digest(administrator, member):
    token, secret = api_token_issue(actor=administrator, user=member, name="care system", scope=ApiScope.READ)
    token.refresh_from_db()
    assert len(secret) >= 40
    assert token.prefix == secret[:8]
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    # Nowhere in the database: not in the token's row, not in the access log.
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text FROM healthcenter_apitoken t")
        rows = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT string_agg(what, ' ') FROM healthcenter_accesslog")
        log = cursor.fetchone()[0]
    assert rows and not any(secret in row for row in rows)
    assert secret not in log and f"API token {token.prefix} issued to {member.username}" in log


def test_only_an_administrator_issues_and_revokes(administrator, member, colleague):
    with pytest.raises(DjangoValidationError):
        api_token_issue(actor=member, user=member, name="mine", scope=ApiScope.WRITE)
    token, _secret = api_token_issue(actor=administrator, user=member, name="x", scope=ApiScope.READ)
    with pytest.raises(DjangoValidationError):
        api_token_revoke(actor=colleague, token=token)
    with pytest.raises(DjangoValidationError):
        api_token_issue(actor=administrator, user=member, name="x", scope="admin")
    with pytest.raises(DjangoValidationError):
        api_token_issue(actor=administrator, user=member, name=" ", scope=ApiScope.READ)
    with pytest.raises(DjangoValidationError):
        api_token_issue(
            actor=administrator, user=member, name="x", scope=ApiScope.READ, expires_on=timezone.localdate()
        )


def test_every_use_is_logged_once_naming_the_token(administrator, member, patient):
    token, secret = api_token_issue(actor=administrator, user=member, name="care system", scope=ApiScope.READ)
    assert token.last_used_at is None
    client = Client()
    for request in range(1, 3):
        assert client.get(CITIZENS, **bearer(secret)).status_code == 200
        uses = AccessLog.objects.filter(what__contains=f"(token {token.prefix})")
        assert uses.count() == request
        assert uses.filter(user=member).count() == request
    assert client.get(f"{CITIZENS}{patient.public_id}/", **bearer(secret)).status_code == 200
    assert AccessLog.objects.filter(what=f"API GET {CITIZENS}{patient.public_id}/ (token {token.prefix})").count() == 1
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("how", ["revoked", "expired", "user deactivated", "unknown", "malformed"])
def test_a_dead_token_is_refused_with_401(administrator, member, how):
    token, secret = api_token_issue(actor=administrator, user=member, name="care system", scope=ApiScope.WRITE)
    assert Client().get(CITIZENS, **bearer(secret)).status_code == 200
    header = bearer(secret)
    if how == "revoked":
        api_token_revoke(actor=administrator, token=token)
        assert AccessLog.objects.filter(what=f"API token {token.prefix} revoked", user=administrator).exists()
    elif how == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_on=timezone.localdate() - datetime.timedelta(days=1))
    elif how == "user deactivated":
        member.is_active = False
        member.save(update_fields=["is_active"])
    elif how == "unknown":
        header = bearer(secret[:-2] + "xx")
    else:
        header = {"HTTP_AUTHORIZATION": f"Bearer {secret} extra"}
    logged = AccessLog.objects.count()
    response = Client().get(CITIZENS, **header)
    body = error(response, 401)
    assert body["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")
    # A refused token acted as no one: no use is logged.
    assert AccessLog.objects.count() == logged


def test_a_token_valid_until_today_still_works(administrator, member):
    token, secret = api_token_issue(
        actor=administrator,
        user=member,
        name="x",
        scope=ApiScope.READ,
        expires_on=timezone.localdate() + datetime.timedelta(days=1),
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_on=timezone.localdate())
    assert Client().get(CITIZENS, **bearer(secret)).status_code == 200


# --- the scope, the role ---------------------------------------------------------------------------------


def test_a_read_only_token_reads_but_never_writes(read_secret, write_secret):
    client = Client()
    assert client.get(PROBES, **bearer(read_secret)).status_code == 200
    for method, url in (("post", PROBES), ("patch", PROBE), ("put", PROBE), ("delete", PROBE)):
        body = error(
            getattr(client, method)(
                url, {"n": 1, "version": 3}, content_type="application/json", **bearer(read_secret)
            ),
            403,
        )
        assert body["code"] == "read_only_token"
        assert body["message"] == danish("This token may only read.")
    assert client.post(PROBES, {"n": 1}, content_type="application/json", **bearer(write_secret)).status_code == 201
    assert (
        client.patch(PROBE, {"version": 3}, content_type="application/json", **bearer(write_secret)).status_code == 200
    )
    assert client.delete(PROBE, HTTP_IF_MATCH='W/"3"', **bearer(write_secret)).status_code == 204


@pytest.mark.parametrize("persona", ["manager", "administrator"])
def test_a_role_without_the_work_gets_404_and_a_denied_row(request, persona):
    user = request.getfixturevalue(persona)
    administrator = request.getfixturevalue("administrator")
    _token, secret = api_token_issue(actor=administrator, user=user, name="x", scope=ApiScope.WRITE)
    for method in ("get", "post"):
        body = error(getattr(Client(), method)(CITIZENS, **bearer(secret)), 404)
        assert body["code"] == "not_found"
    denied = AccessLog.objects.filter(user=user, outcome=AccessOutcome.DENIED, what=CITIZENS)
    assert denied.count() == 2


def test_an_outsider_does_not_find_the_citizen(administrator, outsider, patient):
    _token, secret = api_token_issue(actor=administrator, user=outsider, name="x", scope=ApiScope.READ)
    body = error(Client().get(f"{CITIZENS}{patient.public_id}/", **bearer(secret)), 404)
    assert body == {"code": "not_found", "message": "Ikke fundet.", "fields": {}}
    assert AccessLog.objects.filter(
        user=outsider, outcome=AccessOutcome.DENIED, patient_public_id=patient.public_id
    ).exists()


# --- the rate ------------------------------------------------------------------------------------------


def test_each_token_has_its_rate_and_then_gets_429(monkeypatch, administrator, member, write_secret):
    monkeypatch.setattr(PerTokenThrottle, "THROTTLE_RATES", {"token": "3/minute"})
    other = api_token_issue(actor=administrator, user=member, name="other system", scope=ApiScope.READ)[1]
    client = Client()
    for _ in range(3):
        assert client.get(PROBES, **bearer(write_secret)).status_code == 200
    response = client.get(PROBES, **bearer(write_secret))
    body = error(response, 429)
    assert body["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    seconds = int(response["Retry-After"])
    english_text = f"Too many requests for this token: try again in {seconds} seconds."
    with translation.override("da"):
        danish_text = translation.ngettext(
            "Too many requests for this token: try again in %(seconds)d second.",
            "Too many requests for this token: try again in %(seconds)d seconds.",
            seconds,
        ) % {"seconds": seconds}
    assert body["message"] == danish_text
    english = error(client.get(PROBES, HTTP_ACCEPT_LANGUAGE="en", **bearer(write_secret)), 429)
    assert english["message"] in (english_text, english_text.replace(str(seconds), str(seconds - 1)))
    # Another token of the same user counts on its own.
    assert client.get(PROBES, **bearer(other)).status_code == 200


def test_the_rate_is_shared_by_a_users_session(monkeypatch, member):
    monkeypatch.setattr(PerTokenThrottle, "THROTTLE_RATES", {"token": "2/minute"})
    first, second = client_for(member), client_for(member)
    assert first.get(PROBES).status_code == 200
    assert second.get(PROBES).status_code == 200
    assert error(first.get(PROBES), 429)["code"] == "throttled"


# --- one error shape, in the request's language --------------------------------------------------------


def cases(write_secret, patient) -> dict:
    """Each error status as a request: (method, url, data or raw body, headers)."""
    auth = bearer(write_secret)
    return {
        400: ("post", PROBES, {"n": "many"}, auth),
        401: ("get", CITIZENS, None, {}),
        403: None,  # read-only token: test_a_read_only_token_reads_but_never_writes, and CSRF below
        404: ("get", f"{CITIZENS}{uuid.uuid4()}/", None, auth),
        405: ("delete", CITIZENS, None, auth),
        409: ("patch", PROBE, {"n": 2, "version": 2}, auth),
        412: ("patch", PROBE, {"n": 2}, {**auth, "HTTP_IF_MATCH": 'W/"2"'}),
    }


EXPECTED = {
    # status: (code, Danish message, English message). None: the platform's own msgid, whose Danish is
    # in /work/notes/translations-*.json until the catalogue is compiled: the message is then the
    # catalogue's Danish for the English one (gettext under "da"), whatever the catalogue holds today.
    400: ("invalid", None, "Some fields are not valid."),
    401: (
        "not_authenticated",
        "Legitimation til autentificering blev ikke angivet.",
        "Authentication credentials were not provided.",
    ),
    404: ("not_found", "Ikke fundet.", "Not found."),
    405: ("method_not_allowed", 'Metoden "DELETE" er ikke tilladt.', 'Method "DELETE" not allowed.'),
    409: ("conflict", None, "Someone else saved this record while you were editing it."),
    412: ("precondition_failed", None, "Someone else saved this record while you were editing it."),
}


@pytest.mark.parametrize("status", [400, 401, 404, 405, 409, 412])
def test_errors_have_one_shape_in_danish_or_english(status, write_secret, patient):
    method, url, data, headers = cases(write_secret, patient)[status]
    code, message_da, message_en = EXPECTED[status]
    answers = {}
    for language in ("da", "en"):
        extra = {"HTTP_ACCEPT_LANGUAGE": language} if language == "en" else {}
        response = getattr(Client(), method)(url, data, content_type="application/json", **headers, **extra)
        answers[language] = error(response, status)
        assert answers[language]["code"] == code
        assert response["Content-Language"] == language
    if status in (409, 412):
        with translation.override("en"):
            stale = str(stale_error().messages[0])
        assert answers["da"]["message"] == danish(stale) != stale
        assert answers["en"]["message"] == stale
    elif message_da is None:
        assert answers["da"]["message"] == danish(message_en)
    else:
        assert answers["da"]["message"] == message_da
    assert answers["en"]["message"].startswith(message_en)
    if status == 400:
        assert answers["da"]["fields"] == {"n": ["Et gyldigt heltal er påkrævet."]}
        assert answers["en"]["fields"] == {"n": ["A valid integer is required."]}
    else:
        assert answers["da"]["fields"] == answers["en"]["fields"] == {}


def test_a_conflict_changes_nothing_and_names_the_versions(write_secret):
    # Without a version at all: 400 naming the field (the API never overwrites what was not read).
    body = error(Client().patch(PROBE, {"n": 2}, content_type="application/json", **bearer(write_secret)), 400)
    assert set(body["fields"]) == {"version"}
    body = error(
        Client().patch(PROBE, {"n": 2}, content_type="application/json", HTTP_IF_MATCH="3", **bearer(write_secret)),
        400,
    )
    assert set(body["fields"]) == {"If-Match"}
    # More digits than int() converts (Python's 4,300) is a malformed ETag too, not a 500.
    body = error(
        Client().patch(
            PROBE, {"n": 2}, content_type="application/json", HTTP_IF_MATCH=f'W/"{"9" * 5000}"', **bearer(write_secret)
        ),
        400,
    )
    assert set(body["fields"]) == {"If-Match"}
    assert (
        Client().patch(PROBE, {"n": 2}, content_type="application/json", HTTP_IF_MATCH='W/"3"', **bearer(write_secret))
    ).status_code == 200


@pytest.mark.parametrize(
    "body",
    ['{"n": 1', "not json", '{"n": }', "\xff\xfe", "[1, 2"],
)
def test_malformed_json_is_a_400_never_a_500(write_secret, body):
    response = Client().post(PROBES, body, content_type="application/json", **bearer(write_secret))
    answer = error(response, 400)
    assert answer["code"] == "parse_error"
    assert answer["message"] == danish("The request body is not valid JSON.")


def test_a_body_of_another_media_type_is_refused_in_the_shape(write_secret):
    response = Client().post(PROBES, "n=1", content_type="application/x-www-form-urlencoded", **bearer(write_secret))
    assert error(response, 415)["code"] == "unsupported_media_type"


def test_an_unknown_cursor_is_a_404_in_the_shape(write_secret, patient):
    body = error(Client().get(CITIZENS, {"cursor": "nonsense"}, **bearer(write_secret)), 404)
    assert body["code"] == "not_found"


def test_a_bad_filter_value_is_a_400_with_the_field(write_secret, patient):
    body = error(Client().get(CITIZENS, {"status": "asleep"}, **bearer(write_secret)), 400)
    assert set(body["fields"]) == {"status"}


# --- the browser's session ---------------------------------------------------------------------------


def test_the_session_reads_and_writes_with_its_csrf_token(member):
    client = client_for(member)
    client.handler.enforce_csrf_checks = True
    assert client.get(PROBES).status_code == 200
    body = error(client.post(PROBES, {"n": 1}, content_type="application/json"), 403)
    assert body["code"] == "csrf_failed"
    assert body["message"] == danish("A write with the session needs its CSRF token in the X-CSRFToken header.")
    # The token the pages get (their forms carry it), sent as the header the Swagger UI sends.
    client.get(reverse("home"), follow=True)
    csrf = client.cookies["csrftoken"].value
    response = client.post(PROBES, {"n": 1}, content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201, response.content


def test_a_session_without_credentials_is_401_not_a_login_redirect():
    response = Client().get(PROBES)
    assert error(response, 401)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


# --- the admin: issue once, list, revoke ----------------------------------------------------------------


def test_the_admin_issues_a_token_and_shows_the_secret_once(administrator, member):
    admin = client_for(administrator)
    add = reverse("admin:healthcenter_apitoken_add")
    assert admin.get(add).status_code == 200
    response = admin.post(
        add, {"user": member.pk, "name": "care system", "scope": ApiScope.WRITE, "expires_on": ""}, follow=False
    )
    assert response.status_code == 200, response.content
    token = ApiToken.objects.get()
    assert token.created_by == administrator and token.scope == ApiScope.WRITE and token.user == member
    secret = response.context["secret"]
    assert secret.startswith(token.prefix) and hashlib.sha256(secret.encode()).hexdigest() == token.digest
    assert secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert AccessLog.objects.filter(user=administrator, what__startswith=f"API token {token.prefix} issued").exists()
    # Never again: not on the token's page, not in the list.
    change = admin.get(reverse("admin:healthcenter_apitoken_change", args=[token.pk]))
    listing = admin.get(reverse("admin:healthcenter_apitoken_changelist"))
    for page in (change, listing):
        assert page.status_code == 200
        assert secret not in page.content.decode() and token.digest not in page.content.decode()
    assert token.prefix in listing.content.decode() and member.get_full_name() in listing.content.decode()
    # The token works.
    assert Client().get(CITIZENS, **bearer(secret)).status_code == 200


def test_the_admin_refuses_a_past_end_date(administrator, member):
    admin = client_for(administrator)
    response = admin.post(
        reverse("admin:healthcenter_apitoken_add"),
        {"user": member.pk, "name": "x", "scope": ApiScope.READ, "expires_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert not ApiToken.objects.exists()


def test_the_admin_never_edits_or_deletes_a_token(administrator, member):
    token, _secret = api_token_issue(actor=administrator, user=member, name="x", scope=ApiScope.READ)
    admin = client_for(administrator)
    url = reverse("admin:healthcenter_apitoken_change", args=[token.pk])
    before = ApiToken.objects.values().get(pk=token.pk)
    admin.post(url, {"user": member.pk, "name": "renamed", "scope": ApiScope.WRITE, "digest": "0" * 64})
    assert ApiToken.objects.values().get(pk=token.pk) == before
    assert 'name="digest"' not in admin.get(url).content.decode()
    assert admin.get(reverse("admin:healthcenter_apitoken_delete", args=[token.pk])).status_code == 403


def test_the_admin_revokes_tokens(administrator, member):
    token, secret = api_token_issue(actor=administrator, user=member, name="x", scope=ApiScope.READ)
    kept, kept_secret = api_token_issue(actor=administrator, user=member, name="y", scope=ApiScope.READ)
    admin = client_for(administrator)
    response = admin.post(
        reverse("admin:healthcenter_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert response.status_code == 200
    token.refresh_from_db()
    kept.refresh_from_db()
    assert token.revoked_at is not None and kept.revoked_at is None
    assert AccessLog.objects.filter(user=administrator, what=f"API token {token.prefix} revoked").count() == 1
    assert Client().get(CITIZENS, **bearer(secret)).status_code == 401
    assert Client().get(CITIZENS, **bearer(kept_secret)).status_code == 200


def test_only_administrators_reach_the_tokens_in_the_admin(member, manager):
    for user in (member, manager):
        response = client_for(user).get(reverse("admin:healthcenter_apitoken_changelist"))
        assert response.status_code in (302, 403)


def test_a_nul_byte_in_the_address_is_logged_not_a_500(write_secret, patient):
    # The access log writes the path (a token's use) and a list's criteria; PostgreSQL refuses a NUL in text.
    response = Client().get("/api/v1/tasks/", {"status": "open", "zz": "\x00"}, **bearer(write_secret))
    assert response.status_code == 200, response.content
    response = Client().get(f"/api/v1/citizens/{patient.public_id}%00/", **bearer(write_secret))
    assert response.status_code == 404
    assert AccessLog.objects.filter(what__contains="\ufffd").exists()
