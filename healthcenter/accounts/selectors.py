from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from healthcenter.access import TWO_FACTOR_ROLES
from healthcenter.models import User


def two_factor_required_by_role(user: User) -> bool:
    """No query: decided from the user row already loaded for the request."""
    return user.role in TWO_FACTOR_ROLES or user.is_staff or user.is_superuser


def authenticator_for(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def has_second_factor(user: User) -> bool:
    """An authenticator, or at least one unused backup code: something the user can sign in with.
    A backup-code device with every code used does not count, so its owner is sent to set up an
    authenticator instead of being asked for a code they cannot have."""
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or StaticToken.objects.filter(device__user=user, device__confirmed=True).exists()
    )
