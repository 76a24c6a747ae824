"""The indicator figures of one unit and period as files people open: CSV and XLSX.

Every cell comes from the display function (reporting/display.py), never from a stored numerator
or value, so that an export shows exactly what the dashboard may show. The frame is long: one row
per indicator and month of the chosen period, every month of it.

CSV: UTF-8 with a byte order mark (without it Excel reads UTF-8 as Windows-1252 and garbles "≤"
and "æøå"), CRLF line ends, fields quoted where they hold the separator, a quote or a line break.
The separator follows the decimal separator of the request's language, as the spreadsheet of a
person speaking it expects: in Danish a decimal comma and ";" between fields (what Danish Excel
opens into columns), in English a decimal point and ",".

XLSX: a title, the unit, the period and the discretion rule above the table; shares as numbers
with a percent format, counts as integers, months as dates with a month format; a cell hidden by
the discretion rules holds the display text ("<5", "≤ 19 %"), since a bound is not a number. A
second sheet holds each indicator's definition.

Text that a spreadsheet would run as a formula (a team named "=HYPERLINK(...)") is neutralised:
a leading single quote in CSV, an explicit text cell in XLSX."""

import datetime
import io
from dataclasses import dataclass

import pandas as pd
from django.utils import dateformat, formats, timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from healthcenter.formatting import number
from healthcenter.spreadsheets import csv_separator, neutralise, starts_like_formula
from patients.definitions import months_between

from . import dashboard as board
from . import display, selectors
from .dashboard import target_text
from .models import SMALL_CELL, Indicator, IndicatorKind
from .selectors import Unit

# The definitions of DESIGN.md ("Quality indicators" and "Indicator definitions, exactly") in the
# words a manager reads; the Indicator model holds names and targets, not these texts.
DEFINITIONS = {
    "DM-HBA1C-MEASURED": gettext_lazy(
        "Citizens with type 1 or type 2 diabetes in an active diabetes programme on the last day of the month "
        "(denominator) with an HbA1c measured in the 12 months up to that day (numerator)."
    ),
    "DM-HBA1C-LT59": gettext_lazy(
        "Of the citizens with diabetes and an HbA1c in the last 12 months (denominator), those whose latest "
        "HbA1c is below 59 mmol/mol (numerator)."
    ),
    "DM-HBA1C-GE75": gettext_lazy(
        "Of the citizens with diabetes and an HbA1c in the last 12 months (denominator), those whose latest "
        "HbA1c is 75 mmol/mol or above (numerator)."
    ),
    "DM-AT-OWN-TARGET": gettext_lazy(
        "Of the citizens with diabetes, an HbA1c in the last 12 months and an HbA1c goal with a target range in "
        "force (denominator), those whose latest HbA1c lies within their range, both ends included (numerator). "
        "Avoids rewarding over-treatment of frail citizens."
    ),
    "DM-BP-MEASURED": gettext_lazy(
        "Citizens with diabetes in an active diabetes programme (denominator) with blood pressure measured in "
        "the last 12 months (numerator)."
    ),
    "DM-ALBUMIN-SCREENED": gettext_lazy(
        "Citizens with diabetes in an active diabetes programme (denominator) screened for urine albumin in the "
        "last 2 years (numerator)."
    ),
    "DM-EYE-SCREENED": gettext_lazy(
        "Citizens with diabetes in an active diabetes programme (denominator) with an eye screening, normal or "
        "abnormal, in the last 2 years (numerator)."
    ),
    "DM-FOOT-EXAMINED": gettext_lazy(
        "Citizens with diabetes in an active diabetes programme (denominator) with a foot examination, normal "
        "or abnormal, in the last 2 years (numerator)."
    ),
    "DEM-SPECIFIC-DIAGNOSIS": gettext_lazy(
        "Citizens with dementia in an active dementia programme on the last day of the month (denominator) "
        "whose latest dementia diagnosis is specific, not unspecified (numerator)."
    ),
    "DEM-COGNITION-TESTED": gettext_lazy(
        "Citizens with dementia in an active dementia programme (denominator) with an MMSE in the last 12 "
        "months (numerator)."
    ),
    "DEM-CAREGIVER-CONTACT": gettext_lazy(
        "Citizens with dementia in an active dementia programme (denominator) with a primary caregiver "
        "registered on the last day of the month and a signed encounter with the caregiver present in the "
        "last 6 months (numerator)."
    ),
    "OPS-WAIT-DAYS": gettext_lazy(
        "Referrals, not declined, whose first signed encounter falls in the month: the median number of days "
        "from the day the referral was received to that encounter. Not shown for fewer than 5 referrals."
    ),
    "OPS-TASKS-OVERDUE": gettext_lazy(
        "Tasks open at the end of the month (denominator) whose due date has passed (numerator)."
    ),
    "OPS-LOOP-CLOSED": gettext_lazy(
        "Tasks made from agreed actions with a due date in the month, cancelled ones left out (denominator), "
        "done on or before their due date (numerator)."
    ),
    "STORIES-APPROVED": gettext_lazy(
        "Good stories approved from the first day of the quarter to the end of the month whose citizen still "
        "consents to their use in reports."
    ),
    "OPS-NO-SHOW": gettext_lazy(
        "Appointments in the month that were held or missed, cancellations left out (denominator), where the "
        "citizen did not attend (numerator)."
    ),
    "OPS-COURSE-COMPLETION": gettext_lazy(
        "Participants of courses whose last session falls in the month, those who withdrew before the first "
        "session left out (denominator), who attended at least three quarters of the held sessions (numerator)."
    ),
}

