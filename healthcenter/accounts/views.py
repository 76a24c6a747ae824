from base64 import b32encode

import django_otp
import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import formats, timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice

from .forms import CodeForm, StyledPasswordChangeForm
from .navigation import safe_next, with_next
from .selectors import authenticator_for, backup_codes_left, has_second_factor, two_factor_required_by_role
from .services import authenticator_confirm, authenticator_start, backup_codes_replace, two_factor_verify
from .session_state import NEW_BACKUP_CODES, two_factor_pending

FEW_BACKUP_CODES = 3


class SignInView(LoginView):
    """Django's login (which passes the request to authenticate, as django-axes needs), then the
    second factor for those who need one."""

    redirect_authenticated_user = True

    def get_success_url(self):
        url = super().get_success_url()
        if two_factor_pending(self.request):
            return with_next(reverse("accounts:verify"), url)
        return url


def _start_verified_session(request: HttpRequest, device) -> None:
    django_otp.login(request, device)
    # The session now opens more than it did: a new key, so that one seen before is worth nothing.
    request.session.cycle_key()


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator app or a backup code."""
    next_url = safe_next(request)
    if not two_factor_pending(request):
        return redirect(next_url)
    user = request.user
    if not has_second_factor(user):
        return redirect(with_next(reverse("accounts:setup"), next_url))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = two_factor_verify(user=user, code=form.cleaned_data["code"])
        if result.device is not None:
            _start_verified_session(request, result.device)
            if isinstance(result.device, StaticDevice):
                left = backup_codes_left(user)
                if left < FEW_BACKUP_CODES:
                    messages.warning(
                        request,
                        ngettext(
                            "You have %(count)s backup code left. Make new ones under My account.",
                            "You have %(count)s backup codes left. Make new ones under My account.",
                            left,
                        )
                        % {"count": left},
                    )
            return redirect(next_url)
        if result.retry_after is not None:
            local = timezone.localtime(result.retry_after)
            form.add_error(
                "code",
                _("Too many wrong codes. Wait until %(time)s and try again.")
                % {"time": formats.time_format(local, "H:i:s")},
            )
        else:
            form.add_error("code", _("The code is not right. Try again with a new code."))
    return render(request, "accounts/verify.html", {"form": form, "next": next_url})


def _qr_svg(config_url: str) -> str:
    # segno draws the SVG from the otpauth URL we built: nothing in it comes from a request.
    svg = segno.make(config_url, error="m").svg_inline(scale=5, title=_("QR code for the authenticator app"))
    return mark_safe(svg)  # noqa: S308  # nosec B308 B703 - our own SVG markup, see above


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@login_required
def setup(request: HttpRequest) -> HttpResponse:
    """Setting up the authenticator app: scan the QR code (or type the key), confirm with a code.
    Someone who has a second factor must use it first; the password alone never replaces one."""
    user = request.user
    next_url = safe_next(request)
    if not user.is_verified() and has_second_factor(user):
        return redirect(with_next(reverse("accounts:verify"), next_url))
    device = authenticator_start(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = authenticator_confirm(user=user, device=device, code=form.cleaned_data["code"])
        if codes is not None:
            _start_verified_session(request, device)
            request.session[NEW_BACKUP_CODES] = codes
            return redirect(with_next(reverse("accounts:backup_codes"), next_url))
        form.add_error("code", _("The code is not right. Check the time on your phone and try again with a new code."))
    context = {
        "form": form,
        "next": next_url,
        "qr_svg": _qr_svg(device.config_url),
        "secret": _grouped(b32encode(device.bin_key).decode()),
        "required": two_factor_required_by_role(user),
        "replacing": user.is_verified() and authenticator_for(user) is not None,
    }
    return render(request, "accounts/setup.html", context)


@login_required
def backup_codes(request: HttpRequest) -> HttpResponse:
    """Shows new backup codes once: right after setting up the authenticator, or when asked for new
    ones (POST, which only a session verified with a second factor may do)."""
    if request.method == "POST":
        if not request.user.is_verified():
            return redirect("accounts:account")
        codes = backup_codes_replace(user=request.user)
    else:
        codes = request.session.pop(NEW_BACKUP_CODES, None)
        if codes is None:
            return redirect("accounts:account")
    return render(request, "accounts/backup_codes.html", {"codes": codes, "next": safe_next(request)})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "authenticator": authenticator_for(user),
        "backup_codes_left": backup_codes_left(user),
        "required": two_factor_required_by_role(user),
        "verified": user.is_verified(),
    }
    return render(request, "accounts/account.html", context)


class PasswordChange(PasswordChangeView):
    """Django's view: update_session_auth_hash keeps this session, and every other session of the
    user stops matching the new password hash and ends at its next request."""

    form_class = StyledPasswordChangeForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:account")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is changed. You are logged out everywhere else."))
        return response
