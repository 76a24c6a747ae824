"""The calendar subscription page, the iCalendar feed a calendar app fetches, and the invitation
letter for the citizen (scheduling/feed.py does the work)."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods

from healthcenter.access import citizen_work

from .. import feed
from ..selectors import appointment_for


@citizen_work
@require_http_methods(["GET", "POST"])
def subscription(request: HttpRequest) -> HttpResponse:
    """The person's own subscription: whether there is one, a new one (its URL shown this once, in the
    answer to the POST, never again), or none."""
    feed_url = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "issue":
            secret = feed.feed_token_issue(actor=request.user)
            feed_url = request.build_absolute_uri(reverse("scheduling:ical_feed", args=[secret]))
        elif action == "revoke":
            if feed.feed_token_revoke(actor=request.user):
                messages.success(request, _("The subscription is revoked. Calendars that used it get nothing more."))
            return redirect("scheduling:subscription")
        else:
            return redirect("scheduling:subscription")
    return render(
        request,
        "scheduling/subscription.html",
        {
            "token": feed.live_token(request.user),
            "feed_url": feed_url,
            "days_back": feed.DAYS_BACK,
            "days_ahead": feed.DAYS_AHEAD,
        },
    )


@require_GET
def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    """No login: a calendar app cannot sign in, so the secret in the URL is the key. An unknown and a
    revoked secret get the same 404."""
    user = feed.user_for_feed_token(token)
    if user is None:
        raise Http404
    response = HttpResponse(
        feed.calendar_for(user, base_url=request.build_absolute_uri("/").rstrip("/")),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'inline; filename="kalender.ics"'
    # The feed is personal and fetched without a session: no cache on the way may keep it.
    add_never_cache_headers(response)
    return response


@citizen_work
@require_GET
def invitation(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """A printable A4 letter to the citizen, always in Danish."""
    appointment = appointment_for(request.user, public_id, what=gettext_noop("invitation letter"))
    letter = feed.invitation_letter(appointment, today=timezone.localdate())
    return render(
        request,
        "scheduling/invitation.html",
        {"appointment": appointment, "patient": appointment.patient, "letter": letter, "phone": settings.CENTRE_PHONE},
    )
