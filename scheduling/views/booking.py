"""Scheduling pages: booking (being written)."""

from django.http import HttpRequest, HttpResponse

from healthcenter.access import citizen_work


@citizen_work
def patient_appointments(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/booking.py


@citizen_work
def appointment_book(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/booking.py


@citizen_work
def appointment_detail(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/booking.py


@citizen_work
def appointment_move(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/booking.py


@citizen_work
def appointment_cancel(request: HttpRequest, **kwargs) -> HttpResponse:
    raise NotImplementedError  # STUB: replaced by the helper who owns views/booking.py
