"""The manager's dashboard: every figure through the display function, run charts with Anhøj's
rules, honest funnel plots, the unit's own activity, and a filter that the whole page follows."""

import datetime
import json
import re
from decimal import Decimal

import plotly.graph_objects as go
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from healthcenter.models import Team
from patients.definitions import add_months
from patients.models import Consent, MeasurementType
from reporting import dashboard as board
from reporting import display
from reporting.models import (
    Indicator,
    IndicatorKind,
    IndicatorValue,
    MonthlyActivity,
    RollupRun,
    RunStatus,
    TargetDirection,
    UnitKind,
)
from reporting.rollups import month_end, percent, run_rollups
from reporting.routers import ReplicaRouter

from .conftest import client_for
from .factories import ConditionFactory, EncounterFactory, MeasurementFactory, PatientFactory, TeamFactory, UserFactory
from .test_caregaps import enrolled

THIS_MONTH = timezone.localdate().replace(day=1)
LAST = add_months(THIS_MONTH, -1)  # the dashboard's default last month: the last finished one
MONTH = LAST
AS_OF = month_end(MONTH)
DASHBOARD_BUDGET = 12  # session, user, teams, programmes, indicators, values, activity, last run, stories


def hba1c(patient, value, day):
    MeasurementFactory(
        patient=patient,
        type=MeasurementType.objects.get(code="hba1c"),
        value=Decimal(value),
        measured_at=datetime.datetime.combine(day, datetime.time(12), tzinfo=timezone.get_current_timezone()),
    )


def diabetic_citizens(team, count, *, measured=0):
    citizens = []
    for index in range(count):
        patient = PatientFactory(team=team)
        ConditionFactory(patient=patient, kind="dm2")
        enrolled(patient, started_days_ago=800)
        if index < measured:
            hba1c(patient, 55, AS_OF - datetime.timedelta(days=20))
        citizens.append(patient)
    return citizens


def unit_key(unit) -> tuple[str, int]:
    if unit is None:
        return UnitKind.CENTRE, 0
    return (UnitKind.TEAM if isinstance(unit, Team) else UnitKind.PROGRAMME), unit.id


def stored(code, numerator, denominator, *, unit=None, month=LAST, value=None) -> IndicatorValue:
    """A rollup row as the rollup job stores it (exact counts: internal)."""
    kind, unit_id = unit_key(unit)
    return IndicatorValue.objects.create(
        indicator=Indicator.objects.get(code=code),
        month=month,
        unit_kind=kind,
        unit_id=unit_id,
        numerator=numerator,
        denominator=denominator,
        value=percent(numerator, denominator) if value is None else value,
        computed_at=timezone.now(),
    )


def activity(contacts, citizens, *, unit=None, month=LAST) -> MonthlyActivity:
    kind, unit_id = unit_key(unit)
    return MonthlyActivity.objects.create(
        month=month, unit_kind=kind, unit_id=unit_id, contacts=contacts, citizens=citizens, computed_at=timezone.now()
    )


def computed():
    RollupRun.objects.create(first_month=LAST, last_month=LAST, status=RunStatus.SUCCEEDED, finished_at=timezone.now())


def page(user, **params):
    response = client_for(user).get(reverse("reporting:overview"), params)
    assert response.status_code == 200
    return response


def table_row(response, code) -> dict:
    return next(row for row in response.context["board"].table if row["code"] == code)


def team_param(team) -> dict:
    return {"unit": f"team:{team.public_id}"}


