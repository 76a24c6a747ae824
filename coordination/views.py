import datetime
import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from healthcenter.models import AccessAction, Role
from healthcenter.services import access_record
from healthcenter.views_helpers import apply_errors
from patients import selectors as patient_selectors
from patients.models import Patient
from patients.views import citizen_work, log_duplicate, rejected

from . import briefing as briefing_selectors
from . import forms, selectors, services
from .models import TaskStatus

# --- the encounter form, which also turns agreed actions into tasks -----------------------------------------


@citizen_work
@require_http_methods(["GET", "POST"])
def encounter_create(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    action = AccessAction.CREATE if request.method == "POST" else AccessAction.VIEW
    patient = patient_selectors.patient_for(request.user, public_id, what=gettext_noop("encounter form"), action=action)
    initial = {"started_at": timezone.localtime().replace(second=0, microsecond=0), "kind": "individual"}
    form = forms.EncounterWithTasksForm(
        request.POST or None,
        initial=initial,
        catalogue=patient_selectors.catalogue(),
        patient=patient,
        actor=request.user,
    )
    if request.method == "POST":
        if form.is_valid():
            sign = "sign" in request.POST
            try:
                _encounter, tasks = services.encounter_log(
                    actor=request.user,
                    patient=patient,
                    data=form.to_data(),
                    sign=sign,
                    make_tasks=form.cleaned_data["make_tasks"],
                    task_assignee=form.cleaned_data["task_assignee"],
                    task_due_on=form.cleaned_data["task_due_on"],
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                saved = _("The encounter is signed.") if sign else _("The draft is saved.")
                if tasks:
                    saved += " " + _("%(count)d tasks were made from the agreed actions.") % {"count": len(tasks)}
                messages.success(request, saved)
                return redirect("patients:detail", public_id=patient.public_id)
        rejected(request, patient, gettext_noop("encounter form"))
    return render(
        request, "patients/encounter_form.html", {"form": form, "patient": patient, "title": _("Log encounter")}
    )


# --- tasks ----------------------------------------------------------------------------------------------


@citizen_work
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    _log_list(request, "my tasks")
    return render(request, "coordination/my_tasks.html", {"tasks": selectors.my_tasks(request.user)})


def _log_list(request: HttpRequest, what: str) -> None:
    """A list that shows citizens' names writes one row with its criterion, not a row per citizen."""
    criteria = " ".join(f"{key}={value}" for key, value in request.GET.items() if key != "page")
    access_record(actor=request.user, action=AccessAction.SEARCH, what=f"{what} {criteria}".strip())


@citizen_work
@require_GET
def team_board(request: HttpRequest) -> HttpResponse:
    form = forms.BoardFilterForm(request.GET or None, user=request.user)
    board = selectors.BoardFilter()
    citizen = None
    if form.is_valid():
        c = form.cleaned_data
        if c["citizen"]:
            citizen = patient_selectors.patient_for(request.user, c["citizen"], what=gettext_noop("team board"))
        board = selectors.BoardFilter(
            team_id=c["team"].id if c["team"] else None,
            patient_public_id=c["citizen"],
            programme_id=c["programme"].id if c["programme"] else None,
            priority=c["priority"],
            assignee_id=c["assignee"].id if c["assignee"] else None,
        )
    _log_list(request, "team board")
    columns = selectors.team_board(request.user, board)
    context = {
        "form": form,
        "citizen": citizen,
        "columns": [(status, label, columns[status]) for status, label in TaskStatus.choices],
        "today": timezone.localdate(),
    }
    return render(request, "coordination/team_board.html", context)


@citizen_work
@require_GET
def workload(request: HttpRequest) -> HttpResponse:
    teams = list(request.user.teams.order_by("name"))
    rows = [
        (team, selectors.team_workload(request.user, team), selectors.unassigned_open_count(team)) for team in teams
    ]
    return render(request, "coordination/workload.html", {"rows": rows})


@citizen_work
@require_http_methods(["GET", "POST"])
def task_create(request: HttpRequest) -> HttpResponse:
    patient = None
    citizen_id = request.GET.get("citizen")
    if citizen_id:
        try:
            citizen_uuid = uuid.UUID(citizen_id)
        except ValueError:
            raise Http404 from None
        patient = patient_selectors.patient_for(request.user, citizen_uuid, what=gettext_noop("task form"))
    initial = {"due_on": timezone.localdate() + datetime.timedelta(days=7)}
    if patient is not None:
        initial["team"] = patient.team_id
    form = forms.TaskForm(request.POST or None, initial=initial, user=request.user, patient=patient)
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        try:
            task = services.task_create(
                actor=request.user,
                title=c["title"],
                description=c["description"],
                team=c["team"],
                patient=patient,
                assignee=c["assignee"],
                due_on=c["due_on"],
                priority=c["priority"],
                recurrence_months=c["recurrence_months"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The task is created."))
            return redirect("coordination:task", public_id=task.public_id)
    return render(request, "coordination/task_form.html", {"form": form, "patient": patient})


@citizen_work
@require_GET
def task_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    task = selectors.task_for(request.user, public_id, what=gettext_noop("task"))
    services.notifications_seen_for_task(actor=request.user, task=task)
    context = {
        "task": task,
        "transitions": task.transitions.select_related("by", "from_assignee", "to_assignee"),
        "comments": task.comments.select_related("author"),
        "assign_form": forms.AssignForm(
            initial={"assignee": task.assignee_id, "version": task.version}, team=task.team
        ),
        "comment_form": forms.CommentForm(),
        "today": timezone.localdate(),
    }
    return render(request, "coordination/task_detail.html", context)


def _task_change(request: HttpRequest, public_id: uuid.UUID, change) -> HttpResponse:
    task = selectors.task_for(request.user, public_id, what=gettext_noop("task change"), action=AccessAction.UPDATE)
    try:
        change(task)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(next_url)
    return redirect("coordination:task", public_id=task.public_id)


@citizen_work
@require_POST
def task_status(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    form = forms.StatusForm(request.POST)

    def change(task):
        if not form.is_valid():
            raise ValidationError(_("The form was incomplete. Reload the page and try again."))
        services.task_change_status(
            actor=request.user,
            task=task,
            to_status=form.cleaned_data["status"],
            expected_version=form.cleaned_data["version"],
        )
        messages.success(
            request,
            _("“%(title)s” is now %(status)s.") % {"title": task.title, "status": task.get_status_display().lower()},
        )

    return _task_change(request, public_id, change)


@citizen_work
@require_POST
def task_assign(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    def change(task):
        form = forms.AssignForm(request.POST, team=task.team)
        if not form.is_valid():
            raise ValidationError(_("Choose a member of the task's team."))
        services.task_assign(
            actor=request.user,
            task=task,
            assignee=form.cleaned_data["assignee"],
            expected_version=form.cleaned_data["version"],
        )
        messages.success(request, _("The task is reassigned."))

    return _task_change(request, public_id, change)


@citizen_work
@require_POST
def task_comment(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    def change(task):
        form = forms.CommentForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Write the comment."))
        services.task_comment(actor=request.user, task=task, text=form.cleaned_data["text"])

    return _task_change(request, public_id, change)


# --- referrals ----------------------------------------------------------------------------------------------


def _coordinator(view):
    def wrapper(request, *args, **kwargs):
        if request.user.role != Role.COORDINATOR:
            raise Http404
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@citizen_work
@require_GET
def referral_list(request: HttpRequest) -> HttpResponse:
    _log_list(request, "referral list")
    awaiting = list(selectors.referrals_awaiting(request.user)[:200])
    triaged = list(selectors.referrals_triaged(request.user)[:100])
    for referral in awaiting + triaged:
        if referral.first_encounter_at:
            referral.waiting_days = (timezone.localdate(referral.first_encounter_at) - referral.received_on).days
    return render(request, "coordination/referral_list.html", {"awaiting": awaiting, "triaged": triaged})


@citizen_work
@_coordinator
@require_http_methods(["GET", "POST"])
def referral_create(request: HttpRequest) -> HttpResponse:
    form = forms.ReferralForm(request.POST or None, initial={"received_on": timezone.localdate()}, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            referral = services.referral_receive(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            log_duplicate(request, error)
            apply_errors(form, error)
        else:
            messages.success(request, _("The referral is registered and awaits triage."))
            return redirect("coordination:referral", public_id=referral.public_id)
    return render(request, "coordination/referral_form.html", {"form": form})


@citizen_work
@require_http_methods(["GET", "POST"])
def referral_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    action = AccessAction.UPDATE if request.method == "POST" else AccessAction.VIEW
    referral = selectors.referral_for(request.user, public_id, what=gettext_noop("referral"), action=action)
    accept = forms.AcceptReferralForm(
        request.POST if "accept" in request.POST else None,
        initial={"programme": referral.programme_id, "start_on": timezone.localdate()},
        team=referral.team,
    )
    decline = forms.DeclineReferralForm(request.POST if "decline" in request.POST else None)
    if request.method == "POST":
        if request.user.role != Role.COORDINATOR:
            raise Http404
        try:
            if "accept" in request.POST and accept.is_valid():
                services.referral_accept(actor=request.user, referral=referral, **accept.cleaned_data)
                messages.success(request, _("The citizen is enrolled and a first-contact task is created."))
                return redirect("coordination:referrals")
            if "decline" in request.POST and decline.is_valid():
                services.referral_decline(actor=request.user, referral=referral, reason=decline.cleaned_data["reason"])
                messages.success(request, _("The referral is declined."))
                return redirect("coordination:referrals")
        except ValidationError as error:
            apply_errors(accept if "accept" in request.POST else decline, error)
        rejected(request, referral.patient, gettext_noop("referral"))
    return render(
        request, "coordination/referral_detail.html", {"referral": referral, "accept": accept, "decline": decline}
    )


# --- handover notes and what is new ------------------------------------------------------------------------


@citizen_work
@require_http_methods(["GET", "POST"])
def patient_panel(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The coordination panel on the patient page (loaded by htmx): open tasks and handover notes."""
    action = AccessAction.CREATE if request.method == "POST" else AccessAction.VIEW
    patient = patient_selectors.patient_for(
        request.user, public_id, what=gettext_noop("tasks and handover notes"), action=action
    )
    form = forms.HandoverForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.handover_post(actor=request.user, patient=patient, text=form.cleaned_data["text"])
            except ValidationError as error:
                apply_errors(form, error)
            else:
                form = forms.HandoverForm()
        else:
            rejected(request, patient, gettext_noop("handover note"))
    return _panel(request, patient, form)


def _panel(request: HttpRequest, patient, form) -> HttpResponse:
    context = {
        "patient": patient,
        "form": form,
        "handovers": selectors.patient_handovers(request.user, patient),
        "tasks": selectors.patient_open_tasks(patient),
        "today": timezone.localdate(),
    }
    return render(request, "coordination/_patient_panel.html", context)


@citizen_work
@require_POST
def handover_acknowledge(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    note = selectors.handover_for(
        request.user, public_id, what=gettext_noop("acknowledge handover note"), action=AccessAction.UPDATE
    )
    services.handover_acknowledge(actor=request.user, note=note)
    if request.htmx:
        return _panel(request, note.patient, forms.HandoverForm())
    return redirect("patients:detail", public_id=note.patient.public_id)


@citizen_work
@require_http_methods(["GET", "POST"])
def news(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.notifications_mark_seen(actor=request.user)
        return redirect("coordination:news")
    _log_list(request, "new for you")
    items = list(selectors.unread(request.user)[:100])
    return render(request, "coordination/news.html", {"items": items})


@citizen_work
@require_GET
def news_badge(request: HttpRequest) -> HttpResponse:
    return render(request, "coordination/_news_badge.html", {"count": selectors.unread_count(request.user)})


# --- the briefing and the worklist --------------------------------------------------------------------------


@citizen_work
@require_GET
def briefing(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    patient = patient_selectors.patient_for(request.user, public_id, what=gettext_noop("briefing"))
    data = briefing_selectors.briefing(request.user, patient)
    charts = [
        (
            change,
            f"briefing-{change.type.code}",
            briefing_selectors.briefing_figure(
                change, encounter_times=data.encounter_times, programme_events=data.programme_events
            ),
        )
        for change in data.changes
        if change.points
    ]
    return render(
        request,
        "coordination/briefing.html",
        {"b": data, "patient": patient, "charts": charts, "today": timezone.localdate()},
    )


@citizen_work
@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    form = forms.WorklistFilterForm(request.GET or None)
    scope, programme_id, rule_id = "mine", None, None
    if form.is_valid():
        c = form.cleaned_data
        scope = c["scope"] or "mine"
        programme_id = c["programme"].id if c["programme"] else None
        rule_id = c["gap"].id if c["gap"] else None
    rows = briefing_selectors.worklist(request.user, scope=scope, programme_id=programme_id, rule_id=rule_id)
    access_record(
        actor=request.user,
        action=AccessAction.SEARCH,
        what=f"worklist scope={scope} programme={programme_id or '-'} gap={rule_id or '-'}",
    )
    teams = Patient.objects.filter(team_id__in=patient_selectors.team_ids_of(request.user), status="active")
    figures = [
        briefing_selectors.caseload_figures(teams.filter(responsible_professional=request.user), _("My citizens")),
        briefing_selectors.caseload_figures(teams, _("My teams")),
    ]
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request,
        "coordination/worklist.html",
        {"form": form, "page": page, "figures": figures, "filters": filters.urlencode(), "scope": scope},
    )
