"""Signing in and staying signed in (issue 10): lockout after failed passwords, the second factor for
managers and administrators, session lifetimes, the password change and the password hasher."""

import datetime
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from healthcenter.accounts.admin_site import VerifiedAdminSite
from healthcenter.accounts.lockout import client_ip_address
from healthcenter.accounts.services import backup_codes_replace, two_factor_verify
from healthcenter.accounts.session_state import ACTIVE_AT, LOGIN_AT
from healthcenter.models import Role

from .conftest import client_for
from .factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent
LOGIN = "/accounts/login/"
NEW_PASSWORD = {"new_password1": "a-new-long-password-7", "new_password2": "a-new-long-password-7"}


def log_in(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def a_wrong_code(device: TOTPDevice) -> str:
    right = {current_code(device)}
    return next(code for code in ("000000", "111111", "222222") if code not in right)


@pytest.fixture
def authenticator(manager):
    return TOTPDevice.objects.create(user=manager, name="authenticator", confirmed=True)


class TestLockout:
    def test_it_locks_the_account_after_five_wrong_passwords(self, member):
        client = Client()
        for _attempt in range(5):
            log_in(client, "member", "wrong-password")
        response = log_in(client, "member")
        assert response.status_code == 429
        assert 'data-testid="locked-out"' in response.content.decode()
        assert not is_signed_in(client)
        assert client.get(reverse("coordination:my_tasks")).status_code == 302

    def test_signing_in_as_oneself_does_not_forgive_guesses_at_a_colleague(self, member, colleague):
        """Four guesses at the member, the guesser's own good login, four more: the member is locked
        at the fifth wrong password whatever happened in between, and so is the address."""
        guesser = Client()
        for _attempt in range(4):
            log_in(guesser, "member", "wrong-password")
        assert log_in(guesser, colleague.username).status_code == 302
        guesser.post(reverse("logout"))
        assert log_in(guesser, "member", "wrong-password").status_code == 429
        assert log_in(Client(), "member", REMOTE_ADDR="10.9.9.9").status_code == 429
        assert log_in(guesser, colleague.username).status_code == 429

    def test_ones_own_typos_end_with_ones_good_login(self, member):
        for _attempt in range(4):
            log_in(Client(), "member", "wrong-password", REMOTE_ADDR="10.1.1.1")
        assert log_in(Client(), "member", REMOTE_ADDR="10.1.1.2").status_code == 302
        for _attempt in range(4):
            assert log_in(Client(), "member", "wrong-password", REMOTE_ADDR="10.1.1.3").status_code == 200
        assert log_in(Client(), "member", REMOTE_ADDR="10.1.1.3").status_code == 302

    def test_a_centre_behind_one_address_can_raise_the_addresss_limit(self, member, colleague, settings):
        settings.LOGIN_ADDRESS_FAILURE_LIMIT = 20
        for attempt in range(5):  # five people's typos at one NAT address
            log_in(Client(), f"nobody{attempt}", "wrong-password", REMOTE_ADDR="10.2.2.2")
        assert log_in(Client(), colleague.username, REMOTE_ADDR="10.2.2.2").status_code == 302
        for attempt in range(15):  # a script trying one password on many accounts
            log_in(Client(), f"guess{attempt}", "wrong-password", REMOTE_ADDR="10.2.2.2")
        assert log_in(Client(), "member", REMOTE_ADDR="10.2.2.2").status_code == 429
        for _attempt in range(5):  # the account's own limit is still 5, from anywhere
            log_in(Client(), colleague.username, "wrong-password", REMOTE_ADDR="10.3.3.3")
        assert log_in(Client(), colleague.username, REMOTE_ADDR="10.4.4.4").status_code == 429

    def test_it_still_lets_in_after_four_wrong_passwords(self, member):
        client = Client()
        for _attempt in range(4):
            assert log_in(client, "member", "wrong-password").status_code == 200
        assert log_in(client, "member").status_code == 302
        assert is_signed_in(client)

    def test_it_locks_the_account_from_every_address(self, member):
        for attempt in range(5):
            log_in(Client(), "member", "wrong-password", REMOTE_ADDR=f"10.0.0.{attempt + 1}")
        client = Client()
        assert log_in(client, "member", REMOTE_ADDR="10.0.0.99").status_code == 429
        assert not is_signed_in(client)

    def test_it_locks_an_address_that_tries_many_usernames(self, member, colleague):
        for name in ["anne", "bent", "carl", "dorte", "colleague"]:
            log_in(Client(), name, "wrong-password", REMOTE_ADDR="10.0.0.7")
        blocked = Client()
        assert log_in(blocked, "member", REMOTE_ADDR="10.0.0.7").status_code == 429
        assert not is_signed_in(blocked)
        elsewhere = Client()
        assert log_in(elsewhere, "member", REMOTE_ADDR="10.0.0.8").status_code == 302
        assert is_signed_in(elsewhere)

    def test_the_admin_login_is_our_login_and_locks_the_same_way(self, administrator):
        response = Client().get("/admin/login/?next=/admin/")
        assert response.status_code == 302
        assert response["Location"] == f"{LOGIN}?next=/admin/"
        # The admin's own form no longer signs anyone in.
        direct = Client()
        direct.post("/admin/login/?next=/admin/", {"username": "administrator", "password": PASSWORD})
        assert not is_signed_in(direct)
        for _attempt in range(5):
            log_in(Client(), "administrator", "wrong-password")
        client = Client()
        response = client.post(f"{LOGIN}?next=/admin/", {"username": "administrator", "password": PASSWORD})
        assert response.status_code == 429
        assert not is_signed_in(client)
        assert client.get("/admin/").status_code == 302

    def test_the_lockout_page_says_why_and_how_long_in_danish(self, member):
        client = Client()
        for _attempt in range(5):
            log_in(client, "member", "wrong-password")
        page = log_in(client, "member").content.decode()
        assert "For mange mislykkede forsøg på at logge ind." in page
        assert "30 minutter" in page
        assert '<html lang="da">' in page
        assert 'id="id_username"' in page  # the login page itself, not a bare text

    def test_the_lockout_page_follows_the_chosen_language(self, member, settings):
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        for _attempt in range(5):
            log_in(client, "member", "wrong-password")
        page = log_in(client, "member").content.decode()
        assert "Too many failed attempts to log in." in page
        assert "blocked for 30 minutes" in page

    def test_the_cool_off_is_configurable(self, member, settings):
        settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=10)
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        for _attempt in range(5):
            log_in(client, "member", "wrong-password")
        assert "blocked for 10 minutes" in log_in(client, "member").content.decode()


