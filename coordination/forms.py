import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcenter import access
from healthcenter.models import Team, User
from healthcenter.views_helpers import StyledForm
from patients.cpr import parse_cpr
from patients.forms import DateInput, EncounterForm
from patients.models import AgreedAction, Programme

from .models import CareGapRule, ReferralSource, TaskOrigin, TaskPriority, TaskStatus
from .selectors import BoardFilter, DueWithin
from .services import ActionTask


def team_members(teams) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Assignee"),
        required=False,
        empty_label=_("Nobody yet"),
        queryset=User.objects.filter(teams__in=teams, is_active=True, role__in=access.roles_for(access.Work.CITIZENS))
        .distinct()
        .order_by("first_name", "last_name"),
    )


ACTION_ROWS = 3  # empty rows offered at first; "add an agreed action" adds more
MAX_ACTION_ROWS = 30


def action_field(index: int, name: str) -> str:
    return f"action-{index}-{name}"


class EncounterWithTasksForm(EncounterForm):
    """The encounter form, plus turning its agreed actions into tasks in the same step. Each agreed
    action has its own row: the text, who does it and by when."""

    make_tasks = forms.BooleanField(label=_("Make the agreed actions tasks"), required=False, initial=True)
    # The appointment the encounter is logged from (My day's "log encounter"), kept through errors.
    appointment = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, patient, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        # The rows replace the one-per-line text box of the plain encounter form.
        del self.fields["agreed_actions"]
        self.patient = patient
        self.actor = actor
        self.row_count = max(ACTION_ROWS, self._rows_in_data())
        for index in range(self.row_count):
            self.add_action_row(index)
        self.style_fields()

    def _rows_in_data(self) -> int:
        indexes = [
            int(key.split("-")[1])
            for key in (self.data or {})
            if key.startswith("action-") and key.endswith("-text") and key.split("-")[1].isdigit()
        ]
        return min(max(indexes, default=-1) + 1, MAX_ACTION_ROWS)

    def add_action_row(self, index: int) -> None:
        self.fields[action_field(index, "text")] = forms.CharField(
            label=_("Agreed action"), max_length=300, required=False
        )
        assignee = team_members(Team.objects.filter(id=self.patient.team_id))
        assignee.label = _("Who")
        assignee.initial = self.actor.pk
        self.fields[action_field(index, "assignee")] = assignee
        self.fields[action_field(index, "due_on")] = forms.DateField(
            label=_("Due"),
            required=False,
            widget=DateInput,
            initial=timezone.localdate() + datetime.timedelta(days=14),
        )

    def action_row(self, index: int) -> tuple:
        return tuple(self[action_field(index, name)] for name in ("text", "assignee", "due_on"))

    def action_rows(self) -> list[tuple]:
        return [self.action_row(index) for index in range(self.row_count)]

    def text_fields(self):
        return [self[name] for name in ("what_matters", "note")]

    def _filled_rows(self) -> list[int]:
        c = self.cleaned_data
        return [i for i in range(self.row_count) if (c.get(action_field(i, "text")) or "").strip()]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("make_tasks"):
            for index in self._filled_rows():
                if self.fields[action_field(index, "due_on")].disabled:
                    continue  # already a task: its due date is the task's, changed on the task
                due = cleaned.get(action_field(index, "due_on"))
                if due is None and action_field(index, "due_on") not in self.errors:
                    self.add_error(action_field(index, "due_on"), _("Give the task a due date."))
                elif due is not None and due < timezone.localdate():
                    self.add_error(action_field(index, "due_on"), _("The due date cannot be in the past."))
        return cleaned

    def agreed_action_texts(self) -> list[str]:
        return [self.cleaned_data[action_field(i, "text")].strip() for i in self._filled_rows()]

    def action_tasks(self) -> list[ActionTask | None]:
        """For each agreed action, in order, who does it and by when; None when no task is wanted."""
        c = self.cleaned_data
        if not c["make_tasks"]:
            return [None] * len(self._filled_rows())
        return [
            ActionTask(assignee=c[action_field(i, "assignee")], due_on=c[action_field(i, "due_on")])
            for i in self._filled_rows()
        ]


