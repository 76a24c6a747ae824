"""Hostile reading of the display function (issue 10): the reader knows the rules.

tests/test_display.py holds each rule to its examples and checks that no lone hidden team figure
can be found by subtraction. The reader here is stronger: DESIGN.md and the README publish the
rules, so the reader knows that a bound means a numerator of 1-4, that a figure withheld to protect
another was not small itself, which team is the next smallest, and can try every breakdown that
would have been shown exactly as this one. A hidden figure is protected only if at least two such
breakdowns give it different values. Without the database: rows are built in memory."""

import datetime
import functools
import itertools
import math
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import translation
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from healthcenter.formatting import percent_text
from reporting import display
from reporting.models import Indicator, IndicatorKind, IndicatorValue, TargetDirection, UnitKind
from reporting.rollups import percent

MONTH = datetime.date(2026, 3, 1)
CENTRE = (1, MONTH, UnitKind.CENTRE, 0)
SHARE = Indicator(id=1, code="X-1", kind=IndicatorKind.SHARE, target=Decimal(90), direction=TargetDirection.AT_LEAST)


@pytest.fixture(autouse=True)
def _danish():
    with translation.override("da"):
        yield


def row(numerator: int, denominator: int, unit_kind=UnitKind.CENTRE, unit_id=0) -> IndicatorValue:
    return IndicatorValue(
        indicator_id=1,
        month=MONTH,
        unit_kind=unit_kind,
        unit_id=unit_id,
        numerator=numerator,
        denominator=denominator,
        value=percent(numerator, denominator) if denominator else None,
    )


def shown(teams: tuple[tuple[int, int], ...]) -> tuple[display.Figure, ...]:
    """Everything that leaves the system for one breakdown: each team's figure, then the centre's."""
    rows = [row(n, d, UnitKind.TEAM, i + 1) for i, (n, d) in enumerate(teams)]
    rows.append(row(sum(n for n, _ in teams), sum(d for _, d in teams)))
    figures = display.figures(rows, {1: SHARE})
    return (*(figures[(1, MONTH, UnitKind.TEAM, i + 1)] for i in range(len(teams))), figures[CENTRE])


# --- one cell --------------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.integers(1, 60).flatmap(lambda d: st.tuples(st.integers(0, d), st.just(d))))
@example((1, 6))  # "≤ 67 %" of 6: only 1 has a complement of 5 or more
@example((5, 6))
@example((4, 8))  # not shown, of 8: only 4 has numerator and complement both under 5
def test_a_hidden_numerator_has_at_least_two_values_the_reader_cannot_tell_apart(case):
    numerator, denominator = case
    figure = display.figure(row(numerator, denominator), SHARE)
    if not figure.hides_numerator:
        return
    alike = [n for n in range(denominator + 1) if display.figure(row(n, denominator), SHARE) == figure]
    assert len(alike) >= 2, (figure.text, denominator, alike)


@settings(max_examples=300)
@given(st.integers(1, 400).flatmap(lambda d: st.tuples(st.integers(0, d), st.just(d))))
def test_no_shown_figure_gives_away_a_count_of_one_to_four(case):
    """What is shown of one cell: never a numerator, complement or denominator of 1-4, and a bound
    that holds and is rounded outwards."""
    numerator, denominator = case
    figure = display.figure(row(numerator, denominator), SHARE)
    small = range(1, 5)
    if figure.numerator is not None:
        assert numerator not in small and denominator - numerator not in small
    if figure.denominator is not None:
        assert denominator not in small
    if figure.visibility == display.BOUND:
        share = Decimal(100 * numerator) / denominator
        shown_bound = Decimal(figure.text.split()[1].replace(",", "."))
        assert share <= shown_bound if figure.bound_is_upper else share >= shown_bound
    if figure.visibility == display.EXACT:
        assert figure.text == percent_text(Decimal(100 * numerator) / denominator)


@given(st.integers(0, 100_000), st.integers(1, 100_000))
def test_a_share_is_rounded_half_up_to_one_decimal(numerator, denominator):
    share = Decimal(numerator) / Decimal(denominator) * 100
    expected = share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    assert percent_text(share) == f"{expected:.1f} %".replace(".", ",")
    assert percent_text(math.floor(share), 0) == f"{math.floor(share)} %"


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("92.65"), "92,7 %"), (Decimal("92.75"), "92,8 %"), (Decimal("0.05"), "0,1 %"), (12.25, "12,3 %")],
)
def test_a_half_is_rounded_up(value, text):
    assert percent_text(value) == text


