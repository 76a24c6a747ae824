from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .models import Role


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role starts where its daily work is."""
    if request.user.role == Role.MANAGER:
        return redirect("reporting:overview")
    if request.user.role == Role.ADMINISTRATOR:
        return redirect("admin:index")
    return redirect("patients:list")
