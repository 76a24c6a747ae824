"""The professional's day: their own appointments and the course sessions they teach, with the
briefing one click away, and "did not attend" for an appointment the citizen missed. Logging the
encounter from an appointment is coordination's encounter form (`?appointment=`), linked by name."""

import datetime
import uuid
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_POST

from healthcenter import access
from healthcenter.access import citizen_work
from healthcenter.models import AccessAction

from .. import selectors, services
from ..models import Appointment, AppointmentStatus

# Statuses from which "log encounter" is offered once the appointment has begun: a no-show marked by
# mistake is corrected by logging the meeting (signing it makes the appointment attended).
LOGGABLE = (AppointmentStatus.BOOKED, AppointmentStatus.DID_NOT_ATTEND)


class VersionForm(forms.Form):
    version = forms.IntegerField(min_value=1)


def _day_asked(request: HttpRequest) -> datetime.date:
    """`?day=YYYY-MM-DD`, or today (local) when it is missing, not a date or outside the calendar."""
    try:
        day = datetime.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return timezone.localdate()
    return day if selectors.in_calendar(day) else timezone.localdate()


def _day_url(day: datetime.date) -> str:
    return f"{reverse('scheduling:my_day')}?{urlencode({'day': day.isoformat()})}"


def follow_up_title(appointment: Appointment) -> str:
    """The follow-up task's title offered after a no-show: when, never who (it travels in the URL)."""
    start = timezone.localtime(appointment.starts_at)
    return _("Follow up: did not attend on %(day)s at %(time)s") % {
        "day": formats.date_format(start, "SHORT_DATE_FORMAT"),
        "time": formats.time_format(start, "H:i"),
    }


# The session key naming the appointment just marked "did not attend": My day offers its follow-up
# task once, on the page the marking leads to. Later the task may exist already, and this app cannot
# see tasks (coordination's), so it does not offer it again.
FOLLOW_UP_OFFER = "scheduling:follow_up_offer"


def _offer_actions(item: selectors.DayItem, now: datetime.datetime, *, follow_up: str | None = None) -> None:
    """What one click can do on a line: only for the citizen's care team, and only once the
    appointment has begun (the services refuse the rest too). `follow_up` is the appointment just
    marked as missed, the one line offering a follow-up task."""
    appointment = item.appointment
    item.begun = item.starts_at <= now
    if appointment is None or not item.named:
        return
    encounter = appointment.encounter
    item.logged = encounter is not None and encounter.is_signed
    item.draft = encounter if encounter is not None and not encounter.is_signed else None
    item.can_log = item.begun and appointment.status in LOGGABLE and not item.logged
    item.can_miss = item.begun and appointment.status == AppointmentStatus.BOOKED and encounter is None
    if appointment.status == AppointmentStatus.DID_NOT_ATTEND and str(appointment.public_id) == follow_up:
        item.follow_up_query = urlencode(
            {"citizen": appointment.patient.public_id, "title": follow_up_title(appointment)}
        )


@citizen_work
@require_GET
def my_day(request: HttpRequest) -> HttpResponse:
    """Always the signed-in user's own day; another day with `?day=`."""
    day = _day_asked(request)
    access.listed(request.user, f"my day {day.isoformat()}")
    plan = selectors.my_day(request.user, day)
    now = timezone.now()
    follow_up = request.session.pop(FOLLOW_UP_OFFER, None)
    for item in plan.items:
        _offer_actions(item, now, follow_up=follow_up)
    context = {
        "plan": plan,
        "today": timezone.localdate(),
        "previous_day": day - datetime.timedelta(days=1),
        "next_day": day + datetime.timedelta(days=1),
    }
    # htmx swaps the list when moving between days; a history restore asks for the whole page.
    fragment = request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    template = "scheduling/day_list.html" if fragment else "scheduling/day.html"
    return render(request, template, context)


@citizen_work
@require_POST
def did_not_attend(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One click: the citizen did not come. Then My day (the page this leads to) offers a follow-up
    task on that line."""
    appointment = selectors.appointment_for(
        request.user, public_id, what=gettext_noop("did not attend"), action=AccessAction.UPDATE
    )
    form = VersionForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("The form was incomplete. Reload the page and try again."))
        services.appointment_did_not_attend(
            actor=request.user, appointment=appointment, expected_version=form.cleaned_data["version"]
        )
    except ValidationError as error:
        access.rejected(request.user, appointment.patient.public_id, gettext_noop("did not attend"))
        for message in error.messages:
            messages.error(request, message)
    else:
        request.session[FOLLOW_UP_OFFER] = str(appointment.public_id)
        start = timezone.localtime(appointment.starts_at)
        messages.success(
            request,
            _("The appointment at %(time)s is marked as not attended. You can create a follow-up task on its line.")
            % {"time": formats.time_format(start, "H:i")},
        )
    return redirect(_day_url(timezone.localdate(appointment.starts_at)) + f"#appointment-{appointment.public_id}")
