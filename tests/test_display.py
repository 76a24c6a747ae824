"""The display function: every discretion rule of DESIGN.md, by example and by property."""

import datetime
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from reporting import display
from reporting.models import Indicator, IndicatorKind, IndicatorValue, TargetDirection, UnitKind
from reporting.rollups import percent

MONTH = datetime.date(2026, 3, 1)


def indicator(kind=IndicatorKind.SHARE, target="95", direction=TargetDirection.AT_LEAST, pk=1) -> Indicator:
    return Indicator(id=pk, code=f"X-{pk}", kind=kind, target=Decimal(target), direction=direction)


def row(numerator, denominator, *, unit_kind=UnitKind.CENTRE, unit_id=0, value=None, indicator_id=1):
    if value is None:
        value = percent(numerator, denominator)
    return IndicatorValue(
        indicator_id=indicator_id,
        month=MONTH,
        unit_kind=unit_kind,
        unit_id=unit_id,
        numerator=numerator,
        denominator=denominator,
        value=value,
    )


@pytest.fixture(autouse=True)
def _danish():
    with translation.override("da"):
        yield


class TestOneCell:
    def test_a_denominator_under_five_shows_only_less_than_five(self):
        shown = display.figure(row(2, 4), indicator())
        assert (shown.text, shown.value, shown.numerator, shown.denominator) == ("<5", None, None, None)
        assert shown.denominator_text == "<5"

    def test_five_citizens_are_shown(self):
        shown = display.figure(row(0, 5), indicator())
        assert shown.visibility == display.EXACT
        assert shown.text == "0,0 %"

    def test_a_numerator_of_one_to_four_becomes_an_upper_bound_rounded_outwards(self):
        shown = display.figure(row(2, 22), indicator())
        assert shown.text == "≤ 19 %"  # 4/22 is 18.2 %
        assert (shown.value, shown.numerator, shown.denominator) == (None, None, 22)

    def test_a_complement_of_one_to_four_becomes_a_lower_bound_rounded_outwards(self):
        shown = display.figure(row(98, 100), indicator())
        assert shown.text == "≥ 96 %"
        assert (shown.value, shown.numerator, shown.denominator) == (None, None, 100)
        shown = display.figure(row(20, 22), indicator())
        assert shown.text == "≥ 81 %"  # 18/22 is 81.8 %

    def test_a_bound_still_judges_the_target_where_it_can(self):
        at_least_95 = indicator()
        assert display.figure(row(2, 22), at_least_95).met is False
        assert display.figure(row(98, 100), at_least_95).met is True
        below_20 = indicator(target="20", direction=TargetDirection.BELOW)
        assert display.figure(row(2, 22), below_20).met is True
        assert display.figure(row(1, 10), below_20).met is None  # at most 40 %: cannot tell

    def test_numerator_and_complement_both_small_show_no_rate(self):
        shown = display.figure(row(3, 7), indicator())
        assert shown.visibility == display.WITHHELD
        assert "%" not in shown.text
        assert shown.value is None

    def test_a_median_over_fewer_than_five_referrals_is_not_shown(self):
        wait = indicator(kind=IndicatorKind.MEDIAN_DAYS, target="14", direction=TargetDirection.AT_MOST)
        assert display.figure(row(3, 3, value=Decimal("9.00")), wait).text == "<5"
        shown = display.figure(row(5, 5, value=Decimal("12.50")), wait)
        assert shown.text == "12,5 dage"
        assert shown.met is True

    def test_story_counts_are_shown_as_they_are(self):
        stories = indicator(kind=IndicatorKind.COUNT, target="1")
        assert display.figure(row(2, 2, value=Decimal(2)), stories).text == "2"
        assert display.figure(row(2, 2, value=Decimal(2)), stories).met is True
        none_yet = display.figure(row(0, 0, value=Decimal(0)), stories)
        assert (none_yet.text, none_yet.met) == ("0", False)

    def test_nobody_counted_is_a_dash(self):
        assert display.figure(row(0, 0, value=None), indicator()).text == "–"
        assert display.figure(None, indicator()).text == "–"

    def test_a_share_is_rounded_not_cut_off(self):
        assert display.figure(row(76, 82), indicator()).text == "92,7 %"  # 92.68 %
        assert display.figure(row(1, 9), indicator()).visibility == display.BOUND  # under 9: no rate (issue 10)
        assert display.percent_text(Decimal("87.96")) == "88,0 %"
        assert display.percent_text(Decimal("84.75")) == "84,8 %"

    def test_danish_and_english_separators(self):
        assert display.figure(row(551, 1000), indicator()).text == "55,1 %"
        with translation.override("en"):
            assert display.figure(row(551, 1000), indicator()).text == "55.1 %"