class TestLoginRecordRetention:
    def test_the_nightly_job_forgets_sign_in_records_older_than_the_retention_period(self, member, settings):
        from axes.models import AccessAttempt, AccessLog

        from healthcenter.tasks import forget_old_login_records

        settings.LOGIN_RECORD_RETENTION_DAYS = 90
        log_in(Client(), "nobody", "wrong-password", REMOTE_ADDR="10.0.0.9")
        log_in(Client(), "member")
        assert AccessLog.objects.count() == 1 and AccessAttempt.objects.count() == 1
        long_ago = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(days=91)
        AccessAttempt.objects.update(attempt_time=long_ago)
        assert forget_old_login_records() == 1
        assert AccessAttempt.objects.count() == 0
        assert AccessLog.objects.count() == 1  # yesterday's sign-in is kept
        assert forget_old_login_records() == 0
        out = io.StringIO()
        call_command("forget_login_records", stdout=out)
        assert out.getvalue() == "Forgot 0 sign-in records older than 90 days.\n"


class TestClientAddress:
    def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(self, member, colleague):
        # Each attempt claims another address; all come from one REMOTE_ADDR, which is what counts.
        for attempt, name in enumerate(["anne", "bent", "carl", "dorte", "colleague"]):
            log_in(Client(), name, "wrong-password", REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}")
        client = Client()
        response = log_in(client, "member", REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="192.0.2.200")
        assert response.status_code == 429

    def test_behind_a_trusted_proxy_the_address_it_saw_counts(self, member, colleague, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        for name in ["anne", "bent", "carl", "dorte", "colleague"]:
            # The client wrote its own header; the proxy added the address it saw at the right.
            log_in(Client(), name, "wrong-password", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.1")
        blocked = Client()
        assert log_in(blocked, "member", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 429
        other = Client()
        assert log_in(other, "member", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.2").status_code == 302

    @pytest.mark.parametrize(
        ("proxies", "forwarded", "expected"),
        [
            (0, "192.0.2.1", "10.0.0.2"),
            (1, "192.0.2.1", "192.0.2.1"),
            (1, "6.6.6.6, 192.0.2.1", "192.0.2.1"),
            (2, "6.6.6.6, 192.0.2.1, 10.1.1.1", "192.0.2.1"),
            (2, "192.0.2.1", "10.0.0.2"),  # fewer entries than proxies: misconfigured, not believed
            (1, "not-an-address", "10.0.0.2"),
            (1, "", "10.0.0.2"),
        ],
    )
    def test_it_reads_the_client_address(self, rf, settings, proxies, forwarded, expected):
        settings.TRUSTED_PROXY_COUNT = proxies
        request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
        assert client_ip_address(request) == expected


class TestSecondFactor:
    def test_a_manager_without_a_device_is_sent_to_set_one_up(self, manager):
        client = Client()
        response = log_in(client, "manager")
        assert response["Location"].startswith(reverse("accounts:verify"))
        assert client.get(response["Location"])["Location"].startswith(reverse("accounts:setup"))
        # Nothing else opens before it is done.
        overview = reverse("reporting:overview")
        assert client.get(overview)["Location"] == f"{reverse('accounts:verify')}?next=%2Freporting%2F"
        page = client.get(reverse("accounts:setup"))
        assert page.status_code == 200
        body = page.content.decode()
        assert reverse("reporting:overview") not in body  # no menu of pages that lead back here
        assert "<svg" in body
        assert 'data-testid="totp-secret"' in body
        device = TOTPDevice.objects.get(user=manager, confirmed=False)
        assert client.get(reverse("accounts:setup")).context["secret"] == page.context["secret"]  # reload: same key

        response = client.post(reverse("accounts:setup"), {"code": current_code(device), "next": overview})
        assert response["Location"] == f"{reverse('accounts:backup_codes')}?next=%2Freporting%2F"
        shown = client.get(response["Location"])
        assert len(shown.context["codes"]) == 10
        assert client.get(response["Location"])["Location"] == reverse("accounts:account")  # shown once
        assert client.get(overview).status_code == 200
        device.refresh_from_db()
        assert device.confirmed

    def test_a_manager_with_an_authenticator_must_give_a_code(self, manager, authenticator):
        client = Client()
        response = log_in(client, "manager")
        verify_url = response["Location"]
        assert verify_url.startswith(reverse("accounts:verify"))
        assert client.get(reverse("reporting:overview"))["Location"].startswith(reverse("accounts:verify"))
        verify_page = client.get(verify_url)
        assert verify_page.status_code == 200
        assert reverse("reporting:quarterly") not in verify_page.content.decode()
        response = client.post(verify_url, {"code": current_code(authenticator)})
        assert response.status_code == 302
        assert client.get(reverse("reporting:overview")).status_code == 200

    def test_a_wrong_code_is_refused(self, manager, authenticator):
        client = Client()
        log_in(client, "manager")
        response = client.post(reverse("accounts:verify"), {"code": a_wrong_code(authenticator)})
        assert response.status_code == 200
        assert response.context["form"].errors["code"]
        assert client.get(reverse("reporting:overview"))["Location"].startswith(reverse("accounts:verify"))

    def test_codes_are_slowed_down_after_a_wrong_one(self, manager, authenticator):
        client = Client()
        log_in(client, "manager")
        client.post(reverse("accounts:verify"), {"code": a_wrong_code(authenticator)})
        response = client.post(reverse("accounts:verify"), {"code": current_code(authenticator)})
        assert response.status_code == 200
        assert client.get(reverse("reporting:overview")).status_code == 302

    def test_a_backup_code_works_once(self, manager, authenticator):
        code = backup_codes_replace(user=manager)[0]
        first = Client()
        log_in(first, "manager")
        assert first.post(reverse("accounts:verify"), {"code": code.upper()}).status_code == 302
        assert first.get(reverse("reporting:overview")).status_code == 200
        second = Client()
        log_in(second, "manager")
        response = second.post(reverse("accounts:verify"), {"code": code})
        assert response.status_code == 200
        assert second.get(reverse("reporting:overview")).status_code == 302

    def test_a_backup_code_alone_is_enough_to_sign_in(self, manager):
        code = backup_codes_replace(user=manager)[3]
        client = Client()
        log_in(client, "manager")
        assert client.get(reverse("accounts:verify")).status_code == 200  # asked for a code, not sent to set up
        assert client.post(reverse("accounts:verify"), {"code": code}).status_code == 302
        assert client.get(reverse("reporting:overview")).status_code == 200

    def test_the_password_alone_cannot_replace_an_authenticator(self, manager, authenticator):
        client = Client()
        log_in(client, "manager")
        assert client.get(reverse("accounts:setup"))["Location"].startswith(reverse("accounts:verify"))
        assert client.post(reverse("accounts:backup_codes"))["Location"].startswith(reverse("accounts:verify"))
        assert TOTPDevice.objects.filter(user=manager).count() == 1

    def test_a_new_password_login_needs_a_new_code(self, manager, authenticator):
        client = client_for(manager)
        assert client.get(reverse("reporting:overview")).status_code == 200
        client.post(reverse("logout"))
        log_in(client, "manager")
        assert client.get(reverse("reporting:overview")).status_code == 302

    def test_a_professional_is_not_asked_for_a_code(self, member):
        client = Client()
        response = log_in(client, "member")
        assert response["Location"] == reverse("home")
        assert client.get(reverse("coordination:my_tasks")).status_code == 200

    def test_a_professional_who_set_up_an_authenticator_is_asked_for_it(self, member):
        TOTPDevice.objects.create(user=member, name="authenticator", confirmed=True)
        client = Client()
        log_in(client, "member")
        assert client.get(reverse("coordination:my_tasks"))["Location"].startswith(reverse("accounts:verify"))

    def test_an_htmx_request_is_sent_to_the_code_step_as_a_whole_page(self, manager, authenticator):
        client = Client()
        log_in(client, "manager")
        response = client.get(
            reverse("reporting:overview"),
            headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/reporting/"},
        )
        assert response.status_code == 204
        assert response["HX-Redirect"] == f"{reverse('accounts:verify')}?next=%2Freporting%2F"

    def test_the_admin_needs_the_second_factor(self, administrator):
        password_only = Client()
        password_only.force_login(administrator)
        response = password_only.get("/admin/")
        assert response["Location"].startswith(reverse("accounts:verify"))
        assert client_for(administrator).get("/admin/").status_code == 200

    def test_the_admin_site_itself_refuses_an_unverified_session(self, rf, administrator):
        assert isinstance(admin.site, VerifiedAdminSite)
        request = rf.get("/admin/")
        request.user = administrator
        administrator.is_verified = lambda: False
        assert not admin.site.has_permission(request)
        administrator.is_verified = lambda: True
        assert admin.site.has_permission(request)

    def test_a_signed_in_user_without_admin_access_is_turned_away(self, member):
        response = client_for(member).get("/admin/login/?next=/admin/")
        assert response["Location"] == reverse("home")

    def test_the_code_step_is_in_danish(self, manager, authenticator):
        client = Client()
        log_in(client, "manager")
        page = client.get(reverse("accounts:verify")).content.decode()
        assert "Totrinsbekræftelse" in page


class TestDemoLogins:
    def test_it_mints_no_second_factor_outside_the_demo(self, db, settings):
        settings.DEBUG = False
        UserFactory(username="admin", role=Role.ADMINISTRATOR, profession="")
        with pytest.raises(CommandError, match="only for the demo"):
            call_command("demo_logins", stdout=io.StringIO())
        assert not StaticToken.objects.exists()

    def test_it_prints_one_fresh_backup_code_for_each_login_that_needs_one(self, db, settings):
        settings.DEBUG = True
        leader = UserFactory(username="leder", role=Role.MANAGER, profession="")
        UserFactory(username="sygeplejerske")
        first = io.StringIO()
        call_command("demo_logins", stdout=first)
        lines = {line.split()[1]: line for line in first.getvalue().splitlines() if "(" in line}
        assert "backup code" not in lines["sygeplejerske"]
        code = lines["leder"].rsplit("backup code: ", 1)[1].strip()

        second = io.StringIO()
        call_command("demo_logins", stdout=second)
        new_code = second.getvalue().split("backup code: ", 1)[1].split()[0]
        assert new_code != code
        settings.OTP_STATIC_THROTTLE_FACTOR = 0  # so that a wrong code does not hold up the next one
        assert two_factor_verify(user=leader, code=code).device is None  # the earlier one stopped working
        assert two_factor_verify(user=leader, code=new_code).device is not None
        assert two_factor_verify(user=leader, code=new_code).device is None  # and the new one works once


class TestSessionLifetime:
    def age_session(self, client: Client, **seconds_ago: float) -> None:
        session = client.session
        now = time.time()
        for key, ago in seconds_ago.items():
            session[{"login": LOGIN_AT, "active": ACTIVE_AT}[key]] = now - ago
        session.save()

    def test_it_ends_a_session_idle_for_more_than_30_minutes(self, member):
        client = client_for(member)
        self.age_session(client, active=31 * 60)
        response = client.get(reverse("coordination:my_tasks"))
        assert response["Location"] == f"{LOGIN}?{urlencode({'next': reverse('coordination:my_tasks')})}"
        assert not is_signed_in(client)
        login_page = client.get(response["Location"]).content.decode()
        assert "30 minutter" in login_page

    def test_it_keeps_a_session_active_within_30_minutes(self, member):
        client = client_for(member)
        self.age_session(client, active=29 * 60)
        assert client.get(reverse("coordination:my_tasks")).status_code == 200
        assert time.time() - client.session[ACTIVE_AT] < 60  # the request renewed it

    def test_it_ends_a_session_12_hours_after_login_however_active(self, member):
        client = client_for(member)
        self.age_session(client, login=12 * 60 * 60 + 60, active=5)
        response = client.get(reverse("coordination:my_tasks"))
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)
        assert not is_signed_in(client)

    def test_the_polled_badge_does_not_keep_a_session_alive(self, member):
        client = client_for(member)
        self.age_session(client, active=20 * 60)
        before = client.session[ACTIVE_AT]
        assert client.get(reverse("coordination:news_badge"), headers={"HX-Request": "true"}).status_code == 200
        assert client.session[ACTIVE_AT] == before

    def test_a_poll_after_the_idle_limit_takes_the_page_to_the_login(self, member):
        client = client_for(member)
        self.age_session(client, active=31 * 60)
        response = client.get(
            reverse("coordination:news_badge"),
            headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/tasks/?page=2"},
        )
        assert response.status_code == 204
        assert response["HX-Redirect"] == f"{LOGIN}?next=%2Ftasks%2F%3Fpage%3D2"

    def test_a_fragment_after_the_session_is_gone_takes_the_page_to_the_login(self, member):
        client = client_for(member)
        client.session.flush()
        client.cookies.pop("sessionid", None)
        response = client.get(
            reverse("coordination:news_badge"),
            headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/tasks/"},
        )
        assert response.status_code == 204
        assert response["HX-Redirect"] == f"{LOGIN}?next=/tasks/"

    def test_the_session_cookie_ends_with_the_browser(self, member, settings):
        response = log_in(Client(), "member")
        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        assert cookie["max-age"] == ""
        assert cookie["expires"] == ""
        assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
        assert settings.SESSION_COOKIE_AGE == 30 * 60
        assert not getattr(settings, "SESSION_SAVE_EVERY_REQUEST", False)


class TestPasswordChange:
    def test_it_ends_the_other_sessions_and_keeps_this_one(self, member):
        here, elsewhere = client_for(member), client_for(member)
        assert elsewhere.get(reverse("coordination:my_tasks")).status_code == 200
        response = here.post(
            reverse("accounts:password_change"),
            {"old_password": PASSWORD, **NEW_PASSWORD},
        )
        assert response["Location"] == reverse("accounts:account")
        assert here.get(reverse("coordination:my_tasks")).status_code == 200
        assert elsewhere.get(reverse("coordination:my_tasks"))["Location"].startswith(LOGIN)

    def test_a_verified_manager_stays_verified_after_changing_the_password(self, manager):
        client = client_for(manager)
        client.post(
            reverse("accounts:password_change"),
            {"old_password": PASSWORD, **NEW_PASSWORD},
        )
        assert client.get(reverse("reporting:overview")).status_code == 200

    def test_it_refuses_a_wrong_old_password(self, member):
        client = client_for(member)
        response = client.post(
            reverse("accounts:password_change"),
            {"old_password": "wrong", **NEW_PASSWORD},
        )
        assert response.status_code == 200
        assert response.context["form"].errors["old_password"]

    def test_every_page_links_to_the_account_page_in_the_header(self, member):
        page = client_for(member).get(reverse("coordination:my_tasks")).content.decode()
        assert f'href="{reverse("accounts:account")}"' in page
        account = client_for(member).get(reverse("accounts:account")).content.decode()
        assert f'href="{reverse("accounts:password_change")}"' in account


def test_production_settings_hash_passwords_with_argon2_and_read_the_limits_from_the_environment():
    """In a fresh process, because the tests swap the hasher for a fast one and the settings read the
    environment once."""
    script = (
        "import json, django; django.setup(); from django.conf import settings;"
        "from django.contrib.auth.hashers import make_password;"
        "print(json.dumps({'hashers': settings.PASSWORD_HASHERS, 'hash': make_password('x')[:7],"
        "'idle': settings.SESSION_COOKIE_AGE, 'absolute': settings.SESSION_ABSOLUTE_TIMEOUT,"
        "'cool_off': settings.AXES_COOLOFF_TIME.total_seconds(), 'limit': settings.AXES_FAILURE_LIMIT,"
        "'proxies': settings.TRUSTED_PROXY_COUNT, 'backends': settings.AUTHENTICATION_BACKENDS}))"
    )
    env = {key: value for key, value in os.environ.items() if key != "SESSION_COOKIE_AGE"}
    env.update(DJANGO_SETTINGS_MODULE="healthcenter.settings", DEBUG="true")

    def run(**values):
        done = subprocess.run(  # noqa: S603 - the script above, not outside input
            [sys.executable, "-c", script], env={**env, **values}, cwd=ROOT, capture_output=True, text=True, check=True
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    defaults = run()
    assert defaults["hashers"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert defaults["hash"] == "argon2$"
    assert defaults["backends"][0].startswith("axes.backends.")
    assert (defaults["idle"], defaults["absolute"]) == (30 * 60, 12 * 60 * 60)
    assert (defaults["cool_off"], defaults["limit"], defaults["proxies"]) == (30 * 60, 5, 0)
    configured = run(
        SESSION_IDLE_MINUTES="15", SESSION_MAX_HOURS="8", LOGIN_LOCKOUT_MINUTES="60", TRUSTED_PROXY_COUNT="1"
    )
    assert (configured["idle"], configured["absolute"]) == (15 * 60, 8 * 60 * 60)
    assert (configured["cool_off"], configured["proxies"]) == (60 * 60, 1)
