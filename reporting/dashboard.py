"""The manager's dashboard: reads of the rollup rows only (never the clinical tables), small-cell
suppression, and the plotly figures as pure functions of those rows."""

import datetime
import math
from dataclasses import dataclass

from django.utils.translation import gettext as _

from healthcenter.models import Team
from patients.models import Programme

from .models import Indicator, IndicatorKind, IndicatorValue, RollupRun, RunStatus, UnitKind

Z_95, Z_998 = 1.96, 3.09


@dataclass(frozen=True)
class Unit:
    kind: str
    id: int
    name: str
    key: str  # what the filter puts in the URL: a public id or a code, never a database key


@dataclass
class IndicatorSeries:
    indicator: Indicator
    values: list[IndicatorValue]  # by month, oldest first

    @property
    def latest(self) -> IndicatorValue | None:
        return self.values[-1] if self.values else None


def shown(value: IndicatorValue | None) -> str:
    """How a figure leaves the system: '<5' for small cells, '–' where nobody is counted. A count of
    stories is not a count of citizens and is shown as it is."""
    if value is None or value.value is None:
        return "–"
    if value.is_suppressed and value.indicator.kind != IndicatorKind.COUNT:
        return "<5"
    return f"{value.value}"


def dashboard(*, unit: Unit, first_month: datetime.date, last_month: datetime.date) -> list[IndicatorSeries]:
    """Two queries: the indicators, and every value of the unit in the period."""
    indicators = list(Indicator.objects.all())
    by_indicator: dict[int, list[IndicatorValue]] = {i.id: [] for i in indicators}
    for value in IndicatorValue.objects.filter(
        unit_kind=unit.kind, unit_id=unit.id, month__gte=first_month, month__lte=last_month
    ).order_by("month"):
        by_indicator[value.indicator_id].append(value)
    return [IndicatorSeries(indicator=i, values=by_indicator[i.id]) for i in indicators]


def team_values(*, month: datetime.date) -> dict[int, list[tuple[Team, IndicatorValue]]]:
    """Each indicator's team values in one month, for the funnel plots: two queries."""
    teams = {t.id: t for t in Team.objects.all()}
    result: dict[int, list[tuple[Team, IndicatorValue]]] = {}
    for value in IndicatorValue.objects.filter(month=month, unit_kind=UnitKind.TEAM):
        if value.unit_id in teams:
            result.setdefault(value.indicator_id, []).append((teams[value.unit_id], value))
    return result


def centre_values(*, month: datetime.date) -> dict[int, IndicatorValue]:
    return {v.indicator_id: v for v in IndicatorValue.objects.filter(month=month, unit_kind=UnitKind.CENTRE)}


def last_run() -> RollupRun | None:
    return RollupRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-finished_at").first()


def units() -> list[Unit]:
    return (
        [Unit(UnitKind.CENTRE, 0, _("The whole centre"), "centre")]
        + [Unit(UnitKind.TEAM, t.id, t.name, f"team:{t.public_id}") for t in Team.objects.order_by("name")]
        + [Unit(UnitKind.PROGRAMME, p.id, p.name, f"programme:{p.code}") for p in Programme.objects.order_by("code")]
    )


def run_chart(series: IndicatorSeries) -> dict:
    """The indicator over the months, with its target as a line. Suppressed months are gaps."""
    indicator = series.indicator
    x = [v.month.isoformat() for v in series.values]
    y = [None if v.is_suppressed or v.value is None else float(v.value) for v in series.values]
    unit = {IndicatorKind.SHARE: "%", IndicatorKind.MEDIAN_DAYS: _("days")}.get(indicator.kind, _("stories"))
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": x,
                "y": y,
                "name": indicator.code,
                "line": {"color": "#0b5394", "width": 2},
                "connectgaps": False,
                "hovertemplate": "%{x|%m-%Y}: %{y} " + unit + "<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": indicator.name, "font": {"size": 13}, "x": 0.02},
            "height": 220,
            "margin": {"l": 40, "r": 10, "t": 34, "b": 28},
            "xaxis": {"type": "date", "tickformat": "%m-%Y", "gridcolor": "#eee"},
            "yaxis": {"title": {"text": unit}, "gridcolor": "#eee", "rangemode": "tozero"},
            "plot_bgcolor": "white",
            "showlegend": False,
            "shapes": [
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "yref": "y",
                    "y0": float(indicator.target),
                    "y1": float(indicator.target),
                    "line": {"color": "#38761d", "dash": "dash", "width": 1.5},
                }
            ],
            "annotations": [
                {
                    "text": _("target %(direction)s %(target)s")
                    % {"direction": indicator.get_direction_display(), "target": f"{indicator.target:g}"},
                    "xref": "paper",
                    "x": 1,
                    "xanchor": "right",
                    "yref": "y",
                    "y": float(indicator.target),
                    "yanchor": "bottom",
                    "showarrow": False,
                    "font": {"size": 10, "color": "#38761d"},
                }
            ],
        },
    }


