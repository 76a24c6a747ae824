"""The manager's dashboard: the rollup rows as they may be shown, and the plotly figures as pure
functions of them. Every number here comes from reporting.display (a Figure or a Count): a chart
draws a point only where the Figure has a `value`, and its hover text is the Figure's text, so no
rate, numerator or median that the display function hides reaches the page."""

import collections
import datetime
import functools
import html
import math
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import formats, translation
from django.utils.html import json_script
from django.utils.translation import gettext as _

from healthcenter.formatting import number
from patients.definitions import months_between

from . import display, runcharts, selectors
from .display import EMPTY, EXACT, Figure
from .models import Indicator, IndicatorKind, MonthlyActivity, UnitKind
from .selectors import Unit, last_run, units  # noqa: F401 (the views and the reports read them from here)

Z_95, Z_998 = 1.96, 3.09
MAX_TICKS = 5  # month labels on a chart a third of a laptop screen wide
DANGER, TARGET, MUTED, LINE = "#c00000", "#38761d", "#8a8a8a", "#0b5394"

# The populations of DESIGN.md ("Populations on L") are the denominators of these two indicators.
POPULATIONS = {"diabetes": "DM-HBA1C-MEASURED", "dementia": "DEM-SPECIFIC-DIAGNOSIS"}


def month_label(month: datetime.date) -> str:
    return _month_label(translation.get_language() or "da", month)


@functools.lru_cache(maxsize=2048)
def _month_label(language: str, month: datetime.date) -> str:
    # A page labels the same few dozen months some 500 times (hover texts, axes, tables), and Django's
    # date formatting is slow enough for that to show; `language` is the active one, the cache's key.
    # Danish writes month names in lower case ("mar 2026"), English capitalises them ("Mar 2026").
    return formats.date_format(month, "b Y" if language.startswith("da") else "M Y")


@dataclass(frozen=True)
class IndicatorSeries:
    """One indicator for the chosen unit: a Figure for every month of the period, oldest first."""

    indicator: Indicator
    months: list[datetime.date]
    figures: list[Figure]

    @property
    def last(self) -> Figure:
        return self.figures[-1]

    @property
    def has_figures(self) -> bool:
        return any(f.visibility != EMPTY for f in self.figures)

    @property
    def signal(self) -> runcharts.RunChartSignal:
        return runcharts.signal(self.figures)


Shown = dict[display.Key, Figure]


class Kept:
    """The last `size` results of a pure computation in this process, each with exactly what it was
    computed from, compared in full on every read: a changed input is a miss, never a stale result.
    What is kept is shared between requests, so it must not be changed by its readers (Figures are
    frozen; the pages only read the figures' dicts)."""

    def __init__(self, size: int):
        self.size = size
        self._results: collections.OrderedDict[int, tuple[tuple, object]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, source: tuple, compute: Callable[[], object]) -> object:
        key = hash(source)
        with self._lock:
            kept = self._results.get(key)
            if kept is not None and kept[0] == source:
                self._results.move_to_end(key)
                return kept[1]
        result = compute()
        with self._lock:
            self._results[key] = (source, result)
            while len(self._results) > self.size:
                self._results.popitem(last=False)
        return result


# The display function over a team's period (every team's rows of every month, for the secondary
# suppression) is most of a dashboard's time at 15 teams: formatting some 6,000 figures of which a
# few hundred are shown. Its result depends on nothing but the rows, the indicators' targets and the
# language, and a rollup run changes the rows only every few minutes. A team's kept figures hold its
# period's rows of every team (~1.6 MB at 15 teams over 24 months), the centre's a tenth of that: at
# most ~33 MB a process (measured with tracemalloc), one result for each of 20 units.
_kept_figures = Kept(20)


def _indicator_state(indicators: list[Indicator]) -> tuple:
    """What of the indicators a page depends on (model instances compare by primary key only)."""
    return tuple((i.id, i.code, i.name_da, i.name_en, i.kind, i.target, i.direction, i.source) for i in indicators)


