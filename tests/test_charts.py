"""The chart functions are pure: no database."""

import datetime
from types import SimpleNamespace

from patients.charts import Band, patient_trend_figures, trend_figure


def at(day):
    return datetime.datetime(2026, 1, day, 10, tzinfo=datetime.UTC)


def test_it_draws_one_line_per_series_with_the_values():
    figure = trend_figure({"hba1c": [(at(1), 71.0), (at(20), 64.0)]}, title="HbA1c", unit="mmol/mol")
    (trace,) = figure["data"]
    assert trace["y"] == [71.0, 64.0]
    assert trace["x"][0].startswith("2026-01-01")


def test_it_draws_the_citizens_own_target_as_a_band():
    figure = trend_figure({"hba1c": [(at(1), 71.0)]}, title="HbA1c", unit="mmol/mol", band=Band(53, 70, "Own target"))
    (band,) = figure["layout"]["shapes"]
    assert (band["y0"], band["y1"]) == (53, 70)


def test_an_open_ended_band_reaches_the_data():
    figure = trend_figure({"hba1c": [(at(1), 80.0), (at(2), 60.0)]}, title="", unit="", band=Band(None, 58, ""))
    (band,) = figure["layout"]["shapes"]
    assert band["y1"] == 58
    assert band["y0"] < 58


def test_it_leaves_out_charts_without_values_and_puts_blood_pressure_together():
    series = {
        "hba1c": [],
        "weight": [(at(1), 80.0)],
        "systolic_bp": [(at(1), 140.0)],
        "diastolic_bp": [(at(1), 85.0)],
        "mmse": [],
    }
    charts = patient_trend_figures(series, goals=[])
    assert [c.code for c in charts] == ["weight", "bp"]
    assert len(charts[1].figure["data"]) == 2


def test_an_active_goal_with_a_range_bands_its_chart():
    goal = SimpleNamespace(
        measurement_type_id=1,
        has_target=True,
        measurement_type=SimpleNamespace(code="hba1c"),
        target_low=53,
        target_high=70,
    )
    (chart,) = patient_trend_figures({"hba1c": [(at(1), 66.0)]}, goals=[goal])
    assert chart.figure["layout"]["shapes"][0]["y0"] == 53


def test_the_figure_is_valid_for_plotly():
    import plotly.graph_objects as go

    figure = trend_figure(
        {"s": [(at(1), 140.0)], "d": [(at(1), 85.0)]}, title="BP", unit="mmHg", band=Band(None, 140, "Own target")
    )
    go.Figure(figure)  # plotly's own validation raises on any unknown or misspelt property


def test_the_value_axis_makes_room_for_wide_tick_labels():
    # Without automargin plotly.js keeps the fixed left margin, and "110,85" ran into the axis title "kg".
    figure = trend_figure({"weight": [(at(1), 110.8), (at(2), 110.9)]}, title="Vægt", unit="kg")
    assert figure["layout"]["yaxis"]["automargin"] is True
