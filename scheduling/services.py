"""Every change to the calendar: booking, moving, cancelling and closing appointments (and, further
down, courses). Each service checks the actor's care relation, validates, keeps the reservations that
make a double booking impossible, and writes its access-log row; the change history is written by the
database triggers (patients.models.tracked)."""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from healthcenter import access
from healthcenter.models import AccessAction, User
from patients.models import Encounter, EncounterKind, Patient, PatientStatus
from patients.services import _bump_version, require_choice

from .models import (
    Appointment,
    AppointmentStatus,
    CourseSession,
    Place,
    Reservation,
    Room,
)

# The longest appointment the calendar takes (a home visit with travel); longer is a typing error.
LONGEST = datetime.timedelta(hours=8)
SHORTEST = datetime.timedelta(minutes=5)


@dataclass
class AppointmentData:
    kind: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    place: str
    professionals: list[User] = field(default_factory=list)
    room: Room | None = None
    purpose: str = ""


# --- reading the clock and the clashes -------------------------------------------------------------------


def _span(starts_at: datetime.datetime, ends_at: datetime.datetime) -> str:
    start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
    return _("%(day)s from %(start)s to %(end)s") % {
        "day": formats.date_format(start, "SHORT_DATE_FORMAT"),
        "start": formats.time_format(start, "H:i"),
        "end": formats.time_format(end, "H:i"),
    }


def _holder(reservation: Reservation) -> str:
    """What holds a reservation, in words that name no citizen (the clash may be another team's)."""
    if reservation.session_id:
        return _("the course %(course)s") % {"course": reservation.session.course.name}
    return _("an appointment")


def clash_messages(
    *,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    professionals: list[User],
    room: Room | None,
    ignoring_appointment: Appointment | None = None,
    ignoring_session: CourseSession | None = None,
) -> list[str]:
    """Who or what is already taken in the time asked for, as a person reads it: "Hanne Jensen already
    has an appointment on 12.12.2026 from 10:00 to 11:00". Empty when nothing clashes."""
    during = DateTimeTZRange(starts_at, ends_at)
    taken = Reservation.objects.filter(during__overlap=during).filter(
        Q(professional__in=[p.pk for p in professionals]) | (Q(room=room) if room else Q(pk__in=[]))
    )
    if ignoring_appointment is not None:
        taken = taken.exclude(appointment=ignoring_appointment)
    if ignoring_session is not None:
        taken = taken.exclude(session=ignoring_session)
    messages = []
    for reservation in taken.select_related("professional", "room", "session__course").order_by("during"):
        span = _span(reservation.during.lower, reservation.during.upper)
        if reservation.professional_id:
            messages.append(
                _("%(person)s already has %(what)s on %(span)s.")
                % {"person": reservation.professional.get_full_name(), "what": _holder(reservation), "span": span}
            )
        else:
            messages.append(
                _("The room %(room)s is taken by %(what)s on %(span)s.")
                % {"room": reservation.room.name, "what": _holder(reservation), "span": span}
            )
    return messages


def reserve(*, thing: Appointment | CourseSession, starts_at, ends_at, professionals: list[User], room: Room | None):
    """Writes the reservations; a clash found in between by someone else's booking is refused by the
    exclusion constraint and reported like any other clash."""
    during = DateTimeTZRange(starts_at, ends_at)
    owner = {"appointment": thing} if isinstance(thing, Appointment) else {"session": thing}
    rows = [Reservation(during=during, professional=p, **owner) for p in professionals]
    if room is not None:
        rows.append(Reservation(during=during, room=room, **owner))
    try:
        with transaction.atomic():
            Reservation.objects.bulk_create(rows)
    except IntegrityError as error:
        if "not_booked_twice" not in str(error):
            raise
        raise ValidationError(
            clash_messages(starts_at=starts_at, ends_at=ends_at, professionals=professionals, room=room)
            or [_("Someone else booked this time a moment ago. Choose another time.")],
            code="clash",
        ) from error


# --- appointments ----------------------------------------------------------------------------------------


def _validate(*, actor: User, patient: Patient, data: AppointmentData, today: datetime.date) -> None:
    if not access.may_work_on(actor, access.Work.CITIZENS, patient.team_id):
        raise ValidationError(_("Only the citizen's care team can book their appointments."))
    if patient.status != PatientStatus.ACTIVE:
        raise ValidationError(_("The citizen is no longer followed by the centre; no new appointments can be booked."))
    require_choice(data.kind, EncounterKind, field="kind")
    require_choice(data.place, Place, field="place")
    errors: dict[str, list[str]] = {}
    for name, message in [*_time_errors(data, today), *_people_errors(patient, data), *_place_errors(data)]:
        errors.setdefault(name, []).append(message)
    if errors:
        raise ValidationError(errors)


