"""How a figure leaves the system: the one display function of DESIGN.md's "Discretion".

Stored rollup rows keep exact counts; they are internal. Every page, chart, hover text, export,
report and API answer that shows a figure gets it from `figure` (one cell) or `figures` (a set of
cells, with secondary suppression across each team breakdown and its centre total):

- denominator 1-4: "<5", no rate, no numerator, no denominator;
- numerator 1-4: the rate as a bound rounded outwards ("≤ 19 %" for 2 of 22), denominator shown;
- denominator minus numerator 1-4: likewise (">= 96 %" for 98 of 100);
- both 1-4, or either under 9 counted: no rate at all (a bound of so few gives the count away);
- a median over fewer than 5 referrals: not shown;
- secondary suppression: no hidden figure can be worked out from the centre and the shown
  teams by a reader who knows these rules. Every hidden count must be able to be one more or one
  less, with another hidden one the other way, without anything shown changing; where one cannot
  (a team hidden alone, two bounds of 1 whose sum 2 says so, a bound of 1 beside a hidden 5 that
  cannot be 4), the smallest team that gives it room is hidden too, or, with none, the centre;
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
    """Counts of a breakdown (teams) as they may be shown next to their total: 1-4 as "<5", and,
    where the total is shown, so that no hidden count can be worked out from it (as `figures` does
    for shares): every hidden count must be able to trade one with another hidden one unseen, or
    the smallest team that makes it so is hidden too ("not shown"). A count of 1 beside another of 1
    under a total that leaves 2 is not protected; nor is one beside a hidden 5 or 0 (a hidden
    count was shown before, so it is not 1-4, and 0 has nothing to give)."""
    shown = {key: Count(citizens(n), None if _small(n) else n) for key, n in breakdown.items()}
    if total is None or _small(total):
        return shown
    order = sorted(breakdown, key=lambda key: (breakdown[key], str(key)))
    hidden = [key for key in order if _small(breakdown[key])]
    while not _counts_protected(hidden, breakdown):
        candidates = [key for key in order if key not in hidden]
        if not candidates:
            break
        fits = [key for key in candidates if _counts_protected([*hidden, key], breakdown)]
        cover = fits[0] if fits else next((key for key in candidates if breakdown[key]), candidates[0])
        hidden.append(cover)
        shown[cover] = Count(_("not shown"))
    return shown


def _counts_protected(hidden: list, breakdown: dict) -> bool:
    def could_be(key, count: int) -> bool:  # "<5" is 1-4; a hidden count was shown before: 0 or 5 and more
        return _small(count) if _small(breakdown[key]) else count == 0 or count >= SMALL_CELL

    room = {key: (could_be(key, breakdown[key] - 1), could_be(key, breakdown[key] + 1)) for key in hidden}
    return all(
        any((down and room[other][1]) or (up and room[other][0]) for other in hidden if other != key)
        for key, (down, up) in room.items()
    )


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


# Under 9 counted, numerator and complement cannot both be 5 or more, and a reader who knows these
# rules learns too much from a bound: "≤ 67 %" of 6 can only be 1 (2-4 leave a complement under 5,
# which would show no rate), and no rate of 8 only 4. There no rate is shown for either side of 1-4.
BOUND_FROM = 2 * SMALL_CELL - 1


def _share_visibility(numerator: int, denominator: int) -> str:
    """How much of a share of 5 or more counted is shown (EXACT, BOUND or WITHHELD)."""
    complement = denominator - numerator
    if not (_small(numerator) or _small(complement)):
        return EXACT
    if (_small(numerator) and _small(complement)) or denominator < BOUND_FROM:
        return WITHHELD
    return BOUND


def _share(row: IndicatorValue, indicator: Indicator) -> Figure:
    visibility = _share_visibility(row.numerator, row.denominator)
    if visibility == WITHHELD:
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
    if visibility == BOUND:
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
        # From the counts, not the stored value: that has two decimals already, and rounding it again
        # would make 3.347 % (8 of 239, stored 3.35) read "3,4 %".
        text=percent_text(Decimal(100 * row.numerator) / row.denominator),
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


CENTRE_UNIT = 0  # the centre's unit id, and its place among a breakdown's units


def _protect_breakdown(
    shown: dict[int, Figure], counts: dict[int, tuple[int, int]], primary: dict[int, Figure], *, kind: str
) -> dict[int, Figure]:
    """Secondary suppression of one breakdown: the teams of one indicator and month, and under
    CENTRE_UNIT the centre, as shown so far, as counted, and as the rules of one cell show them.

    No hidden count may be worked out by a reader who knows the rules (a bound is a count of 1-4,
    "<5" a denominator of 1-4, a figure withheld to protect another was no bound) and that the
    teams add up to the centre. That holds where every hidden count could be one more or one less,
    with another hidden team's the other way or a hidden centre's the same way, and nothing shown
    would change. Where one cannot (a lone hidden team, two bounds of 1 each, whose sum 2 says so,
    or a bound of 1 beside a cover of 5, which cannot be 4), the smallest team that gives the
    hidden ones room is withheld too; where none does, the centre's figure. Repeated until
    stable: hiding one team's figure can expose another quantity."""
    if CENTRE_UNIT not in shown or shown[CENTRE_UNIT].visibility == EMPTY:
        return shown
    shown = dict(shown)
    teams = sorted((counts[unit][1], unit) for unit in shown if unit != CENTRE_UNIT)
    # A median's numerator is its denominator: hidden and shown together.
    quantities = ("denominator",) if kind == IndicatorKind.MEDIAN_DAYS else ("denominator", "numerator")
    changed = True
    while changed:
        changed = False
        for quantity in quantities:
            hides = f"hides_{quantity}"
            hidden = [unit for _size, unit in teams if getattr(shown[unit], hides)]
            if _protected(hidden, quantity, shown, counts, primary):
                continue
            for _size, unit in teams:
                if getattr(shown[unit], hides) or shown[unit].visibility == EMPTY:
                    continue
                trial = {**shown, unit: _withhold(shown[unit], denominator_too=quantity == "denominator")}
                if _protected([*hidden, unit], quantity, trial, counts, primary):
                    shown = trial
                    break
            else:
                if shown[CENTRE_UNIT] != primary[CENTRE_UNIT] and getattr(shown[CENTRE_UNIT], hides):
                    continue  # withheld already: nothing more to hide
                centre = _withhold(shown[CENTRE_UNIT], denominator_too=quantity == "denominator")
                shown = {**shown, CENTRE_UNIT: centre}
            changed = True
    return shown