# --- a breakdown and its total ---------------------------------------------------------------------------
# The reader of a breakdown knows what each figure means on its own (a bound is a numerator of 1-4, "<5"
# a denominator of 1-4, no rate of under 9 a count that is neither none nor all), that a figure withheld
# to protect another was shown before (so was no bound and no "<5"), and that the teams add up to the
# centre, and tries every breakdown that fits: the attack statistical offices guard against. The reader
# is not told why a particular team was taken as the cover.


@functools.cache
def alone(numerator: int, denominator: int) -> display.Figure:
    """One cell's figure by the rules of one cell (the language is Danish throughout)."""
    return display.figure(row(numerator, denominator), SHARE)


def candidates(figure: display.Figure, most: int) -> list[tuple[int, int]]:
    """Every (numerator, denominator) of one team that fits its figure."""
    if figure.visibility == display.EMPTY:
        return [(0, 0)]
    if figure.visibility == display.WITHHELD and figure.denominator is None:
        return [(n, d) for d in range(5, most + 1) for n in range(d + 1)]  # a cover of any size but "<5"
    denominators = [figure.denominator] if figure.denominator is not None else range(1, most + 1)
    pairs = [(n, d) for d in denominators for n in range(d + 1)]
    if figure.visibility == display.WITHHELD:  # no rate of under 9, or a cover: no bound
        return [(n, d) for n, d in pairs if alone(n, d).visibility != display.BOUND]
    return [(n, d) for n, d in pairs if alone(n, d) == figure]


def alike(teams: tuple[tuple[int, int], ...]) -> list[tuple[tuple[int, int], ...]]:
    """Every breakdown the reader cannot tell from this one."""
    seen = shown(teams)
    total = seen[-1]
    most = total.denominator if total.denominator is not None else sum(d for _, d in teams) + 8
    found = []
    for world in itertools.product(*(candidates(figure, most) for figure in seen[:-1])):
        numerator, denominator = sum(n for n, _ in world), sum(d for _, d in world)
        if total.denominator is not None and denominator != total.denominator:
            continue
        # A centre withheld to protect a team may have been a bound: any count of its denominator.
        if total.visibility == display.WITHHELD or alone(numerator, denominator) == total:
            found.append(world)
    return found


def worlds_to_try(teams) -> int:
    seen = shown(teams)
    most = sum(d for _, d in teams) + 8
    return math.prod(len(candidates(figure, most)) for figure in seen[:-1])


def texts(teams) -> list[str]:
    return [f"{f.text} of {f.denominator_text or '?'}" for f in shown(teams)]


BREAKDOWNS = st.lists(
    st.integers(0, 30).flatmap(lambda d: st.tuples(st.integers(0, d), st.just(d))), min_size=2, max_size=4
).map(tuple)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(BREAKDOWNS)
@example(((1, 20), (1, 30), (50, 100)))  # two bounds that add up to 2 are 1 each
@example(((4, 20), (4, 30), (50, 100)))  # and to 8, 4 each
@example(((1, 20), (0, 30), (50, 100)))  # a cover of 0 % cannot give one
@example(((4, 20), (30, 30), (50, 100)))  # nor one of 100 % take one
@example(((1, 20), (5, 30), (50, 100)))  # nor one of 5: it cannot be 4, which would have been a bound
@example(((1, 9), (1, 9), (1, 9), (1, 9)))  # four bounds of 1 under a centre's bound: the centre is 4
@example(((1, 1), (1, 1), (50, 100)))  # two "<5" that add up to 2
@example(((1, 1), (0, 30), (30, 30)))  # no team can cover: the centre is withheld
def test_no_hidden_count_can_be_worked_out_from_the_shown_ones_and_the_centre(teams):
    assume(worlds_to_try(teams) <= 20_000)
    worlds = alike(teams)
    assert teams in worlds
    seen = shown(teams)
    for index, figure in enumerate(seen[:-1]):
        if figure.hides_numerator:
            values = {world[index][0] for world in worlds}
            assert len(values) >= 2, (f"team {index + 1}'s numerator is {values}", teams, texts(teams))
        if figure.hides_denominator:
            values = {world[index][1] for world in worlds}
            assert len(values) >= 2, (f"team {index + 1}'s denominator is {values}", teams, texts(teams))
    if seen[-1].hides_numerator:
        values = {sum(n for n, _ in world) for world in worlds}
        assert len(values) >= 2, (f"the centre's numerator is {values}", teams, texts(teams))


@settings(max_examples=200, deadline=None)
@given(BREAKDOWNS)
def test_what_the_centre_minus_the_shown_teams_leaves_is_never_one_hidden_team(teams):
    """The plain subtraction: where the centre's count is shown, the hidden teams are never one alone."""
    seen = shown(teams)
    for hides in ("hides_numerator", "hides_denominator"):
        if not getattr(seen[-1], hides):
            assert sum(getattr(figure, hides) for figure in seen[:-1]) != 1