def control_limits(p: float, n: int, z: float) -> tuple[float, float]:
    """Binomial control limits (normal approximation) around the centre's share p for n citizens."""
    spread = z * math.sqrt(p * (1 - p) / n) if n else 0
    return max(0.0, p - spread), min(1.0, p + spread)


def funnel_plot(indicator: Indicator, teams: list[tuple[str, int, int]], centre: tuple[int, int]) -> dict | None:
    """Teams as points (share against number of citizens) inside the 95 % and 99.8 % limits around
    the centre's share, instead of a league table. Teams with fewer than 5 citizens are left out."""
    shown_teams = [(name, n, d) for name, n, d in teams if d >= 5]
    if indicator.kind != IndicatorKind.SHARE or not shown_teams or not centre[1]:
        return None
    p = centre[0] / centre[1]
    largest = max([d for _name, _n, d in shown_teams] + [10])
    ns = list(range(5, int(largest * 1.2) + 2))
    limit_traces = []
    for z, label, dash in ((Z_95, "95 %", "dash"), (Z_998, "99,8 %", "dot")):
        lows, highs = zip(*(control_limits(p, n, z) for n in ns), strict=True)
        for bound in (lows, highs):
            limit_traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": ns,
                    "y": [100 * b for b in bound],
                    "name": label,
                    "line": {"color": "#999", "dash": dash, "width": 1},
                    "hoverinfo": "skip",
                    "showlegend": False,
                }
            )
    return {
        "data": [
            *limit_traces,
            {
                "type": "scatter",
                "mode": "lines",
                "x": [ns[0], ns[-1]],
                "y": [100 * p, 100 * p],
                "line": {"color": "#0b5394", "width": 1},
                "hoverinfo": "skip",
                "showlegend": False,
            },
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": [d for _name, _n, d in shown_teams],
                "y": [100 * n / d for _name, n, d in shown_teams],
                "text": [name for name, _n, _d in shown_teams],
                "textposition": "top center",
                "marker": {"size": 9, "color": "#b45f06"},
                "hovertemplate": "%{text}: %{y:.1f} % (n=%{x})<extra></extra>",
                "showlegend": False,
            },
        ],
        "layout": {
            "title": {"text": indicator.name, "font": {"size": 13}, "x": 0.02},
            "height": 240,
            "margin": {"l": 40, "r": 10, "t": 34, "b": 36},
            "xaxis": {"title": {"text": _("citizens counted")}, "gridcolor": "#eee"},
            "yaxis": {"title": {"text": "%"}, "gridcolor": "#eee"},
            "plot_bgcolor": "white",
        },
    }


def latest_table(series: list[IndicatorSeries]) -> list[dict]:
    """The table shown, and exported, for the chosen unit: the latest month of each indicator."""
    rows = []
    for s in series:
        latest = s.latest
        suppressed = latest is not None and latest.is_suppressed and s.indicator.kind != IndicatorKind.COUNT
        rows.append(
            {
                "code": s.indicator.code,
                "name": s.indicator.name,
                "month": latest.month.strftime("%m-%Y") if latest else "",
                "numerator": "<5" if suppressed else (latest.numerator if latest else ""),
                "denominator": "<5" if suppressed else (latest.denominator if latest else ""),
                "value": shown(latest),
                "target": f"{s.indicator.get_direction_display()} {s.indicator.target:g}",
                "met": None if latest is None or suppressed else s.indicator.meets_target(latest.value),
            }
        )
    return rows
