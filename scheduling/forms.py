"""The appointment form, one for every place an appointment is booked or moved from: the patient
page, a free slot in a week view, a care gap on the worklist and a referral's triage. Each of them
builds `AppointmentForm(data, patient=..., initial=initial_from(...))`, renders
scheduling/_appointment_fields.html and hands `form.to_data()` to scheduling.services."""

import datetime
import uuid
from collections.abc import Mapping

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from healthcenter.models import User
from healthcenter.views_helpers import StyledForm
from patients.forms import LocalDateField
from patients.models import EncounterKind, Patient

from . import selectors
from .models import Appointment, Place, Room
from .services import AppointmentData

# The durations offered, in minutes (the service takes 5 minutes to 8 hours).
DURATIONS = [15, 20, 30, 45, 60, 75, 90, 120, 180, 240]
DEFAULT_DURATION = 45
# Kinds booked one by one: group sessions are booked as courses (the service refuses them here).
BOOKABLE_KINDS = [choice for choice in EncounterKind.choices if choice[0] != EncounterKind.GROUP]
# The place that goes with each kind, for a form filled from a link that names only the kind.
PLACE_OF_KIND = {
    EncounterKind.INDIVIDUAL: Place.ROOM,
    EncounterKind.HOME_VISIT: Place.HOME,
    EncounterKind.PHONE: Place.REMOTE,
    EncounterKind.VIDEO: Place.REMOTE,
}


def _duration_label(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("%(minutes)d min") % {"minutes": minutes}
    if not rest:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest}


class LocalTimeField(forms.TimeField):
    """A time of day on the 24-hour clock, 14:30 or 14.30 as Danes write it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", ["%H:%M", "%H.%M", "%H"])
        kwargs.setdefault(
            "widget", forms.TimeInput(format="%H:%M", attrs={"inputmode": "numeric", "placeholder": "tt:mm"})
        )
        kwargs.setdefault("error_messages", {"invalid": _("Write the time as hh:mm, e.g. 10:30.")})
        super().__init__(**kwargs)


class CalendarDateField(LocalDateField):
    """A day the calendar can take (scheduling.selectors.in_calendar): a year mistyped as 9999 is an
    error to correct, not a date that overflows when the time and the length are added to it."""

    def validate(self, value):
        super().validate(value)
        if value is not None and not selectors.in_calendar(value):
            raise forms.ValidationError(
                _("Choose a day between %(first)s and %(last)s.")
                % {"first": selectors.FIRST_DAY.year, "last": selectors.LAST_DAY.year},
                code="out_of_range",
            )


def local_moment(day: datetime.date, at: datetime.time) -> datetime.datetime | None:
    """`day` at `at` on the centre's clock as an aware time, or None when the clock skips that time
    (the spring change: 02:00 to 03:00 on the last Sunday of March does not exist in Copenhagen;
    make_aware alone would silently give the hour after). An hour that occurs twice in the autumn is
    the first of the two, summer time."""
    naive = datetime.datetime.combine(day, at)
    moment = timezone.make_aware(naive)
    # Through UTC and back: astimezone() to the zone a time already has would return it unchanged.
    back = moment.astimezone(datetime.UTC).astimezone(moment.tzinfo)
    return moment if back.replace(tzinfo=None) == naive else None


class ProfessionalChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user: User) -> str:
        profession = user.get_profession_display()
        return f"{user.get_full_name() or user.username}" + (f" ({profession.lower()})" if profession else "")


class AppointmentForm(StyledForm):
    """Kind, day, time, duration, place (and room), the professionals of the citizen's team and the
    purpose. The rules (kind and place agree, nothing clashes, the day has not passed) are the
    service's; the form only reads what was typed."""

    kind = forms.ChoiceField(label=_("Kind"), choices=BOOKABLE_KINDS, initial=EncounterKind.INDIVIDUAL)
    day = CalendarDateField(label=_("Date"))
    start_time = LocalTimeField(label=_("Time"))
    duration = forms.TypedChoiceField(
        label=_("Duration"), coerce=int, choices=[(m, _duration_label(m)) for m in DURATIONS], initial=DEFAULT_DURATION
    )
    place = forms.ChoiceField(label=_("Place"), choices=Place.choices, initial=Place.ROOM)
    room = forms.ModelChoiceField(
        label=_("Room"),
        queryset=Room.objects.filter(is_active=True),
        to_field_name="public_id",
        required=False,
        empty_label=_("Choose a room"),
        help_text=_("Only for appointments at the centre."),
    )
    professionals = ProfessionalChoiceField(
        label=_("Professionals"), queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=200,
        required=False,
        help_text=_("A few words the citizen may see in the invitation, e.g. “Annual check with HbA1c”."),
    )

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.fields["professionals"].queryset = selectors.team_professionals([patient.team_id])
        # An appointment of an unusual length (moved, or booked elsewhere) keeps its own length.
        minutes = self.initial.get("duration")
        if minutes and minutes not in DURATIONS:
            self.fields["duration"].choices = sorted(
                [*self.fields["duration"].choices, (minutes, _duration_label(minutes))]
            )
        self.fields["professionals"].widget.attrs["class"] = "form-check-input"

    def clean(self):
        cleaned = super().clean()
        day, at = cleaned.get("day"), cleaned.get("start_time")
        if day is not None and at is not None and local_moment(day, at) is None:
            self.add_error(
                "start_time",
                forms.ValidationError(
                    _("The clocks go forward that night, so %(time)s does not exist. Choose another time.")
                    % {"time": at.strftime("%H:%M")},
                    code="nonexistent",
                ),
            )
        return cleaned

    def to_data(self) -> AppointmentData:
        c = self.cleaned_data
        starts_at = local_moment(c["day"], c["start_time"])
        return AppointmentData(
            kind=c["kind"],
            starts_at=starts_at,
            ends_at=starts_at + datetime.timedelta(minutes=c["duration"]),
            place=c["place"],
            professionals=list(c["professionals"]),
            room=c["room"] if c["place"] == Place.ROOM else None,
            purpose=c["purpose"],
        )


