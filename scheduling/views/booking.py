"""Booking, reading, moving and cancelling one citizen's appointments, and the list of them on the
patient page. Everything goes through the citizen's care relation (patients.selectors.patient_for,
scheduling.selectors.appointment_for: logged under the citizen, 404 outside the care team); the rules
are the services'. A clash is shown at the top of the form as the service words it, naming who or
what is taken and when."""

import uuid
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods

from healthcenter import access
from healthcenter.access import citizen_work
from healthcenter.accounts.navigation import safe_next
from healthcenter.models import AccessAction
from healthcenter.views_helpers import apply_errors
from patients.selectors import patient_for

from .. import forms, selectors, services
from ..models import Appointment, AppointmentStatus


def _action(request: HttpRequest, write: AccessAction = AccessAction.UPDATE) -> AccessAction:
    return write if request.method == "POST" else AccessAction.VIEW


def _next(request: HttpRequest) -> str:
    """Where to go after the form: `next` when it is a page of this site, else nowhere in particular."""
    url = safe_next(request, default="")
    return url if url.startswith("/") else ""


def _posted(
    request: HttpRequest,
    form: Form,
    *,
    save: Callable[[], Appointment],
    said: Callable[[Appointment], str],
    patient,
    what: str,
    action: AccessAction = AccessAction.UPDATE,
) -> HttpResponse | None:
    """A posted booking, move or cancel form: when the form and the service accept it, the message
    `said` of the saved appointment and a redirect to `next` or the appointment; otherwise the
    service's refusal on the form, the refused post logged under the citizen, and None (the caller
    shows the form again)."""
    if form.is_valid():
        try:
            appointment = save()
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, said(appointment))
            return redirect(_next(request) or appointment_url(appointment))
    access.rejected(request.user, patient.public_id, what, action=action)
    return None


@citizen_work
@require_GET
def patient_appointments(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The citizen's coming appointments and the last few past ones: a fragment the patient page
    loads with htmx, or a page of its own."""
    patient = patient_for(request.user, public_id, what=gettext_noop("citizen's appointments"))
    coming, past = selectors.patient_appointment_lists(patient, now=timezone.now())
    context = {"patient": patient, "coming": coming, "past": past}
    template = "scheduling/appointment_list.html" if request.htmx else "scheduling/patient_appointments.html"
    return render(request, template, context)


@citizen_work
@require_http_methods(["GET", "POST"])
def appointment_book(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The booking form, filled from the link (`?start=&professional=&room=&purpose=&kind=`)."""
    patient = patient_for(
        request.user, public_id, what=gettext_noop("booking form"), action=_action(request, AccessAction.CREATE)
    )
    initial = forms.initial_from(request.GET, user=request.user, patient=patient)
    form = forms.AppointmentForm(request.POST or None, patient=patient, initial=initial)
    if request.method == "POST":
        done = _posted(
            request,
            form,
            save=lambda: services.appointment_book(actor=request.user, patient=patient, data=form.to_data()),
            said=lambda appointment: (
                _("The appointment with %(name)s on %(when)s is booked.")
                % {"name": patient.full_name, "when": _when(appointment)}
            ),
            patient=patient,
            what=gettext_noop("booking form"),
            action=AccessAction.CREATE,
        )
        if done:
            return done
    return render(request, "scheduling/booking.html", {"form": form, "patient": patient, "next": _next(request)})


def appointment_url(appointment) -> str:
    return reverse("scheduling:appointment", args=[appointment.public_id])


def _when(appointment) -> str:
    start = timezone.localtime(appointment.starts_at)
    return f"{formats.date_format(start, 'SHORT_DATE_FORMAT')} {formats.time_format(start, 'H:i')}"


@citizen_work
@require_GET
def appointment_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    appointment = selectors.appointment_for(request.user, public_id, what=gettext_noop("appointment"))
    context = {
        "appointment": appointment,
        "patient": appointment.patient,
        "professionals": list(appointment.professionals.order_by("first_name", "last_name")),
        "is_booked": appointment.status == AppointmentStatus.BOOKED,
        # An encounter is logged once the meeting has begun; a course place gets the register's.
        "may_log": appointment.starts_at <= timezone.now()
        and appointment.session_id is None
        and appointment.encounter_id is None
        and appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.ATTENDED),
        "cancel_form": forms.AppointmentCancelForm(initial={"version": appointment.version}),
    }
    return render(request, "scheduling/appointment_detail.html", context)


@citizen_work
@require_http_methods(["GET", "POST"])
def appointment_move(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Another time, place, room or professionals for a booked appointment. The form carries the
    version it was read at: if someone changed the appointment since, nothing is changed and the
    person is told."""
    appointment = selectors.appointment_for(
        request.user, public_id, what=gettext_noop("move appointment form"), action=_action(request)
    )
    patient = appointment.patient
    form = forms.AppointmentMoveForm(request.POST or None, patient=patient, initial=forms.initial_of(appointment))
    if request.method == "POST":
        done = _posted(
            request,
            form,
            save=lambda: services.appointment_reschedule(
                actor=request.user,
                appointment=appointment,
                expected_version=form.cleaned_data["version"],
                data=form.to_data(),
            ),
            said=lambda moved: _("The appointment is moved to %(when)s.") % {"when": _when(moved)},
            patient=patient,
            what=gettext_noop("move appointment form"),
        )
        if done:
            return done
    context = {"form": form, "patient": patient, "appointment": appointment, "next": _next(request)}
    return render(request, "scheduling/appointment_move.html", context)


@citizen_work
@require_http_methods(["GET", "POST"])
def appointment_cancel(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Cancelled by the citizen or by the centre, with the reason (the appointment page has the form;
    this page shows it again with its errors, or on its own)."""
    appointment = selectors.appointment_for(
        request.user, public_id, what=gettext_noop("cancel appointment form"), action=_action(request)
    )
    form = forms.AppointmentCancelForm(request.POST or None, initial={"version": appointment.version})
    if request.method == "POST":
        done = _posted(
            request,
            form,
            save=lambda: services.appointment_cancel(
                actor=request.user,
                appointment=appointment,
                expected_version=form.cleaned_data["version"],
                by_citizen=form.cleaned_data["by"] == "citizen",
                reason=form.cleaned_data["reason"],
            ),
            said=lambda _cancelled: _("The appointment is cancelled."),
            patient=appointment.patient,
            what=gettext_noop("cancel appointment form"),
        )
        if done:
            return done
    context = {"form": form, "patient": appointment.patient, "appointment": appointment}
    return render(request, "scheduling/appointment_cancel.html", context)
