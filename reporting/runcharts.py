"""Run charts as improvement teams read them: the median of the shown points and Anhøj's two rules
for non-random variation (Anhøj & Olesen 2014, the rules of qicharts2). Pure functions of the
aggregated monthly series: no database, and only figures that may be shown go in.

- Unusually long run: the longest run of points on one side of the median is longer than
  round(log2(n) + 3), n being the useful points (points on the median are ignored).
- Too few crossings: the median is crossed fewer times than the 5th percentile of the binomial
  distribution with n - 1 trials and p = 0.5.

With fewer than 10 useful points no signal is claimed: the rules have too little to go on.
"""

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

MIN_USEFUL_POINTS = 10


@dataclass(frozen=True)
class RunChartSignal:
    median: float | None  # of the shown points; None when there are none
    useful: int  # points not on the median
    longest_run: int
    longest_run_limit: int | None  # None with fewer than MIN_USEFUL_POINTS useful points
    crossings: int
    crossings_limit: int | None
    shift: bool  # an unusually long run
    too_few_crossings: bool
    text: str

    @property
    def found(self) -> bool:
        return self.shift or self.too_few_crossings


def longest_run_limit(useful: int) -> int:
    """The longest run chance alone makes likely with `useful` points (Anhøj's table: 10 -> 6, 24 -> 8)."""
    return round(math.log2(useful) + 3)


def crossings_limit(useful: int) -> int:
    """The fewest crossings chance alone makes likely: the 5th percentile of Binomial(useful - 1, 0.5),
    i.e. the smallest k with P(X <= k) >= 0.05 (R's qbinom; Anhøj's table: 10 -> 2, 24 -> 7)."""
    trials = useful - 1
    total, cumulative = 2**trials, 0
    for k in range(trials + 1):
        cumulative += math.comb(trials, k)
        if cumulative * 20 >= total:  # exact: P(X <= k) >= 1/20
            return k
    return trials


def _value(point) -> float | None:
    """A Figure (its `value` is set only where the exact figure may be drawn) or a plain number."""
    value = getattr(point, "value", point)
    return None if value is None else float(value)


def signal(series: Sequence) -> RunChartSignal:
    """Anhøj's rules on a monthly series (oldest first) of Figures or values; months without a shown
    value (None, or a Figure without `value`) are left out."""
    # Plain Python, not pandas: a dashboard judges some 15 series of at most a few dozen points, and
    # building Series for them cost more than the rest of the page (7 ms a series).
    values = [value for value in map(_value, series) if value is not None]
    if not values:
        return RunChartSignal(None, 0, 0, None, 0, None, False, False, _("No figures to judge."))
    median = float(statistics.median(values))
    sides = [1 if value > median else -1 for value in values if value != median]
    useful = len(sides)
    runs = [len(list(run)) for _side, run in itertools.groupby(sides)]
    longest_run = max(runs, default=0)
    crossings = max(len(runs) - 1, 0)
    if useful < MIN_USEFUL_POINTS:
        return RunChartSignal(
            median,
            useful,
            longest_run,
            None,
            crossings,
            None,
            False,
            False,
            # No trailing full stop: pages add the median in brackets after it.
            _("Too few points off the median to judge the variation (%(useful)s, at least %(count)s needed)")
            % {"useful": useful, "count": MIN_USEFUL_POINTS},
        )
    run_limit, crossing_limit = longest_run_limit(useful), crossings_limit(useful)
    shift, too_few = longest_run > run_limit, crossings < crossing_limit
    return RunChartSignal(
        median, useful, longest_run, run_limit, crossings, crossing_limit, shift, too_few, _text(shift, too_few)
    )


def _text(shift: bool, too_few_crossings: bool) -> str:
    if shift and too_few_crossings:
        return _("Non-random variation: long run and too few crossings")
    if shift:
        return _("Non-random variation: long run")
    if too_few_crossings:
        return _("Non-random variation: too few crossings")
    return _("Random variation only")
