import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from healthcenter.views_helpers import StyledForm
from patients.definitions import add_months

MONTH_FORMAT = "%Y-%m"
SHOWN_MONTH_FORMAT = "%m.%Y"
LONGEST_PERIOD = 60  # months: a run chart of five years is still readable


class MonthField(forms.DateField):
    """A calendar month, the first day: shown and typed as "03.2026" whatever the browser's language
    (a native month picker would follow the browser), "2026-03" accepted too (links, exports)."""

    widget = forms.DateInput(
        format=SHOWN_MONTH_FORMAT, attrs={"inputmode": "numeric", "placeholder": _("mm.yyyy"), "size": 8}
    )
    input_formats = [SHOWN_MONTH_FORMAT, MONTH_FORMAT]
    default_error_messages = {"invalid": _("Write the month as mm.yyyy, e.g. 03.2026.")}

    def to_python(self, value):
        day = super().to_python(value)
        return day.replace(day=1) if day else day


class DashboardFilterForm(StyledForm):
    """The unit and the period (first and last month) the whole dashboard follows. By default the
    last 24 months up to the last finished one: a month under way is not a figure yet."""

    unit = forms.ChoiceField(label=_("Show"), required=False)
    first = MonthField(label=_("From month"), required=False)
    last = MonthField(label=_("To month"), required=False)

    def __init__(self, data=None, *, units, today: datetime.date, **kwargs):
        self.this_month = today.replace(day=1)
        self.default_last = add_months(self.this_month, -1)
        self.default_first = add_months(self.default_last, -23)
        defaults = {"unit": units[0].key, "first": self.default_first, "last": self.default_last}
        if data is not None:
            # A link that names only the unit gets the default period, shown in the month fields.
            data = data.copy()
            for name, value in defaults.items():
                if not data.get(name):
                    data[name] = value.strftime(SHOWN_MONTH_FORMAT) if isinstance(value, datetime.date) else value
        super().__init__(data, initial=defaults, **kwargs)
        self.units = units
        self.fields["unit"].choices = [(u.key, u.name) for u in units]
        self.style_fields()

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("first"), cleaned.get("last")
        if first is None or last is None:
            return cleaned
        if last > self.this_month:
            self.add_error("last", _("The period cannot end after this month."))
        elif first > last:
            self.add_error("first", _("The first month must not be after the last."))
        elif (last.year - first.year) * 12 + last.month - first.month >= LONGEST_PERIOD:
            self.add_error("first", _("Choose at most %(count)s months.") % {"count": LONGEST_PERIOD})
        return cleaned

    def period(self) -> tuple[str, datetime.date, datetime.date]:
        """The chosen unit key and first and last month; the defaults for what is missing or wrong."""
        if not self.is_bound:
            return "", self.default_first, self.default_last
        self.is_valid()
        unit = self.cleaned_data.get("unit") or ""
        if "first" in self.errors or "last" in self.errors:
            return unit, self.default_first, self.default_last
        return unit, self.cleaned_data["first"], self.cleaned_data["last"]


class StoryForm(StyledForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    what_happened = forms.CharField(label=_("What happened"), widget=forms.Textarea(attrs={"rows": 5}))
    what_made_the_difference = forms.CharField(
        label=_("What made the difference"), widget=forms.Textarea(attrs={"rows": 4})
    )


class StorySubmitForm(StyledForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    title = forms.CharField(label=_("Title for reports"), max_length=200)
    published_text = forms.CharField(
        label=_("Text for reports"),
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("Check that nobody can be recognised: names, places, dates and relatives."),
    )
    show_chart = forms.BooleanField(label=_("Show HbA1c before and after, without dates"), required=False)


class StoryDecisionForm(StyledForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class QuarterlyForm(StyledForm):
    """The quarterly report's quarter (the last finished ones, the latest first) and unit."""

    quarter = forms.ChoiceField(label=_("Quarter"), required=False)
    unit = forms.ChoiceField(label=_("Unit"), required=False)

    def __init__(self, *args, quarters, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quarter"].choices = [(q.key, q.name) for q in quarters]
        self.fields["quarter"].initial = quarters[0].key
        self.fields["unit"].choices = [(u.key, u.name) for u in units]
        self.fields["unit"].initial = units[0].key
        self.style_fields()
