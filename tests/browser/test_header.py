"""The header bar at the widths of the centre's PCs: at 1280 px every role's bar is one line inside the
window, the coordinator's (the longest) included, and the language switch and logging out are in the
person's menu; below 1200 px the bar folds into the menu button instead of running off the screen.
Before signing in, the language switch stands in the bar.

Elements are found by ids, names and data-testid, never by visible text; the browser speaks Danish, whose
menu labels are the longest."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from coordination.services import task_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

USER_MENU = "nav.app-nav [data-testid=user-menu]"
MENU_BUTTON = "nav.app-nav button[aria-controls=mainnav]"


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def give_news(user, *, by, team, count: int) -> None:
    """Tasks handed to the user: "New for you" in the bar then carries a two-digit count."""
    for number in range(count):
        task_create(
            actor=by,
            title=f"Ring til borger {number}",
            team=team,
            assignee=user,
            due_on=timezone.localdate() + datetime.timedelta(days=7),
        )


@pytest.mark.parametrize("persona", ["member", "coordinator", "manager", "administrator"])
def test_at_1280_px_the_bar_is_one_line_inside_the_window(
    recorded, logged_in, live_server, persona, request, colleague, team
):
    page = recorded.page
    page.set_viewport_size({"width": 1280, "height": 900})
    user = request.getfixturevalue(persona)
    if user.works_with_citizens:
        give_news(user, by=colleague, team=team, count=12)
    logged_in(user)
    page.goto(live_server.url + reverse("accounts:account"))
    if user.works_with_citizens:
        expect(page.locator("nav.app-nav [data-testid=news-count]")).to_have_text("12")

    assert page_width(page) <= 1280
    expect(page.locator(MENU_BUTTON)).to_be_hidden()
    menu = page.locator(USER_MENU).bounding_box()
    assert menu["x"] + menu["width"] <= 1280
    assert page.locator("nav.app-nav").bounding_box()["height"] < 70
    page.locator(USER_MENU).click()
    expect(page.locator("nav.app-nav .dropdown-menu.show button[name=language]")).to_be_visible()
    expect(page.locator(f"nav.app-nav .dropdown-menu.show form[action='{reverse('logout')}'] button")).to_be_visible()


def test_at_1024_px_the_bar_folds_into_the_menu_button(recorded, logged_in, live_server, coordinator):
    page = recorded.page
    page.set_viewport_size({"width": 1024, "height": 800})
    logged_in(coordinator)
    page.goto(live_server.url + reverse("coordination:board"))

    assert page_width(page) <= 1024
    expect(page.locator(USER_MENU)).to_be_hidden()
    page.locator(MENU_BUTTON).click()
    expect(page.locator(USER_MENU)).to_be_visible()
    page.locator(USER_MENU).click()
    expect(page.locator("nav.app-nav .dropdown-menu.show button[name=language]")).to_be_visible()
    assert page_width(page) <= 1024


def test_before_signing_in_the_language_switch_is_in_the_bar(recorded, live_server):
    page = recorded.page
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto(live_server.url + reverse("login"))

    switch = page.locator("nav.app-nav button[name=language]")
    expect(switch).to_be_visible()
    box = switch.bounding_box()
    assert box["x"] + box["width"] <= 1024
