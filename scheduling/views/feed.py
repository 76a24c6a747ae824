"""Scheduling pages: feed (being written)."""

from django.http import HttpRequest, HttpResponse

from healthcenter.access import citizen_work


@citizen_work
def subscription(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/feed.py


@citizen_work
def ical_feed(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/feed.py


@citizen_work
def invitation(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/feed.py
