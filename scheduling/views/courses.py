"""Scheduling pages: courses (being written)."""

from django.http import HttpRequest, HttpResponse

from healthcenter.access import citizen_work


@citizen_work
def course_list(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/courses.py


@citizen_work
def course_create(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/courses.py


@citizen_work
def course_detail(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/courses.py


@citizen_work
def participant_add(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/courses.py


@citizen_work
def participant_drop_out(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/courses.py


@citizen_work
def session_register(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/courses.py
