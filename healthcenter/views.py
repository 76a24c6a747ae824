from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .models import Role


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role starts where its daily work is."""
    if request.user.role == Role.MANAGER:
        return redirect("reporting:overview")
    if request.user.role == Role.ADMINISTRATOR or request.user.is_staff:
        return redirect("admin:index" if request.user.is_staff else "patients:access_log_export")
    if request.user.role == Role.COORDINATOR:
        return redirect("coordination:board")
    return redirect("coordination:my_tasks")