@pytest.mark.django_db
class TestTheTable:
    def test_a_numerator_of_one_to_four_shows_as_a_bound_with_the_denominator(self, manager, team, other_team):
        stored("DM-HBA1C-MEASURED", 2, 9, unit=team)
        stored("DM-HBA1C-MEASURED", 48, 51, unit=other_team)
        stored("DM-HBA1C-MEASURED", 50, 60)
        response = page(manager, **team_param(team))
        row = table_row(response, "DM-HBA1C-MEASURED")
        assert (row["numerator"], row["denominator"], row["value"]) == ("", "9", "≤ 45 %")  # 4/9 is 44.4 %
        assert row["met"] is False  # at most 45 % cannot meet ≥ 95 %
        body = response.content.decode()
        assert "22,2" not in body and "22.2" not in body  # 2/9, nowhere on the page, charts included

    def test_rates_and_counts_are_written_the_danish_way(self, manager):
        stored("DM-HBA1C-MEASURED", 551, 1000)
        row = table_row(page(manager), "DM-HBA1C-MEASURED")
        assert (row["numerator"], row["denominator"], row["value"]) == ("551", "1.000", "55,1 %")
        assert row["target"] == "≥ 95 %"

    def test_a_wait_median_over_fewer_than_five_referrals_is_not_shown(self, manager):
        stored("OPS-WAIT-DAYS", 2, 2, value=Decimal("9.00"))
        stored("OPS-WAIT-DAYS", 2, 2, value=Decimal("11.00"), month=add_months(LAST, -1))
        response = page(manager)
        row = table_row(response, "OPS-WAIT-DAYS")
        assert (row["numerator"], row["denominator"], row["value"]) == ("<5", "<5", "<5")
        chart = {c.element_id: c for c in response.context["board"].run_charts}["run-ops-wait-days"]
        assert chart.figure is None  # no month to draw: a sentence instead of an empty chart
        assert 'data-testid="no-points"' in response.content.decode()

    def test_a_hidden_team_cannot_be_found_as_the_centre_minus_the_others(self, manager, team, other_team):
        third = TeamFactory(name="Demens Øst")
        stored("DM-HBA1C-MEASURED", 1, 22, unit=team)
        stored("DM-HBA1C-MEASURED", 30, 40, unit=other_team)
        stored("DM-HBA1C-MEASURED", 50, 60, unit=third)
        stored("DM-HBA1C-MEASURED", 81, 122)
        response = page(manager, **team_param(other_team))
        row = table_row(response, "DM-HBA1C-MEASURED")
        assert row["figure"].visibility == display.WITHHELD
        assert row["numerator"] == "" and "75" not in row["value"]
        assert "75,0" not in response.content.decode()

    def test_a_changed_rollup_row_is_shown_at_once(self, manager, team, other_team):
        # Pages keep what they computed from the rows (reporting.dashboard.Kept): a row changed by the
        # next rollup run must change the page, the team's figure as well as the centre's.
        row = stored("DM-HBA1C-MEASURED", 60, 100, unit=team)
        stored("DM-HBA1C-MEASURED", 70, 100, unit=other_team)
        centre = stored("DM-HBA1C-MEASURED", 130, 200)
        assert table_row(page(manager, **team_param(team)), "DM-HBA1C-MEASURED")["value"] == "60,0 %"
        IndicatorValue.objects.filter(pk=row.pk).update(numerator=61, value=Decimal("61.00"))
        IndicatorValue.objects.filter(pk=centre.pk).update(numerator=131, value=Decimal("65.50"))
        assert table_row(page(manager, **team_param(team)), "DM-HBA1C-MEASURED")["value"] == "61,0 %"
        assert table_row(page(manager), "DM-HBA1C-MEASURED")["value"] == "65,5 %"

    def test_the_table_is_the_last_month_of_the_period(self, manager):
        stored("DM-HBA1C-MEASURED", 60, 100)
        stored("DM-HBA1C-MEASURED", 70, 100, month=add_months(LAST, -3))
        stored("DM-HBA1C-MEASURED", 90, 100, month=THIS_MONTH)  # a month under way is not shown by default
        assert table_row(page(manager), "DM-HBA1C-MEASURED")["value"] == "60,0 %"
        earlier = add_months(LAST, -3).strftime("%Y-%m")
        assert table_row(page(manager, last=earlier), "DM-HBA1C-MEASURED")["value"] == "70,0 %"


def indicator(code="X", kind=IndicatorKind.SHARE, target="95", direction=TargetDirection.AT_LEAST, name=None):
    return Indicator(
        id=1,
        code=code,
        name_da=name or code,
        name_en=name or code,
        kind=kind,
        target=Decimal(target),
        direction=direction,
    )


