from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .session_state import stamp_login


@receiver(user_logged_in, dispatch_uid="accounts_stamp_login")
def _stamp_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        stamp_login(request, user)
