import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from .navigation import go_to, is_htmx, page_behind, with_next
from .session_state import ACTIVE_AT, LOGIN_AT, two_factor_pending

# Activity is written to the session at most once a minute: a write on every request would cost an
# UPDATE per page and per fragment, and a minute is nothing against a 30-minute idle limit.
ACTIVITY_RESOLUTION_SECONDS = 60


class SessionLifetimeMiddleware:
    """Ends a session after SESSION_IDLE_TIMEOUT seconds without a request from the person, and after
    SESSION_ABSOLUTE_TIMEOUT seconds from the login however active it is.

    Requests to the views in SESSION_PASSIVE_URL_NAMES (the menu's "new for you" badge, which htmx
    polls every minute) do not count as activity: a page left open on a shared PC would otherwise
    keep its session alive for ever. Those polls do notice the end, though, and take the whole page
    to the login form, so an abandoned screen stops showing citizens' data by itself.

    SESSION_COOKIE_AGE is the idle timeout as well, so the database forgets an idle session at the
    same moment; this middleware is what can say why, and what enforces the absolute limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        return self._whole_page_login(request, response)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not request.user.is_authenticated:
            return None
        now = time.time()
        login_at = request.session.get(LOGIN_AT)
        active_at = request.session.get(ACTIVE_AT, login_at)
        if login_at is None or now - login_at > settings.SESSION_ABSOLUTE_TIMEOUT:
            hours = settings.SESSION_ABSOLUTE_TIMEOUT // 3600
            reason = _("You have been signed in for %(hours)s hours. Log in again.") % {"hours": hours}
            return self._end(request, reason)
        if now - active_at > settings.SESSION_IDLE_TIMEOUT:
            minutes = settings.SESSION_IDLE_TIMEOUT // 60
            return self._end(
                request, _("You were logged out after %(minutes)s minutes without activity.") % {"minutes": minutes}
            )
        passive = request.resolver_match is not None and request.resolver_match.view_name in set(
            settings.SESSION_PASSIVE_URL_NAMES
        )
        if not passive and now - active_at >= ACTIVITY_RESOLUTION_SECONDS:
            request.session[ACTIVE_AT] = now
        return None

    def _end(self, request: HttpRequest, reason: str) -> HttpResponse:
        back_to = page_behind(request)
        logout(request)
        messages.info(request, reason)
        return go_to(request, with_next(reverse(settings.LOGIN_URL), back_to))

    @staticmethod
    def _whole_page_login(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """A fragment asked for by a signed-out page (its session ended in the database) is answered
        by login_required with a redirect to the login form; htmx would put that form into the
        fragment. The whole page goes there instead."""
        if not is_htmx(request) or response.status_code != 302 or request.user.is_authenticated:
            return response
        login_url = reverse(settings.LOGIN_URL)
        if not response.get("Location", "").startswith(login_url):
            return response
        return go_to(request, redirect_to_login(page_behind(request) or "/")["Location"])


# Reachable while the second factor is still to be given: the steps themselves, logging out, and the
# language switch; static files too, should one get this far (WhiteNoise usually answers them first).
TWO_FACTOR_EXEMPT_VIEWS = frozenset({"login", "logout", "set_language", "accounts:verify", "accounts:setup"})


class TwoFactorRequiredMiddleware:
    """Until a manager or an administrator (or anyone who chose a second factor) has given a code in
    this session, every page sends them to the code step, which sends them on to setting up an
    authenticator when they have none. Installed after django_otp's OTPMiddleware, which tells
    whether the session is verified."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not two_factor_pending(request):
            return None
        if request.resolver_match is not None and request.resolver_match.view_name in TWO_FACTOR_EXEMPT_VIEWS:
            return None
        if request.path.startswith(settings.STATIC_URL):
            return None
        return go_to(request, with_next(reverse("accounts:verify"), page_behind(request)))
