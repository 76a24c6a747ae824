"""The figures' API (reporting/api.py): the catalogue, indicator values through the display function
(a suppressed cell is suppressed in JSON too, secondary suppression as in the export), approved
stories as managers read them, the roles, bad input and query budgets."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from healthcenter.api import api_token_issue
from healthcenter.models import AccessLog, AccessOutcome
from patients.definitions import add_months
from reporting import display, exports
from reporting.models import Indicator, IndicatorValue, UnitKind
from reporting.selectors import Unit

from .factories import ConsentFactory, PatientFactory, StoryFactory, TeamFactory

VALUES = "/api/v1/indicator-values/"
CODE = "DM-HBA1C-MEASURED"


def api(user, administrator, scope: str = "read") -> Client:
    _token, secret = api_token_issue(actor=administrator, user=user, name="test", scope=scope)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="da")


def last_month() -> datetime.date:
    return add_months(timezone.localdate().replace(day=1), -1)


def row(indicator: Indicator, numerator: int, denominator: int, *, unit_kind=UnitKind.CENTRE, unit_id=0, month=None):
    value = Decimal(100 * numerator / denominator).quantize(Decimal("0.01")) if denominator else None
    return IndicatorValue.objects.create(
        indicator=indicator,
        month=month or last_month(),
        unit_kind=unit_kind,
        unit_id=unit_id,
        numerator=numerator,
        denominator=denominator,
        value=value,
        computed_at=timezone.now(),
    )


def cells(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def one_month(**extra) -> dict:
    month = f"{last_month():%Y-%m}"
    return {"indicator": CODE, "from": month, "to": month, **extra}


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    return body


@pytest.fixture
def indicator(db):
    return Indicator.objects.get(code=CODE)


# --- the roles ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/indicators/", VALUES, "/api/v1/stories/"])
def test_managers_and_coordinators_read_the_figures_and_professionals_get_404(
    url, manager, coordinator, member, administrator
):
    for user in (manager, coordinator):
        assert api(user, administrator).get(url).status_code == 200
    assert_error_shape(api(member, administrator).get(url), 404)
    assert AccessLog.objects.filter(user=member, outcome=AccessOutcome.DENIED).exists()
    assert_error_shape(Client().get(url), 401)


def test_the_catalogue_describes_each_indicator(manager, administrator):
    response = api(manager, administrator).get(f"/api/v1/indicators/{CODE}/")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == CODE and body["kind"] == "share"
    assert body["definition"] == str(exports.DEFINITIONS[CODE])
    listed = api(manager, administrator).get("/api/v1/indicators/", {"page_size": 200}).json()["results"]
    assert len(listed) == Indicator.objects.count()


# --- discretion ------------------------------------------------------------------------------------------


def test_two_of_twenty_two_is_a_bound_without_the_numerator(indicator, manager, administrator):
    stored = row(indicator, 2, 22)
    [cell] = cells(api(manager, administrator).get(VALUES, one_month()))
    expected = display.figure(stored, indicator)
    assert cell["text"] == expected.text and cell["text"].startswith("≤") and "19" in cell["text"]
    assert cell["visibility"] == "bound"
    assert cell["numerator"] is None and cell["value"] is None
    assert cell["denominator"] == 22
    assert cell["month"] == f"{last_month():%Y-%m}" and cell["unit"]["kind"] == "centre"


def test_under_five_counted_shows_only_less_than_five(indicator, coordinator, administrator):
    row(indicator, 3, 3)
    [cell] = cells(api(coordinator, administrator).get(VALUES, one_month()))
    assert cell["text"] == "<5" and cell["visibility"] == "small"
    assert cell["numerator"] is None and cell["denominator"] is None and cell["value"] is None
    assert cell["target_met"] is None


def test_an_exact_figure_is_given_with_its_counts(indicator, manager, administrator):
    row(indicator, 15, 30)
    [cell] = cells(api(manager, administrator).get(VALUES, one_month()))
    assert (cell["numerator"], cell["denominator"], cell["value"], cell["visibility"]) == (15, 30, 50.0, "exact")
    assert cell["target_met"] is False


def test_a_team_beside_a_hidden_team_is_hidden_too_as_in_the_export(indicator, manager, administrator):
    small, large = TeamFactory(name="Lille"), TeamFactory(name="Stor")
    row(indicator, 2, 22, unit_kind=UnitKind.TEAM, unit_id=small.pk)
    row(indicator, 15, 30, unit_kind=UnitKind.TEAM, unit_id=large.pk)
    row(indicator, 17, 52)
    [cell] = cells(api(manager, administrator).get(VALUES, one_month(unit="team", team=large.public_id)))
    # Alone, 15 of 30 would be shown; beside the hidden 2 of 22 and the centre's 17 of 52 it would give the 2 away.
    assert cell["visibility"] == "withheld"
    assert cell["numerator"] is None and cell["value"] is None
    assert cell["unit"] == {"kind": "team", "id": str(large.public_id), "name": "Stor"}
    unit = Unit(UnitKind.TEAM, large.pk, "Stor", f"team:{large.public_id}")
    data = exports.unit_figures(unit=unit, first_month=last_month(), last_month=last_month())
    assert cell["text"] == data.figure(indicator, last_month()).text


def test_a_period_gives_one_cell_per_month_and_pages_with_a_cursor(indicator, manager, administrator):
    first = add_months(last_month(), -11)
    for n in range(12):
        row(indicator, 20, 40, month=add_months(first, n))
    client = api(manager, administrator)
    params = {"indicator": CODE, "from": f"{first:%Y-%m}", "to": f"{last_month():%Y-%m}", "page_size": 5}
    page = client.get(VALUES, params).json()
    months = [c["month"] for c in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        months += [c["month"] for c in page["results"]]
    assert months == [f"{add_months(first, n):%Y-%m}" for n in range(12)]
    newest = client.get(VALUES, {**params, "ordering": "-month"}).json()["results"]
    assert [c["month"] for c in newest] == months[::-1][:5]
    assert "ordering" in assert_error_shape(client.get(VALUES, {**params, "ordering": "value"}), 400)["fields"]
    assert_error_shape(client.get(VALUES, {**params, "cursor": "bm9wZQ"}), 404)


def test_bad_questions_are_400_with_fields(manager, administrator):
    client = api(manager, administrator)
    assert "team" in assert_error_shape(client.get(VALUES, {"unit": "team"}), 400)["fields"]
    assert (
        "team"
        in assert_error_shape(client.get(VALUES, {"unit": "team", "team": TeamFactory().public_id.hex[:8]}), 400)[
            "fields"
        ]
    )
    unknown_team = {"unit": "team", "team": "00000000-0000-0000-0000-000000000000"}
    assert "team" in assert_error_shape(client.get(VALUES, unknown_team), 400)["fields"]
    assert "unit" in assert_error_shape(client.get(VALUES, {"unit": "ward"}), 400)["fields"]
    assert "from" in assert_error_shape(client.get(VALUES, {"from": "2026-13"}), 400)["fields"]
    future = f"{add_months(timezone.localdate(), 2):%Y-%m}"
    assert "to" in assert_error_shape(client.get(VALUES, {"to": future}), 400)["fields"]
    assert "indicator" in assert_error_shape(client.get(VALUES, {"indicator": "NOPE"}), 400)["fields"]
    assert "programme" in assert_error_shape(client.get(VALUES, {"unit": "programme"}), 400)["fields"]


# --- stories ---------------------------------------------------------------------------------------------


def approved_story(team, *, consent: bool = True, title: str = "Fra usikker til tryg"):
    patient = PatientFactory(team=team, first_name="Jens", last_name="Hemmelig")
    if consent:
        ConsentFactory(patient=patient, kind="story_reports")
    return StoryFactory(
        patient=patient,
        title=title,
        published_text="En borger i 70'erne fik efter tre måneder styr på blodsukkeret.",
        what_happened="Jens Hemmelig fra Vejle fik det bedre.",
        status="approved",
        decided_at=timezone.now(),
    )


def test_approved_stories_are_pseudonymised_text_only_and_logged_under_the_citizen(team, manager, administrator):
    story = approved_story(team)
    approved_story(team, consent=False, title="Uden samtykke")
    response = api(manager, administrator).get("/api/v1/stories/")
    [shown] = cells(response)
    assert shown == {"id": str(story.public_id), "title": story.title, "text": story.published_text}
    assert "Hemmelig" not in response.content.decode() and str(story.patient.public_id) not in response.content.decode()
    assert AccessLog.objects.filter(user=manager, patient_public_id=story.patient.public_id).exists()
    detail = api(manager, administrator).get(f"/api/v1/stories/{story.public_id}/")
    assert detail.status_code == 200 and detail.json()["text"] == story.published_text


def test_a_story_not_approved_does_not_exist(team, manager, administrator):
    story = approved_story(team)
    story.status = "submitted"
    story.save(update_fields=["status"])
    assert_error_shape(api(manager, administrator).get(f"/api/v1/stories/{story.public_id}/"), 404)


# --- budgets ---------------------------------------------------------------------------------------------


def _queries(client: Client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(captured)


def test_the_values_budget_does_not_grow_with_the_rows(indicator, manager, administrator):
    client = api(manager, administrator)
    params = {"from": f"{add_months(last_month(), -23):%Y-%m}", "to": f"{last_month():%Y-%m}", "page_size": 200}
    row(indicator, 10, 20)
    one = _queries(client, VALUES, params)
    teams = [TeamFactory() for _ in range(5)]
    for n in range(24):
        month = add_months(last_month(), -n)
        for other in Indicator.objects.exclude(pk=indicator.pk)[:5]:
            row(other, 10, 20, month=month)
            for team in teams:
                row(other, 5, 10, month=month, unit_kind=UnitKind.TEAM, unit_id=team.pk)
    assert _queries(client, VALUES, params) == one
    assert one <= 10


def test_the_stories_budget_does_not_grow(team, manager, administrator):
    client = api(manager, administrator)
    approved_story(team)
    one = _queries(client, "/api/v1/stories/", {})
    for n in range(19):
        approved_story(team, title=f"Historie {n}")
    assert _queries(client, "/api/v1/stories/", {}) == one
    assert one <= 10
