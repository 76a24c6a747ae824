"""How a figure leaves the system: the one display function of DESIGN.md's "Discretion".

Stored rollup rows keep exact counts; they are internal. Every page, chart, hover text, export,
report and API answer that shows a figure gets it from `figure` (one cell) or `figures` (a set of
cells, with secondary suppression across each team breakdown and its centre total):

- denominator 1-4: "<5", no rate, no numerator, no denominator;
- numerator 1-4: the rate as a bound rounded outwards ("≤ 19 %" for 2 of 22), denominator shown;
- denominator minus numerator 1-4: likewise (">= 96 %" for 98 of 100);
- both 1-4: no rate at all;
- a median over fewer than 5 referrals: not shown;
- secondary suppression: where exactly one team of a breakdown hides its numerator (or its
  denominator) and the centre's is shown, the next smallest team hides it too, so that no hidden
  figure can be found by subtracting the others from the centre;
- counts of stories are shown as they are.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from healthcenter.formatting import percent_text

from .models import SMALL_CELL, Indicator, IndicatorKind, IndicatorValue, UnitKind

EXACT = "exact"  # the figure as it is
BOUND = "bound"  # only a bound of the rate; the numerator is hidden
SMALL = "small"  # fewer than 5 counted: "<5", nothing else
WITHHELD = "withheld"  # no rate (numerator and complement both small, or hidden to protect another cell)
EMPTY = "empty"  # nobody counted, or no figure for the month


@dataclass(frozen=True)
class Figure:
    """One cell as it may be shown. `value` is set only where the exact figure may be drawn or
    computed on; `numerator` and `denominator` only where they may be shown."""

    text: str
    visibility: str
    value: float | None = None
    numerator: int | None = None
    denominator: int | None = None
    bound: Decimal | None = None  # the exact bound behind a BOUND text (the text is rounded outwards)
    bound_is_upper: bool = True
    met: bool | None = None

    @property
    def numerator_text(self) -> str:
        return _count_text(self.numerator, self.visibility)

    @property
    def denominator_text(self) -> str:
        return _count_text(self.denominator, self.visibility)

    @property
    def hides_numerator(self) -> bool:
        return self.visibility in (BOUND, SMALL, WITHHELD)

    @property
    def hides_denominator(self) -> bool:
        return self.visibility == SMALL or (self.visibility == WITHHELD and self.denominator is None)


def _count_text(count: int | None, visibility: str) -> str:
    if count is not None:
        return formats.number_format(count, force_grouping=True)
    return "<5" if visibility == SMALL else ""


def citizens(count: int) -> str:
    """A count of citizens on its own: "<5" for 1-4."""
    return "<5" if 0 < count < SMALL_CELL else formats.number_format(count, force_grouping=True)


@dataclass(frozen=True)
class Count:
    """A count of citizens (or of their contacts) as it may be shown: `value` only where it may be
    shown and drawn."""

    text: str
    value: int | None = None


def counts(breakdown: dict, total: int | None) -> dict:
    """Counts of a breakdown (teams) as they may be shown next to their total: 1-4 as "<5", and
    where exactly one is hidden and the total is shown, the next smallest is hidden too (zeros are
    no cover: hiding one still tells the hidden count)."""
    shown = {key: Count(citizens(n), None if _small(n) else n) for key, n in breakdown.items()}
    hidden = [key for key, n in breakdown.items() if _small(n)]
    if len(hidden) == 1 and total is not None and not _small(total):
        candidates = [key for key, n in breakdown.items() if n >= SMALL_CELL]
        if candidates:
            shown[min(candidates, key=breakdown.__getitem__)] = Count(_("not shown"))
    return shown


def _small(count: int) -> bool:
    return 0 < count < SMALL_CELL


def figure(row: IndicatorValue | None, indicator: Indicator) -> Figure:
    """One stored cell as it may leave the system, without regard to the other cells."""
    if indicator.kind == IndicatorKind.COUNT and row is not None and row.value is not None:
        # A count of stories (none is a count too) is shown as it is and judged against its target.
        return Figure(
            text=formats.number_format(row.numerator),
            visibility=EXACT,
            value=float(row.value),
            numerator=row.numerator,
            denominator=row.denominator,
            met=indicator.meets_target(row.value),
        )
    if row is None or row.denominator == 0 or row.value is None:
        return Figure(text="–", visibility=EMPTY)
    if _small(row.denominator):
        return Figure(text="<5", visibility=SMALL)
    if indicator.kind == IndicatorKind.MEDIAN_DAYS:
        return _median(row, indicator)
    return _share(row, indicator)


def _median(row: IndicatorValue, indicator: Indicator) -> Figure:
    days = Decimal(row.value).normalize()
    text = ngettext("%(days)s day", "%(days)s days", math.ceil(days)) % {
        "days": formats.number_format(days, decimal_pos=max(0, -days.as_tuple().exponent))
    }
    return Figure(
        text=text,
        visibility=EXACT,
        value=float(row.value),
        numerator=row.numerator,
        denominator=row.denominator,
        met=indicator.meets_target(row.value),
    )


def _share(row: IndicatorValue, indicator: Indicator) -> Figure:
    complement = row.denominator - row.numerator
    if _small(row.numerator) and _small(complement):
        return Figure(text=_("not shown"), visibility=WITHHELD, denominator=row.denominator)
    if _small(row.numerator):
        bound = Decimal(100 * (SMALL_CELL - 1)) / row.denominator
        return Figure(
            text=f"≤ {percent_text(math.ceil(bound), 0)}",
            visibility=BOUND,
            denominator=row.denominator,
            bound=bound,
            bound_is_upper=True,
            met=_met_by_bound(indicator, bound, upper=True),
        )
    if _small(complement):
        bound = Decimal(100 * (row.denominator - SMALL_CELL + 1)) / row.denominator
        return Figure(
            text=f"≥ {percent_text(math.floor(bound), 0)}",
            visibility=BOUND,
            denominator=row.denominator,
            bound=bound,
            bound_is_upper=False,
            met=_met_by_bound(indicator, bound, upper=False),
        )
    return Figure(
        text=percent_text(row.value),
        visibility=EXACT,
        value=float(row.value),
        numerator=row.numerator,
        denominator=row.denominator,
        met=indicator.meets_target(row.value),
    )


def _met_by_bound(indicator: Indicator, bound: Decimal, *, upper: bool) -> bool | None:
    """Whether the target is met when only a bound of the share is known: decided where every
    share the bound allows judges the same (targets are monotone in the share)."""
    low, high = (Decimal(0), bound) if upper else (bound, Decimal(100))
    at_low, at_high = indicator.meets_target(low), indicator.meets_target(high)
    return at_low if at_low == at_high else None


def _withhold(shown: Figure, *, denominator_too: bool) -> Figure:
    return replace(
        shown,
        text=_("not shown"),
        visibility=WITHHELD,
        value=None,
        numerator=None,
        denominator=None if denominator_too else shown.denominator,
        bound=None,
        met=None,
    )


def _protect_breakdown(teams: dict[int, Figure], total: Figure | None) -> dict[int, Figure]:
    """Secondary suppression of one breakdown (the teams of one indicator and month against the
    centre). Repeated until stable: hiding one team's figure can expose another quantity."""
    if total is None or total.visibility == EMPTY:
        return teams
    teams = dict(teams)
    changed = True
    while changed:
        changed = False
        for hides, denominator_too in (("hides_denominator", True), ("hides_numerator", False)):
            hidden = [unit for unit, shown in teams.items() if getattr(shown, hides)]
            if len(hidden) != 1 or getattr(total, hides):
                continue
            candidates = [
                (shown.denominator or 0, unit)
                for unit, shown in teams.items()
                if not getattr(shown, hides) and shown.visibility != EMPTY
            ]
            if not candidates:
                continue
            _size, unit = min(candidates)
            teams[unit] = _withhold(teams[unit], denominator_too=denominator_too)
            changed = True
    return teams


