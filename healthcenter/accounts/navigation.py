"""Where to send a person next, shared by the sign-in steps and the middleware."""

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def is_safe(request: HttpRequest, url: str) -> bool:
    return bool(url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def safe_next(request: HttpRequest, default: str | None = None) -> str:
    """The `next` of the form or the query string when it stays on this site; otherwise the start page."""
    url = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if is_safe(request, url):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL) if default is None else default


def with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({REDIRECT_FIELD_NAME: next_url})}" if next_url else url


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def page_behind(request: HttpRequest) -> str:
    """The page a person is on: for an htmx request the page that sent it (HX-Current-URL), since the
    fragment's own URL is no place to come back to after signing in."""
    if is_htmx(request):
        current = request.headers.get("HX-Current-URL", "")
        if not is_safe(request, current):
            return ""
        parts = urlsplit(current)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path() if request.method == "GET" else ""


def go_to(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect the browser follows as a whole page. htmx follows an ordinary redirect inside its
    request and would put the login page into the fragment's place, so it is told with HX-Redirect."""
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)
