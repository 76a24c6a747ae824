"""The quarterly report: a chosen quarter and unit, each indicator against its target with its
run-chart signal, charts sized for A4, the quarter's good stories, Danish names and numbers."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from patients.definitions import day_start
from patients.models import Consent
from reporting import display
from reporting.dashboard import IndicatorSeries
from reporting.models import Indicator, IndicatorValue, UnitKind
from reporting.quarterly import CHART_WIDTH_PX, Quarter, finished_quarters, paper_chart
from reporting.rollups import percent
from reporting.stories import story_approve, story_create, story_submit

from .conftest import client_for
from .factories import PatientFactory, TeamFactory
from .test_exports import months_before, stored

TODAY = timezone.localdate()
LAST_FINISHED = finished_quarters(today=TODAY)[0]
EARLIER = finished_quarters(today=TODAY)[3]
A4_CONTENT_PX = 180 / 25.4 * 96  # 180 mm between 15 mm margins, in CSS px


def report(manager, *, english=False, **query):
    client = client_for(manager)
    if english:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("reporting:quarterly"), query)
    assert response.status_code == 200
    return response


def line(response, code):
    return next(line for line in response.context["report"].lines if line.indicator.code == code)


def approved_story(*, patient, author, manager, title, decided_on: datetime.date):
    if not Consent.objects.filter(patient=patient, kind="story_reports", withdrawn_on__isnull=True).exists():
        Consent.objects.create(patient=patient, kind="story_reports", given_on=TODAY, given_by="x", recorded_by=author)
    story = story_create(
        actor=author, patient=patient, title=title, what_happened="Det gik bedre.", what_made_the_difference="Samtalen."
    )
    story = story_submit(
        actor=author, story=story, expected_version=1, title=title, published_text="Det gik bedre.", show_chart=False
    )
    story = story_approve(actor=manager, story=story, expected_version=story.version)
    type(story).objects.filter(pk=story.pk).update(decided_at=day_start(decided_on) + datetime.timedelta(hours=10))
    return story


class TestQuarters:
    def test_the_last_eight_finished_quarters_are_offered_the_latest_first(self):
        quarters = finished_quarters(today=datetime.date(2026, 11, 27))
        assert [q.key for q in quarters] == [
            "2026-Q3",
            "2026-Q2",
            "2026-Q1",
            "2025-Q4",
            "2025-Q3",
            "2025-Q2",
            "2025-Q1",
            "2024-Q4",
        ]
        assert finished_quarters(today=datetime.date(2026, 1, 1))[0].key == "2025-Q4"
        assert finished_quarters(today=datetime.date(2026, 3, 31))[0].key == "2025-Q4"

    def test_a_quarter_is_named_in_the_language_of_the_reader(self):
        quarter = Quarter(2026, 3)
        with translation.override("en"):
            assert quarter.name == "Q3 2026"
        with translation.override("da"):
            assert quarter.name == "3. kvartal 2026"
        assert (quarter.first_month, quarter.last_month, quarter.last_day) == (
            datetime.date(2026, 7, 1),
            datetime.date(2026, 9, 1),
            datetime.date(2026, 9, 30),
        )


class TestRunChartForPaper:
    def series(self, shown):
        indicator = Indicator(id=1, code="X", name_da="x", name_en="x", kind="share", target=95, direction="gte")
        months = [datetime.date(2026, m, 1) for m in range(1, len(shown) + 1)]
        return IndicatorSeries(indicator=indicator, months=months, figures=shown)

    def test_it_fits_half_the_width_of_a_portrait_page_and_leaves_hidden_months_as_gaps(self):
        shown = [
            display.Figure(text="50,0 %", visibility=display.EXACT, value=50.0),
            display.Figure(text="<5", visibility=display.SMALL),
            display.Figure(text="60,0 %", visibility=display.EXACT, value=60.0),
        ]
        series = self.series(shown)
        chart = paper_chart(series, series.signal)
        assert chart["layout"]["width"] == CHART_WIDTH_PX and 2 * CHART_WIDTH_PX < A4_CONTENT_PX / 1.05
        assert chart["layout"]["autosize"] is False
        assert chart["data"][0]["y"] == [50.0, None, 60.0]

    def test_nothing_is_drawn_where_no_month_may_be_shown(self):
        series = self.series([display.Figure(text="<5", visibility=display.SMALL)] * 3)
        assert paper_chart(series, series.signal) is None


@pytest.mark.django_db
class TestReport:
    def test_it_shows_the_last_finished_quarter_of_the_whole_centre_by_default(self, manager):
        response = report(manager)
        assert response.context["report"].quarter == LAST_FINISHED
        assert response.context["report"].unit.kind == UnitKind.CENTRE
        assert response.context["form"]["quarter"].value() == LAST_FINISHED.key
        assert f'<option value="{LAST_FINISHED.key}" selected>' in response.content.decode()

    def test_the_chosen_quarter_and_team_give_the_figures_of_its_last_month(self, manager, team, other_team):
        stored("DM-HBA1C-MEASURED", EARLIER.last_month, 551, 1000, team=team)  # 55.1 %
        stored("DM-HBA1C-MEASURED", EARLIER.first_month, 900, 1000, team=team)  # not the last month
        stored("DM-HBA1C-MEASURED", EARLIER.last_month, 800, 1000, team=other_team)
        stored("DM-HBA1C-MEASURED", LAST_FINISHED.last_month, 990, 1000, team=team)
        response = report(manager, quarter=EARLIER.key, unit=f"team:{team.public_id}")
        assert response.context["report"].quarter == EARLIER
        measured = line(response, "DM-HBA1C-MEASURED")
        assert measured.figure.text == "55,1 %"
        html = response.content.decode()
        assert "55,1 %" in html and "99,0 %" not in html and "80,0 %" not in html
        assert "Diabetes Nord" in html

    def test_each_indicator_is_judged_against_its_target(self, manager):
        month = LAST_FINISHED.last_month
        stored("DM-HBA1C-MEASURED", month, 960, 1000)  # >= 95 %: met (and exact: GE75 is not linked to a hidden count)
        stored("DM-BP-MEASURED", month, 50, 100)  # not met
        stored("DM-HBA1C-GE75", month, 1, 10)  # at most 40 % against < 20 %: cannot be judged
        response = report(manager, english=True)
        assert line(response, "DM-HBA1C-MEASURED").met == "met"
        assert line(response, "DM-BP-MEASURED").met == "not met"
        assert line(response, "DM-HBA1C-GE75").figure.text == "≤ 40 %"
        assert line(response, "DM-HBA1C-GE75").met == "cannot be judged"
        assert line(response, "DM-EYE-SCREENED").met == "cannot be judged"  # no figure at all
        html = response.content.decode()
        assert "cannot be judged" in html and "Q" + str(LAST_FINISHED.number) in html

    def test_a_shift_in_the_run_chart_is_signalled(self, manager):
        for months_back in range(24):
            share = 50 if months_back >= 12 else 80
            stored("DM-BP-MEASURED", months_before(LAST_FINISHED.last_month, months_back), share, 100)
        response = report(manager, english=True)
        bp = line(response, "DM-BP-MEASURED")
        assert bp.signal.shift
        assert bp.signal.text in response.content.decode()
        assert bp.median_text == "65.0 %"
        assert len(bp.chart["data"][0]["x"]) == 24

    def test_danish_numbers_and_dates(self, manager):
        stored("DM-HBA1C-MEASURED", LAST_FINISHED.last_month, 551, 1000)
        html = report(manager).content.decode()
        assert "55,1 %" in html
        first = f"{LAST_FINISHED.first_month:%d.%m.%Y}"
        last = f"{LAST_FINISHED.last_day:%d.%m.%Y}"
        assert f"{first}–{last}" in html

    def test_a_team_report_hides_what_could_be_found_by_subtraction(self, manager, team, other_team):
        month = LAST_FINISHED.last_month
        third = TeamFactory(name="Demens Øst")
        stored("DM-HBA1C-MEASURED", month, 2, 3, team=team)
        stored("DM-HBA1C-MEASURED", month, 10, 20, team=other_team)
        stored("DM-HBA1C-MEASURED", month, 30, 40, team=third)
        stored("DM-HBA1C-MEASURED", month, 42, 63)
        response = report(manager, unit=f"team:{other_team.public_id}")
        assert line(response, "DM-HBA1C-MEASURED").figure.visibility == display.WITHHELD
        assert "50,0 %" not in response.content.decode()

    def test_only_the_quarters_stories_with_consent_are_told(self, manager, member, team, other_team):
        inside = PatientFactory(team=team)
        approved_story(patient=inside, author=member, manager=manager, title="Inde", decided_on=LAST_FINISHED.last_day)
        approved_story(
            patient=inside,
            author=member,
            manager=manager,
            title="Før",
            decided_on=LAST_FINISHED.first_month - datetime.timedelta(days=1),
        )
        withdrawn = PatientFactory(team=team)
        approved_story(
            patient=withdrawn, author=member, manager=manager, title="Trukket", decided_on=LAST_FINISHED.first_month
        )
        Consent.objects.filter(patient=withdrawn).update(withdrawn_on=TODAY)
        elsewhere = PatientFactory(team=other_team)
        approved_story(
            patient=elsewhere, author=member, manager=manager, title="Syd", decided_on=LAST_FINISHED.first_month
        )

        centre = report(manager)
        assert [s.title for s in centre.context["report"].stories] == ["Inde", "Syd"]
        team_report = report(manager, unit=f"team:{team.public_id}")
        assert [s.title for s in team_report.context["report"].stories] == ["Inde"]

    def test_professionals_do_not_reach_the_report(self, as_member):
        assert as_member.get(reverse("reporting:quarterly")).status_code == 404


@pytest.mark.django_db
def test_the_report_does_not_grow_with_the_data(manager, member, team, other_team, django_assert_max_num_queries):
    client = client_for(manager)
    query = {"quarter": LAST_FINISHED.key, "unit": f"team:{team.public_id}"}
    stored("DM-HBA1C-MEASURED", LAST_FINISHED.last_month, 10, 20, team=team)
    with django_assert_max_num_queries(10) as small:
        assert client.get(reverse("reporting:quarterly"), query).status_code == 200
    teams = [team, other_team, *(TeamFactory() for _n in range(6))]
    IndicatorValue.objects.all().delete()
    IndicatorValue.objects.bulk_create(
        IndicatorValue(
            indicator=indicator,
            month=months_before(LAST_FINISHED.last_month, months_back),
            unit_kind=unit_kind,
            unit_id=unit_id,
            numerator=7,
            denominator=30,
            value=percent(7, 30),
            computed_at=timezone.now(),
        )
        for indicator in Indicator.objects.all()
        for months_back in range(30)
        for unit_kind, unit_id in [*((UnitKind.TEAM, t.id) for t in teams), (UnitKind.CENTRE, 0)]
    )
    for index in range(4):
        approved_story(
            patient=PatientFactory(team=team),
            author=member,
            manager=manager,
            title=f"Historie {index}",
            decided_on=LAST_FINISHED.first_month,
        )
    # One insert more logs the shown stories under their citizens, however many there are.
    with django_assert_max_num_queries(len(small) + 1):
        response = client.get(reverse("reporting:quarterly"), query)
    assert len(response.context["report"].stories) == 4
    assert len(response.context["report"].charts) == Indicator.objects.count()
    from healthcenter.models import AccessLog

    assert AccessLog.objects.filter(user=manager, what="good story (pseudonymised) in a report").count() == 4