def kept_figures(
    indicators: list[Indicator], rows: list, *, unit: Unit, last_month: datetime.date
) -> tuple[tuple, Shown]:
    """The figures of the rows of selectors.indicator_rows (the unit with the breakdown the display
    function needs for secondary suppression) and what they were computed from. The figures returned
    are the unit's, the centre's and those of the last month (all that the dashboard, the exports
    and the quarterly report show; display.cell reads the centre's to tell a computed month)."""
    source = (translation.get_language(), _indicator_state(indicators), tuple(rows), unit, last_month)
    shown = _kept_figures.get(
        source,
        lambda: _shown_part(display.figures(rows, {i.id: i for i in indicators}), unit=unit, last_month=last_month),
    )
    return source, shown


def _shown_part(shown: Shown, *, unit: Unit, last_month: datetime.date) -> Shown:
    own = {(unit.kind, unit.id), (UnitKind.CENTRE, 0)}
    return {key: figure for key, figure in shown.items() if (key[2], key[3]) in own or key[1] == last_month}


def _series(indicators: list[Indicator], shown: Shown, *, unit: Unit, months: list[datetime.date]) -> list:
    return [
        IndicatorSeries(
            indicator=indicator,
            months=months,
            figures=[display.cell(shown, indicator, month, unit.kind, unit.id) for month in months],
        )
        for indicator in indicators
    ]


def target_text(indicator: Indicator) -> str:
    target = number(indicator.target)
    if indicator.kind == IndicatorKind.SHARE:
        target = f"{target} %"
    return f"{indicator.get_direction_display()} {target}"


def latest_table(series: list[IndicatorSeries]) -> list[dict]:
    """The table shown, and exported, for the chosen unit: the last month of the period, every cell
    from the Figure."""
    rows = []
    for s in series:
        last = s.last
        rows.append(
            {
                "code": s.indicator.code,
                "name": s.indicator.name,
                "month": month_label(s.months[-1]),
                "numerator": last.numerator_text,
                "denominator": last.denominator_text,
                "value": last.text,
                "target": target_text(s.indicator),
                "met": last.met,
                "figure": last,
            }
        )
    return rows


# Charts ----------------------------------------------------------------------------------------


def _rounded(values) -> list[float]:
    """Coordinates to a hundredth: a hundredth of a percentage point or of a citizen is far below a
    pixel, and full floats ("76.04097131960528") made up most of a funnel plot's JSON."""
    return [round(value, 2) for value in values]


def _figure_script(figure: dict, element_id: str) -> str:
    """The figure as the page embeds it (json_script), encoded once: a kept dashboard (see Kept) is
    served many times, and encoding its 28 figures was half of what a served one cost."""
    return json_script(figure, element_id)


def _escape(text: str) -> str:
    # plotly reads a subset of HTML in its texts: "<5" must not start a tag.
    return html.escape(str(text), quote=False)


def _separators() -> str:
    """plotly's decimal and thousands separators in the active language ("55,1" in Danish)."""
    return f"{formats.get_format('DECIMAL_SEPARATOR')}{formats.get_format('THOUSAND_SEPARATOR')}"


def _month_axis(months: list[datetime.date]) -> dict:
    """A date axis over the whole period with localised month labels, at most MAX_TICKS of them,
    counted back from the last month."""
    step = max(1, math.ceil(len(months) / MAX_TICKS))
    ticks = months[::-1][::step][::-1]
    return {
        "type": "date",
        "range": [
            (months[0] - datetime.timedelta(days=20)).isoformat(),
            (months[-1] + datetime.timedelta(days=20)).isoformat(),
        ],
        "tickmode": "array",
        "tickvals": [m.isoformat() for m in ticks],
        "ticktext": [month_label(m) for m in ticks],
        "tickfont": {"size": 10},
        "tickangle": 0,
        "gridcolor": "#eee",
        "fixedrange": True,
        # Under the strip of hidden months (HIDDEN_AXIS), not between it and the values.
        "anchor": "free",
        "position": 0,
    }


def _hidden_months_trace(hidden: list[tuple[datetime.date, str]]) -> dict:
    """Months without a shown value are gaps in the line. A grey tick in a strip of its own under
    the values (so that its height says nothing) carries the month's text (given) on hover."""
    return {
        "type": "scatter",
        "mode": "markers",
        "x": [m.isoformat() for m, _text in hidden],
        "y": [0.5] * len(hidden),
        "yaxis": "y2",
        "marker": {"symbol": "line-ns-open", "size": 10, "color": MUTED, "line": {"width": 2, "color": MUTED}},
        "customdata": [_escape(text) for _m, text in hidden],
        "hovertemplate": "%{customdata}<extra></extra>",
        "showlegend": False,
    }


