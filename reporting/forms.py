from django import forms
from django.utils.translation import gettext_lazy as _

from healthcenter.views_helpers import StyledForm


class DashboardFilterForm(StyledForm):
    unit = forms.ChoiceField(label=_("Show"), required=False)
    months = forms.TypedChoiceField(
        label=_("Period"),
        coerce=int,
        required=False,
        empty_value=24,
        choices=[(12, _("Last 12 months")), (24, _("Last 24 months"))],
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [(u.key, u.name) for u in units]
        self.style_fields()


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
