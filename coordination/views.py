import datetime
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext, pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from healthcenter import access
from healthcenter.access import citizen_work, triage_work
from healthcenter.accounts import navigation
from healthcenter.models import AccessAction
from healthcenter.views_helpers import apply_errors
from patients import forms as patient_forms
from patients import selectors as patient_selectors
from patients import services as patient_services
from patients.models import Patient
from scheduling import forms as scheduling_forms
from scheduling import selectors as scheduling_selectors

from . import briefing as briefing_selectors
from . import forms, selectors, services
from .models import TaskOrigin, TaskPriority, TaskStatus

# --- registering a citizen ---------------------------------------------------------------------------------


@citizen_work
@require_http_methods(["GET", "POST"])
def citizen_register(request: HttpRequest) -> HttpResponse:
    """Registering a citizen. A new citizen and one another team follows (whose registration became a
    referral to that team) get the same receipt on this same page: the form tells nobody whom a CPR
    number belongs to. A citizen of the user's own teams is "already registered", with a link."""
    form = patient_forms.PatientForm(request.POST or None, user=request.user)
    known_citizen = None
    if request.method == "POST" and form.is_valid():
        try:
            services.citizen_register(actor=request.user, data=form.to_data())
        except patient_services.DuplicateCitizen as error:
            access.rejected(
                request.user,
                error.existing_public_id,
                gettext_noop("registration with a CPR number already registered"),
                action=AccessAction.CREATE,
            )
            known_citizen = error.existing_public_id
            apply_errors(form, error)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            name = f"{form.cleaned_data['first_name'].strip()} {form.cleaned_data['last_name'].strip()}"
            messages.success(request, _("The registration of %(name)s is received.") % {"name": name})
            return redirect("coordination:citizen_register")
    context = {"form": form, "title": _("Register citizen"), "known_citizen": known_citizen, "registering": True}
    return render(request, "patients/patient_form.html", context)


# --- the encounter form, which also turns agreed actions into tasks -----------------------------------------


def _my_day_of(appointment) -> str:
    """My day on the appointment's day, at its line: where one goes back to after logging from it."""
    day = timezone.localdate(appointment.starts_at).isoformat()
    return f"{reverse('scheduling:my_day')}?{urlencode({'day': day})}#appointment-{appointment.public_id}"


def _encounter_submitted(
    request: HttpRequest, form, patient: Patient, *, what: str, save, appointment=None
) -> HttpResponse | None:
    """A posted encounter form, new or draft: saved (and signed when asked) with its agreed actions'
    tasks, answered by a redirect with what was done (to the citizen's page, or My day on the
    appointment's day when it was logged from an appointment); or refused (None), the form carrying
    the errors and the refusal logged under the citizen. `save(sign)` is the service call."""
    if form.is_valid():
        sign = "sign" in request.POST
        try:
            _encounter, tasks = save(sign)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            planned = sum(plan is not None for plan in form.action_tasks())
            _saved_message(request, signed=sign, tasks=tasks, planned=planned)
            if appointment is not None:
                return redirect(_my_day_of(appointment))
            return redirect("patients:detail", public_id=patient.public_id)
    access.rejected(request.user, patient.public_id, what)
    return None