STRIP = 0.1  # of the plot's height, under the values, for the hidden months
HIDDEN_AXIS = {"domain": [0, round(STRIP * 0.8, 3)], "range": [0, 1], "visible": False, "fixedrange": True}


def _value_text(indicator: Indicator, value: float) -> str:
    if indicator.kind == IndicatorKind.SHARE:
        return display.percent_text(value)
    text = number(round(value, 1))
    return f"{text} {_('days')}" if indicator.kind == IndicatorKind.MEDIAN_DAYS else text


def run_chart(series: IndicatorSeries, found: runcharts.RunChartSignal | None = None) -> dict:
    """The indicator over the months as improvement teams read it: the shown points, their median
    (red and dashed where Anhøj's rules find non-random variation) and the target. A month without
    an exact figure is a gap. The title and the finding in words are the page's (RunChart): HTML
    wraps where a plotly title would run off a narrow chart."""
    indicator = series.indicator
    points = [(m, f) for m, f in zip(series.months, series.figures, strict=True) if f.value is not None]
    hidden = [
        (m, f"{month_label(m)}: {f.text}")
        for m, f in zip(series.months, series.figures, strict=True)
        if f.value is None and f.visibility != EMPTY
    ]
    found = found or runcharts.signal(series.figures)
    is_share = indicator.kind == IndicatorKind.SHARE
    target = float(indicator.target)
    values = [f.value for _m, f in points]

    low, high = min([*values, target]), max([*values, target])
    pad = max((high - low) * 0.15, 2.0 if is_share else 1.0)
    y_range = _rounded([max(0.0, low - pad), min(high + pad, 102.0) if is_share else high + pad])

    data = [
        {
            # Every month, None where nothing exact may be drawn: the line breaks there.
            "type": "scatter",
            "mode": "lines+markers",
            "x": [m.isoformat() for m in series.months],
            "y": [f.value for f in series.figures],
            "connectgaps": False,
            "line": {"color": LINE, "width": 2},
            "marker": {"size": 6},
            "cliponaxis": False,
            "customdata": [
                _escape(f"{month_label(m)}: {f.text}") if f.value is not None else ""
                for m, f in zip(series.months, series.figures, strict=True)
            ],
            "hovertemplate": "%{customdata}<extra></extra>",
        }
    ]
    if len(points) >= 2:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [points[0][0].isoformat(), points[-1][0].isoformat()],
                "y": [found.median, found.median],
                "line": {"color": DANGER if found.found else MUTED, "width": 2 if found.found else 1}
                | ({"dash": "dash"} if found.found else {}),
                "hovertemplate": _escape(f"{_('Median')}: {_value_text(indicator, found.median)}") + "<extra></extra>",
            }
        )
    if hidden:
        data.append(_hidden_months_trace(hidden))
    return {
        "data": data,
        "layout": {
            "height": 225,
            "margin": {"l": 44, "r": 50, "t": 14, "b": 28},
            "separators": _separators(),
            "xaxis": _month_axis(series.months),
            "yaxis": {
                "domain": [STRIP, 1],
                "range": y_range,
                "ticksuffix": " %" if is_share else "",
                "title": {"text": "" if is_share else _y_title(indicator), "font": {"size": 11}},
                "gridcolor": "#eee",
                "zeroline": False,
                "fixedrange": True,
            },
            "yaxis2": HIDDEN_AXIS,
            "plot_bgcolor": "white",
            "showlegend": False,
            "shapes": [
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "yref": "y",
                    "y0": target,
                    "y1": target,
                    "line": {"color": TARGET, "dash": "dot", "width": 1.5},
                }
            ],
            # In the right margin, level with the line: never over the points.
            "annotations": [
                {
                    "text": f"{_escape(_('target'))}<br>{_escape(target_text(indicator))}",
                    "xref": "paper",
                    "x": 1,
                    "xanchor": "left",
                    "xshift": 3,
                    "yref": "y",
                    "y": target,
                    "yanchor": "middle",
                    "align": "left",
                    "showarrow": False,
                    "font": {"size": 10, "color": TARGET},
                }
            ],
        },
    }


