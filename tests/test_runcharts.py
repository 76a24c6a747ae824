"""Anhøj's run chart rules, without a database: the limits against the published table, and each
rule on a series made to show it (H: a point above the median, L: below)."""

import pytest
from django.utils import translation

from reporting import display, runcharts


@pytest.fixture(autouse=True)
def _in_english():
    # The findings are translated; these tests read them in English (tests/test_dashboard.py in Danish).
    with translation.override("en"):
        yield


def series(pattern: str) -> list[float]:
    """A series from a pattern of H, L and M (on the median): each H above, each L below, each M
    exactly on the median (50), with as many H as L so that the median lies between them."""
    assert pattern.count("H") == pattern.count("L")
    return [{"H": 60 + step / 100, "L": 40 - step / 100, "M": 50.0}[side] for step, side in enumerate(pattern, start=1)]


@pytest.mark.parametrize(
    ("useful", "longest_run", "crossings"),
    # Anhøj's table (Anhøj & Olesen, PLoS One 2014): the limits for 10 to 30 useful points.
    [(10, 6, 2), (12, 7, 3), (16, 7, 4), (20, 7, 6), (24, 8, 8), (30, 8, 10)],
)
def test_the_limits_match_anhojs_table(useful, longest_run, crossings):
    assert runcharts.longest_run_limit(useful) == longest_run
    assert runcharts.crossings_limit(useful) == crossings


def test_a_long_run_on_one_side_of_the_median_is_a_shift():
    result = runcharts.signal(series("H" * 9 + "LLH" * 6 + "LLL"))
    assert 40 < result.median < 60  # between the highest L and the lowest H
    assert (result.useful, result.longest_run, result.longest_run_limit) == (30, 9, 8)
    assert (result.crossings, result.crossings_limit) == (13, 10)
    assert result.shift and not result.too_few_crossings
    assert result.text == "Non-random variation: long run"


def test_too_few_crossings_without_a_long_run():
    result = runcharts.signal(series("HHHHLLLLHHHHLLLLHHHHLLLL"))
    assert (result.longest_run, result.crossings, result.crossings_limit) == (4, 5, 8)
    assert result.too_few_crossings and not result.shift
    assert result.text == "Non-random variation: too few crossings"


def test_both_signals_at_once():
    result = runcharts.signal(series("L" * 12 + "H" * 12))
    assert result.shift and result.too_few_crossings
    assert result.crossings == 1


def test_a_zigzag_is_random_variation():
    result = runcharts.signal(series("HL" * 12))
    assert not result.found
    assert (result.longest_run, result.crossings) == (1, 23)
    assert result.text == "Random variation only"


def test_points_on_the_median_are_ignored_and_do_not_break_a_run():
    result = runcharts.signal(series("HHHHHMMMHHHH" + "LLH" * 9))
    assert (result.useful, result.longest_run_limit) == (36, 8)
    assert result.longest_run == 9  # the run of nine H goes on over the three points on the median
    assert result.shift


def test_fewer_than_ten_useful_points_claim_no_signal():
    result = runcharts.signal([*series("LLLLHHHH"), 50.0, 50.0, 50.0])
    assert result.useful == 8
    assert not result.found
    assert result.longest_run_limit is None and result.crossings_limit is None
    assert result.text.startswith("Too few points")


def test_months_without_a_shown_value_are_left_out():
    exact = [display.Figure(text="", visibility=display.EXACT, value=v) for v in series("HL" * 6)]
    bound = display.Figure(text="≤ 19 %", visibility=display.BOUND)
    result = runcharts.signal([bound, *exact[:6], None, bound, *exact[6:]])
    assert result.useful == 12
    assert result.crossings == 11


def test_no_points_no_median():
    result = runcharts.signal([None, display.Figure(text="<5", visibility=display.SMALL)])
    assert result.median is None and not result.found
