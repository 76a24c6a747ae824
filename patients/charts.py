"""Plotly figures for the patient page. Pure functions of already-loaded values: tests call them
without a database, and the page renders them with the locally served plotly.js."""

import datetime
import json
from dataclasses import dataclass

import plotly.graph_objects as go
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


def trend_figure(
    series: dict[str, Points], *, title: str, unit: str, band: Band | None = None, labels: dict[str, str] | None = None
) -> go.Figure:
    figure = go.Figure()
    colours = [COLOURS["line"], COLOURS["second"]]
    for index, (name, points) in enumerate(series.items()):
        figure.add_trace(
            go.Scatter(
                x=[at.isoformat() for at, _value in points],
                y=[value for _at, value in points],
                mode="lines+markers",
                name=(labels or {}).get(name, name),
                line={"color": colours[index % len(colours)], "width": 2},
                marker={"size": 6},
                hovertemplate="%{x|%d-%m-%Y}: %{y} " + unit + "<extra></extra>",
            )
        )
    if band is not None and (band.low is not None or band.high is not None):
        all_values = [value for points in series.values() for _at, value in points]
        low = band.low if band.low is not None else min([*all_values, band.high])
        high = band.high if band.high is not None else max([*all_values, band.low])
        figure.add_hrect(
            y0=low,
            y1=high,
            fillcolor=COLOURS["band"],
            line_width=0,
            layer="below",
            annotation_text=band.label,
            annotation_position="top left",
        )
    figure.update_layout(
        title={"text": title, "font": {"size": 14}},
        margin={"l": 40, "r": 10, "t": 36, "b": 30},
        height=240,
        showlegend=len(series) > 1,
        legend={"orientation": "h", "y": -0.2},
        yaxis={"title": {"text": unit}},
        xaxis={"type": "date"},
        template="plotly_white",
    )
    return figure


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
        ("mmse", _("MMSE"), _("points"), {"mmse": _("MMSE")}),
    ]
    charts = []
    for code, title, unit, labels in specs:
        chosen = {name: series.get(name, []) for name in labels}
        if not any(chosen.values()):
            continue
        band = next((bands[name] for name in labels if name in bands), None)
        figure = trend_figure(chosen, title=title, unit=unit, band=band, labels=labels)
        charts.append(Chart(code=code, title=title, figure=json.loads(figure.to_json())))
    return charts
