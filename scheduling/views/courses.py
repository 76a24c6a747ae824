"""Group courses: the team's courses, creating one (coordinators), a course's page (sessions,
participants, waiting list, cancelling a session), giving a citizen a place, dropping out, and the
attendance register of a session. Courses are their team's: its professionals and coordinators see
them, anyone else gets 404 (scheduling.selectors.course_for / session_for)."""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_http_methods

from healthcenter import access
from healthcenter.access import citizen_work, triage_work
from healthcenter.models import AccessAction
from healthcenter.views_helpers import apply_errors
from patients.selectors import PatientSearch, patient_for, patient_search

from .. import courses
from ..course_forms import CitizenSearchForm, CourseForm, DropOutForm, SessionCancelForm
from ..models import AppointmentStatus, Course, CourseStatus, ParticipantStatus
from ..selectors import course_for, session_for

# The add page lists at most this many matches of a search; a longer list wants a narrower search.
SEARCH_LIMIT = 20


def _citizen_asked(request: HttpRequest, *, what: str, action: AccessAction = AccessAction.VIEW):
    """The citizen named by `?citizen=<public_id>` (a link from a referral or the patient page), found
    and logged through their care relation; None when the query names nobody."""
    try:
        public_id = uuid.UUID(request.GET.get(access.CITIZEN_PARAMETER, ""))
    except ValueError:
        return None
    return patient_for(request.user, public_id, what=what, action=action)


@citizen_work
@require_http_methods(["GET"])
def course_list(request: HttpRequest) -> HttpResponse:
    citizen = _citizen_asked(request, what=gettext_noop("choosing a course"))
    now = timezone.now()
    phases = {"upcoming": [], "running": [], "finished": []}
    shown = courses.courses_for(request.user)
    if citizen is not None:
        # Only the citizen's own team's courses can take them (courses.participant_add).
        shown = shown.filter(team_id=citizen.team_id)
    for course in shown:
        phases[courses.course_phase(course, now)].append(course)
    context = {
        "phases": [
            (_("Upcoming"), phases["upcoming"]),
            (_("Running"), phases["running"]),
            (_("Finished"), phases["finished"]),
        ],
        "citizen": citizen,
        "has_courses": any(rows for rows in phases.values()),
        "may_create": access.may(request.user, access.Work.TRIAGE),
    }
    return render(request, "scheduling/course_list.html", context)


