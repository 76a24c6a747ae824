"""Forms parse and check the shape of input; the rules live in services.py."""

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from healthcenter.formatting import number
from healthcenter.models import Role, Team, User
from healthcenter.views_helpers import StyledForm

from . import cpr as cpr_rules
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


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


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
                teams__in=user.teams.all(), role__in=[Role.PROFESSIONAL, Role.COORDINATOR], is_active=True
            )
            .distinct()
            .order_by("first_name", "last_name")
        )

    def clean_cpr(self):
        return cpr_rules.parse_cpr(self.cleaned_data["cpr"]).number

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
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=8,
        decimal_places=2,
        validators=[
            MinValueValidator(mt.plausible_min, message=message),
            MaxValueValidator(mt.plausible_max, message=message),
        ],
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
        help_text=f"{mt.coding_system} {mt.coding_code}",
    )


class EncounterForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=EncounterKind.choices)
    started_at = forms.DateTimeField(label=_("Time"), widget=DateTimeInput)
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


class EncounterDraftForm(EncounterForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


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
    target_low = forms.DecimalField(label=_("Target from"), required=False, max_digits=8, decimal_places=2)
    target_high = forms.DecimalField(label=_("Target to"), required=False, max_digits=8, decimal_places=2)
    review_on = forms.DateField(label=_("Review date"), widget=DateInput)
    status = forms.ChoiceField(label=_("Status"), choices=GoalStatus.choices, initial=GoalStatus.ACTIVE)
    achieved_on = forms.DateField(label=_("Achieved on"), required=False, widget=DateInput)

    def to_data(self) -> GoalData:
        return GoalData(**{name: self.cleaned_data[name] for name in GoalData.__dataclass_fields__})


class GoalEditForm(GoalForm, VersionedForm):
    pass


class RelativeForm(StyledForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    relation = forms.CharField(label=_("Relation"), max_length=100, help_text=_("e.g. daughter, husband, neighbour"))
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    is_primary_caregiver = forms.BooleanField(label=_("Primary caregiver"), required=False)
    primary_caregiver_from = forms.DateField(
        label=_("Primary caregiver from"),
        required=False,
        widget=DateInput,
        help_text=_("Leave empty for today"),
    )
    may_receive_information = forms.BooleanField(
        label=_("May receive information"),
        required=False,
        help_text=_("Only with the citizen's consent to share information with relatives."),
    )


class ConsentForm(StyledForm):
    kind = forms.ChoiceField(label=_("Consent"), choices=ConsentKind.choices)
    given_on = forms.DateField(label=_("Given on"), widget=DateInput)
    given_by = forms.CharField(
        label=_("Given by"), max_length=200, help_text=_("The citizen, or who gave it on their behalf")
    )


class ConsentWithdrawForm(StyledForm):
    withdrawn_on = forms.DateField(label=_("Withdrawn on"), widget=DateInput)
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
    diagnosed_on = forms.DateField(label=_("Diagnosed on"), widget=DateInput)


class EnrolmentForm(StyledForm):
    programme = forms.ModelChoiceField(label=_("Programme"), queryset=Programme.objects.all())
    referral_received_on = forms.DateField(label=_("Referral received"), widget=DateInput)
    start_on = forms.DateField(label=_("Start"), widget=DateInput)


class EnrolmentEndForm(StyledForm):
    end_on = forms.DateField(label=_("End"), widget=DateInput)
    end_reason = forms.ChoiceField(label=_("End reason"), choices=EndReason.choices)


class MeasurementForm(StyledForm):
    type = forms.ModelChoiceField(label=_("Measurement"), queryset=MeasurementType.objects.all())
    value = forms.DecimalField(label=_("Value"), required=False, max_digits=8, decimal_places=2)
    result = forms.ChoiceField(label=_("Result"), required=False, choices=[("", "—"), *ProcedureResult.choices])
    measured_at = forms.DateTimeField(label=_("Measured"), widget=DateTimeInput)


class AccessLogExportForm(StyledForm):
    cpr = forms.CharField(label=_("The citizen's CPR number"), max_length=11, help_text=_("DDMMYY-XXXX"))

    def clean_cpr(self):
        return cpr_rules.parse_cpr(self.cleaned_data["cpr"]).number