COLUMNS = ["code", "indicator", "unit", "month", "numerator", "denominator", "value", "measured_in", "target", "met"]


def _headers() -> dict[str, str]:
    return {
        "code": _("Code"),
        "indicator": _("Indicator"),
        "unit": _("Unit"),
        "month": _("Month"),
        "numerator": _("Numerator"),
        "denominator": _("Denominator"),
        "value": _("Value"),
        "measured_in": _("Value in"),
        "target": _("Target"),
        "met": _("Target met"),
    }


@dataclass(frozen=True)
class UnitFigures:
    """The figures of one unit over a run of months, as they may be shown."""

    unit: Unit
    indicators: list[Indicator]
    months: list[datetime.date]
    shown: dict  # display.figures() of the unit and its breakdown
    source: tuple  # what `shown` was computed from (dashboard.kept_figures): export_file's key

    def figure(self, indicator: Indicator, month: datetime.date) -> display.Figure:
        return display.cell(self.shown, indicator, month, self.unit.kind, self.unit.id)


def unit_figures(*, unit: Unit, first_month: datetime.date, last_month: datetime.date) -> UnitFigures:
    """Two queries, whatever the amount of data: the dashboard's read of the unit and the breakdown
    that secondary suppression needs beside it (a team is read with every team and the centre)."""
    indicators = selectors.indicators()
    rows = selectors.indicator_rows(unit=unit, first_month=first_month, last_month=last_month)
    source, shown = board.kept_figures(indicators, rows, unit=unit, last_month=last_month)
    return UnitFigures(
        unit=unit,
        indicators=indicators,
        months=months_between(first_month, last_month),
        shown=shown,
        source=(*source, first_month),
    )


# A file is the same for everyone who asks for it on a day until the next rollup run (it says the day
# it was exported), and openpyxl takes some 70 ms to write one: kept per process like the dashboard.
_kept_files = board.Kept(20)


def export_file(data: UnitFigures, fmt: str) -> bytes:
    """The CSV or XLSX bytes of the figures, made once per unit, period, language, day and rows."""
    write = {"csv": to_csv, "xlsx": to_xlsx}[fmt]
    return _kept_files.get((fmt, timezone.localdate(), *data.source), lambda: write(data))


def measured_in(indicator: Indicator) -> str:
    return {IndicatorKind.SHARE: "%", IndicatorKind.MEDIAN_DAYS: _("days")}.get(indicator.kind, _("stories"))


