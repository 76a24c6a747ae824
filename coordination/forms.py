import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcenter.models import Role, Team, User
from healthcenter.views_helpers import StyledForm
from patients.cpr import parse_cpr
from patients.forms import DateInput, EncounterForm
from patients.models import Programme

from .models import CareGapRule, ReferralSource, TaskPriority, TaskStatus


def team_members(teams) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Assignee"),
        required=False,
        empty_label=_("Nobody yet"),
        queryset=User.objects.filter(teams__in=teams, is_active=True, role__in=[Role.PROFESSIONAL, Role.COORDINATOR])
        .distinct()
        .order_by("first_name", "last_name"),
    )


class EncounterWithTasksForm(EncounterForm):
    """The encounter form, plus turning its agreed actions into tasks in the same step."""

    make_tasks = forms.BooleanField(label=_("Make the agreed actions tasks"), required=False, initial=True)
    task_due_on = forms.DateField(label=_("Tasks due"), required=False, widget=DateInput)

    def __init__(self, *args, patient, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task_assignee"] = team_members(Team.objects.filter(id=patient.team_id))
        self.fields["task_assignee"].initial = actor.pk
        self.fields["task_due_on"].initial = timezone.localdate() + datetime.timedelta(days=14)
        self.style_fields()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("make_tasks") and cleaned.get("agreed_actions", "").strip() and not cleaned.get("task_due_on"):
            self.add_error("task_due_on", _("Give the tasks a due date."))
        return cleaned


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


class BoardFilterForm(StyledForm):
    # Filters travel in the URL by public id or code, never by database key.
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("All"), to_field_name="public_id"
    )
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

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = user.teams.all()
        self.fields["assignee"] = team_members(user.teams.all())
        self.fields["assignee"].empty_label = _("All")
        self.fields["assignee"].to_field_name = "public_id"
        self.style_fields()


class ReferralForm(StyledForm):
    cpr = forms.CharField(label=_("CPR number"), max_length=11, help_text=_("DDMMYY-XXXX"))
    first_name = forms.CharField(
        label=_("First name"), max_length=100, required=False, help_text=_("Only for a citizen not yet registered")
    )
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
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
        self.style_fields()


class DeclineReferralForm(StyledForm):
    reason = forms.CharField(label=_("Reason for declining"), widget=forms.Textarea(attrs={"rows": 3}))


class HandoverForm(StyledForm):
    text = forms.CharField(
        label=_("Handover note"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("e.g. Daughter called, worried about the evenings")}),
    )


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