@triage_work
@require_http_methods(["GET", "POST"])
def course_create(request: HttpRequest) -> HttpResponse:
    form = CourseForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            course = courses.course_create(
                actor=request.user,
                name=data["name"],
                programme=data["programme"],
                team=data["team"],
                room=data["room"],
                professionals=list(data["professionals"]),
                capacity=data["capacity"],
                weekday=data["weekday"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                first_day=data["first_day"],
                session_count=data["session_count"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The course is created with its sessions."))
            return redirect("scheduling:course", course.public_id)
    return render(request, "scheduling/course_form.html", {"form": form})


@citizen_work
@require_http_methods(["GET", "POST"])
def course_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    posted = request.method == "POST"
    course = course_for(
        request.user,
        public_id,
        what=gettext_noop("course"),
        action=AccessAction.UPDATE if posted else AccessAction.VIEW,
    )
    cancel = SessionCancelForm(request.POST if posted else None, prefix="cancel")
    if posted and cancel.is_valid():
        session = course.sessions.filter(public_id=cancel.cleaned_data["session"]).first()
        try:
            if session is None:
                raise ValidationError(_("The session is not one of this course's."))
            courses.session_cancel(
                actor=request.user,
                session=session,
                expected_version=cancel.cleaned_data["version"],
                reason=cancel.cleaned_data["reason"],
            )
        except ValidationError as error:
            apply_errors(cancel, error)
        else:
            messages.success(request, _("Session %(number)s is cancelled.") % {"number": session.number})
            return redirect("scheduling:course", course.public_id)
    citizen = _citizen_asked(request, what=gettext_noop("adding to a course"))
    return render(request, "scheduling/course_detail.html", _detail_context(request, course, cancel, citizen))


def _detail_context(request: HttpRequest, course: Course, cancel: SessionCancelForm, citizen) -> dict:
    now = timezone.now()
    sessions = list(courses.course_sessions(course))
    participants = list(courses.course_participants(course))
    waiting = list(courses.waiting_for(course))
    access.listed(request.user, f"course participants and waiting list: {course.name} ({course.public_id})")
    held = [s for s in sessions if not s.cancelled and s.registered_at is not None]
    taken = sum(1 for p in participants if p.status != ParticipantStatus.DROPPED_OUT)
    for session in sessions:
        session.begun = session.starts_at <= now
    # A participant who has since moved to another team left the course (scheduling migration 0004)
    # and stays on its list as a drop-out, but nameless to those who no longer care for them.
    for participant in participants:
        participant.named = access.cares_for(request.user, participant.patient.team_id)
    return {
        "course": course,
        "professionals": course.professionals.order_by("first_name", "last_name"),
        "sessions": sessions,
        "held": len(held),
        "participants": participants,
        "waiting": waiting,
        "taken": taken,
        "has_room": taken < course.capacity and course.status not in (CourseStatus.FINISHED, CourseStatus.CANCELLED),
        "cancel": cancel,
        "citizen": citizen,
        # The service refuses a citizen of another team (courses.participant_add): the page says so
        # instead of offering a place or the waiting list.
        "citizen_other_team": citizen is not None and citizen.team_id != course.team_id,
        "citizen_on_course": citizen is not None and any(p.patient_id == citizen.pk for p in participants),
        "search": CitizenSearchForm(),
    }


def _search(request: HttpRequest, course: Course, form: CitizenSearchForm) -> list:
    """The team's active citizens matching the posted search (patients.selectors.patient_search),
    logged as the citizen list logs a search. Each match knows whether it already has a place on the
    course (`on_course`), so the page does not offer it again."""
    if not (form.is_valid() and form.cleaned_data["q"].strip()):
        return []
    search = PatientSearch(term=form.cleaned_data["q"], team_id=course.team_id)
    access.listed(request.user, f"{search.describe()} (course {course.public_id})")
    results = list(patient_search(request.user, search).filter(status="active")[:SEARCH_LIMIT])
    on_course = set(
        course.participants.filter(patient_id__in=[p.pk for p in results]).values_list("patient_id", flat=True)
    )
    for patient in results:
        patient.on_course = patient.pk in on_course
    return results


@citizen_work
@require_http_methods(["GET", "POST"])
def participant_add(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Finding a citizen of the team and giving them a place; a full course offers the waiting list.
    The search term is posted, never put in the address (a name or CPR number must not be in a URL);
    the add and waiting-list forms carry it back, so a refusal still shows the matches."""
    posted = request.method == "POST"
    choosing = posted and access.CITIZEN_PARAMETER in request.POST
    course = course_for(
        request.user,
        public_id,
        what=gettext_noop("course"),
        action=AccessAction.UPDATE if choosing else AccessAction.VIEW,
    )
    form = CitizenSearchForm(request.POST if posted else None)
    context = {"course": course, "form": form, "full": False, "errors": [], "results": []}
    if choosing:
        try:
            chosen = uuid.UUID(request.POST.get(access.CITIZEN_PARAMETER, ""))
        except ValueError:
            context["errors"] = [_("Choose the citizen.")]
        else:
            citizen = patient_for(request.user, chosen, what=gettext_noop("course place"), action=AccessAction.UPDATE)
            context["citizen"] = citizen
            done = _add_or_wait(request, course, citizen, context)
            if done:
                return redirect("scheduling:course", course.public_id)
            access.rejected(request.user, citizen.public_id, gettext_noop("course place"))
    else:
        context["citizen"] = _citizen_asked(request, what=gettext_noop("adding to a course"))
    if posted:
        context["results"] = _search(request, course, form)
    citizen = context.get("citizen")
    context["other_team"] = citizen is not None and citizen.team_id != course.team_id
    context["citizen_on_course"] = citizen is not None and course.participants.filter(patient=citizen).exists()
    context["taken"] = courses.places_taken(course)
    return render(request, "scheduling/course_participant_add.html", context)


def _add_or_wait(request: HttpRequest, course: Course, citizen, context: dict) -> bool:
    try:
        if request.POST.get("action") == "wait":
            courses.waiting_list_add(
                actor=request.user, patient=citizen, programme=course.programme, team=course.team, wanted=course
            )
            messages.success(
                request,
                _("%(name)s is on the waiting list for the next course of %(programme)s.")
                % {"name": citizen.full_name, "programme": course.programme},
            )
        else:
            courses.participant_add(actor=request.user, course=course, patient=citizen)
            messages.success(request, _("%(name)s has a place on the course.") % {"name": citizen.full_name})
    except ValidationError as error:
        context["errors"] = error.messages
        context["full"] = (
            any(e.code in ("full", "late") for e in error.error_list) if hasattr(error, "error_list") else False
        )
        return False
    return True


@citizen_work
@require_http_methods(["GET", "POST"])
def participant_drop_out(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    posted = request.method == "POST"
    participant = courses.participant_for(
        request.user,
        public_id,
        what=gettext_noop("course place"),
        action=AccessAction.UPDATE if posted else AccessAction.VIEW,
    )
    form = DropOutForm(
        request.POST if posted else None,
        initial={"version": participant.version, "on": timezone.localdate()},
    )
    if posted and form.is_valid():
        try:
            courses.participant_drop_out(
                actor=request.user,
                participant=participant,
                expected_version=form.cleaned_data["version"],
                on=form.cleaned_data["on"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, _("%(name)s is recorded as dropped out.") % {"name": participant.patient.full_name}
            )
            return redirect("scheduling:course", participant.course.public_id)
    if posted:
        access.rejected(request.user, participant.patient.public_id, gettext_noop("course place"))
    return render(request, "scheduling/course_drop_out.html", {"participant": participant, "form": form})


@citizen_work
@require_http_methods(["GET", "POST"])
def session_register(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One screen: who came (ticked), the shared session note, a short note per attendee."""
    posted = request.method == "POST"
    session = session_for(
        request.user,
        public_id,
        what=gettext_noop("attendance register"),
        action=AccessAction.UPDATE if posted else AccessAction.VIEW,
    )
    errors: list[str] = []
    if posted:
        places = {str(p.public_id) for p in courses.session_places(session)}
        came = set(request.POST.getlist("came"))
        attendance = [
            courses.Attendance(
                appointment=uuid.UUID(key), came=key in came, note=request.POST.get(f"note-{key}", "")[:1000]
            )
            for key in places
        ]
        try:
            version = int(request.POST.get("version", ""))
            courses.session_register(
                actor=request.user,
                session=session,
                expected_version=version,
                note=request.POST.get("note", ""),
                attendance=attendance,
            )
        except ValueError:
            errors = [_("The form was changed or is out of date. Reload the page and enter your changes again.")]
        except ValidationError as error:
            errors = error.messages
        else:
            counts = {"came": len(came & places), "all": len(places)}
            messages.success(request, _("Attendance is registered: %(came)s of %(all)s came.") % counts)
            course_page = reverse("scheduling:course", args=[session.course.public_id])
            return redirect(f"{course_page}#session-{session.number}")
    lines = list(courses.session_places(session))
    access.listed(request.user, f"attendance register: {session.course.name} {session.number} ({session.public_id})")
    context = {
        "session": session,
        "course": session.course,
        "lines": lines,
        "errors": errors,
        "begun": session.starts_at <= timezone.now(),
        "posted_came": set(request.POST.getlist("came")) if posted else None,
        "note": request.POST.get("note", session.note) if posted else session.note,
        "attended": AppointmentStatus.ATTENDED,
        "came_count": sum(1 for line in lines if line.status == AppointmentStatus.ATTENDED),
    }
    return render(request, "scheduling/register.html", context)