def met_text(shown: display.Figure) -> str:
    if shown.visibility == display.EMPTY:
        return ""
    return {True: _("yes"), False: _("no"), None: _("cannot be judged")}[shown.met]


def _count(indicator: Indicator, shown: display.Figure, count: int | None) -> int | str:
    """A count where it may be shown; "<5" where the cell is small; blank where it is hidden. A
    count of stories has no numerator and denominator of its own (both hold the count)."""
    if indicator.kind == IndicatorKind.COUNT:
        return ""
    if count is not None:
        return count
    return "<5" if shown.visibility == display.SMALL else ""


def _value(shown: display.Figure) -> float | str:
    """The exact value where it may be computed on; otherwise what the display function shows."""
    if shown.value is not None:
        return shown.value
    return "" if shown.visibility == display.EMPTY else shown.text


def indicator_frame(data: UnitFigures) -> pd.DataFrame:
    """One row per indicator and month (oldest first), typed: numbers stay numbers, a hidden cell
    holds its display text."""
    return pd.DataFrame.from_records(indicator_records(data), columns=[*COLUMNS, "kind"])


def indicator_records(data: UnitFigures) -> list[dict]:
    """The rows of indicator_frame as dicts (COLUMNS and the indicator's kind)."""
    records = []
    for indicator in data.indicators:
        # The same for every month, and formatting them per row was a third of the export's time.
        name, unit_in, target = indicator.name, measured_in(indicator), target_text(indicator)
        for month in data.months:
            shown = data.figure(indicator, month)
            records.append(
                {
                    "code": indicator.code,
                    "indicator": name,
                    "unit": data.unit.name,
                    "month": month,
                    "numerator": _count(indicator, shown, shown.numerator),
                    "denominator": _count(indicator, shown, shown.denominator),
                    "value": _value(shown),
                    "measured_in": unit_in,
                    "target": target,
                    "met": met_text(shown),
                    "kind": indicator.kind,
                }
            )
    return records


def definitions_frame(indicators: list[Indicator]) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {
                _("Code"): indicator.code,
                _("Indicator"): indicator.name,
                _("Definition"): str(DEFINITIONS.get(indicator.code, indicator.name)),
                _("Target"): target_text(indicator),
                _("Source"): indicator.source,
            }
            for indicator in indicators
        ]
    )


def period_text(first_month: datetime.date, last_month: datetime.date) -> str:
    return f"{dateformat.format(first_month, 'F Y')} – {dateformat.format(last_month, 'F Y')}"


def filename(data: UnitFigures, extension: str) -> str:
    """The file's name says what it holds, in the reader's language: "kvalitetsindikatorer-diabetes-nord-
    2024-11-2026-10.csv" (ASCII only: some mail systems mangle other file names)."""
    stem = slugify(f"{_('quality indicators')} {data.unit.name}") or "indicators"
    return f"{stem}-{data.months[0]:%Y-%m}-{data.months[-1]:%Y-%m}.{extension}"


# --- CSV ------------------------------------------------------------------------------------------


def _csv_number(value: float | int) -> str:
    # The language's decimal separator and no thousands grouping: a grouped "1.234" is a decimal
    # in an English spreadsheet.
    return number(value) if isinstance(value, float) else str(value)