def series_of(counts: list[tuple[int, int] | None], shown_indicator=None) -> board.IndicatorSeries:
    """A centre series over consecutive months ending in LAST, through the display function."""
    shown_indicator = shown_indicator or indicator()
    months = [add_months(LAST, i - len(counts) + 1) for i in range(len(counts))]
    rows = [
        IndicatorValue(
            indicator_id=1,
            month=m,
            unit_kind=UnitKind.CENTRE,
            unit_id=0,
            numerator=n,
            denominator=d,
            value=percent(n, d),
        )
        for m, pair in zip(months, counts, strict=True)
        if pair is not None
        for n, d in [pair]
    ]
    shown = display.figures(rows, {1: shown_indicator})
    figures = [shown.get((1, m, UnitKind.CENTRE, 0)) or display.figure(None, shown_indicator) for m in months]
    return board.IndicatorSeries(indicator=shown_indicator, months=months, figures=figures)


@pytest.fixture
def danish():
    with translation.override("da"):
        yield


@pytest.mark.usefixtures("danish")
class TestRunCharts:
    def test_only_exact_months_are_points_and_a_bound_month_is_a_gap_with_its_text(self):
        chart = board.run_chart(series_of([(551, 1000), (2, 22), (600, 1000), None]))
        points = chart["data"][0]
        assert points["y"] == [55.1, None, 60.0, None]  # the line breaks at the bound and the empty month
        assert points["connectgaps"] is False
        assert points["x"] == [add_months(LAST, n).isoformat() for n in (-3, -2, -1, 0)]
        (hidden,) = [trace for trace in chart["data"] if trace.get("yaxis") == "y2"]
        assert hidden["x"] == [add_months(LAST, -2).isoformat()]
        assert hidden["customdata"][0].endswith("≤ 19 %")
        assert "9.09" not in json.dumps(chart)  # 2/22 is 9.09 %

    def test_hover_texts_numbers_and_months_are_danish(self):
        chart = board.run_chart(series_of([(551, 1000), (600, 1000)]))
        assert chart["data"][0]["customdata"][1] == f"{board.month_label(LAST)}: 60,0 %"
        assert chart["layout"]["separators"] == ",."
        assert chart["layout"]["yaxis"]["ticksuffix"] == " %"
        for label in chart["layout"]["xaxis"]["ticktext"]:
            assert label == label.lower() and "-" not in label
        assert board.month_label(datetime.date(2026, 3, 1)) == "mar 2026"
        with translation.override("en"):
            assert board.run_chart(series_of([(551, 1000)]))["layout"]["separators"] == ".,"
            assert board.month_label(datetime.date(2026, 3, 1)) == "Mar 2026"

    def test_the_median_is_drawn_red_and_dashed_with_the_finding_when_the_rules_find_a_signal(self):
        chart = board.run_chart_for(series_of([(40, 100)] * 6 + [(41, 100)] * 6 + [(70, 100)] * 6 + [(71, 100)] * 6))
        median = chart.figure["data"][1]
        assert median["y"] == [55.5, 55.5]
        assert median["line"]["color"] == board.DANGER and median["line"]["dash"] == "dash"
        assert chart.signal.shift and chart.signal.too_few_crossings
        assert chart.signal.text == "Ikke-tilfældig variation: langt løb og for få krydsninger"

    def test_random_variation_keeps_a_quiet_median_and_no_finding(self):
        chart = board.run_chart_for(series_of([(40, 100), (70, 100)] * 12))
        median = chart.figure["data"][1]
        assert median["line"]["color"] == board.MUTED and "dash" not in median["line"]
        assert not chart.signal.found

    def test_the_target_sits_in_the_right_margin_and_the_title_is_left_to_the_page(self):
        chart = board.run_chart(series_of([(551, 1000)]))
        (target,) = chart["layout"]["annotations"]
        assert (target["xref"], target["x"], target["xanchor"]) == ("paper", 1, "left")
        assert chart["layout"]["margin"]["r"] >= 45
        assert chart["layout"]["showlegend"] is False
        assert "title" not in chart["layout"]  # a plotly title does not wrap; the page's heading does
        assert chart["layout"]["yaxis"]["range"][0] <= 95 <= chart["layout"]["yaxis"]["range"][1]

    def test_labels_of_teams_close_together_go_different_ways_and_stay_inside(self):
        places = board.label_places(
            [(85, 47.0, "Diabetes Vest"), (88, 44.0, "Diabetes Syd"), (20, 24.0, "Demens og hukommelse")],
            (10, 110),
            (0, 100),
        )
        assert places[0] != places[1]
        assert places[2] in ("top center", "bottom center", "middle right")  # not off the left edge
        box = board._label_box(0.1 * board.PLOT_WIDTH, 0.24 * board.PLOT_HEIGHT, 20 * board.CHAR_WIDTH, places[2])
        assert box[0] >= 0

    def test_the_page_shows_the_run_chart_finding_under_its_title(self, manager):
        for months_back in range(24):
            stored("DM-HBA1C-MEASURED", 40 if months_back >= 12 else 70, 100, month=add_months(LAST, -months_back))
        response = page(manager)
        (chart,) = [c for c in response.context["board"].run_charts if c.element_id == "run-dm-hba1c-measured"]
        assert chart.signal.shift
        body = response.content.decode()
        assert f'<p class="small text-danger mb-0" data-testid="signal">{chart.signal.text}</p>' in body

    def test_plotly_accepts_every_figure(self):
        go.Figure(board.run_chart(series_of([(551, 1000), (2, 22), (600, 1000), None])))
        funnel = board.funnel_plot(indicator(), [("Nord", exact(30, 40)), ("Syd", exact(45, 60))], exact(75, 100))
        go.Figure(funnel.figure)
        go.Figure(board.activity_chart([board.Activity(LAST, display.Count("12", 12), display.Count("<5"))]))


