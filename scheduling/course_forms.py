"""The course pages' forms. They only parse what is typed; the rules are the services' (courses.py)."""

import datetime

from django import forms
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcenter.models import Role, Team, User
from healthcenter.views_helpers import StyledForm
from patients.forms import LocalDateField
from patients.models import Programme

from .forms import CalendarDateField
from .models import Room

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class TimeInput(forms.TimeInput):
    input_type = "time"


class TeacherChoiceField(forms.ModelMultipleChoiceField):
    """A professional as "name (profession, team)": the list holds the professionals of all the
    coordinator's teams, and only the course's own team's can teach it (the service says so)."""

    def label_from_instance(self, user: User) -> str:
        details = [user.get_profession_display().lower()] if user.profession else []
        details += [team.name for team in user.shown_teams]
        name = user.get_full_name() or user.username
        return f"{name} ({', '.join(details)})" if details else name


class CourseForm(StyledForm):
    name = forms.CharField(label=_("Name"), max_length=200, help_text=_("e.g. “Diabetesskole, forår 2027”"))
    programme = forms.ModelChoiceField(label=_("Programme"), queryset=Programme.objects.all())
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none())
    room = forms.ModelChoiceField(label=_("Room"), queryset=Room.objects.filter(is_active=True))
    professionals = TeacherChoiceField(
        label=_("Professionals"),
        queryset=User.objects.none(),
        help_text=_("Who teaches the course; they are booked for every session."),
    )
    capacity = forms.IntegerField(label=_("Places"), min_value=1, max_value=40, initial=12)
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=WEEKDAYS, coerce=int, initial=1)
    starts_at = forms.TimeField(label=_("From"), widget=TimeInput(format="%H:%M"), initial=datetime.time(10))
    ends_at = forms.TimeField(label=_("To"), widget=TimeInput(format="%H:%M"), initial=datetime.time(12))
    first_day = CalendarDateField(label=_("First session on or after"), help_text=_("Holidays are skipped."))
    session_count = forms.IntegerField(label=_("Number of sessions"), min_value=1, max_value=52, initial=8)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        # A coordinator creates courses for their own teams, taught by those teams' professionals.
        teams = Team.objects.filter(members=user) if user.role == Role.COORDINATOR else Team.objects.none()
        self.fields["team"].queryset = teams.order_by("name")
        self.fields["professionals"].queryset = (
            User.objects.filter(teams__in=teams, is_active=True, role=Role.PROFESSIONAL)
            .distinct()
            .prefetch_related(
                Prefetch(
                    "teams",
                    queryset=Team.objects.filter(pk__in=teams.values("pk")).order_by("name"),
                    to_attr="shown_teams",
                )
            )
            .order_by("first_name", "last_name")
        )
        if not self.is_bound:
            self.initial.setdefault("first_day", timezone.localdate())
            if len(self.fields["team"].queryset) == 1:
                self.initial.setdefault("team", self.fields["team"].queryset[0])


class SessionCancelForm(StyledForm):
    session = forms.UUIDField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Why is the session cancelled?"), max_length=500)


class DropOutForm(StyledForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    on = LocalDateField(label=_("Stopped on"))
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("In a few words, e.g. “Started working again”, “Too far to travel”."),
    )


class CitizenSearchForm(forms.Form):
    q = forms.CharField(label=_("Find the citizen by name or CPR number"), required=False, max_length=100)
