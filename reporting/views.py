from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from healthcenter.models import Role
from patients.models import ConditionGroup

from .selectors import centre_overview


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    if request.user.role not in (Role.MANAGER, Role.COORDINATOR):
        raise Http404
    return render(request, "reporting/overview.html", {"rows": centre_overview(), "groups": ConditionGroup.choices})
