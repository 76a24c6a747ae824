"""The manager exports the dashboard's unit and period from a real browser, as CSV and as XLSX, and
both files open as a Danish spreadsheet would read them."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import dateformat, translation
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.test_exports import months_before, stored
from tests.test_rollups import MONTH

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_manager_downloads_csv_and_xlsx_of_the_chosen_team_and_period(page, logged_in, live_server, manager, team):
    first = months_before(MONTH, 5)
    stored("DM-HBA1C-MEASURED", MONTH, 551, 1000, team=team)  # 55.1 %
    stored("DM-HBA1C-MEASURED", months_before(MONTH, 2), 40, 50, team=team)
    stored("DM-BP-MEASURED", MONTH, 2, 3, team=team)  # fewer than 5 citizens
    stored("DM-HBA1C-MEASURED", months_before(MONTH, 8), 10, 20, team=team)  # before the period
    stored("DM-HBA1C-MEASURED", MONTH, 600, 1000)
    stored("DM-BP-MEASURED", MONTH, 900, 1000)

    logged_in(manager)
    page.goto(live_server.url + reverse("reporting:overview"))
    page.select_option("#id_unit", f"team:{team.public_id}")
    page.fill("#id_first", f"{first:%Y-%m}")
    page.fill("#id_last", f"{MONTH:%Y-%m}")
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator("h1")).to_contain_text("Diabetes Nord")

    with page.expect_download() as download:
        page.locator("[data-testid=export-csv]").click()
    raw = open(download.value.path(), "rb").read()  # noqa: SIM115
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    measured = {row[3]: row for row in rows[1:] if row[0] == "DM-HBA1C-MEASURED"}
    assert list(measured) == [f"{months_before(MONTH, n):%Y-%m}" for n in reversed(range(6))]
    assert measured[f"{MONTH:%Y-%m}"][4:7] == ["551", "1000", "55,1"]
    assert measured[f"{months_before(MONTH, 2):%Y-%m}"][6] == "80"
    small = next(row for row in rows[1:] if row[0] == "DM-BP-MEASURED" and row[3] == f"{MONTH:%Y-%m}")
    assert small[4:7] == ["<5", "<5", "<5"]
    assert {row[2] for row in rows[1:]} == {"Diabetes Nord"}

    with page.expect_download() as download:
        page.locator("a[href*='export.xlsx']").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))  # noqa: SIM115
    sheet = book.worksheets[0]
    assert "Diabetes Nord" in sheet["A1"].value and sheet["A1"].font.bold
    assert "Diabetes Nord" in sheet["A2"].value
    with translation.override("da"):
        period = f"{dateformat.format(first, 'F Y')} – {dateformat.format(MONTH, 'F Y')}"
    assert sheet["A3"].value.endswith(period)
    header = next(r for r in range(1, 12) if sheet.cell(r, 1).value == "Kode")
    data = {(r[0].value, r[3].value.date()): r for r in sheet.iter_rows(min_row=header + 1)}
    cells = data[("DM-HBA1C-MEASURED", MONTH)]
    assert (cells[4].value, cells[5].value) == (551, 1000)
    assert cells[6].data_type == "n" and cells[6].value == pytest.approx(0.551)
    assert cells[6].number_format == "0.0%"
    assert cells[3].is_date
    assert [c.value for c in data[("DM-BP-MEASURED", MONTH)][4:7]] == ["<5", "<5", "<5"]
    assert len(book.sheetnames) == 2