def counts_alike(teams: list[int]) -> list[tuple[int, ...]]:
    """Every breakdown of counts (citizens, contacts) the reader cannot tell from this one."""
    seen = display.counts(dict(enumerate(teams)), sum(teams))
    total = sum(teams)
    options = []
    for count in seen.values():
        if count.value is not None:
            options.append([count.value])
        elif count.text == "<5":
            options.append(range(1, 5))
        else:  # hidden to protect another: it was shown, so it is no count of 1-4
            options.append([n for n in range(total + 1) if n == 0 or n >= 5])
    return [world for world in itertools.product(*options) if sum(world) == total]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=2, max_size=5))
@example([1, 1, 40])  # two counts under 5 that leave 2: 1 each
@example([1, 5, 40])  # 1 beside a hidden 5, which cannot be 4
@example([4, 0, 40])  # 4 beside a hidden 0, which cannot give one
def test_no_hidden_count_of_citizens_can_be_worked_out_from_the_total(teams):
    seen = display.counts(dict(enumerate(teams)), sum(teams))
    # Where every team is hidden, only the total (shown by the caller) could still protect them.
    assume(0 < sum(teams) < 5 or any(count.value is not None for count in seen.values()))
    assume(math.prod(4 if c.text == "<5" else 30 for c in seen.values() if c.value is None) <= 50_000)
    worlds = counts_alike(teams)
    assert tuple(teams) in worlds
    for index, count in enumerate(seen.values()):
        if count.value is None and not 0 < sum(teams) < 5:
            assert len({world[index] for world in worlds}) >= 2, (teams, [c.text for c in seen.values()])


# --- what the properties found, as examples ---------------------------------------------------------------


class TestFoundByTheProperties:
    def test_a_bound_of_six_is_not_shown(self):
        """ "≤ 67 %" of 6 could only be 1 of 6: 2-4 leave a complement under 5."""
        for numerator in (1, 5):
            figure = display.figure(row(numerator, 6), SHARE)
            assert (figure.visibility, figure.text, figure.denominator) == (display.WITHHELD, "vises ikke", 6)

    def test_no_rate_of_eight_is_any_count_but_none_and_all(self):
        assert {display.figure(row(n, 8), SHARE).visibility for n in range(1, 8)} == {display.WITHHELD}
        assert display.figure(row(0, 8), SHARE).text == "0,0 %"
        assert display.figure(row(8, 8), SHARE).text == "100,0 %"

    def test_a_bound_of_nine_is_shown(self):
        assert display.figure(row(1, 9), SHARE).text == "≤ 45 %"

    def test_a_share_is_rounded_once_from_the_counts(self):
        assert display.figure(row(8, 239), SHARE).text == "3,3 %"  # 3.347 %, stored as 3.35

    def test_two_bounds_of_one_each_take_a_cover_with_them(self):
        teams = shown(((1, 20), (1, 30), (50, 100), (40, 80)))
        assert [f.visibility for f in teams] == [
            display.BOUND,
            display.BOUND,
            display.EXACT,
            display.WITHHELD,  # 80 is the smallest team that can cover
            display.EXACT,
        ]

    def test_two_bounds_that_can_trade_protect_each_other(self):
        assert [f.visibility for f in shown(((1, 20), (2, 30), (50, 100)))][2] == display.EXACT

    def test_a_cover_is_neither_none_nor_all(self):
        teams = shown(((1, 20), (0, 30), (40, 40), (50, 100)))
        assert [f.visibility for f in teams] == [
            display.BOUND,
            display.EXACT,
            display.EXACT,
            display.WITHHELD,
            display.EXACT,
        ]

    def test_with_no_team_to_cover_the_centre_is_withheld(self):
        teams = shown(((2, 20), (0, 30), (30, 30)))
        assert teams[-1].visibility == display.WITHHELD
        assert teams[-1].denominator == 80

    def test_two_counts_under_five_that_leave_two_take_a_cover_with_them(self):
        shown = display.counts({1: 1, 2: 1, 3: 40, 4: 60}, 102)
        assert [(c.text, c.value) for c in shown.values()] == [
            ("<5", None),
            ("<5", None),
            ("vises ikke", None),
            ("60", 60),
        ]

    def test_a_count_of_five_is_no_cover_for_a_count_of_one(self):
        shown = display.counts({1: 1, 2: 5, 3: 40}, 46)
        assert [c.value for c in shown.values()] == [None, 5, None]
