"""Plotly figures for the patient page. Pure functions of already-loaded values: tests call them
without a database, and the page renders them with the locally served plotly.js."""

import datetime
import re
from dataclasses import dataclass

from django.utils import formats, timezone
from django.utils.translation import gettext as _

Points = list[tuple[datetime.datetime, float]]

COLOURS = {"line": "#0b5394", "second": "#b45f06", "band": "rgba(56, 118, 29, 0.15)"}


@dataclass(frozen=True)
class Band:
    low: float | None
    high: float | None
    label: str


@dataclass(frozen=True)
class Chart:
    code: str
    title: str
    figure: dict

    @property
    def element_id(self) -> str:
        return f"figure-{self.code}"


D3_TOKENS = {"d": "%d", "j": "%-d", "m": "%m", "n": "%-m", "Y": "%Y", "y": "%y"}


def d3_date_format() -> str:
    """The active language's short date (27.11.2026 in Danish) as a d3 time format for plotly."""
    return "".join(D3_TOKENS.get(char, char) for char in formats.get_format("SHORT_DATE_FORMAT"))


def d3_month_format() -> str:
    """The short date without its day (11.2026 in Danish), for the ticks of a time axis."""
    return re.sub(r"^%-?d\W|\W%-?d$", "", d3_date_format())


def plotly_time(at: datetime.datetime) -> str:
    """A moment as plotly.js reads it, to the minute: plotly.js ignores UTC offsets, so the centre's
    wall-clock time goes out, and no chart shows seconds."""
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def plotly_value(value: float) -> float | int:
    """69 rather than 69.0: whole values, most of them, go out without a decimal."""
    return int(value) if value.is_integer() else value


def trend_figure(
    series: dict[str, Points], *, title: str, unit: str, band: Band | None = None, labels: dict[str, str] | None = None
) -> dict:
    """A plotly.js figure specification. Built as plain data rather than through plotly's
    graph_objects, whose validation costs tens of milliseconds per figure on every page view."""
    colours = [COLOURS["line"], COLOURS["second"]]
    day_format = d3_date_format()
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": [plotly_time(at) for at, _value in points],
            "y": [plotly_value(value) for _at, value in points],
            "name": (labels or {}).get(name, name),
            "line": {"color": colours[index % len(colours)], "width": 2},
            "marker": {"size": 6},
            "hovertemplate": "%{x|" + day_format + "}: %{y} " + unit + "<extra></extra>",
        }
        for index, (name, points) in enumerate(series.items())
    ]
    layout = {
        "title": {"text": title, "font": {"size": 14}, "x": 0.02},
        "margin": {"l": 48, "r": 10, "t": 36, "b": 30},
        "height": 240,
        "showlegend": len(series) > 1,
        # Numeric dates as the page's language writes them (plotly.js ships no Danish month names).
        "xaxis": {"type": "date", "gridcolor": "#eee", "tickformat": d3_month_format(), "hoverformat": day_format},
        # The decimal and thousands separators of the page's language: 84,5 in Danish.
        "separators": formats.get_format("DECIMAL_SEPARATOR") + formats.get_format("THOUSAND_SEPARATOR"),
        # automargin: a wide tick label (110,85 kg) pushes the axis title aside instead of running into it.
        "yaxis": {"title": {"text": unit}, "gridcolor": "#eee", "zeroline": False, "automargin": True},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "shapes": [],
    }
    if len(series) > 1:
        layout["legend"] = {"orientation": "h", "y": -0.2}
    moments = {at for points in series.values() for at, _value in points}
    if len(moments) == 1:
        # One measurement so far: show it in a readable stretch of time, not a fraction of a second.
        (only,) = moments
        layout["xaxis"]["range"] = [
            plotly_time(only - datetime.timedelta(days=90)),
            plotly_time(only + datetime.timedelta(days=90)),
        ]
    if band is not None and (band.low is not None or band.high is not None):
        # An open end reaches a little beyond the data, so the band always has a visible height.
        known = [value for points in series.values() for _at, value in points]
        known += [bound for bound in (band.low, band.high) if bound is not None]
        margin = max(1.0, 0.1 * (max(known) - min(known)))
        low = band.low if band.low is not None else min(known) - margin
        high = band.high if band.high is not None else max(known) + margin
        layout["shapes"].append(
            {
                "type": "rect",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": low,
                "y1": high,
                "fillcolor": COLOURS["band"],
                "line": {"width": 0},
                "layer": "below",
            }
        )
        layout["annotations"] = [
            {
                "text": band.label,
                "xref": "paper",
                "x": 0,
                "xanchor": "left",
                "yref": "y",
                "y": high,
                "yanchor": "top",
                "showarrow": False,
                "font": {"size": 11, "color": "#38761d"},
            }
        ]
    return {"data": traces, "layout": layout}


def patient_trend_figures(series: dict[str, Points], *, goals) -> list[Chart]:
    """The patient page's charts, for the measurements the citizen has values of. An active goal's
    individual target range is drawn as a band on its measurement's chart."""
    bands = {}
    for goal in goals:
        if goal.measurement_type_id and goal.has_target:
            bands[goal.measurement_type.code] = Band(
                low=float(goal.target_low) if goal.target_low is not None else None,
                high=float(goal.target_high) if goal.target_high is not None else None,
                label=_("Own target"),
            )
    specs = [
        ("hba1c", _("HbA1c"), "mmol/mol", {"hba1c": _("HbA1c")}),
        ("weight", _("Weight"), "kg", {"weight": _("Weight")}),
        ("bp", _("Blood pressure"), "mmHg", {"systolic_bp": _("Systolic"), "diastolic_bp": _("Diastolic")}),
        ("mmse", _("MMSE"), _("point"), {"mmse": _("MMSE")}),
    ]
    charts = []
    for code, title, unit, labels in specs:
        chosen = {name: series.get(name, []) for name in labels}
        if not any(chosen.values()):
            continue
        band = next((bands[name] for name in labels if name in bands), None)
        figure = trend_figure(chosen, title=title, unit=unit, band=band, labels=labels)
        charts.append(Chart(code=code, title=title, figure=figure))
    return charts