def exact(numerator, denominator):
    return display.figure(
        IndicatorValue(numerator=numerator, denominator=denominator, value=percent(numerator, denominator)),
        indicator(),
    )


@pytest.mark.usefixtures("danish")
class TestFunnels:
    def test_only_exact_teams_are_drawn_and_the_others_are_listed_with_their_text(self):
        teams = [("Nord", exact(2, 22)), ("Syd", exact(30, 40)), ("Vest", exact(1, 3)), ("Øst", exact(50, 60))]
        funnel = board.funnel_plot(indicator(), teams, exact(83, 125))
        points = funnel.figure["data"][-1]
        assert points["text"] == ["Syd", "Øst"]
        assert points["x"] == [40, 60] and points["y"] == [75.0, 83.33]
        assert funnel.not_drawn == [("Nord", "≤ 19 %"), ("Vest", "<5")]

    def test_the_hover_is_the_figure_text(self):
        funnel = board.funnel_plot(indicator(), [("Syd", exact(30, 40))], exact(75, 100))
        hover = funnel.figure["data"][-1]["customdata"][0]
        assert hover.startswith("Syd: 75,0 % (30 ") and hover.endswith(" 40)")
        assert "n=" not in json.dumps(funnel.figure)

    def test_the_limits_are_drawn_from_a_hundred_points_whatever_the_team_sizes(self):
        teams = [("Nord", exact(30, 40)), ("Syd", exact(25_000, 40_000)), ("Vest", exact(45_000, 60_000))]
        funnel = board.funnel_plot(indicator(), teams, exact(70_030, 100_040))
        limits = [trace for trace in funnel.figure["data"] if trace.get("hoverinfo") == "skip"]
        assert len(limits) == 4 and all(len(trace["x"]) <= 100 for trace in limits)
        assert limits[0]["x"][0] <= 40 and limits[0]["x"][-1] >= 60_000
        # Coordinates to a hundredth: more digits than a pixel carry only weight.
        numbers = [y for trace in funnel.figure["data"] for y in trace["y"]] + funnel.figure["layout"]["yaxis"]["range"]
        assert all(round(y, 2) == y for y in numbers)

    def test_no_funnel_where_the_centre_share_is_not_exact(self):
        assert board.funnel_plot(indicator(), [("Syd", exact(30, 40))], exact(98, 100)) is None

    def test_a_suppressed_team_is_named_under_the_plot_on_the_page(self, manager, team, other_team):
        stored("DM-HBA1C-MEASURED", 2, 22, unit=team)
        stored("DM-HBA1C-MEASURED", 30, 40, unit=other_team)
        stored("DM-HBA1C-MEASURED", 50, 60, unit=TeamFactory(name="Demens Øst"))
        stored("DM-HBA1C-MEASURED", 82, 122)
        response = page(manager)
        (funnel,) = [f for f in response.context["board"].funnels if f.element_id == "funnel-dm-hba1c-measured"]
        assert funnel.figure["data"][-1]["text"] == ["Demens Øst"]
        assert ("Diabetes Nord", "≤ 19 %") in funnel.not_drawn
        assert "Diabetes Nord: ≤ 19 %" in response.content.decode()