@dataclass(frozen=True)
class RunChart:
    element_id: str
    name: str
    signal: runcharts.RunChartSignal
    figure: dict | None  # None where no month of the period has an exact figure: an empty chart says less
    last: Figure

    @functools.cached_property
    def script(self) -> str:
        return _figure_script(self.figure, self.element_id)


def run_chart_for(series: IndicatorSeries) -> RunChart:
    found = series.signal
    return RunChart(
        element_id=f"run-{series.indicator.code.lower()}",
        name=series.indicator.name,
        signal=found,
        figure=run_chart(series, found) if any(f.value is not None for f in series.figures) else None,
        last=series.last,
    )


def _y_title(indicator: Indicator) -> str:
    return _("days") if indicator.kind == IndicatorKind.MEDIAN_DAYS else _("stories")


def control_limits(p: float, n: int, z: float) -> tuple[float, float]:
    """Binomial control limits (normal approximation) around the centre's share p for n citizens."""
    spread = z * math.sqrt(p * (1 - p) / n) if n else 0
    return max(0.0, p - spread), min(1.0, p + spread)


# A funnel plot's drawing area in pixels (a third of a laptop screen) and its labels' size.
PLOT_WIDTH, PLOT_HEIGHT, CHAR_WIDTH, LABEL_HEIGHT, MARKER = 300, 170, 5.6, 12, 6
LABEL_PLACES = ["top center", "bottom center", "middle right", "middle left"]


def _label_box(px: float, py: float, width: float, place: str) -> tuple[float, float, float, float]:
    """The box (left, bottom, right, top, in pixels from the plot's lower left) a label takes."""
    if place == "top center":
        return px - width / 2, py + MARKER, px + width / 2, py + MARKER + LABEL_HEIGHT
    if place == "bottom center":
        return px - width / 2, py - MARKER - LABEL_HEIGHT, px + width / 2, py - MARKER
    if place == "middle right":
        return px + MARKER, py - LABEL_HEIGHT / 2, px + MARKER + width, py + LABEL_HEIGHT / 2
    return px - MARKER - width, py - LABEL_HEIGHT / 2, px - MARKER, py + LABEL_HEIGHT / 2


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_places(
    points: list[tuple[float, float, str]], x_range: tuple[float, float], y_range: tuple[float, float]
) -> list[str]:
    """Where each point's label goes so that labels neither overlap each other or the points nor
    leave the plot: for each point (the highest first) the first place that collides with least."""
    (x0, x1), (y0, y1) = x_range, y_range
    pixels = [
        ((x - x0) / (x1 - x0) * PLOT_WIDTH, (y - y0) / (y1 - y0) * PLOT_HEIGHT, len(name) * CHAR_WIDTH)
        for x, y, name in points
    ]
    markers = [(px - MARKER, py - MARKER, px + MARKER, py + MARKER) for px, py, _w in pixels]
    taken: list[tuple] = []
    places = [""] * len(points)
    for index in sorted(range(len(points)), key=lambda i: -pixels[i][1]):
        px, py, width = pixels[index]
        obstacles = taken + [m for i, m in enumerate(markers) if i != index]
        boxes = {place: _label_box(px, py, width, place) for place in LABEL_PLACES}
        collisions = {
            place: 2 * (box[0] < 0 or box[2] > PLOT_WIDTH or box[1] < 0 or box[3] > PLOT_HEIGHT)
            + sum(_overlap(box, other) for other in obstacles)
            for place, box in boxes.items()
        }
        places[index] = min(LABEL_PLACES, key=collisions.__getitem__)  # the first of the least colliding
        taken.append(boxes[places[index]])
    return places


@dataclass(frozen=True)
class Funnel:
    element_id: str
    name: str
    figure: dict
    not_drawn: list[tuple[str, str]]  # (team, the Figure's text): teams whose figure is not exact

    @functools.cached_property
    def script(self) -> str:
        return _figure_script(self.figure, self.element_id)


