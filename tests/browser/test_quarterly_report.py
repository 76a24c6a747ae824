"""The quarterly report printed by Chromium to an A4 PDF: the expected pages, every chart inside
the page width and none split across two pages."""

import math
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from reporting.models import Indicator, IndicatorKind, IndicatorValue, UnitKind
from reporting.quarterly import finished_quarters
from reporting.rollups import percent
from tests.test_exports import months_before
from tests.test_quarterly import approved_story

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MM = 96 / 25.4  # CSS px per millimetre
A4_CONTENT_WIDTH = 180 * MM  # 210 mm less two margins of 15 mm
CHARTS_PER_PAGE = 6  # two side by side, three rows (static/css/report.css)


def two_years_of_figures(last_month) -> None:
    """Every indicator for the whole centre, 24 months up to the quarter's last month."""
    rows = []
    for index, indicator in enumerate(Indicator.objects.all()):
        for months_back in range(24):
            wobble = (index * 7 + months_back * 5) % 23
            numerator, denominator = 40 + wobble, 100
            value = percent(numerator, denominator)
            if indicator.kind == IndicatorKind.MEDIAN_DAYS:
                numerator = denominator = 12
                value = 8 + wobble % 9
            elif indicator.kind == IndicatorKind.COUNT:
                numerator = denominator = value = 1 + wobble % 4
            rows.append(
                IndicatorValue(
                    indicator=indicator,
                    month=months_before(last_month, months_back),
                    unit_kind=UnitKind.CENTRE,
                    unit_id=0,
                    numerator=numerator,
                    denominator=denominator,
                    value=value,
                    computed_at=timezone.now(),
                )
            )
    IndicatorValue.objects.bulk_create(rows)


def pages_of_links(pdf: bytes) -> tuple[int, dict[str, int]]:
    """The number of pages and, for each link drawn in the PDF, the page (0-based) it is on.
    Chromium (Skia) writes page and annotation dictionaries uncompressed."""
    objects = {int(number): body for number, body in re.findall(rb"(\d+) 0 obj\s*(.*?)\s*endobj", pdf, flags=re.DOTALL)}
    pages = [n for n, body in sorted(objects.items()) if re.search(rb"/Type\s*/Page\b", body)]
    # The page order is the /Kids order of the page tree, not the object numbers.
    tree = next(body for body in objects.values() if re.search(rb"/Type\s*/Pages\b", body))
    kids = [int(n) for n in re.findall(rb"(\d+) 0 R", re.search(rb"/Kids\s*\[(.*?)\]", tree, re.DOTALL).group(1))]
    assert sorted(kids) == sorted(pages), "one page tree"
    links = {}
    for index, page_number in enumerate(kids):
        annots = re.search(rb"/Annots\s*\[(.*?)\]", objects[page_number], re.DOTALL)
        for ref in re.findall(rb"(\d+) 0 R", annots.group(1)) if annots else []:
            uri = re.search(rb"/URI\s*\((.*?)\)", objects[int(ref)])
            if uri:
                links[uri.group(1).decode()] = index
    return len(kids), links


def test_the_quarterly_report_prints_on_a4_with_whole_charts(
    page, logged_in, live_server, manager, member, team, tmp_path
):
    quarter = finished_quarters(today=timezone.localdate())[0]
    two_years_of_figures(quarter.last_month)
    from tests.factories import PatientFactory

    for title in ("Fra ensom til holdtræning", "Blodsukkeret faldt"):
        approved_story(
            patient=PatientFactory(team=team), author=member, manager=manager, title=title, decided_on=quarter.last_day
        )

    logged_in(manager)
    page.set_viewport_size({"width": 794, "height": 1123})  # an A4 page at 96 CSS px per inch
    page.goto(live_server.url + reverse("reporting:quarterly") + f"?quarter={quarter.key}&unit=centre")
    page.wait_for_selector("body[data-charts-rendered='1']", timeout=20_000)
    page.emulate_media(media="print")

    charts = page.locator("[data-testid=report-chart]")
    count = charts.count()
    assert count == Indicator.objects.count()
    report_box = page.locator(".report").bounding_box()
    assert report_box["width"] == pytest.approx(A4_CONTENT_WIDTH, abs=1)
    for index in range(count):
        chart = charts.nth(index)
        block, plot = chart.bounding_box(), chart.locator("svg.main-svg").first.bounding_box()
        for box in (block, plot):
            assert box["x"] >= report_box["x"] - 0.5
            assert box["x"] + box["width"] <= report_box["x"] + A4_CONTENT_WIDTH + 0.5, f"chart {index} too wide"
        assert plot["x"] + plot["width"] <= block["x"] + block["width"] + 0.5, f"chart {index} overflows its block"
        assert block["height"] < 267 * MM / 3, f"chart {index}: three rows must fit a page"
        assert chart.evaluate("el => getComputedStyle(el).breakInside") == "avoid"

    # A link at the top and one at the bottom of each chart block: Chromium puts a link annotation
    # on the page where each is drawn, so a split block has its two links on different pages.
    page.evaluate(
        """() => document.querySelectorAll("[data-testid=report-chart]").forEach((chart, index) => {
            chart.style.position = "relative";
            for (const [edge, style] of [["top", "top:0"], ["bottom", "bottom:0"]]) {
                const link = document.createElement("a");
                link.href = `http://marker.invalid/${edge}-${index}`;
                link.style.cssText = `position:absolute;${style};left:0;width:3px;height:3px;display:block`;
                chart.appendChild(link);
            }
        })"""
    )
    pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
    (tmp_path / "quarterly.pdf").write_bytes(pdf)
    pages, links = pages_of_links(pdf)

    assert pages == 1 + math.ceil(count / CHARTS_PER_PAGE) + 1  # summary, charts, stories
    for index in range(count):
        top, bottom = links[f"http://marker.invalid/top-{index}"], links[f"http://marker.invalid/bottom-{index}"]
        assert top == bottom, f"chart {index} is split across pages {top + 1} and {bottom + 1}"
        assert top == 1 + index // CHARTS_PER_PAGE
