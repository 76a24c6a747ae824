"""What django-axes needs from us: whose address a login attempt comes from, and the page a locked-out
person sees (settings AXES_CLIENT_IP_CALLABLE and AXES_LOCKOUT_CALLABLE)."""

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .navigation import safe_next


def client_ip_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, unless settings.TRUSTED_PROXY_COUNT says that many proxies of ours stand in front
    of the app: then the address the outermost of them saw, counted from the right of
    X-Forwarded-For. Entries further left are whatever the client wrote and are never believed, so
    nobody can dodge the per-address lockout by sending the header themselves."""
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The login page itself, with the reason and how long to wait, in the reader's language;
    429 Too Many Requests rather than a bare 403 text."""
    cool_off = get_cool_off(request)
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "locked_out": True,
        "cool_off_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
        "next": safe_next(request, default=""),
    }
    return render(request, "registration/login.html", context, status=429)


class AccountAndAddressHandler(AxesDatabaseHandler):
    """django-axes' database handler with a limit of its own for an address (AXES_HANDLER).

    An account is locked at LOGIN_FAILURE_LIMIT failures from anywhere; an address at
    LOGIN_ADDRESS_FAILURE_LIMIT failures against any accounts (by default the same 5). A centre whose
    PCs reach the app through one NAT address raises the second, so that a few people's typos do not
    lock everyone out, while a script trying one password on many accounts is still stopped. Axes
    compares one count with one limit: the address's count is expressed on the account's scale."""

    def get_failures(self, request, credentials=None) -> int:
        counts = {}
        attempts_list = self.get_user_attempts(request, credentials)
        for parameter, attempts in zip(settings.AXES_LOCKOUT_PARAMETERS, attempts_list, strict=True):
            counts[parameter] = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
        address = counts["ip_address"] * settings.LOGIN_FAILURE_LIMIT // settings.LOGIN_ADDRESS_FAILURE_LIMIT
        return max(counts["username"], address)
