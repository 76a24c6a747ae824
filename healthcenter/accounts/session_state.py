"""What the accounts part keeps in the session, and what it reads from it."""

import time

from django.http import HttpRequest
from django_otp import DEVICE_ID_SESSION_KEY

from healthcenter.models import User

from .selectors import has_second_factor, two_factor_required_by_role

LOGIN_AT = "accounts_login_at"  # seconds since the epoch: the absolute lifetime counts from here
ACTIVE_AT = "accounts_active_at"  # the last request the person made (background polls excluded)
SECOND_FACTOR_CHOSEN = "accounts_second_factor_chosen"  # a user free to skip it has set one up
NEW_BACKUP_CODES = "accounts_new_backup_codes"  # shown once, then removed


def stamp_login(request: HttpRequest, user: User) -> None:
    """At every login, however it happens. A fresh password is never verified by a second factor
    left in the session from before."""
    now = time.time()
    request.session[LOGIN_AT] = now
    request.session[ACTIVE_AT] = now
    request.session.pop(DEVICE_ID_SESSION_KEY, None)
    request.session[SECOND_FACTOR_CHOSEN] = not two_factor_required_by_role(user) and has_second_factor(user)


def two_factor_pending(request: HttpRequest) -> bool:
    """Signed in with the password, but a second factor is required (by role, or because the user
    chose one) and not yet given in this session. No query for a user who needs none."""
    user = request.user
    if not user.is_authenticated:
        return False
    if not (two_factor_required_by_role(user) or request.session.get(SECOND_FACTOR_CHOSEN)):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified is not None and is_verified())