class AppointmentMoveForm(AppointmentForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


class AppointmentCancelForm(StyledForm):
    by = forms.ChoiceField(
        label=_("Who cancels"),
        choices=[("citizen", _("The citizen cancelled")), ("centre", _("The centre cancels"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["by"].widget.attrs["class"] = "form-check-input"


def initial_from(params: Mapping[str, str], *, user: User, patient: Patient) -> dict:
    """The form's first values from a link: `start` (ISO 8601, local time if no offset),
    `professional` (a user's pk), `room` (a room's public id), `kind`, `purpose`, `minutes`. What does
    not parse, or names someone outside the citizen's team, is left out; the signed-in user is the
    professional when the link names none (or one who cannot be booked with this citizen)."""
    initial: dict = {"duration": DEFAULT_DURATION, "kind": EncounterKind.INDIVIDUAL, "place": Place.ROOM}
    try:
        start = parse_datetime(params.get("start") or "")
    except ValueError:  # well formed but no such moment: 2026-02-30, 25:00
        start = None
    if start is not None and selectors.in_calendar(start.date()):
        start = timezone.localtime(start) if timezone.is_aware(start) else start
        initial["day"], initial["start_time"] = start.date(), start.time().replace(second=0, microsecond=0)
    kind = params.get("kind")
    if kind in dict(BOOKABLE_KINDS):
        initial["kind"], initial["place"] = kind, PLACE_OF_KIND[kind]
    try:
        minutes = int(params.get("minutes") or DEFAULT_DURATION)
    except ValueError:
        minutes = DEFAULT_DURATION
    if 5 <= minutes <= 480:
        initial["duration"] = minutes
    people = selectors.team_professionals([patient.team_id])
    wanted = str(params.get("professional") or "")
    chosen = [p for p in people if str(p.pk) == wanted] if wanted else []
    initial["professionals"] = chosen or [p for p in people if p.pk == user.pk]
    room = _room_named(params.get("room"))
    if room is not None:
        initial["room"], initial["place"] = room, Place.ROOM
    purpose = params.get("purpose")
    if purpose:
        initial["purpose"] = purpose[:200]
    return initial


def _room_named(public_id: str | None) -> Room | None:
    try:
        return Room.objects.filter(public_id=uuid.UUID(public_id or ""), is_active=True).first()
    except ValueError:
        return None


def initial_of(appointment: Appointment) -> dict:
    """The move form's first values: the appointment as it is."""
    start = timezone.localtime(appointment.starts_at)
    return {
        "kind": appointment.kind,
        "day": start.date(),
        "start_time": start.time(),
        "duration": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
        "place": appointment.place,
        "room": appointment.room,
        "professionals": list(appointment.professionals.all()),
        "purpose": appointment.purpose,
        "version": appointment.version,
    }
