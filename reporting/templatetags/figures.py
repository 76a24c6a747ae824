"""Figures of the user's teams and the whole centre on other apps' pages, from the rollup rows and
through the display function (the worklist composes them here: coordination does not import
reporting)."""

from django import template
from django.utils import timezone

from healthcenter import access
from healthcenter.models import Team
from reporting import display
from reporting.models import Indicator, IndicatorValue, UnitKind

register = template.Library()


@register.inclusion_tag("reporting/_centre_comparison.html")
def centre_comparison(user=None) -> dict:
    """This month's DM-AT-OWN-TARGET for each of the user's teams and for the centre, as the
    dashboard shows them: the whole team breakdown goes through the display function, so that
    secondary suppression holds. Three queries whatever the number of citizens."""
    indicator = Indicator.objects.filter(code="DM-AT-OWN-TARGET").first()
    if indicator is None:
        return {"figure": None, "row": None, "teams": []}
    month = timezone.localdate().replace(day=1)
    rows = list(
        IndicatorValue.objects.filter(indicator=indicator, month=month, unit_kind__in=[UnitKind.CENTRE, UnitKind.TEAM])
    )
    shown = display.figures(rows, {indicator.id: indicator})
    stored = {(row.unit_kind, row.unit_id): row for row in rows}
    teams = Team.objects.filter(id__in=access.care_team_ids(user)).order_by("name") if user is not None else []
    return {
        "figure": display.cell(shown, indicator, month, UnitKind.CENTRE, display.CENTRE_UNIT),
        "row": stored.get((UnitKind.CENTRE, display.CENTRE_UNIT)),
        "teams": [
            (team, display.cell(shown, indicator, month, UnitKind.TEAM, team.id), stored.get((UnitKind.TEAM, team.id)))
            for team in teams
        ],
    }
