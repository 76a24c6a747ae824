"""Scheduling pages: week (being written)."""

from django.http import HttpRequest, HttpResponse

from healthcenter.access import citizen_work


@citizen_work
def my_week(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/week.py


@citizen_work
def team_week(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/week.py


@citizen_work
def room_week(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/week.py
