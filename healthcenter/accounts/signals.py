from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .session_state import stamp_login


@receiver(user_logged_in, dispatch_uid="accounts_stamp_login")
def _stamp_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        stamp_login(request, user)


@receiver(user_logged_in, dispatch_uid="accounts_forgive_own_typos")
def _forgive_own_typos(sender, request, user, **kwargs):
    """The account's own failed attempts end with its successful login, whichever address they came
    from; the failures of other accounts from the same address stay counted (settings: AXES_*)."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.filter(username=user.get_username()).delete()
