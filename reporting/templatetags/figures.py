"""Figures of the whole centre on other apps' pages, from the rollup rows and through the display
function (the worklist composes them here: coordination does not import reporting)."""

from django import template
from django.utils import timezone

from reporting import display
from reporting.models import Indicator, IndicatorValue, UnitKind

register = template.Library()


@register.inclusion_tag("reporting/_centre_comparison.html")
def centre_comparison() -> dict:
    """This month's DM-AT-OWN-TARGET for the centre, as the dashboard shows it: two queries."""
    indicator = Indicator.objects.filter(code="DM-AT-OWN-TARGET").first()
    row = None
    if indicator is not None:
        row = IndicatorValue.objects.filter(
            indicator=indicator, unit_kind=UnitKind.CENTRE, unit_id=0, month=timezone.localdate().replace(day=1)
        ).first()
    return {"figure": display.figure(row, indicator) if indicator else None, "row": row}
