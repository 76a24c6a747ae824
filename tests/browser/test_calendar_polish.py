"""Layout checks from the issue-13 walkthrough, in a real browser: the week grid gives blocks before
07:00 and after 18:00 rows of their own, a 30-minute block clips its lines, the care gap's "Book" is a
small button on the text's line, and the referral's first-contact selects show their choices.
Screenshots go to test-artifacts/polish-*.png to look at."""

import datetime
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone

from coordination.models import CareGap, CareGapRule
from scheduling.views.week import iso_week
from tests.browser.conftest import ARTIFACTS
from tests.factories import AppointmentFactory, PatientFactory, ReferralFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def next_monday() -> datetime.date:
    today = timezone.localdate()
    return today + datetime.timedelta(days=14 - today.weekday())


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_the_week_grid_has_rows_for_early_and_late_blocks(page, logged_in, member, patient):
    monday = next_monday()
    tuesday = monday + datetime.timedelta(days=1)
    for hour, minute, minutes in [(6, 0, 30), (7, 0, 30), (19, 30, 45), (10, 0, 30)]:
        start = at(tuesday, hour, minute)
        AppointmentFactory(
            patient=patient,
            professionals=[member],
            starts_at=start,
            ends_at=start + datetime.timedelta(minutes=minutes),
            purpose="Opfølgning",
        )
    logged_in(member)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(reverse("scheduling:my_week") + f"?week={iso_week(monday)}")
    page.screenshot(path=str(ARTIFACTS / "polish-week-grid-06-19.png"), full_page=True)
    blocks = page.locator('[data-testid="block"]')
    assert blocks.count() == 4
    boxes = sorted((blocks.nth(i).bounding_box() for i in range(4)), key=lambda b: b["y"])
    # Each below the one before, none on top of another.
    for upper, lower in itertools.pairwise(boxes):
        assert upper["y"] + upper["height"] <= lower["y"] + 1
    # A 30-minute block's lines stay inside it.
    for i in range(4):
        block = blocks.nth(i)
        overflow = block.evaluate("b => b.scrollHeight - b.clientHeight")
        assert overflow <= 1


def test_the_care_gap_book_button_is_small_and_on_the_line(page, logged_in, member, patient):
    CareGap.objects.create(patient=patient, rule=CareGapRule.objects.get(code="hba1c-12m"))
    logged_in(member)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(reverse("coordination:worklist"))
    page.screenshot(path=str(ARTIFACTS / "polish-care-gap-book.png"), full_page=True)
    button = box(page, '[data-testid="gap-book"]')
    badge = box(page, '[data-testid="gap-missing"]')
    assert button["height"] <= 30
    # Centred on the same line as the badge, give or take a few pixels.
    assert abs((button["y"] + button["height"] / 2) - (badge["y"] + badge["height"] / 2)) <= 4


def test_the_referrals_first_contact_selects_are_not_cut_off(page, logged_in, coordinator, team):
    referral = ReferralFactory(team=team, patient=PatientFactory(team=team))
    logged_in(coordinator)
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(reverse("coordination:referral", args=[referral.public_id]))
    page.screenshot(path=str(ARTIFACTS / "polish-referral-first-contact.png"), full_page=True)
    for name in ("contact-kind", "contact-place", "contact-duration"):
        select = page.locator(f'select[name="{name}"]')
        # The chosen option's text fits in the select (Chromium keeps scrollWidth at the box's width,
        # so measure the text): the select is wider than the widest option's text plus its arrow.
        widest = select.evaluate(
            """s => { const c = document.createElement('canvas').getContext('2d');
                      c.font = getComputedStyle(s).font;
                      return Math.max(...[...s.options].map(o => c.measureText(o.text).width)); }"""
        )
        assert select.bounding_box()["width"] >= widest + 40, name