def _protected(hidden: list[int], quantity: str, shown, counts, primary) -> bool:
    """Whether each hidden team's count can trade one with another hidden team's, or move with a
    hidden centre's, unseen."""
    room = {unit: _room(quantity, shown[unit], primary[unit], *counts[unit]) for unit in hidden}
    centre = shown[CENTRE_UNIT]
    with_centre = (
        _room(quantity, centre, primary[CENTRE_UNIT], *counts[CENTRE_UNIT])
        if getattr(centre, f"hides_{quantity}")
        else (False, False)
    )
    return all(
        (down and with_centre[0])
        or (up and with_centre[1])
        or any((down and room[other][1]) or (up and room[other][0]) for other in hidden if other != unit)
        for unit, (down, up) in room.items()
    )


def _room(quantity: str, shown: Figure, primary: Figure, numerator: int, denominator: int) -> tuple[bool, bool]:
    """Whether the reader must allow this count one less, and one more, behind the figure."""
    if quantity == "numerator":
        return (
            _could_be(shown, primary, numerator - 1, denominator),
            _could_be(shown, primary, numerator + 1, denominator),
        )
    # A numerator as large as the denominator goes down with it, and may go up with it.
    return (
        any(_could_be(shown, primary, n, denominator - 1) for n in (numerator, numerator - 1)),
        any(_could_be(shown, primary, n, denominator + 1) for n in (numerator, numerator + 1)),
    )


def _could_be(shown: Figure, primary: Figure, numerator: int, denominator: int) -> bool:
    """Whether these counts would show as this figure, to a reader who knows the rules of one cell."""
    if not 0 <= numerator <= denominator:
        return False
    if shown.visibility == SMALL or shown.denominator is None:
        # "<5" is a denominator of 1-4; a figure withheld without its denominator any other size.
        return _small(denominator) if shown.visibility == SMALL else denominator >= SMALL_CELL
    if denominator != shown.denominator:
        return False
    visibility = _share_visibility(numerator, denominator)
    if shown != primary:  # withheld to protect another: shown before, so no bound (the centre may have been)
        return visibility != BOUND or primary.visibility == BOUND
    if shown.visibility == BOUND:
        return visibility == BOUND and _small(numerator) == shown.bound_is_upper
    return visibility == shown.visibility and (visibility != EXACT or numerator == shown.numerator)


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
    counts: dict[Key, tuple[int, int]] = {}
    breakdowns: dict[tuple[int, object], list[Key]] = defaultdict(list)
    for row in rows:
        indicator = indicators[row.indicator_id]
        key = (row.indicator_id, row.month, row.unit_kind, row.unit_id)
        shown[key] = figure(row, indicator)
        counts[key] = (row.numerator, row.denominator)
        if row.unit_kind == UnitKind.TEAM and indicator.kind != IndicatorKind.COUNT:
            breakdowns[(row.indicator_id, row.month)].append(key)
    primary = dict(shown)
    _protect_breakdowns(shown, breakdowns, counts, primary, indicators)
    if _protect_linked(shown, indicators):
        _protect_breakdowns(shown, breakdowns, counts, primary, indicators)
    return shown


def _protect_breakdowns(shown: dict[Key, Figure], breakdowns: dict, counts: dict, primary: dict, indicators) -> None:
    for (indicator_id, month), keys in breakdowns.items():
        centre = (indicator_id, month, UnitKind.CENTRE, CENTRE_UNIT)
        if centre not in shown:
            continue
        units = [*keys, centre]
        protected = _protect_breakdown(
            {key[3]: shown[key] for key in units},
            {key[3]: counts[key] for key in units},
            {key[3]: primary[key] for key in units},
            kind=indicators[indicator_id].kind,
        )
        for key in units:
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