def to_csv(data: UnitFigures) -> bytes:
    frame = indicator_frame(data).drop(columns="kind")
    frame["month"] = frame["month"].map(lambda month: f"{month:%Y-%m}")
    for column in ("numerator", "denominator", "value"):
        frame[column] = frame[column].map(lambda cell: cell if isinstance(cell, str) else _csv_number(cell))
    frame = frame.map(neutralise).rename(columns=_headers())
    buffer = io.BytesIO()
    frame.to_csv(buffer, sep=csv_separator(), index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return buffer.getvalue()


# --- XLSX -----------------------------------------------------------------------------------------

FIRST_ROW = 6  # the header row of the table; above it the title, unit, period and notes
MONTH_FORMAT = "mmm yyyy"
NUMBER_FORMATS = {IndicatorKind.SHARE: "0.0%", IndicatorKind.MEDIAN_DAYS: "0.0", IndicatorKind.COUNT: "0"}


def _as_text(cell) -> None:
    """An explicit text cell: openpyxl turns a string starting with "=" into a formula, and Excel
    runs one starting with + - @ when the cell is edited; neither happens to a quote-prefixed
    text cell."""
    if starts_like_formula(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True


def _fit_columns(sheet, *, first_row: int, widest: int = 60) -> None:
    """Each column as wide as its longest cell from `first_row` down (the title above may overflow)."""
    for column in sheet.iter_cols(min_row=first_row):
        length = max((len(str(c.value)) for c in column if c.value is not None), default=6)
        sheet.column_dimensions[column[0].column_letter].width = min(widest, max(8, length + 2))


def _excel_value(row) -> object:
    value = row["value"]
    if isinstance(value, float) and row["kind"] == IndicatorKind.SHARE:
        return value / 100  # the percent number format multiplies by 100
    if isinstance(value, float) and row["kind"] == IndicatorKind.COUNT:
        return int(value)
    return value


def _header(sheet, row: int, names: list[str]) -> None:
    from openpyxl.styles import Font

    for column, name in enumerate(names, start=1):
        sheet.cell(row, column, name).font = Font(bold=True)


def to_xlsx(data: UnitFigures) -> bytes:
    """Written cell by cell with openpyxl, not through pandas' ExcelWriter: its per-cell styling,
    and a second pass over every cell for formulas, were half of the export's time."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Indicators")[:31]
    sheet["A1"] = _("Quality indicators: %(unit)s") % {"unit": data.unit.name}
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = _("Unit: %(unit)s") % {"unit": data.unit.name}
    sheet["A3"] = _("Period: %(period)s") % {"period": period_text(data.months[0], data.months[-1])}
    sheet["A4"] = _("Exported %(date)s from the health centre's case system.") % {
        "date": formats.date_format(timezone.localdate(), "SHORT_DATE_FORMAT")
    }
    sheet["A5"] = " ".join(
        [
            _("Cells with fewer than 5 citizens are shown as <5."),
            _(
                "Where 1-%(small)s citizens are or are not counted, the share is shown as a bound and the "
                "numerator is left out."
            )
            % {"small": SMALL_CELL - 1},
        ]
    )
    headers = _headers()
    _header(sheet, FIRST_ROW, [headers[name] for name in COLUMNS])
    right = Alignment(horizontal="right")  # "<5" lines up with the numbers
    counts = {"numerator", "denominator"}
    for row, record in enumerate(indicator_records(data), start=FIRST_ROW + 1):
        record["value"] = _excel_value(record)
        for column, name in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row, column, record[name])
            if name == "month":
                cell.number_format = MONTH_FORMAT
            elif name in counts or name == "value":
                if isinstance(cell.value, str):
                    cell.alignment = right
                else:
                    cell.number_format = "0" if name in counts else NUMBER_FORMATS[record["kind"]]
            _as_text(cell)
    sheet.freeze_panes = sheet.cell(FIRST_ROW + 1, 1)
    sheet.auto_filter.ref = f"A{FIRST_ROW}:{sheet.cell(FIRST_ROW, len(COLUMNS)).column_letter}{sheet.max_row}"
    _fit_columns(sheet, first_row=FIRST_ROW)
    sheet.column_dimensions[sheet.cell(1, COLUMNS.index("month") + 1).column_letter].width = 11
    for cell in (sheet["A1"], sheet["A2"], sheet["A3"], sheet["A4"], sheet["A5"]):
        _as_text(cell)

    notes = book.create_sheet(_("Definitions")[:31])
    definitions = definitions_frame(data.indicators)
    _header(notes, 1, list(definitions.columns))
    for row, values in enumerate(definitions.itertuples(index=False), start=2):
        for column, value in enumerate(values, start=1):
            _as_text(notes.cell(row, column, value))
    for letter, width in zip("ABCDE", (24, 40, 90, 10, 30), strict=True):
        notes.column_dimensions[letter].width = width
    for (cell,) in notes.iter_rows(min_row=2, min_col=3, max_col=3):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