def funnel_plot(indicator: Indicator, teams: list[tuple[str, Figure]], centre: Figure) -> Funnel | None:
    """Teams as points (share against citizens counted) inside the 95 % and 99.8 % limits around
    the centre's share, instead of a league table. Only teams whose Figure is exact are drawn: a
    point's place would give away a bound or a hidden figure. The others are listed with their
    text. No plot where the centre's own share is not exact (its line would give it away)."""
    if indicator.kind != IndicatorKind.SHARE or centre.visibility != EXACT or not centre.denominator:
        return None
    drawn = [(name, f) for name, f in teams if f.visibility == EXACT]
    not_drawn = [(name, f.text) for name, f in teams if f.visibility not in (EXACT, EMPTY)]
    if not drawn:
        return None
    p = centre.numerator / centre.denominator
    sizes = [f.denominator for _name, f in drawn]
    n_low = max(5, int(min(sizes) * 0.6))
    n_high = max(int(max(sizes) * 1.25), n_low + 10)
    ns = sorted({round(n_low * (n_high / n_low) ** (i / 79)) for i in range(80)})
    limit_traces, limit_values = [], []
    for z, dash in ((Z_95, "dash"), (Z_998, "dot")):
        lows, highs = zip(*(control_limits(p, n, z) for n in ns), strict=True)
        limit_values += [100 * lows[0], 100 * highs[0]]
        for bound in (lows, highs):
            limit_traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": ns,
                    "y": _rounded(100 * b for b in bound),
                    "line": {"color": "#999", "dash": dash, "width": 1},
                    "hoverinfo": "skip",
                }
            )
    shares = [f.value for _name, f in drawn]
    # Room around the data for a label beside a point at an edge (a team of 5 with 0 %).
    x_range = (ns[0] - 0.06 * (ns[-1] - ns[0]), ns[-1])
    low, high = min([*shares, *limit_values]), max([*shares, *limit_values])
    pad = max((high - low) * 0.08, 1.0)
    y_range = (low - pad, high + pad)
    places = label_places(
        [(size, share, name) for size, share, (name, _f) in zip(sizes, shares, drawn, strict=True)], x_range, y_range
    )
    return Funnel(
        element_id=f"funnel-{indicator.code.lower()}",
        name=indicator.name,
        not_drawn=not_drawn,
        figure={
            "data": [
                *limit_traces,
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": [ns[0], ns[-1]],
                    "y": _rounded([100 * p, 100 * p]),
                    "line": {"color": LINE, "width": 1},
                    "hovertemplate": _escape(f"{_('The whole centre')}: {centre.text}") + "<extra></extra>",
                },
                {
                    "type": "scatter",
                    "mode": "markers+text",
                    "x": sizes,
                    "y": shares,
                    "text": [_escape(name) for name, _f in drawn],
                    "textposition": places,
                    "textfont": {"size": 10},
                    "cliponaxis": False,
                    "marker": {"size": 9, "color": "#b45f06"},
                    "customdata": [
                        _escape(
                            _("%(team)s: %(value)s (%(numerator)s of %(denominator)s)")
                            % {
                                "team": name,
                                "value": f.text,
                                "numerator": f.numerator_text,
                                "denominator": f.denominator_text,
                            }
                        )
                        for name, f in drawn
                    ],
                    "hovertemplate": "%{customdata}<extra></extra>",
                },
            ],
            "layout": {
                "height": 230,
                "margin": {"l": 44, "r": 16, "t": 14, "b": 40},
                "separators": _separators(),
                "xaxis": {
                    "title": {"text": _("citizens counted"), "font": {"size": 11}, "standoff": 4},
                    "range": _rounded(x_range),
                    "gridcolor": "#eee",
                    "fixedrange": True,
                },
                "yaxis": {"range": _rounded(y_range), "ticksuffix": " %", "gridcolor": "#eee", "fixedrange": True},
                "plot_bgcolor": "white",
                "showlegend": False,
            },
        },
    )


# Activity --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activity:
    """A unit's own activity in a month: signed contacts and the citizens seen, as they may be shown."""

    month: datetime.date
    contacts: display.Count
    citizens: display.Count

    @property
    def label(self) -> str:
        return month_label(self.month)


NO_ACTIVITY = display.Count("0", 0)
NOT_COUNTED = display.Count("–")  # no rollup for the month (yet), or a unit activity is not counted for