@pytest.mark.django_db
class TestActivity:
    def test_the_units_own_contacts_and_citizens_over_the_period(self, manager, team):
        for months_back, contacts, citizens in [(2, 20, 8), (1, 3, 2), (0, 12, 6)]:
            activity(contacts, citizens, unit=team, month=add_months(LAST, -months_back))
        board_ = page(manager, **team_param(team)).context["board"]
        shown = [(a.contacts.text, a.citizens.text) for a in board_.activity[-3:]]
        assert shown == [("20", "8"), ("<5", "<5"), ("12", "6")]
        bars, line = board_.activity_chart["data"][:2]
        assert bars["y"][-3:] == [20, None, 12] and line["y"][-3:] == [8, None, 6]
        assert len(board_.activity) == 24
        assert (board_.activity[0].contacts.text, bars["y"][0]) == ("–", None)  # no rollup for the month: not 0

    def test_a_team_without_contacts_in_a_computed_month_had_none(self, manager, team, other_team):
        activity(12, 6, unit=other_team)
        activity(12, 6)
        last = page(manager, **team_param(team)).context["board"].activity[-1]
        assert (last.contacts.text, last.citizens.text) == ("0", "0")

    def test_a_programme_has_no_activity_of_its_own(self, manager):
        response = page(manager, unit="programme:diabetes-follow-up")
        assert not response.context["board"].activity_counted
        assert 'id="chart-activity-chart"' not in response.content.decode()

    def test_a_lone_small_team_takes_the_next_smallest_with_it(self, manager, team, other_team):
        third = TeamFactory(name="Demens Øst")
        activity(3, 2, unit=team)
        activity(12, 6, unit=other_team)
        activity(40, 20, unit=third)
        activity(55, 28)
        board_ = page(manager, **team_param(other_team)).context["board"]
        last = board_.activity[-1]
        assert last.contacts.value is None and "12" not in last.contacts.text
        assert last.citizens.value is None
        teams = {row.name: row for row in board_.teams}
        assert (teams["Diabetes Syd"].contacts, teams["Demens Øst"].contacts) == (last.contacts.text, "40")

    def test_no_professional_is_named_or_ranked(self, manager, team):
        nurse = UserFactory(first_name="Birthe", last_name="Kjærsgaard", teams=[team])
        EncounterFactory.create_batch(3, professional=nurse, patient=PatientFactory(team=team))
        body = page(manager).content.decode()
        assert "Kjærsgaard" not in body
        assert not hasattr(board, "encounters_per_professional")