def _time_errors(data: AppointmentData, today: datetime.date) -> list[tuple[str, str]]:
    if data.ends_at <= data.starts_at:
        return [("ends_at", _("The end must be after the start."))]
    errors = []
    if not SHORTEST <= data.ends_at - data.starts_at <= LONGEST:
        errors.append(("ends_at", _("An appointment lasts from 5 minutes to 8 hours.")))
    if timezone.localdate(data.starts_at) < today:
        errors.append(("starts_at", _("An appointment cannot be booked on a day that has passed.")))
    return errors


def _people_errors(patient: Patient, data: AppointmentData) -> list[tuple[str, str]]:
    if not data.professionals:
        return [("professionals", _("Choose at least one professional."))]
    strangers = [p for p in data.professionals if not access.may_work_on(p, access.Work.CITIZENS, patient.team_id)]
    if strangers:
        names = ", ".join(p.get_full_name() for p in strangers)
        return [("professionals", _("%(names)s is not in the citizen's care team.") % {"names": names})]
    return []


def _place_errors(data: AppointmentData) -> list[tuple[str, str]]:
    errors = []
    if data.kind == EncounterKind.GROUP:
        errors.append(("kind", _("Group sessions are booked as courses.")))
    if data.place == Place.ROOM and data.room is None:
        errors.append(("room", _("Choose the room.")))
    if data.place == Place.ROOM and data.room is not None and not data.room.is_active:
        errors.append(("room", _("This room is no longer in use.")))
    if data.kind == EncounterKind.HOME_VISIT and data.place != Place.HOME:
        errors.append(("place", _("A home visit takes place in the citizen's home.")))
    if data.kind in (EncounterKind.PHONE, EncounterKind.VIDEO) and data.place != Place.REMOTE:
        errors.append(("place", _("A phone or video call takes place by phone or video.")))
    if data.place == Place.REMOTE and data.kind not in (EncounterKind.PHONE, EncounterKind.VIDEO):
        errors.append(("place", _("Only a phone or video call takes place by phone or video.")))
    if len(data.purpose) > 200:
        errors.append(("purpose", _("Keep the purpose under 200 characters.")))
    return errors


def _room(data: AppointmentData) -> Room | None:
    return data.room if data.place == Place.ROOM else None


def _log(actor: User, appointment: Appointment, what: str) -> None:
    access.record(actor=actor, action=AccessAction.UPDATE, what=what, patient_public_id=appointment.patient.public_id)


@transaction.atomic
def appointment_book(
    *, actor: User, patient: Patient, data: AppointmentData, today: datetime.date | None = None
) -> Appointment:
    """Books an appointment; refuses, naming the clash, when a professional or the room is taken.
    `today` is the booking's own day (the demo books its history on the days it happened); a day
    before it cannot be booked."""
    _validate(actor=actor, patient=patient, data=data, today=today or timezone.localdate())
    room = _room(data)
    clashes = clash_messages(
        starts_at=data.starts_at, ends_at=data.ends_at, professionals=data.professionals, room=room
    )
    if clashes:
        raise ValidationError(clashes, code="clash")
    appointment = Appointment.objects.create(
        patient=patient,
        kind=data.kind,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        place=data.place,
        room=room,
        purpose=data.purpose.strip(),
        booked_by=actor,
        booked_at=timezone.now() if today is None else _start_of(today),
    )
    appointment.professionals.set(data.professionals)
    reserve(
        thing=appointment,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        professionals=data.professionals,
        room=room,
    )
    _log(actor, appointment, gettext_noop("appointment booked"))
    return appointment


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(8)))


def _ensure_booked(appointment: Appointment) -> None:
    if appointment.status != AppointmentStatus.BOOKED:
        raise ValidationError(
            _("This appointment is already %(status)s.") % {"status": appointment.get_status_display().lower()},
            code="closed",
        )


