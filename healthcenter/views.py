from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .access import Work, may


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role starts where its daily work is (the work each role may do: healthcenter/access.py)."""
    user = request.user
    if may(user, Work.FIGURES) and not may(user, Work.CITIZENS):
        return redirect("reporting:overview")
    if may(user, Work.ACCESS_LOG_EXPORT) or user.is_staff:
        return redirect("admin:index" if user.is_staff else "patients:access_log_export")
    if may(user, Work.TRIAGE):
        return redirect("coordination:board")
    # Professionals start the day from the calendar: the meetings, each with its briefing.
    return redirect("scheduling:my_day")
