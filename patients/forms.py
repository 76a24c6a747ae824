"""Forms parse and check the shape of input; the rules live in services.py."""

import datetime
import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.forms.utils import from_current_timezone
from django.utils import formats
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from healthcenter import access
from healthcenter.formatting import number
from healthcenter.models import Team, User
from healthcenter.views_helpers import StyledForm

from . import cpr as cpr_rules
from . import phones
from .models import (
    ConditionGroup,
    ConditionKind,
    ConsentKind,
    EncounterKind,
    EndReason,
    GoalStatus,
    MeasurementKind,
    MeasurementType,
    PatientStatus,
    ProcedureResult,
    Programme,
)
from .services import EncounterData, GoalData, MeasurementInput, PatientData

# --- what people type: dates, times and numbers as the active language writes them -----------------
# The browser's own date and number inputs follow the browser's language, not the page's: a Danish
# page in an English browser shows dates as 11/27/2026, and a number input reads a comma by the
# browser's rules (issue 9: "86,5" was saved as 865). These are text inputs that show and read the
# page language's formats, and refuse what they cannot read exactly.

HINT_TOKENS = {
    "%d": pgettext_lazy("date format hint: day", "dd"),
    "%m": pgettext_lazy("date format hint: month", "mm"),
    "%Y": pgettext_lazy("date format hint: year", "yyyy"),
    "%H": pgettext_lazy("date format hint: hour", "hh"),
    "%M": pgettext_lazy("date format hint: minute", "mm"),
}


def date_input_format() -> str:
    """The active language's way of writing a date (Danish 27.11.2026), as a strptime format."""
    return formats.get_format("DATE_INPUT_FORMATS")[0]


def datetime_input_format() -> str:
    return f"{date_input_format()} %H:%M"


def format_hint(fmt: str) -> str:
    """dd.mm.åååå tt:mm in Danish: the format in words a person reads."""
    return re.sub(r"%[dmYHM]", lambda token: str(HINT_TOKENS[token.group()]), fmt)


class DateInput(forms.DateInput):
    input_type = "text"

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        return formats.localize_input(value, date_input_format())

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].setdefault("placeholder", format_hint(date_input_format()))
        return context


class DateTimeInput(forms.DateTimeInput):
    input_type = "text"

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        return formats.localize_input(value, datetime_input_format())

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].setdefault("placeholder", format_hint(datetime_input_format()))
        return context


class LocalDateField(forms.DateField):
    """A date in the active language's format (or ISO 8601, which cannot be misread); anything
    else is refused with the format to use."""

    widget = DateInput

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(
                _("Write the date as %(hint)s, e.g. %(example)s.")
                % {"hint": format_hint(date_input_format()), "example": _example_day().strftime(date_input_format())},
                code="invalid",
            ) from None


class LocalDateTimeField(forms.DateTimeField):
    """A date and time in the active language's format; the time may be written 14:30 or 14.30."""

    widget = DateTimeInput

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            text = value.strip()
            for fmt in (datetime_input_format(), datetime_input_format().replace("%H:%M", "%H.%M")):
                try:
                    # Wall-clock time in the centre's zone, made aware right away.
                    return from_current_timezone(datetime.datetime.strptime(text, fmt))  # noqa: DTZ007
                except ValueError:
                    continue
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(
                _("Write the date and time as %(hint)s, e.g. %(example)s.")
                % {
                    "hint": format_hint(datetime_input_format()),
                    "example": datetime.datetime.combine(_example_day(), datetime.time(14, 30)).strftime(
                        datetime_input_format()
                    ),
                },
                code="invalid",
            ) from None


def _example_day() -> datetime.date:
    return datetime.date(2026, 11, 27)


class DecimalInput(forms.TextInput):
    """A number as the active language writes it (84,5 in Danish), with the keyboard for numbers on
    a tablet. Typed text is shown back as it was typed."""

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
            return number(value)
        return super().format_value(value)