@transaction.atomic
def appointment_reschedule(
    *, actor: User, appointment: Appointment, expected_version: int, data: AppointmentData
) -> Appointment:
    """Moves a booked appointment (time, place, room, professionals, purpose); its reservations move
    with it, or nothing changes when the new time clashes."""
    if appointment.session_id:
        raise ValidationError(_("A course session's appointments move with the session."))
    _ensure_booked(appointment)
    _validate(actor=actor, patient=appointment.patient, data=data, today=timezone.localdate())
    room = _room(data)
    clashes = clash_messages(
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        professionals=data.professionals,
        room=room,
        ignoring_appointment=appointment,
    )
    if clashes:
        raise ValidationError(clashes, code="clash")
    _bump_version(
        Appointment,
        appointment,
        expected_version,
        kind=data.kind,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        place=data.place,
        room=room,
        purpose=data.purpose.strip(),
    )
    appointment.professionals.set(data.professionals)
    appointment.reservations.all().delete()
    reserve(
        thing=appointment, starts_at=data.starts_at, ends_at=data.ends_at, professionals=data.professionals, room=room
    )
    _log(actor, appointment, gettext_noop("appointment moved"))
    return appointment


def _ensure_care_team(actor: User, appointment: Appointment) -> None:
    if not access.may_work_on(actor, access.Work.CITIZENS, appointment.patient.team_id):
        raise ValidationError(_("Only the citizen's care team can change their appointments."))


@transaction.atomic
def appointment_cancel(
    *,
    actor: User,
    appointment: Appointment,
    expected_version: int,
    by_citizen: bool,
    reason: str,
    now: datetime.datetime | None = None,
) -> Appointment:
    """Cancels a booked appointment, by the citizen or by the centre, with the reason; the
    professionals and the room are free again."""
    _ensure_care_team(actor, appointment)
    _ensure_booked(appointment)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the appointment is cancelled.")})
    status = AppointmentStatus.CANCELLED_BY_CITIZEN if by_citizen else AppointmentStatus.CANCELLED_BY_CENTRE
    _bump_version(
        Appointment,
        appointment,
        expected_version,
        status=status,
        cancel_reason=reason.strip(),
        status_changed_at=now or timezone.now(),
    )
    appointment.reservations.all().delete()
    _log(actor, appointment, gettext_noop("appointment cancelled"))
    return appointment


@transaction.atomic
def appointment_did_not_attend(
    *, actor: User, appointment: Appointment, expected_version: int, now: datetime.datetime | None = None
) -> Appointment:
    """The citizen did not come. Only once the appointment has begun; the time stays reserved (it was
    spent waiting). `now` is the moment it is recorded (the demo records its history as it happened)."""
    _ensure_care_team(actor, appointment)
    _ensure_booked(appointment)
    now = now or timezone.now()
    if appointment.starts_at > now:
        raise ValidationError(_("An appointment that has not begun cannot be missed yet."))
    _bump_version(
        Appointment, appointment, expected_version, status=AppointmentStatus.DID_NOT_ATTEND, status_changed_at=now
    )
    _log(actor, appointment, gettext_noop("appointment marked as not attended"))
    return appointment


@transaction.atomic
def appointment_link_encounter(*, actor: User, appointment: Appointment, encounter: Encounter) -> Appointment:
    """The encounter logged from this appointment (a draft, or signed: then `appointment_attended`
    follows in the same transaction)."""
    _ensure_care_team(actor, appointment)
    if encounter.patient_id != appointment.patient_id:
        raise ValidationError(_("The encounter is about another citizen than the appointment."))
    if appointment.encounter_id not in (None, encounter.pk):
        raise ValidationError(_("An encounter has already been logged from this appointment."), code="logged")
    if appointment.is_cancelled:
        raise ValidationError(_("This appointment was cancelled."), code="closed")
    if appointment.session_id:
        # The register writes the group encounter; a draft logged here would be one it cannot amend.
        raise ValidationError(_("Attendance at a course session is taken in its register."), code="session")
    Appointment.objects.filter(pk=appointment.pk).update(encounter=encounter, version=F("version") + 1)
    appointment.encounter = encounter
    appointment.version += 1
    return appointment


@transaction.atomic
def appointment_attended(*, actor: User, encounter: Encounter) -> Appointment | None:
    """Called when an encounter is signed: the appointment it was logged from (if any) is attended.
    A no-show that was marked too early becomes attended too, since the encounter proves the meeting.
    A cancelled appointment stays cancelled: its time was given back (and the citizen may have left the
    centre), so the encounter is a meeting of its own, not this one."""
    appointment = Appointment.objects.select_for_update().filter(encounter=encounter).first()
    if appointment is None or appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.DID_NOT_ATTEND):
        return appointment
    Appointment.objects.filter(pk=appointment.pk).update(
        status=AppointmentStatus.ATTENDED,
        status_changed_at=encounter.signed_at or timezone.now(),
        version=F("version") + 1,
    )
    appointment.refresh_from_db()
    _log(actor, appointment, gettext_noop("appointment attended"))
    return appointment
