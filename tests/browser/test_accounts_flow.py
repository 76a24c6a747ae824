"""Signing in with a second factor and being locked out, in Chromium (issue 10)."""

import re
import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def authenticator_code(secret: str) -> str:
    """What the phone's app shows for the key typed from the set-up page."""
    totp = TOTP(b32decode(secret.replace(" ", "")))
    totp.time = time.time()
    return f"{totp.token():06d}"


def test_a_new_manager_sets_up_the_authenticator_and_gets_backup_codes(recorded, manager):
    page = recorded.page
    page.goto("/reporting/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/accounts/two-factor/setup/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sæt totrinsbekræftelse op")
    expect(page.locator("[data-testid=totp-qr] svg")).to_be_visible()
    page.fill("#id_code", authenticator_code(page.locator("[data-testid=totp-secret]").inner_text()))
    page.get_by_role("button", name="Bekræft").click()

    expect(page.locator("[data-testid=backup-codes] li")).to_have_count(10)
    page.get_by_role("link", name="Jeg har gemt koderne").click()
    expect(page).to_have_url(re.compile(r"/reporting/$"))
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Totrinsbekræftelse")
    assert recorded.foreign_requests() == []


def test_the_sixth_attempt_shows_the_lockout_on_the_login_page(page, member):
    page.goto("/accounts/login/")
    for _attempt in range(5):
        page.fill("#id_username", "member")
        page.fill("#id_password", "wrong-password")
        page.locator("main form button[type=submit]").click()
    page.fill("#id_username", "member")
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=locked-out]")).to_contain_text("For mange mislykkede forsøg på at logge ind.")
    expect(page.locator("[data-testid=locked-out]")).to_contain_text("30 minutter")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