# ASCII digits: \d would also read Arabic-Indic or full-width digits, which nobody checks by eye.
_PLAIN_NUMBER = re.compile(r"([+-]?)([0-9]*)(?:[.,]([0-9]+))?")
_GROUPED_NUMBER = re.compile(
    r"[+-]?[0-9]{1,3}(?:[. ][0-9]{3})+(?:,[0-9]*)?|[+-]?[0-9]{1,3}(?:[, ][0-9]{3})+(?:\.[0-9]*)?"
)


class LocalDecimalField(forms.DecimalField):
    """Reads the decimal comma and the decimal point alike ("86,5" and "86.5" are 86.5) and never
    guesses at a thousands separator: "1.234,5" is refused with a message, not read as 1.2345 or
    12345. Too many decimals are refused rather than rounded."""

    widget = DecimalInput
    default_error_messages = {
        "invalid": _("Write a number, e.g. 86.5."),
        "grouped": _("Write the number without a thousands separator, e.g. 1234.5."),
        "max_decimal_places": _(
            "Write the number with at most %(max)s decimals and without a thousands separator, e.g. 1234.5."
        ),
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip().replace("\u2212", "-")
        match = _PLAIN_NUMBER.fullmatch(text)
        if match is None or not (match.group(2) or match.group(3)):
            code = "grouped" if _GROUPED_NUMBER.fullmatch(text) else "invalid"
            raise ValidationError(self.error_messages[code], code=code)
        sign, whole, decimals = match.groups()
        return Decimal(f"{sign}{whole or '0'}.{decimals}") if decimals else Decimal(sign + whole)


class VersionedForm(StyledForm):
    """Carries the version the user started from, for optimistic locking."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class PatientSearchForm(StyledForm):
    term = forms.CharField(label=_("Name or CPR number"), required=False, max_length=100)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("All my teams")
    )
    programme = forms.ModelChoiceField(
        label=_("Programme"), queryset=Programme.objects.all(), required=False, empty_label=_("All programmes")
    )
    condition = forms.ChoiceField(
        label=_("Condition"), choices=[("", _("All conditions")), *ConditionGroup.choices], required=False
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = user.teams.all()


class PatientForm(StyledForm):
    cpr = forms.CharField(label=_("CPR number"), max_length=11, help_text=_("DDMMYY-XXXX"))
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    postal_code = forms.RegexField(
        label=_("Postal code"), regex=r"^\d{4}$", required=False, error_messages={"invalid": _("Four digits.")}
    )
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    gp_name = forms.CharField(label=_("General practitioner"), max_length=200, required=False)
    gp_phone = forms.CharField(label=_("GP phone"), max_length=20, required=False)
    team = forms.ModelChoiceField(label=_("Responsible team"), queryset=Team.objects.none())
    responsible_professional = forms.ModelChoiceField(
        label=_("Responsible professional"), queryset=User.objects.none(), required=False
    )
    status = forms.ChoiceField(label=_("Status"), choices=PatientStatus.choices, initial=PatientStatus.ACTIVE)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = user.teams.all()
        self.fields["responsible_professional"].queryset = (
            User.objects.filter(
                teams__in=user.teams.all(), role__in=access.roles_for(access.Work.CITIZENS), is_active=True
            )
            .distinct()
            .order_by("first_name", "last_name")
        )

    def clean_cpr(self):
        return cpr_rules.parse_cpr(self.cleaned_data["cpr"]).number

    def clean_phone(self):
        return phones.parse_phone(self.cleaned_data["phone"])

    def clean_gp_phone(self):
        return phones.parse_phone(self.cleaned_data["gp_phone"])

    def to_data(self) -> PatientData:
        return PatientData(**{name: self.cleaned_data[name] for name in PatientData.__dataclass_fields__})


class PatientEditForm(PatientForm, VersionedForm):
    pass


def _measurement_field(mt: MeasurementType) -> forms.Field:
    label = f"{mt.label} ({mt.unit})" if mt.unit else mt.label
    if mt.kind == MeasurementKind.PROCEDURE:
        return forms.ChoiceField(label=label, required=False, choices=[("", _("Not done")), *ProcedureResult.choices])
    message = _("Must be between %(low)s and %(high)s %(unit)s.") % {
        "low": number(mt.plausible_min),
        "high": number(mt.plausible_max),
        "unit": mt.unit,
    }
    return LocalDecimalField(
        label=label,
        required=False,
        max_digits=8,
        decimal_places=2,
        validators=[
            MinValueValidator(mt.plausible_min, message=message),
            MaxValueValidator(mt.plausible_max, message=message),
        ],
        help_text=f"{mt.coding_system} {mt.coding_code}",
    )


class EncounterForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=EncounterKind.choices)
    started_at = LocalDateTimeField(label=_("Time"))
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=1, max_value=600, initial=30)
    what_matters = forms.CharField(
        label=_("What matters to the citizen"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("In the citizen's own words"),
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 6}))
    caregiver_present = forms.BooleanField(label=_("The primary caregiver took part"), required=False)
    agreed_actions = forms.CharField(
        label=_("Agreed actions"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line"),
    )

    def __init__(self, *args, catalogue: list[MeasurementType], **kwargs):
        super().__init__(*args, **kwargs)
        self.catalogue = catalogue
        for mt in catalogue:
            self.fields[f"m_{mt.code}"] = _measurement_field(mt)
        self.style_fields()

    def text_fields(self):
        return [self[name] for name in ("what_matters", "note", "agreed_actions")]

    def measurement_fields(self):
        return [self[f"m_{mt.code}"] for mt in self.catalogue]

    def clean(self):
        cleaned = super().clean()
        measurement_errors = any(f"m_{mt.code}" in self.errors for mt in self.catalogue)
        nothing_written = not any(cleaned.get(name) for name in ("note", "what_matters"))
        if nothing_written and not measurement_errors and not self._measurements(cleaned):
            raise forms.ValidationError(_("Write a note, what matters to the citizen, or at least one measurement."))
        return cleaned

    def _measurements(self, cleaned) -> list[MeasurementInput]:
        found = []
        for mt in self.catalogue:
            raw = cleaned.get(f"m_{mt.code}")
            if raw in (None, ""):
                continue
            if mt.kind == MeasurementKind.PROCEDURE:
                found.append(MeasurementInput(type=mt, result=raw))
            else:
                found.append(MeasurementInput(type=mt, value=raw))
        return found

    def agreed_action_texts(self) -> list[str]:
        """One agreed action per line. The form that also makes tasks gives each action its own row."""
        return [line for line in self.cleaned_data["agreed_actions"].splitlines() if line.strip()]

    def to_data(self) -> EncounterData:
        c = self.cleaned_data
        return EncounterData(
            kind=c["kind"],
            started_at=c["started_at"],
            duration_minutes=c["duration_minutes"],
            note=c["note"],
            what_matters=c["what_matters"],
            caregiver_present=c["caregiver_present"],
            agreed_actions=self.agreed_action_texts(),
            measurements=self._measurements(c),
        )


class SignForm(VersionedForm):
    pass


class AmendmentForm(StyledForm):
    text = forms.CharField(label=_("Correction"), widget=forms.Textarea(attrs={"rows": 4}))


class GoalForm(StyledForm):
    text = forms.CharField(
        label=_("Goal in the citizen's own words"), widget=forms.Textarea(attrs={"rows": 2}), max_length=1000
    )
    measurement_type = forms.ModelChoiceField(
        label=_("Measured by"),
        queryset=MeasurementType.objects.filter(kind=MeasurementKind.NUMERIC),
        required=False,
        empty_label=_("No measurement"),
    )
    target_low = LocalDecimalField(label=_("Target from"), required=False, max_digits=8, decimal_places=2)
    target_high = LocalDecimalField(label=_("Target to"), required=False, max_digits=8, decimal_places=2)
    review_on = LocalDateField(label=_("Review date"))
    status = forms.ChoiceField(label=_("Status"), choices=GoalStatus.choices, initial=GoalStatus.ACTIVE)
    achieved_on = LocalDateField(label=_("Achieved on"), required=False)

    def to_data(self) -> GoalData:
        return GoalData(**{name: self.cleaned_data[name] for name in GoalData.__dataclass_fields__})


class GoalEditForm(GoalForm, VersionedForm):
    pass


class RelativeForm(StyledForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    relation = forms.CharField(label=_("Relation"), max_length=100, help_text=_("e.g. daughter, husband, neighbour"))
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False, help_text=_("Eight digits"))
    is_primary_caregiver = forms.BooleanField(label=_("Primary caregiver"), required=False)
    primary_caregiver_from = LocalDateField(
        label=_("Primary caregiver from"),
        required=False,
        help_text=_("Leave empty for today"),
    )
    may_receive_information = forms.BooleanField(
        label=_("May receive information"),
        required=False,
        help_text=_("Only with the citizen's consent to share information with relatives."),
    )

    def clean_phone(self):
        return phones.parse_phone(self.cleaned_data["phone"])


class ConsentForm(StyledForm):
    kind = forms.ChoiceField(label=_("Consent"), choices=ConsentKind.choices)
    given_on = LocalDateField(label=_("Given on"))
    given_by = forms.CharField(
        label=_("Given by"), max_length=200, help_text=_("The citizen, or who gave it on their behalf")
    )


class ConsentWithdrawForm(StyledForm):
    withdrawn_on = LocalDateField(label=_("Withdrawn on"))
    withdrawn_by = forms.CharField(label=_("Withdrawn by"), max_length=200)


class ConditionForm(StyledForm):
    kind = forms.ChoiceField(label=_("Condition"), choices=ConditionKind.choices)
    icd10 = forms.RegexField(
        label=_("ICD-10 code"),
        regex=r"^[A-Za-z]\d{2}(\.\d{1,2})?$",
        required=False,
        max_length=10,
        help_text=_("Leave empty for the usual code"),
        error_messages={"invalid": _("An ICD-10 code looks like E11 or F06.7.")},
    )
    diagnosed_on = LocalDateField(label=_("Diagnosed on"))


class EnrolmentForm(StyledForm):
    programme = forms.ModelChoiceField(label=_("Programme"), queryset=Programme.objects.all())
    referral_received_on = LocalDateField(label=_("Referral received"))
    start_on = LocalDateField(label=_("Start"))


class EnrolmentEndForm(StyledForm):
    end_on = LocalDateField(label=_("End"))
    end_reason = forms.ChoiceField(label=_("End reason"), choices=EndReason.choices)


class MeasurementForm(StyledForm):
    type = forms.ModelChoiceField(label=_("Measurement"), queryset=MeasurementType.objects.all())
    value = LocalDecimalField(label=_("Value"), required=False, max_digits=8, decimal_places=2)
    result = forms.ChoiceField(label=_("Result"), required=False, choices=[("", "—"), *ProcedureResult.choices])
    measured_at = LocalDateTimeField(label=_("Measured"))


class MeasurementCorrectionForm(StyledForm):
    """The corrected value (or result, for a procedure) and why: the reason is kept with it."""

    reason = forms.CharField(
        label=_("Reason for the correction"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("E.g. typed 86.5 for 68.5"),
    )

    def __init__(self, *args, measurement_type: MeasurementType, **kwargs):
        super().__init__(*args, **kwargs)
        if measurement_type.kind == MeasurementKind.PROCEDURE:
            self.fields["result"] = forms.ChoiceField(label=_("Correct result"), choices=ProcedureResult.choices)
        else:
            unit = f" ({measurement_type.unit})" if measurement_type.unit else ""
            self.fields["value"] = LocalDecimalField(label=_("Correct value") + unit, max_digits=8, decimal_places=2)
        # The value first, then the reason.
        self.order_fields(["value", "result", "reason"])
        self.style_fields()


class AccessLogExportForm(StyledForm):
    cpr = forms.CharField(label=_("The citizen's CPR number"), max_length=11, help_text=_("DDMMYY-XXXX"))

    def clean_cpr(self):
        return cpr_rules.parse_cpr(self.cleaned_data["cpr"]).number