@citizen_work
@require_http_methods(["GET", "POST"])
def encounter_create(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """A new encounter; from My day with `?appointment=`, pre-filled from the appointment (kind, time,
    duration) and linked to it, or the encounter already logged from it."""
    action = AccessAction.CREATE if request.method == "POST" else AccessAction.VIEW
    patient = patient_selectors.patient_for(request.user, public_id, what=gettext_noop("encounter form"), action=action)
    appointment = _appointment_asked(request, patient)
    initial = {"started_at": timezone.localtime().replace(second=0, microsecond=0), "kind": "individual"}
    if appointment is not None:
        if request.method == "GET" and appointment.encounter_id is not None:
            return _already_logged(request, appointment)
        initial = _initial_from(appointment)
    form = forms.EncounterWithTasksForm(
        request.POST or None,
        initial=initial,
        catalogue=patient_selectors.catalogue(),
        patient=patient,
        actor=request.user,
    )
    if request.method == "POST":
        saved = _encounter_submitted(
            request,
            form,
            patient,
            what=gettext_noop("encounter form"),
            save=lambda sign: services.encounter_log(
                actor=request.user,
                patient=patient,
                data=form.to_data(),
                sign=sign,
                action_tasks=form.action_tasks(),
                appointment=appointment,
            ),
            appointment=appointment,
        )
        if saved is not None:
            return saved
    context = {"form": form, "patient": patient, "title": _("Log encounter"), "appointment": appointment}
    return render(request, "patients/encounter_form.html", context)


def _appointment_asked(request: HttpRequest, patient: Patient):
    """The appointment an encounter is logged from: `?appointment=` on the form's URL, then the form's
    hidden field. Found through the calendar's care relation (logged under the citizen), and only one
    of this same citizen's; any other answer is 404."""
    raw = request.GET.get("appointment")
    if request.method == "POST":
        raw = request.POST.get("appointment") or raw
    if not raw:
        return None
    try:
        appointment_id = uuid.UUID(raw)
    except ValueError:
        raise Http404 from None
    appointment = scheduling_selectors.appointment_for(
        request.user,
        appointment_id,
        what=gettext_noop("encounter from an appointment"),
        action=AccessAction.VIEW if request.method == "GET" else AccessAction.UPDATE,
    )
    if appointment.patient_id != patient.pk:
        raise Http404
    return appointment


def _initial_from(appointment) -> dict:
    start = timezone.localtime(appointment.starts_at)
    minutes = round((appointment.ends_at - appointment.starts_at).total_seconds() / 60)
    return {
        "kind": appointment.kind,
        "started_at": start,
        "duration_minutes": minutes,
        "appointment": appointment.public_id,
    }


def _already_logged(request: HttpRequest, appointment) -> HttpResponse:
    """My day's "log encounter" on an appointment that has one: its draft to finish, or the record."""
    encounter = appointment.encounter
    if not encounter.is_signed:
        return redirect("coordination:encounter_edit", public_id=encounter.public_id)
    messages.info(request, _("An encounter is already logged from this appointment."))
    return redirect("patients:detail", public_id=appointment.patient.public_id)


@citizen_work
@require_http_methods(["GET", "POST"])
def encounter_edit(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """A draft, with the same rows for its agreed actions as a new encounter (who and by when each)."""
    action = AccessAction.UPDATE if request.method == "POST" else AccessAction.VIEW
    encounter = patient_selectors.encounter_for(
        request.user, public_id, what=gettext_noop("encounter draft"), action=action
    )
    patient = encounter.patient
    if encounter.is_signed:
        messages.info(request, _("This encounter is signed. Corrections are added as amendments."))
        return redirect("patients:encounter_amend", public_id=encounter.public_id)
    # The appointment the draft was logged from, or (`?appointment=`) the one it is logged from now.
    linked = scheduling_selectors.appointment_logged(encounter)
    asked = _appointment_asked(request, patient) if linked is None else None
    form = forms.EncounterDraftWithTasksForm(
        request.POST or None,
        encounter=encounter,
        catalogue=patient_selectors.catalogue(),
        patient=patient,
        actor=request.user,
        initial={"appointment": asked.public_id} if asked is not None else {},
    )
    if request.method == "POST":
        saved = _encounter_submitted(
            request,
            form,
            patient,
            what=gettext_noop("encounter draft"),
            save=lambda sign: services.encounter_draft_save(
                actor=request.user,
                encounter=encounter,
                expected_version=form.cleaned_data["version"],
                data=form.to_data(),
                sign=sign,
                action_tasks=form.action_tasks(),
                appointment=asked,
            ),
            appointment=linked or asked,
        )
        if saved is not None:
            return saved
    context = {
        "form": form,
        "patient": patient,
        "encounter": encounter,
        "title": _("Edit draft encounter"),
        "appointment": linked or asked,
    }
    return render(request, "patients/encounter_form.html", context)


@citizen_work
@require_http_methods(["GET", "POST"])
def encounter_sign(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """GET asks for confirmation, showing the draft, what signing means and the tasks its agreed
    actions become; POST signs and makes them."""
    if request.method == "GET":
        encounter = patient_selectors.encounter_for(request.user, public_id, what=gettext_noop("sign encounter"))
        if encounter.is_signed or encounter.professional_id != request.user.id:
            return redirect("patients:detail", public_id=encounter.patient.public_id)
        context = {
            "encounter": encounter,
            "patient": encounter.patient,
            "measurements": encounter.measurements.select_related("type").order_by("type__display_order", "id"),
            "actions": encounter.agreed_actions.select_related("plan__assignee").order_by("position", "id"),
        }
        return render(request, "coordination/encounter_sign.html", context)
    encounter = patient_selectors.encounter_for(
        request.user, public_id, what=gettext_noop("sign encounter"), action=AccessAction.UPDATE
    )
    form = patient_forms.SignForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("The form was incomplete. Reload the page and try again."))
        _encounter, tasks = services.encounter_sign(
            actor=request.user, encounter=encounter, expected_version=form.cleaned_data["version"]
        )
    except ValidationError as error:
        access.rejected(request.user, encounter.patient.public_id, gettext_noop("sign encounter"))
        for message in error.messages:
            messages.error(request, message)
    else:
        _saved_message(request, signed=True, tasks=tasks)
    return redirect("patients:detail", public_id=encounter.patient.public_id)


def _saved_message(request: HttpRequest, *, signed: bool, tasks: list, planned: int = 0) -> None:
    saved = _("The encounter is signed.") if signed else _("The draft is saved.")
    if tasks:
        saved += " " + ngettext(
            "%(count)d task was made from the agreed actions.",
            "%(count)d tasks were made from the agreed actions.",
            len(tasks),
        ) % {"count": len(tasks)}
    elif planned and not signed:
        saved += " " + ngettext(
            "%(count)d agreed action becomes a task when the encounter is signed.",
            "%(count)d agreed actions become tasks when the encounter is signed.",
            planned,
        ) % {"count": planned}
    messages.success(request, saved)


@citizen_work
@require_GET
def encounter_action_row(request: HttpRequest, public_id: uuid.UUID, index: int) -> HttpResponse:
    """One more agreed-action row for the encounter form (htmx), and the button for the next one."""
    patient = patient_selectors.patient_for(request.user, public_id, what=gettext_noop("encounter form"))
    if index >= forms.MAX_ACTION_ROWS:
        return HttpResponse("")
    form = forms.EncounterWithTasksForm(initial={}, catalogue=[], patient=patient, actor=request.user)
    form.add_action_row(index)
    form.style_fields()
    context = {"row": form.action_row(index), "index": index, "patient": patient, "next_index": index + 1}
    return render(request, "coordination/_agreed_action_row_added.html", context)


# --- tasks ----------------------------------------------------------------------------------------------


@citizen_work
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    _log_list(request, "my tasks")
    tasks = selectors.my_tasks(request.user, page_number=request.GET.get("page"))
    return render(request, "coordination/my_tasks.html", {"tasks": tasks})


def _log_list(request: HttpRequest, what: str) -> None:
    """A list that shows citizens' names writes one row with its criterion, not a row per citizen."""
    criteria = " ".join(f"{key}={value}" for key, value in request.GET.items() if key != "page")
    access.listed(request.user, f"{what} {criteria}".strip())


def _board_filter(request: HttpRequest) -> tuple[forms.BoardFilterForm, selectors.BoardFilter, object, dict]:
    members = selectors.assignable_members(request.user)
    distinct = {m.pk: m for team_members in members.values() for m in team_members}
    form = forms.BoardFilterForm(
        request.GET or None, user=request.user, members=sorted(distinct.values(), key=lambda m: (str(m), m.pk))
    )
    board = form.to_filter()
    citizen = None
    if board.patient_public_id:
        citizen = patient_selectors.patient_for(request.user, board.patient_public_id, what=gettext_noop("team board"))
    return form, board, citizen, members


_ANY_ID = uuid.UUID(int=0)


class _Cards:
    """What every card of one board page repeats, made once for the page: each team's assignee
    <option>s escaped once (twenty options through the template engine on each of a hundred cards
    were most of the board's time), each link reversed once with the card's id put in its place, and
    each due date, origin and priority worded once."""

    def __init__(self, members: dict):
        self.members = members
        self.options: dict[int, list[tuple[int, str, str]]] = {}
        self.dues: dict[datetime.date, str] = {}
        self.origins = {value: str(label) for value, label in TaskOrigin.choices}
        self.priorities = {value: str(label) for value, label in TaskPriority.choices}
        self.links = {
            name: reverse(f"{app}:{name}", args=[_ANY_ID]).replace(str(_ANY_ID), "{}")
            for app, name in (
                ("coordination", "task"),
                ("coordination", "task_assign"),
                ("coordination", "task_status"),
                ("patients", "detail"),
            )
        }

    def _option(self, member) -> tuple[int, str, str]:
        """The option's opening up to where " selected" may go, and the rest: both escaped."""
        return member.pk, format_html('<option value="{}"', member.pk), format_html(">{}</option>", member)

    def _team_options(self, team_id: int) -> list[tuple[int, str, str]]:
        if team_id not in self.options:
            self.options[team_id] = [self._option(member) for member in self.members.get(team_id, [])]
        return self.options[team_id]

    def prepare(self, tasks) -> None:
        for task in tasks:
            options = self._team_options(selectors.team_of(task))
            if task.assignee_id is not None and all(option[0] != task.assignee_id for option in options):
                # Someone who has left the team still holds it: shown, so the choice starts from the truth.
                options = [self._option(task.assignee), *options]
            # Each part was escaped by format_html; mark_safe only joins them.
            task.assign_options = mark_safe(  # noqa: S308  # nosec B308 B703
                "".join(
                    f"{opening}{' selected' if pk == task.assignee_id else ''}{rest}" for pk, opening, rest in options
                )
            )
            public_id = str(task.public_id)
            task.link = self.links["task"].format(public_id)
            task.assign_link = self.links["task_assign"].format(public_id)
            task.status_link = self.links["task_status"].format(public_id)
            task.patient_link = self.links["detail"].format(task.patient.public_id) if task.patient_id else ""
            task.due_label = self._due(task.due_on)
            task.origin_label = self.origins.get(task.origin, task.origin)
            task.priority_label = self.priorities.get(task.priority, task.priority)

    def _due(self, day: datetime.date) -> str:
        if day not in self.dues:
            self.dues[day] = _("due %(date)s") % {"date": date_format(day, "SHORT_DATE_FORMAT")}
        return self.dues[day]


def _card_context(request: HttpRequest) -> dict:
    """The page a card's forms return to (the board, also when a card comes back through htmx) and the
    day that makes a card overdue: the same for every card."""
    back = (request.htmx and request.htmx.current_url_abs_path) or request.get_full_path()
    return {
        "back": back,
        "today": timezone.localdate(),
        "board_url": reverse("coordination:board"),
        "card_words": _card_words(),
    }


def _card_words() -> dict[str, str]:
    """The words on every card, translated once for the page rather than once for each card."""
    return {
        "all_their_tasks": _("all their tasks"),
        "assignee": _("Assignee"),
        "nobody_yet": _("Nobody yet"),
        "start": pgettext("begin work on a task", "Start"),
        "done": _("Done"),
        "unassigned": _("unassigned"),
    }


@citizen_work
@require_GET
def team_board(request: HttpRequest) -> HttpResponse:
    form, board, citizen, members = _board_filter(request)
    _log_list(request, "team board")
    columns = selectors.team_board(request.user, board)
    cards = _Cards(members)
    for column in columns:
        cards.prepare(column.tasks)
    filters = request.GET.copy()
    filters.pop("offset", None)
    context = {
        "form": form,
        "citizen": citizen,
        "columns": columns,
        "filters": filters.urlencode(),
        "filtered": any(value for key, value in request.GET.items()),
        **_card_context(request),
    }
    return render(request, "coordination/team_board.html", context)


@citizen_work
@require_GET
def board_column(request: HttpRequest, status: str) -> HttpResponse:
    """The next cards of one board column ("load more", htmx)."""
    if status not in TaskStatus.values:
        raise Http404
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        raise Http404 from None
    _form, board, _citizen, members = _board_filter(request)
    _log_list(request, f"team board {status}")
    column = selectors.board_column_page(request.user, board, status=status, offset=offset)
    _Cards(members).prepare(column.tasks)
    filters = request.GET.copy()
    filters.pop("offset", None)
    context = {"column": column, "filters": filters.urlencode(), "oob_shown": True, **_card_context(request)}
    return render(request, "coordination/_board_cards.html", context)


@citizen_work
@require_GET
def workload(request: HttpRequest) -> HttpResponse:
    teams = list(request.user.teams.order_by("name"))
    return render(request, "coordination/workload.html", {"workloads": selectors.team_workloads(request.user, teams)})


def _team_and_member(request: HttpRequest, team_public_id: uuid.UUID, member_key: str):
    team = selectors.team_for(request.user, team_public_id, what=gettext_noop("hand on tasks"))
    if member_key == forms.UNASSIGNED:
        return team, None
    try:
        member = team.members.filter(public_id=uuid.UUID(member_key)).first()
    except ValueError:
        raise Http404 from None
    if member is None:
        raise Http404
    return team, member


def _hand_on(request: HttpRequest, team, member, *, form=None, result=None) -> HttpResponse:
    tasks = selectors.member_open_tasks(request.user, team, member=member)
    context = {
        "team": team,
        "member": member,
        "member_key": str(member.public_id) if member else forms.UNASSIGNED,
        "tasks": tasks,
        "form": form or forms.MoveTasksForm(team=team, holder=member),
        "result": result,
        "today": timezone.localdate(),
    }
    if result is not None:
        # The team's figures changed: the table is swapped out of band, in the same response.
        workload = selectors.team_workload(request.user, team)
        context["workload_rows"] = workload.members
        context["unassigned"] = workload.unassigned
    return render(request, "coordination/_hand_on.html", context)


@triage_work
@require_http_methods(["GET", "POST"])
def hand_on(request: HttpRequest, team_public_id: uuid.UUID, member_key: str) -> HttpResponse:
    """A member's open tasks (or the team's unassigned ones), to hand on to a colleague: select
    all or some, choose the colleague, one POST. Loaded into the workload page by htmx. Balancing
    the team's workload is the coordinator's work (DESIGN.md); professionals see the table only."""
    team, member = _team_and_member(request, team_public_id, member_key)
    _log_list(request, f"hand on tasks team={team.public_id} from={member_key}")
    if request.method == "GET":
        return _hand_on(request, team, member)
    form = forms.MoveTasksForm(request.POST, team=team, holder=member)
    if not form.is_valid():
        return _hand_on(request, team, member, form=form)
    held = {str(task.public_id): task for task in selectors.member_open_tasks(request.user, team, member=member)}
    moves, gone = [], []
    for public_id in form.chosen():
        task, version = held.get(public_id), form.version_of(public_id)
        if task is None or version is None:
            gone.append(public_id)
        else:
            moves.append((task, version))
    result = services.tasks_move(actor=request.user, moves=moves, assignee=form.cleaned_data["to"])
    result.gone = len(gone)
    return _hand_on(request, team, member, form=forms.MoveTasksForm(team=team, holder=member), result=result)


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
        action = AccessAction.CREATE if request.method == "POST" else AccessAction.VIEW
        patient = patient_selectors.patient_for(
            request.user, citizen_uuid, what=gettext_noop("task form"), action=action
        )
    initial = {"due_on": timezone.localdate() + datetime.timedelta(days=7)}
    if patient is not None:
        initial["team"] = patient.team_id
        # Who follows up is most often the one asking (My day's follow-up after a no-show).
        if access.may_work_on(request.user, access.Work.CITIZENS, patient.team_id):
            initial["assignee"] = request.user.pk
    # A title offered by the page that sent the user here (My day's follow-up after a no-show); it
    # names no citizen (STYLE.md rule 4), only what to do.
    if request.method == "GET" and request.GET.get("title"):
        initial["title"] = request.GET["title"][: forms.TaskForm.base_fields["title"].max_length]
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
    if request.method == "POST" and patient is not None:
        access.rejected(request.user, patient.public_id, gettext_noop("task form"), action=AccessAction.CREATE)
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
        if task.patient is not None:
            access.rejected(request.user, task.patient.public_id, gettext_noop("task change"))
        for message in error.messages:
            messages.error(request, message)
    next_url = request.POST.get("next", "")
    if navigation.is_safe(request, next_url):
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
    if request.htmx and request.POST.get("card"):
        return _assign_on_card(request, public_id)

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


def _assign_on_card(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Assigning from a board card: the card comes back in place, with the outcome on it."""
    task = selectors.task_for(request.user, public_id, what=gettext_noop("task change"), action=AccessAction.UPDATE)
    form = forms.AssignForm(request.POST, team=_current_team(task))
    error = None
    if not form.is_valid():
        error = _("Choose a member of the task's team.")
    else:
        try:
            services.task_assign(
                actor=request.user,
                task=task,
                assignee=form.cleaned_data["assignee"],
                expected_version=form.cleaned_data["version"],
            )
        except ValidationError as failure:
            error = " ".join(failure.messages)
            task = selectors.task_for(request.user, public_id, what=gettext_noop("task"))
    _Cards(selectors.assignable_members(request.user)).prepare([task])
    context = {"task": task, "error": error, "assigned": error is None, **_card_context(request)}
    return render(request, "coordination/_board_card.html", context)


def _current_team(task):
    """The citizen's team now, or the task's own: whom the task service lets it be assigned to."""
    return task.patient.team if task.patient_id else task.team


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


@citizen_work
@require_GET
def referral_list(request: HttpRequest) -> HttpResponse:
    _log_list(request, "referral list")
    awaiting = selectors.with_waiting(list(selectors.referrals_awaiting(request.user)[:200]))
    triaged = selectors.with_waiting(list(selectors.referrals_triaged(request.user)[:100]))
    return render(request, "coordination/referral_list.html", {"awaiting": awaiting, "triaged": triaged})


@triage_work
@require_http_methods(["GET", "POST"])
def referral_create(request: HttpRequest) -> HttpResponse:
    """One receipt, on this page, whichever the CPR number turned out to be (a new citizen, one of
    the user's teams' or another team's): the form tells nobody whom a number belongs to."""
    form = forms.ReferralForm(request.POST or None, initial={"received_on": timezone.localdate()}, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.referral_receive(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The referral is registered and awaits triage."))
            return redirect("coordination:referral_create")
    return render(request, "coordination/referral_form.html", {"form": form})


@citizen_work
@require_http_methods(["GET", "POST"])
def referral_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    # Triage (a POST) is the citizen's team's coordinators' work: anyone else is refused here, in one
    # denied row, before anything is read or changed.
    triage = request.method == "POST"
    referral = selectors.referral_for(
        request.user,
        public_id,
        what=gettext_noop("referral"),
        action=AccessAction.UPDATE if triage else AccessAction.VIEW,
        work=access.Work.TRIAGE if triage else access.Work.CITIZENS,
    )
    accepting = "accept" in request.POST
    accept = forms.AcceptReferralForm(
        request.POST if accepting else None,
        initial={"programme": referral.programme_id, "start_on": timezone.localdate()},
        team=referral.team,
    )
    # The first contact, booked in the same step when asked for (the calendar's own form).
    contact = scheduling_forms.AppointmentForm(
        request.POST if accepting and "book_first_contact" in request.POST else None,
        prefix="contact",
        patient=referral.patient,
        initial=scheduling_forms.initial_from({}, user=request.user, patient=referral.patient),
    )
    decline = forms.DeclineReferralForm(request.POST if "decline" in request.POST else None)
    if triage:
        try:
            # Both forms checked, so that every error shows at once.
            booking = contact.is_bound
            if accepting and all([accept.is_valid(), not booking or contact.is_valid()]):
                first_contact = contact.to_data() if booking else None
                accepted = services.referral_accept(
                    actor=request.user, referral=referral, first_contact=first_contact, **accept.acceptance()
                )
                messages.success(request, _accepted_message(first_contact))
                if selectors.runs_courses(accepted.programme, team_id=accepted.patient.team_id):
                    # Where "Add to a course" is offered.
                    return redirect("coordination:referral", public_id=referral.public_id)
                return redirect("coordination:referrals")
            if "decline" in request.POST and decline.is_valid():
                services.referral_decline(actor=request.user, referral=referral, reason=decline.cleaned_data["reason"])
                messages.success(request, _("The referral is declined."))
                return redirect("coordination:referrals")
        except services.FirstContactRefused as error:
            apply_errors(contact, error)
        except ValidationError as error:
            apply_errors(accept if accepting else decline, error)
        access.rejected(request.user, referral.patient.public_id, gettext_noop("referral"))
    context = {
        # The same reading as the list: with its first signed encounter, for the days waited.
        "referral": selectors.with_waiting([selectors.referrals_for_triage(request.user).get(pk=referral.pk)])[0],
        "citizen": selectors.referral_context(referral),
        "accept": accept,
        "contact": contact,
        "decline": decline,
        "offers_course": referral.status == "accepted"
        # The citizen's team: the one whose courses can take them (normally the referral's own).
        and selectors.runs_courses(referral.programme, team_id=referral.patient.team_id),
        "today": timezone.localdate(),
    }
    return render(request, "coordination/referral_detail.html", context)


def _booked_when(starts_at: datetime.datetime) -> dict[str, str]:
    """An appointment's start for "booked on %(date)s at %(time)s": its local day and time of day."""
    start = timezone.localtime(starts_at)
    return {"date": date_format(start, "SHORT_DATE_FORMAT"), "time": date_format(start, "H:i")}


def _accepted_message(first_contact) -> str:
    if first_contact is None:
        return _("The citizen is enrolled and a first-contact task is created.")
    return _("The citizen is enrolled and the first contact is booked on %(date)s at %(time)s.") % _booked_when(
        first_contact.starts_at
    )


# --- booking from a care gap --------------------------------------------------------------------------------


@citizen_work
@require_http_methods(["GET", "POST"])
def care_gap_book(request: HttpRequest, public_id: uuid.UUID, rule_code: str) -> HttpResponse:
    """Books an appointment for one of the citizen's open care gaps (the worklist's and the
    briefing's "Book"), pre-filled with the rule as the purpose and the user as who meets the
    citizen; the gap then shows "booked" until the appointment is cancelled, missed or past."""
    action = AccessAction.CREATE if request.method == "POST" else AccessAction.VIEW
    what = gettext_noop("booking from a care gap")
    patient = patient_selectors.patient_for(request.user, public_id, what=what, action=action)
    back = navigation.safe_next(request, reverse("coordination:worklist"))
    gap = selectors.open_care_gap(patient, rule_code)
    if gap is None:
        messages.info(request, _("This care gap has been filled in the meantime."))
        return redirect(back)
    booked_on = gap.booked_on(timezone.localdate())
    if booked_on is not None:
        messages.info(
            request,
            _("This care gap is already booked on %(date)s.") % {"date": date_format(booked_on, "SHORT_DATE_FORMAT")},
        )
        return redirect(back)
    # The calendar's own form, filled like a link from the gap: the rule as the purpose, the user
    # (when they can be booked with this citizen) as who meets them.
    initial = scheduling_forms.initial_from({"purpose": gap.rule.name}, user=request.user, patient=patient)
    form = scheduling_forms.AppointmentForm(request.POST or None, patient=patient, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                appointment = services.care_gap_book(actor=request.user, gap=gap, data=form.to_data())
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(
                    request,
                    _("“%(purpose)s” is booked on %(date)s at %(time)s.")
                    % {"purpose": appointment.purpose or gap.rule.name, **_booked_when(appointment.starts_at)},
                )
                return redirect(back)
        access.rejected(request.user, patient.public_id, what, action=action)
    context = {"form": form, "patient": patient, "gap": gap, "back": back}
    return render(request, "coordination/care_gap_book.html", context)


# --- handover notes and what is new ------------------------------------------------------------------------


@citizen_work
@require_http_methods(["GET", "POST"])
def patient_panel(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The coordination panel on the patient page (loaded by htmx): open tasks and handover notes."""
    action = AccessAction.CREATE if request.method == "POST" else AccessAction.VIEW
    patient = patient_selectors.patient_for(
        request.user, public_id, what=gettext_noop("tasks and handover notes"), action=action
    )
    form = forms.HandoverForm(request.POST or None, patient=patient, actor=request.user)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.handover_post(
                    actor=request.user,
                    patient=patient,
                    text=form.cleaned_data["text"],
                    recipients=list(form.cleaned_data["recipients"]),
                    whole_team=form.cleaned_data["whole_team"],
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                form = forms.HandoverForm(patient=patient, actor=request.user)
        else:
            access.rejected(request.user, patient.public_id, gettext_noop("handover note"))
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
    if request.htmx and request.POST.get("from") == "news":
        return render(request, "coordination/_news_acknowledged.html", {"note": note})
    if request.htmx:
        return _panel(request, note.patient, forms.HandoverForm(patient=note.patient, actor=request.user))
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
    # Counted with the stories returned to the author in one query (reporting's news_count tag).
    return render(request, "coordination/_news_badge.html", {"unread": selectors.unread(request.user)})


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
        {
            "b": data,
            "patient": patient,
            "charts": charts,
            "today": timezone.localdate(),
            "back": request.get_full_path(),
        },
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
    page = briefing_selectors.worklist(
        request.user, scope=scope, programme_id=programme_id, rule_id=rule_id, page_number=request.GET.get("page")
    )
    access.listed(request.user, f"worklist scope={scope} programme={programme_id or '-'} gap={rule_id or '-'}")
    # The user's own citizens are counted live (a caseload is small); the teams' and the centre's
    # figures come from the rollup rows, through the display function (reporting's centre_comparison).
    mine = Patient.objects.filter(
        team_id__in=access.care_team_ids(request.user), status="active", responsible_professional=request.user
    )
    figures = [briefing_selectors.caseload_figures(mine, _("My citizens"))]
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request,
        "coordination/worklist.html",
        {
            "form": form,
            "page": page,
            "figures": figures,
            "filters": filters.urlencode(),
            "scope": scope,
            # Where "Book" on a care gap comes back to: this page, filters and all.
            "back": request.get_full_path(),
        },
    )
