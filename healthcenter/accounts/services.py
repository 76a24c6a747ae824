import datetime
import logging
import re
from typing import NamedTuple

from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from healthcenter.models import User

log = logging.getLogger(__name__)

BACKUP_CODE_COUNT = 10
AUTHENTICATOR_NAME = "authenticator"
BACKUP_DEVICE_NAME = "backup"
DEMO_DEVICE_NAME = "demo"
TOTP_DIGITS = re.compile(r"\d{6}")


class Verification(NamedTuple):
    device: Device | None
    # Set when every device that could have taken the code is throttled after wrong codes.
    retry_after: datetime.datetime | None = None


def normalise_code(code: str) -> str:
    """People copy backup codes with spaces, dashes or capitals, and authenticator codes as "123 456"."""
    return re.sub(r"[\s-]", "", code).lower()


@transaction.atomic
def authenticator_start(*, user: User) -> TOTPDevice:
    """The authenticator being set up: the same secret on every reload of the set-up page until it is
    confirmed, so that a reload does not make the QR code already scanned worthless."""
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if pending is not None:
        return pending
    return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


@transaction.atomic
def authenticator_confirm(*, user: User, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirms the authenticator with a code it shows and returns a new set of backup codes, or None
    when the code is wrong. One authenticator per person: a confirmed new one replaces the old."""
    if device.user_id != user.pk or device.confirmed:
        raise ValueError("Only the user's own pending authenticator can be confirmed")
    if not device.verify_token(normalise_code(code)):
        log.info("authenticator set-up: wrong code for user %s", user.pk)
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    log.info("authenticator confirmed for user %s", user.pk)
    return backup_codes_replace(user=user)


@transaction.atomic
def backup_codes_replace(*, user: User) -> list[str]:
    """Ten new single-use codes; the earlier ones stop working."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    log.info("new backup codes for user %s", user.pk)
    return codes


@transaction.atomic
def demo_backup_code(*, user: User) -> str:
    """One fresh code for a demo login that needs a second factor; the demo's earlier code stops
    working, so exactly one unused demo code exists per user. Kept apart from the user's own
    backup codes (another device), which it leaves alone."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=DEMO_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    code = StaticToken.random_token()
    StaticToken.objects.create(device=device, token=code)
    return code


@transaction.atomic
def two_factor_verify(*, user: User, code: str) -> Verification:
    """Checks a code against the user's confirmed devices: six digits go to the authenticator,
    anything else to the backup codes, so that a backup code does not count as a wrong
    authenticator code (django-otp slows a device down after each wrong code). A used backup code
    is deleted and cannot be used again."""
    code = normalise_code(code)
    model = TOTPDevice if TOTP_DIGITS.fullmatch(code) else StaticDevice
    retry_after = None
    for device in model.objects.filter(user=user, confirmed=True).select_for_update():
        allowed, details = device.verify_is_allowed()
        if not allowed:
            retry_after = max(filter(None, [retry_after, (details or {}).get("locked_until")]), default=None)
            continue
        if device.verify_token(code):
            log.info("second factor verified for user %s with %s", user.pk, device.persistent_id)
            return Verification(device)
    log.info("second factor: wrong code for user %s", user.pk)
    return Verification(None, retry_after)


def login_records_forget(*, older_than_days: int) -> int:
    """Deletes django-axes' records of sign-ins and failed sign-ins (who, from which address, with
    which browser) older than the retention period: they are personal data kept for security
    follow-up only, and an open lockout never depends on them (its counts live in AccessAttempt,
    cleared after the cool-off). Idempotent. Returns how many records went."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    cutoff = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(days=older_than_days)
    removed = 0
    for model in (AccessLog, AccessFailureLog):
        removed += model.objects.filter(attempt_time__lt=cutoff).delete()[0]
    removed += AccessAttempt.objects.filter(attempt_time__lt=cutoff).delete()[0]
    log.info("forgot %d sign-in records older than %d days", removed, older_than_days)
    return removed
