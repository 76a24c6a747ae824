"""Scheduling pages: day (being written)."""

from django.http import HttpRequest, HttpResponse

from healthcenter.access import citizen_work


@citizen_work
def my_day(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/day.py


@citizen_work
def did_not_attend(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/day.py