@pytest.mark.django_db
class TestFilter:
    def test_by_default_the_24_months_up_to_the_last_finished_one(self, manager):
        response = page(manager)
        board_ = response.context["board"]
        assert (board_.first_month, board_.last_month) == (add_months(LAST, -23), LAST)
        form = response.context["form"]
        assert form["first"].value() == add_months(LAST, -23) and form["last"].value() == LAST

    def test_everything_follows_the_chosen_unit_and_period(self, manager, team, other_team):
        first, last = add_months(LAST, -5), add_months(LAST, -2)
        for month, n in [(first, 60), (last, 70), (LAST, 80)]:
            stored("DM-HBA1C-MEASURED", n, 100, unit=team, month=month)
            stored("DM-HBA1C-MEASURED", n, 100, unit=other_team, month=month)
            stored("DM-HBA1C-MEASURED", 2 * n, 200, month=month)
            activity(n, n // 2, unit=team, month=month)
        params = {**team_param(team), "first": first.strftime("%Y-%m"), "last": last.strftime("%Y-%m")}
        board_ = page(manager, **params).context["board"]
        assert board_.unit.id == team.id
        assert next(r for r in board_.table if r["code"] == "DM-HBA1C-MEASURED")["value"] == "70,0 %"
        chart = {c.element_id: c.figure for c in board_.run_charts}["run-dm-hba1c-measured"]
        assert chart["data"][0]["y"] == [60.0, None, None, 70.0]
        assert [a.month for a in board_.activity] == [first, add_months(first, 1), add_months(first, 2), last]
        (funnel,) = [f for f in board_.funnels if f.element_id == "funnel-dm-hba1c-measured"]
        assert funnel.figure["data"][-1]["y"] == [70.0, 70.0]

    def test_a_period_the_wrong_way_round_is_refused_and_the_default_shown(self, manager):
        response = page(manager, first=LAST.strftime("%Y-%m"), last=add_months(LAST, -3).strftime("%Y-%m"))
        assert response.context["form"].errors
        assert response.context["board"].last_month == LAST
        assert 'data-testid="filter-errors"' in response.content.decode()

    def test_a_programme_shows_its_own_figures(self, manager):
        from patients.models import Programme

        programme = Programme.objects.get(code="diabetes-follow-up")
        stored("DM-HBA1C-MEASURED", 40, 50, unit=programme)
        response = page(manager, unit=f"programme:{programme.code}")
        assert table_row(response, "DM-HBA1C-MEASURED")["value"] == "80,0 %"


@pytest.mark.django_db
class TestDashboard:
    def test_the_manager_sees_the_computed_figures(self, manager, team):
        diabetic_citizens(team, 10, measured=5)
        run_rollups(MONTH, MONTH)
        response = page(manager)
        assert table_row(response, "DM-HBA1C-MEASURED")["value"] == "50,0 %"
        assert response.context["last_run"] is not None
        assert "run-dm-hba1c-measured" in {c.element_id: c.figure for c in response.context["board"].run_charts}

    def test_professionals_do_not_reach_the_dashboard(self, as_member):
        assert as_member.get(reverse("reporting:overview")).status_code == 404

    @pytest.mark.parametrize("unit", ["centre", "team"])
    def test_the_dashboard_reads_a_fixed_number_of_queries(self, manager, team, unit, django_assert_max_num_queries):
        client = client_for(manager)
        params = team_param(team) if unit == "team" else {}
        computed()
        stored("DM-HBA1C-MEASURED", 30, 40, unit=team)
        stored("DM-HBA1C-MEASURED", 30, 40)
        activity(12, 6, unit=team)
        with django_assert_max_num_queries(DASHBOARD_BUDGET) as small:
            client.get(reverse("reporting:overview"), params)
        indicators = list(Indicator.objects.all())
        teams = [team, *TeamFactory.create_batch(5)]
        for months_back in range(24):
            month = add_months(LAST, -months_back)
            for unit_ in [None, *teams]:
                if months_back or unit_ not in (None, team):
                    activity(40, 20, unit=unit_, month=month)
                IndicatorValue.objects.bulk_create(
                    IndicatorValue(
                        indicator=i,
                        month=month,
                        unit_kind=unit_key(unit_)[0],
                        unit_id=unit_key(unit_)[1],
                        numerator=3,
                        denominator=40,
                        value=percent(3, 40),
                        computed_at=timezone.now(),
                    )
                    for i in indicators
                    if not (unit_ is team and months_back == 0 and i.code == "DM-HBA1C-MEASURED")
                    and not (unit_ is None and months_back == 0 and i.code == "DM-HBA1C-MEASURED")
                )
        with django_assert_max_num_queries(len(small)):
            client.get(reverse("reporting:overview"), params)


def tables_in(queries: list[dict]) -> set[str]:
    """The tables the SQL read or wrote (FROM, JOIN, INTO, UPDATE)."""
    return {table for query in queries for table in re.findall(r'(?:FROM|JOIN|INTO|UPDATE)\s+"(\w+)"', query["sql"])}


# What the dashboard may read outside the rollup tables: the programmes (a dimension table, for the
# unit filter), and for the good stories the story's consent and the citizen's public id (the
# access log records under each citizen that a manager's page showed their story).
CLINICAL_TABLES_ALLOWED = {"patients_programme", "patients_consent", "patients_patient"}


@pytest.mark.django_db
@pytest.mark.parametrize("unit", ["centre", "team"])
def test_the_dashboard_reads_rollups_and_no_clinical_table(manager, member, team, unit):
    from .factories import ConsentFactory, StoryFactory, TaskFactory

    citizen = diabetic_citizens(team, 1, measured=1)[0]
    EncounterFactory(patient=citizen, professional=member)
    TaskFactory(team=team, patient=citizen)
    ConsentFactory(patient=citizen)
    StoryFactory(patient=citizen, status="approved", decided_at=timezone.now())
    stored("DM-HBA1C-MEASURED", 30, 40, unit=team)
    stored("DM-HBA1C-MEASURED", 30, 40)
    activity(12, 6, unit=team)
    computed()
    client = client_for(manager)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("reporting:overview"), team_param(team) if unit == "team" else {})
    assert response.status_code == 200 and response.context["stories"]
    tables = tables_in(captured.captured_queries)
    assert {"reporting_indicatorvalue", "reporting_monthlyactivity"} <= tables
    clinical = {t for t in tables if t.startswith(("patients_", "coordination_"))}
    assert clinical <= CLINICAL_TABLES_ALLOWED, clinical - CLINICAL_TABLES_ALLOWED
    # The citizen and the consent are read by the stories' one query and nowhere else.
    reading_citizens = [q["sql"] for q in captured.captured_queries if '"patients_patient"' in q["sql"]]
    assert len(reading_citizens) == 1 and '"reporting_story"' in reading_citizens[0]