def breakdown(teams: list[tuple[int, int]]) -> dict:
    rows = [row(n, d, unit_kind=UnitKind.TEAM, unit_id=i + 1) for i, (n, d) in enumerate(teams)]
    n, d = sum(t[0] for t in teams), sum(t[1] for t in teams)
    rows.append(row(n, d))
    return display.figures(rows, {1: indicator()})


def team(shown: dict, unit_id: int) -> display.Figure:
    return shown[(1, MONTH, UnitKind.TEAM, unit_id)]


class TestSecondarySuppression:
    def test_a_lone_small_team_takes_the_next_smallest_with_it(self):
        shown = breakdown([(2, 3), (30, 40), (50, 60), (70, 100)])
        assert team(shown, 1).text == "<5"
        assert team(shown, 2).visibility == display.WITHHELD  # 40 is the next smallest
        assert team(shown, 2).denominator is None
        assert team(shown, 3).visibility == display.EXACT
        assert team(shown, 4).visibility == display.EXACT

    def test_a_lone_bound_hides_the_next_smallest_numerator(self):
        shown = breakdown([(1, 22), (30, 40), (50, 60)])
        assert team(shown, 1).text == "≤ 19 %"
        assert team(shown, 2).visibility == display.WITHHELD
        assert team(shown, 2).denominator == 40  # the denominators were all shown already
        assert team(shown, 3).visibility == display.EXACT

    def test_two_hidden_teams_protect_each_other(self):
        shown = breakdown([(2, 3), (1, 4), (50, 60)])
        assert team(shown, 3).visibility == display.EXACT

    def test_nothing_is_hidden_when_no_team_is(self):
        shown = breakdown([(20, 30), (30, 40)])
        assert {team(shown, 1).visibility, team(shown, 2).visibility} == {display.EXACT}


@settings(max_examples=300, deadline=None)
@given(numerator=st.integers(0, 400), extra=st.integers(0, 400))
def test_no_count_of_one_to_four_can_be_read_off_a_cell(numerator, extra):
    denominator = numerator + extra
    shown = display.figure(row(numerator, denominator), indicator())
    if 0 < denominator < 5:
        assert shown.denominator is None and shown.text == "<5"
    if 0 < numerator < 5 or 0 < denominator - numerator < 5:
        assert shown.value is None and shown.numerator is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=2, max_size=6))
def test_no_hidden_team_figure_can_be_found_by_subtraction(pairs):
    teams = [(n, n + extra) for n, extra in pairs if n + extra > 0]
    if len(teams) < 2:
        return
    shown = breakdown(teams)
    total = shown[(1, MONTH, UnitKind.CENTRE, 0)]
    figures = [team(shown, i + 1) for i in range(len(teams))]
    if not total.hides_numerator:
        assert sum(f.hides_numerator for f in figures) != 1
    if not total.hides_denominator:
        assert sum(f.hides_denominator for f in figures) != 1