class EncounterDraftWithTasksForm(EncounterWithTasksForm):
    """A draft's form: the same rows as a new encounter's, each action with who does it and by when
    as planned (coordination.models.ActionPlan), so the plan can still change until the draft is signed."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, encounter, **kwargs):
        actions = list(encounter.agreed_actions.select_related("plan", "task").order_by("position", "id"))
        self.tasked_rows = {i for i, action in enumerate(actions) if _task_of(action) is not None}
        kwargs["initial"] = {**self.draft_initial(encounter, actions), **kwargs.get("initial", {})}
        self._draft_rows = len(actions) + 1  # one empty row to add an action without a click
        super().__init__(*args, **kwargs)
        for index in self.tasked_rows:
            # Made a task before drafts kept plans: who and when are the task's own now.
            for name in ("assignee", "due_on"):
                self.fields[action_field(index, name)].disabled = True

    def _rows_in_data(self) -> int:
        return max(super()._rows_in_data(), min(self._draft_rows, MAX_ACTION_ROWS))

    @staticmethod
    def draft_initial(encounter, actions) -> dict:
        initial = {
            "kind": encounter.kind,
            "started_at": encounter.started_at,
            "duration_minutes": encounter.duration_minutes,
            "note": encounter.note,
            "what_matters": encounter.what_matters,
            "caregiver_present": encounter.caregiver_present,
            "version": encounter.version,
            # Actions without a plan were saved with "make the agreed actions tasks" unticked.
            "make_tasks": not actions or any(_plan_of(a) or _task_of(a) for a in actions),
        }
        for m in encounter.measurements.select_related("type"):
            initial[f"m_{m.type.code}"] = m.value if m.value is not None else m.result
        for index, action in enumerate(actions):
            initial[action_field(index, "text")] = action.text
            held = _task_of(action) or _plan_of(action)
            if held is not None:
                initial[action_field(index, "assignee")] = held.assignee_id
                initial[action_field(index, "due_on")] = held.due_on
        return initial


def _plan_of(action):
    try:
        return action.plan
    except AgreedAction.plan.RelatedObjectDoesNotExist:
        return None


def _task_of(action):
    try:
        return action.task
    except AgreedAction.task.RelatedObjectDoesNotExist:
        return None


class TaskForm(StyledForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none())
    due_on = forms.DateField(label=_("Due"), widget=DateInput)
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=TaskPriority.choices, coerce=int, initial=TaskPriority.NORMAL
    )
    recurrence_months = forms.IntegerField(
        label=_("Repeat every (months)"),
        required=False,
        min_value=1,
        max_value=24,
        help_text=_("Leave empty for a one-off task"),
    )

    def __init__(self, *args, user: User, patient=None, **kwargs):
        super().__init__(*args, **kwargs)
        # A task about a citizen belongs to the citizen's team: offer no other.
        teams = Team.objects.filter(id=patient.team_id) if patient is not None else user.teams.all()
        self.fields["team"].queryset = teams
        self.fields["assignee"] = team_members(teams)
        self.style_fields()


class AssignForm(StyledForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = team_members(Team.objects.filter(id=team.id))
        self.style_fields()


class StatusForm(StyledForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    status = forms.ChoiceField(choices=TaskStatus.choices)


class CommentForm(StyledForm):
    text = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


UNASSIGNED = "none"


class BoardFilterForm(StyledForm):
    # Filters travel in the URL by public id or code, never by database key.
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("All"), to_field_name="public_id"
    )
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    due = forms.ChoiceField(
        label=_("Due"),
        required=False,
        choices=[
            ("", _("Any time")),
            (DueWithin.OVERDUE, _("Overdue")),
            (DueWithin.WEEK, _("Within a week")),
            (DueWithin.LATER, _("Later")),
        ],
    )
    origin = forms.ChoiceField(label=_("Origin"), required=False, choices=[("", _("All")), *TaskOrigin.choices])
    programme = forms.ModelChoiceField(
        label=_("Programme"),
        queryset=Programme.objects.all(),
        required=False,
        empty_label=_("All"),
        to_field_name="code",
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        choices=[("", _("All")), *TaskPriority.choices],
        coerce=int,
        required=False,
        empty_value=None,
    )
    citizen = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user: User, members: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = user.teams.all()
        self.members = {str(m.public_id): m for m in members}
        self.fields["assignee"].choices = [
            ("", _("All")),
            (UNASSIGNED, _("Nobody yet")),
            *((public_id, str(m)) for public_id, m in self.members.items()),
        ]
        self.style_fields()

    def to_filter(self) -> BoardFilter:
        if not self.is_valid():
            return BoardFilter()
        c = self.cleaned_data
        assignee = self.members.get(c["assignee"])
        return BoardFilter(
            team_id=c["team"].id if c["team"] else None,
            patient_public_id=c["citizen"],
            programme_id=c["programme"].id if c["programme"] else None,
            priority=c["priority"],
            assignee_id=assignee.id if assignee else None,
            unassigned=c["assignee"] == UNASSIGNED,
            due=c["due"] or None,
            origin=c["origin"] or None,
        )


class MoveTasksForm(StyledForm):
    """Hands the chosen tasks of one member (or unassigned ones) to another member."""

    to = forms.ModelChoiceField(
        label=_("Move to"),
        queryset=User.objects.none(),
        to_field_name="public_id",
        empty_label=_("Choose a colleague"),
    )

    def __init__(self, *args, team: Team, holder: User | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.holder = holder
        field = self.fields["to"]
        field.queryset = team_members(Team.objects.filter(id=team.id)).queryset
        if holder is not None:
            # The holder is not offered: handing tasks to the one who has them moves nothing. A
            # request naming them anyway gets clean_to's message, not "not a valid choice".
            field.widget.choices = [
                (value, label) for value, label in field.choices if getattr(value, "value", value) != holder.public_id
            ]

    def clean_to(self):
        to = self.cleaned_data["to"]
        if self.holder is not None and to == self.holder:
            raise forms.ValidationError(
                _("%(name)s already holds these tasks. Choose the colleague who is to take them over.") % {"name": to}
            )
        return to

    def clean(self):
        cleaned = super().clean()
        if not self.chosen():
            self.add_error(None, _("Choose at least one task."))
        return cleaned

    def chosen(self) -> list[str]:
        return self.data.getlist("task") if hasattr(self.data, "getlist") else []

    def version_of(self, public_id: str) -> int | None:
        raw = self.data.get(f"version-{public_id}", "")
        return int(raw) if raw.isdigit() else None


class ReferralForm(StyledForm):
    cpr = forms.CharField(label=_("CPR number"), max_length=11, help_text=_("DDMMYY-XXXX"))
    # Asked for every time, as the referral gives them: were they asked only for a citizen not yet
    # registered, the form would tell whether a CPR number is known here.
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none())
    source = forms.ChoiceField(label=_("From"), choices=ReferralSource.choices)
    received_on = forms.DateField(label=_("Received"), widget=DateInput)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    attachments = forms.CharField(
        label=_("Attachments"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Text of letters or notes that came with it"),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = user.teams.all()

    def clean_cpr(self):
        return parse_cpr(self.cleaned_data["cpr"]).number


class AcceptReferralForm(StyledForm):
    programme = forms.ModelChoiceField(label=_("Programme"), queryset=Programme.objects.all())
    start_on = forms.DateField(label=_("Start"), widget=DateInput)

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = team_members(Team.objects.filter(id=team.id))
        self.fields["assignee"].label = _("First contact by")
        # The first meeting, booked in the same step (scheduling.forms.AppointmentForm beside this form).
        self.fields["book_first_contact"] = forms.BooleanField(label=_("Book the first contact now"), required=False)
        self.style_fields()

    def acceptance(self) -> dict:
        """What referral_accept takes from this form."""
        return {name: value for name, value in self.cleaned_data.items() if name != "book_first_contact"}


class DeclineReferralForm(StyledForm):
    reason = forms.CharField(label=_("Reason for declining"), widget=forms.Textarea(attrs={"rows": 3}))


class HandoverForm(StyledForm):
    text = forms.CharField(
        label=_("Handover note"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("e.g. Daughter called, worried about the evenings")}),
    )
    recipients = forms.ModelMultipleChoiceField(
        label=_("For"), queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    whole_team = forms.BooleanField(label=_("The whole team"), required=False)

    def __init__(self, *args, patient, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipients"].queryset = team_members(Team.objects.filter(id=patient.team_id)).queryset.exclude(
            pk=actor.pk
        )
        if patient.responsible_professional_id and patient.responsible_professional_id != actor.pk:
            self.fields["recipients"].initial = [patient.responsible_professional_id]
        self.style_fields()
        self.fields["recipients"].widget.attrs["class"] = "form-check-input"

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("recipients") and not cleaned.get("whole_team"):
            self.add_error("recipients", _("Choose who the note is for, or the whole team."))
        return cleaned


class WorklistFilterForm(StyledForm):
    scope = forms.ChoiceField(
        label=_("Citizens"),
        choices=[("mine", _("I am responsible for")), ("team", _("My teams"))],
        required=False,
    )
    programme = forms.ModelChoiceField(
        label=_("Programme"),
        queryset=Programme.objects.all(),
        required=False,
        empty_label=_("All"),
        to_field_name="code",
    )
    gap = forms.ModelChoiceField(
        label=_("Care gap"),
        queryset=CareGapRule.objects.filter(is_active=True),
        required=False,
        empty_label=_("All"),
        to_field_name="code",
    )