def activity_counts(rows: list[MonthlyActivity]) -> dict[tuple, tuple[display.Count, display.Count]]:
    """(month, unit kind, unit id) -> (contacts, citizens) as they may be shown: the teams of each
    month as a breakdown of the centre (secondary suppression), the centre and the programmes
    (which overlap) on their own."""
    by_month: dict[datetime.date, dict] = defaultdict(dict)
    centre: dict[datetime.date, MonthlyActivity] = {}
    shown = {}
    for row in rows:
        if row.unit_kind == UnitKind.TEAM:
            by_month[row.month][row.unit_id] = row
        else:
            if row.unit_kind == UnitKind.CENTRE:
                centre[row.month] = row
            shown[(row.month, row.unit_kind, row.unit_id)] = (
                display.counts({0: row.contacts}, None)[0],
                display.counts({0: row.citizens}, None)[0],
            )
    for month, teams in by_month.items():
        total = centre.get(month)
        contacts = display.counts({t: r.contacts for t, r in teams.items()}, total.contacts if total else None)
        citizens = display.counts({t: r.citizens for t, r in teams.items()}, total.citizens if total else None)
        for team_id in teams:
            shown[(month, UnitKind.TEAM, team_id)] = (contacts[team_id], citizens[team_id])
    return shown


def activity_at(shown: dict, month: datetime.date, unit: Unit) -> tuple[display.Count, display.Count]:
    """The rollup writes a team's row only where it had contacts: in a month it has computed (the
    centre has a row), a team without one had none."""
    if (month, unit.kind, unit.id) in shown:
        return shown[(month, unit.kind, unit.id)]
    if unit.kind == UnitKind.TEAM and (month, UnitKind.CENTRE, 0) in shown:
        return NO_ACTIVITY, NO_ACTIVITY
    return NOT_COUNTED, NOT_COUNTED


def activity(*, unit: Unit, months: list[datetime.date], shown: dict) -> list[Activity]:
    return [Activity(month, *activity_at(shown, month, unit)) for month in months]


def activity_chart(months: list[Activity]) -> dict:
    """Contacts per month as bars and citizens seen as a line; a month with a hidden count is a gap
    with its text on hover."""
    x = [a.month.isoformat() for a in months]
    texts = [
        _("%(month)s: %(contacts)s contacts, %(citizens)s citizens")
        % {"month": a.label, "contacts": a.contacts.text, "citizens": a.citizens.text}
        for a in months
    ]
    hidden = [
        (a.month, text)
        for a, text in zip(months, texts, strict=True)
        if a.contacts.value is None and a.contacts is not NOT_COUNTED
    ]
    data = [
        {
            "type": "bar",
            "name": _("Contacts"),
            "x": x,
            "y": [a.contacts.value for a in months],
            "marker": {"color": "#9fc5e8"},
            "customdata": [_escape(text) for text in texts],
            "hovertemplate": "%{customdata}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": _("Citizens seen"),
            "x": x,
            "y": [a.citizens.value for a in months],
            "connectgaps": False,
            "line": {"color": LINE, "width": 2},
            "marker": {"size": 5},
            "customdata": [_escape(text) for text in texts],
            "hovertemplate": "%{customdata}<extra></extra>",
        },
    ]
    if hidden:
        data.append(_hidden_months_trace(hidden))
    return {
        "data": data,
        "layout": {
            "height": 260,
            "margin": {"l": 44, "r": 16, "t": 10, "b": 30},
            "separators": _separators(),
            "xaxis": _month_axis([a.month for a in months]),
            "yaxis": {
                "domain": [STRIP, 1],
                "rangemode": "tozero",
                "gridcolor": "#eee",
                "fixedrange": True,
                "tickformat": ",d",
            },
            "yaxis2": HIDDEN_AXIS,
            "bargap": 0.3,
            "plot_bgcolor": "white",
            "showlegend": True,
            "legend": {"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top", "font": {"size": 11}},
        },
    }


# The page --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRow:
    name: str
    chosen: bool
    is_total: bool
    diabetes: str
    dementia: str
    contacts: str
    citizens: str


def _population_text(figure: Figure | None) -> str:
    if figure is None or figure.visibility == EMPTY:
        return "–"
    if figure.denominator is not None or figure.visibility == display.SMALL:
        return figure.denominator_text
    return _("not shown")