class TestCounts:
    def test_counts_of_one_to_four_show_as_under_five(self):
        shown = display.counts({1: 0, 2: 3, 3: 5}, None)
        assert [(c.text, c.value) for c in shown.values()] == [("0", 0), ("<5", None), ("5", 5)]

    def test_a_lone_small_team_takes_the_next_smallest_with_it_when_the_total_is_shown(self):
        shown = display.counts({1: 3, 2: 0, 3: 40, 4: 12}, 55)
        assert shown[1].text == "<5"
        assert shown[4].value is None and "12" not in shown[4].text  # 12 is the smallest cover; 0 is none
        assert (shown[2].value, shown[3].value) == (0, 40)

    def test_without_a_total_only_the_small_team_is_hidden(self):
        shown = display.counts({1: 3, 2: 12}, None)
        assert shown[2].value == 12


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=2, max_size=6))
def test_no_hidden_count_can_be_found_by_subtraction(teams):
    shown = display.counts(dict(enumerate(teams)), sum(teams))
    hidden = [key for key, count in shown.items() if count.value is None]
    assert len(hidden) != 1 or 0 < sum(teams) < 5


def test_a_team_without_a_story_in_a_computed_month_has_none_not_no_figure():
    stories = indicator(kind=IndicatorKind.COUNT, target="1")
    shown = display.figures([row(2, 2, value=Decimal(2))], {1: stories})
    assert display.cell(shown, stories, MONTH, UnitKind.TEAM, 7).text == "0"
    assert display.cell(shown, stories, MONTH.replace(year=2020), UnitKind.TEAM, 7).text == "–"  # not computed


class TestLinkedIndicators:
    """DM-HBA1C-LT59's denominator is DM-HBA1C-MEASURED's numerator: one must not give the other away."""

    def test_a_hidden_numerator_hides_the_denominator_it_is_of_another(self):
        measured = indicator(pk=1)
        measured.code = "DM-HBA1C-MEASURED"
        below = indicator(pk=2, target="40", direction=TargetDirection.ABOVE)
        below.code = "DM-HBA1C-LT59"
        rows = [row(16, 18, indicator_id=1), row(6, 16, indicator_id=2)]  # 2 without an HbA1c
        shown = display.figures(rows, {1: measured, 2: below})
        assert shown[(1, MONTH, UnitKind.CENTRE, 0)].text == "≥ 77 %"
        linked = shown[(2, MONTH, UnitKind.CENTRE, 0)]
        assert linked.visibility == display.WITHHELD
        assert (linked.denominator, linked.numerator, linked.value) == (None, None, None)
        assert "16" not in linked.text and "37" not in linked.text

    def test_an_exact_numerator_leaves_the_linked_figure_alone(self):
        measured = indicator(pk=1)
        measured.code = "DM-HBA1C-MEASURED"
        below = indicator(pk=2, target="40", direction=TargetDirection.ABOVE)
        below.code = "DM-HBA1C-LT59"
        shown = display.figures([row(16, 30, indicator_id=1), row(6, 16, indicator_id=2)], {1: measured, 2: below})
        assert shown[(2, MONTH, UnitKind.CENTRE, 0)].text == "37,5 %"

    def test_a_team_withheld_to_protect_another_withholds_its_linked_figure_too(self):
        measured = indicator(pk=1)
        measured.code = "DM-HBA1C-MEASURED"
        below = indicator(pk=2, target="40", direction=TargetDirection.ABOVE)
        below.code = "DM-HBA1C-LT59"
        teams = [(20, 22), (30, 40), (50, 60)]  # team 1 is a bound; team 2 is withheld to protect it
        rows = [row(n, d, unit_kind=UnitKind.TEAM, unit_id=i + 1, indicator_id=1) for i, (n, d) in enumerate(teams)]
        rows.append(row(100, 122, indicator_id=1))
        rows += [
            row(n // 2, n, unit_kind=UnitKind.TEAM, unit_id=i + 1, indicator_id=2) for i, (n, _d) in enumerate(teams)
        ]
        rows.append(row(50, 100, indicator_id=2))
        shown = display.figures(rows, {1: measured, 2: below})
        for team_id in (1, 2):
            assert shown[(2, MONTH, UnitKind.TEAM, team_id)].denominator is None
        assert shown[(2, MONTH, UnitKind.TEAM, 3)].visibility == display.EXACT
