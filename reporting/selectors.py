"""Reads for the manager's figures: the rollup rows only, never the clinical tables. A fixed number
of queries whatever the amount of data; nothing here leaves the system before it has been through
reporting.display."""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from healthcenter.models import Team
from patients.models import Programme

from .models import Indicator, IndicatorValue, MonthlyActivity, RollupRun, RunStatus, UnitKind


@dataclass(frozen=True)
class Unit:
    kind: str
    id: int
    name: str
    key: str  # what the filter puts in the URL: a public id or a code, never a database key


CENTRE_KEY = "centre"


def units() -> list[Unit]:
    """The units a manager can choose: the centre first, then the teams, then the programmes."""
    return (
        [Unit(UnitKind.CENTRE, 0, _("The whole centre"), CENTRE_KEY)]
        + [Unit(UnitKind.TEAM, t.id, t.name, f"team:{t.public_id}") for t in Team.objects.order_by("name")]
        + [Unit(UnitKind.PROGRAMME, p.id, p.name, f"programme:{p.code}") for p in Programme.objects.order_by("code")]
    )


def indicators() -> list[Indicator]:
    return list(Indicator.objects.all())


def _breakdown_filter(*, unit: Unit, first_month: datetime.date, last_month: datetime.date) -> Q:
    """The chosen unit over the period, and the breakdown the display function needs beside it:
    every team and the centre in each month where a team figure is shown (the whole period when
    the unit is a team; the last month, of the funnel plots and the team table, otherwise)."""
    breakdown_from = first_month if unit.kind == UnitKind.TEAM else last_month
    return Q(unit_kind=unit.kind, unit_id=unit.id, month__gte=first_month, month__lte=last_month) | Q(
        unit_kind__in=[UnitKind.TEAM, UnitKind.CENTRE], month__gte=breakdown_from, month__lte=last_month
    )


# The fields the display function reads. Rows come back as named tuples with these attributes, not
# model instances: a team's page reads every team's rows of its period (thousands at 15 teams), and
# building a model instance for each cost more than the query.
INDICATOR_FIELDS = ("indicator_id", "month", "unit_kind", "unit_id", "numerator", "denominator", "value")
ACTIVITY_FIELDS = ("month", "unit_kind", "unit_id", "contacts", "citizens")


def indicator_rows(*, unit: Unit, first_month: datetime.date, last_month: datetime.date) -> list:
    """One query: rows with the attributes of IndicatorValue in INDICATOR_FIELDS."""
    return list(
        IndicatorValue.objects.filter(
            _breakdown_filter(unit=unit, first_month=first_month, last_month=last_month)
        ).values_list(*INDICATOR_FIELDS, named=True)
    )


def activity_rows(*, unit: Unit, first_month: datetime.date, last_month: datetime.date) -> list:
    """One query: rows with the attributes of MonthlyActivity in ACTIVITY_FIELDS."""
    return list(
        MonthlyActivity.objects.filter(
            _breakdown_filter(unit=unit, first_month=first_month, last_month=last_month)
        ).values_list(*ACTIVITY_FIELDS, named=True)
    )


def last_run() -> RollupRun | None:
    return RollupRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-finished_at").first()
