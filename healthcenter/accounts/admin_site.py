from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from .navigation import is_safe, with_next


class VerifiedAdminSite(admin.AdminSite):
    """The Django admin behind the same sign-in as the rest of the site: its login page hands over to
    ours (password, lockout, second factor), and its pages open only to a session verified with a
    second factor."""

    def has_permission(self, request):
        is_verified = getattr(request.user, "is_verified", None)
        return super().has_permission(request) and is_verified is not None and is_verified()

    def login(self, request, extra_context=None):
        wanted = request.GET.get(REDIRECT_FIELD_NAME, "")
        next_url = wanted if is_safe(request, wanted) else reverse("admin:index", current_app=self.name)
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(next_url)
        if user.is_active and user.is_staff:
            return redirect(with_next(reverse("accounts:verify"), next_url))
        messages.error(request, _("Your user has no access to the administration."))
        return redirect("home")