@dataclass(frozen=True)
class Overview:
    unit: Unit
    first_month: datetime.date
    last_month: datetime.date
    table: list[dict]
    run_charts: list[RunChart]
    funnels: list[Funnel]
    activity: list[Activity]
    activity_chart: dict
    teams: list[TeamRow]

    @functools.cached_property
    def activity_script(self) -> str:
        return _figure_script(self.activity_chart, "activity-chart")

    @property
    def activity_counted(self) -> bool:
        """Contacts are counted by the citizen's team and for the centre; programmes overlap."""
        return self.unit.kind != UnitKind.PROGRAMME

    @property
    def last_month_label(self) -> str:
        return month_label(self.last_month)

    @property
    def first_month_label(self) -> str:
        return month_label(self.first_month)


# A dashboard is the same page for everyone who opens it until the next rollup run: kept whole, the
# funnel plots' label placing and the charts are built once per run and unit instead of per request.
# They share their rows with the kept figures and add ~0.6 MB each (~8 MB in all).
_kept_overviews = Kept(12)


def overview(*, unit: Unit, all_units: list[Unit], first_month: datetime.date, last_month: datetime.date) -> Overview:
    """Everything the dashboard shows for a unit and a period: the table (the last month), the run
    charts (the period), the funnel plots (the last month), the unit's activity (the period) and
    the teams of the last month. Three queries, whatever the amount of data."""
    indicators = selectors.indicators()
    rows = selectors.indicator_rows(unit=unit, first_month=first_month, last_month=last_month)
    activity_rows = selectors.activity_rows(unit=unit, first_month=first_month, last_month=last_month)
    source = (
        translation.get_language(),
        _indicator_state(indicators),
        tuple(rows),
        tuple(activity_rows),
        tuple(all_units),
        unit,
        first_month,
        last_month,
    )
    return _kept_overviews.get(
        source,
        lambda: _overview(
            unit=unit,
            all_units=all_units,
            months=months_between(first_month, last_month),
            indicators=indicators,
            shown=kept_figures(indicators, rows, unit=unit, last_month=last_month)[1],
            counts=activity_counts(activity_rows),
        ),
    )


def _overview(
    *, unit: Unit, all_units: list[Unit], months: list[datetime.date], indicators: list[Indicator], shown: Shown, counts
) -> Overview:
    first_month, last_month = months[0], months[-1]
    series = _series(indicators, shown, unit=unit, months=months)
    teams = [u for u in all_units if u.kind == UnitKind.TEAM]
    centre_unit = next(u for u in all_units if u.kind == UnitKind.CENTRE)

    def at_last(indicator: Indicator, kind: str, unit_id: int) -> Figure:
        return display.cell(shown, indicator, last_month, kind, unit_id)

    funnels = []
    for indicator in indicators:
        funnel = funnel_plot(
            indicator,
            [(team.name, at_last(indicator, UnitKind.TEAM, team.id)) for team in teams],
            at_last(indicator, UnitKind.CENTRE, 0),
        )
        if funnel is not None:
            funnels.append(funnel)

    populations = {code: next((i for i in indicators if i.code == code), None) for code in POPULATIONS.values()}

    def team_row(row_unit: Unit) -> TeamRow:
        contacts, citizens = activity_at(counts, last_month, row_unit)
        diabetes, dementia = (populations[POPULATIONS[group]] for group in ("diabetes", "dementia"))
        return TeamRow(
            name=row_unit.name,
            chosen=row_unit == unit,
            is_total=row_unit.kind == UnitKind.CENTRE,
            diabetes=_population_text(diabetes and at_last(diabetes, row_unit.kind, row_unit.id)),
            dementia=_population_text(dementia and at_last(dementia, row_unit.kind, row_unit.id)),
            contacts=contacts.text,
            citizens=citizens.text,
        )

    own_activity = activity(unit=unit, months=months, shown=counts)
    return Overview(
        unit=unit,
        first_month=first_month,
        last_month=last_month,
        table=latest_table(series),
        run_charts=[run_chart_for(s) for s in series if s.has_figures],
        funnels=funnels,
        activity=own_activity,
        activity_chart=activity_chart(own_activity),
        teams=[team_row(t) for t in teams] + [team_row(centre_unit)],
    )