Key = tuple[int, object, str, int]  # (indicator id, month, unit kind, unit id)


def cell(shown: dict[Key, Figure], indicator: Indicator, month, unit_kind: str, unit_id: int) -> Figure:
    """One cell of what `figures` returned. Where no row is stored: for a count in a month that
    was computed (the centre has its row) the count is zero; otherwise there is no figure."""
    found = shown.get((indicator.id, month, unit_kind, unit_id))
    if found is not None:
        return found
    if indicator.kind == IndicatorKind.COUNT and (indicator.id, month, UnitKind.CENTRE, 0) in shown:
        none = IndicatorValue(indicator_id=indicator.id, month=month, numerator=0, denominator=0, value=Decimal(0))
        return figure(none, indicator)
    return figure(None, indicator)


# Where one indicator's denominator is another's numerator (the citizens with an HbA1c in the
# window), hiding that numerator hides the other's denominator and rate too: otherwise the hidden
# count could be read off the next line.
DENOMINATOR_IS_NUMERATOR_OF = {
    "DM-HBA1C-LT59": "DM-HBA1C-MEASURED",
    "DM-HBA1C-GE75": "DM-HBA1C-MEASURED",
}


def figures(rows: Iterable[IndicatorValue], indicators: dict[int, Indicator]) -> dict[Key, Figure]:
    """Every given row as it may be shown. Pass all indicators' team rows and centre row of each
    month whose team figures are shown (or from which a team figure could be derived): the
    secondary suppression needs the whole breakdown, and the linked indicators each other.
    Programmes overlap (a citizen can be in two), so they are not a breakdown of the centre and
    only the primary rules apply to them."""
    shown: dict[Key, Figure] = {}
    breakdowns: dict[tuple[int, object], list[Key]] = defaultdict(list)
    for row in rows:
        indicator = indicators[row.indicator_id]
        key = (row.indicator_id, row.month, row.unit_kind, row.unit_id)
        shown[key] = figure(row, indicator)
        if row.unit_kind == UnitKind.TEAM and indicator.kind != IndicatorKind.COUNT:
            breakdowns[(row.indicator_id, row.month)].append(key)
    _protect_breakdowns(shown, breakdowns)
    if _protect_linked(shown, indicators):
        _protect_breakdowns(shown, breakdowns)
    return shown


def _protect_breakdowns(shown: dict[Key, Figure], breakdowns: dict) -> None:
    for (indicator_id, month), keys in breakdowns.items():
        total = shown.get((indicator_id, month, UnitKind.CENTRE, 0))
        protected = _protect_breakdown({key[3]: shown[key] for key in keys}, total)
        for key in keys:
            shown[key] = protected[key[3]]


def _protect_linked(shown: dict[Key, Figure], indicators: dict[int, Indicator]) -> bool:
    """Withholds a figure whose denominator is a hidden numerator of another; True if any was."""
    ids = {indicator.code: indicator.id for indicator in indicators.values()}
    changed = False
    for key, cell in shown.items():
        source = DENOMINATOR_IS_NUMERATOR_OF.get(indicators[key[0]].code)
        if source is None or source not in ids or cell.visibility == EMPTY:
            continue
        other = shown.get((ids[source], *key[1:]))
        if other is not None and other.hides_numerator and not cell.hides_denominator:
            shown[key] = _withhold(cell, denominator_too=True)
            changed = True
    return changed