def test_reporting_reads_go_to_the_replica_only_when_there_is_one(monkeypatch):
    from django.conf import settings

    router = ReplicaRouter()
    assert router.db_for_read(Indicator) is None
    monkeypatch.setitem(settings.DATABASES, "replica", settings.DATABASES["default"])
    assert router.db_for_read(Indicator) == "replica"
    assert router.db_for_read(Consent) is None
    assert router.db_for_write(Indicator) == "default"


@pytest.mark.django_db
def test_an_interrupted_run_is_marked_failed_by_the_next(team):
    from reporting.models import RollupRun

    dead = RollupRun.objects.create(first_month=MONTH, last_month=MONTH)
    RollupRun.objects.filter(pk=dead.pk).update(started_at=timezone.now() - datetime.timedelta(hours=3))
    run_rollups(MONTH, MONTH)
    dead.refresh_from_db()
    assert dead.status == "failed"


@pytest.mark.django_db
def test_months_are_shown_and_read_in_the_danish_format_whatever_the_browser(manager):
    client = client_for(manager)
    body = client.get(reverse("reporting:overview"), HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert f'value="{LAST:%m.%Y}"' in body and 'type="month"' not in body
    response = client.get(reverse("reporting:overview"), {"first": "03.2026", "last": f"{LAST:%m.%Y}"})
    assert response.context["form"].cleaned_data["first"] == datetime.date(2026, 3, 1)
    wrong = client.get(reverse("reporting:overview"), {"first": "marts 2026"})
    assert "mm.åååå" in wrong.content.decode()
