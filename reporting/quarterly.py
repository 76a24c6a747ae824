"""The quarterly report's data: for a chosen quarter and unit, each indicator's figure for the
quarter's last month, its target and whether it is met, its run chart over the 24 months up to
then with Anhøj's signal, and the good stories approved in the quarter.

Every figure comes from the display function (through exports.unit_figures); the charts are drawn
for A4 portrait paper: two side by side in the 180 mm between the margins."""

import datetime
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet
from django.db.models.functions import TruncDate
from django.utils import formats
from django.utils.translation import gettext as _

from healthcenter.formatting import number
from patients.definitions import add_months, day_start, month_end, team_on

from . import dashboard as board
from . import display, runcharts, stories
from .exports import measured_in, unit_figures
from .models import Indicator, IndicatorKind, RollupRun, Story, UnitKind
from .selectors import Unit, last_run

QUARTERS_OFFERED = 8
CHART_MONTHS = 24  # enough points for the run-chart rules (at least 10 useful ones)
# 85 mm at 96 CSS px per inch: two chart blocks of 88 mm and the gap between them fill the 180 mm
# between the margins of A4 portrait; three rows of them fit a page.
CHART_WIDTH_PX = 320
CHART_HEIGHT_PX = 220


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @property
    def first_month(self) -> datetime.date:
        return datetime.date(self.year, 3 * self.number - 2, 1)

    @property
    def last_month(self) -> datetime.date:
        return datetime.date(self.year, 3 * self.number, 1)

    @property
    def last_day(self) -> datetime.date:
        return month_end(self.last_month)

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def name(self) -> str:
        # Danish: "3. kvartal 2026"; English: "Q3 2026".
        return _("Q%(number)s %(year)s") % {"number": self.number, "year": self.year}

    @classmethod
    def of(cls, day: datetime.date) -> "Quarter":
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def from_key(cls, key: str) -> "Quarter":
        year, number = key.split("-Q")
        return cls(int(year), int(number))

    def previous(self) -> "Quarter":
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)


def finished_quarters(*, today: datetime.date, count: int = QUARTERS_OFFERED) -> list[Quarter]:
    """The last `count` finished quarters, the latest first."""
    quarters = [Quarter.of(today).previous()]
    while len(quarters) < count:
        quarters.append(quarters[-1].previous())
    return quarters


@dataclass(frozen=True)
class ReportLine:
    indicator: Indicator
    figure: display.Figure  # the quarter's last month
    target: str
    met: str  # "met", "not met", "cannot be judged"
    signal: runcharts.RunChartSignal
    chart_id: str
    chart: dict | None  # None where no month of the chart's period may be drawn

    @property
    def median_text(self) -> str:
        if self.signal.median is None:
            return ""
        if self.indicator.kind == IndicatorKind.SHARE:
            return display.percent_text(self.signal.median)
        return f"{number(round(self.signal.median, 1))} {measured_in(self.indicator)}"


@dataclass(frozen=True)
class QuarterlyReport:
    quarter: Quarter
    unit: Unit
    lines: list[ReportLine]
    chart_first_month: datetime.date
    stories: list[Story]
    stories_for_unit: bool  # False: the whole centre's stories (stories belong to teams, not programmes)
    last_run: RollupRun | None

    @property
    def charts(self) -> list[ReportLine]:
        return [line for line in self.lines if line.chart is not None]


def paper_chart(series: board.IndicatorSeries, found: runcharts.RunChartSignal) -> dict | None:
    """The dashboard's run chart (shown points, their median, red and dashed on a signal, and the
    target) at a fixed size for paper. None where no month may be drawn."""
    if all(figure.value is None for figure in series.figures):
        return None
    chart = board.run_chart(series, found)
    chart["layout"] = chart["layout"] | {"width": CHART_WIDTH_PX, "height": CHART_HEIGHT_PX, "autosize": False}
    return chart


def quarter_stories(*, quarter: Quarter, unit: Unit) -> QuerySet[Story]:
    """Approved stories of the quarter whose citizen still consents; for a team, those of the
    citizens it was responsible for on the day of approval (as STORIES-APPROVED counts them)."""
    approved = stories.approved_stories(
        since=day_start(quarter.first_month), until=day_start(quarter.last_day + datetime.timedelta(days=1))
    )
    if unit.kind == UnitKind.TEAM:
        approved = (
            approved.annotate(decided_day=TruncDate("decided_at"))
            .annotate(unit_team=team_on(OuterRef("decided_day"), patient="patient_id"))
            .filter(unit_team=unit.id)
        )
    return approved


def quarterly_report(*, quarter: Quarter, unit: Unit) -> QuarterlyReport:
    """Four queries whatever the amount of data: indicators, rollup rows, stories, the last run."""
    first_month = add_months(quarter.last_month, -(CHART_MONTHS - 1))
    data = unit_figures(unit=unit, first_month=first_month, last_month=quarter.last_month)
    lines = []
    for indicator in data.indicators:
        series = board.IndicatorSeries(
            indicator=indicator, months=data.months, figures=[data.figure(indicator, m) for m in data.months]
        )
        found = series.signal
        lines.append(
            ReportLine(
                indicator=indicator,
                figure=series.last,
                target=board.target_text(indicator),
                met={True: _("met"), False: _("not met")}.get(series.last.met, _("cannot be judged")),
                signal=found,
                chart_id=f"run-{indicator.code.lower()}",
                chart=paper_chart(series, found),
            )
        )
    return QuarterlyReport(
        quarter=quarter,
        unit=unit,
        lines=lines,
        chart_first_month=first_month,
        stories=list(quarter_stories(quarter=quarter, unit=unit)),
        stories_for_unit=unit.kind != UnitKind.PROGRAMME,
        last_run=last_run(),
    )


def period_text(quarter: Quarter) -> str:
    """ "01.07.2026–30.09.2026" in Danish."""
    first, last = (formats.date_format(day, "SHORT_DATE_FORMAT") for day in (quarter.first_month, quarter.last_day))
    return f"{first}–{last}"
