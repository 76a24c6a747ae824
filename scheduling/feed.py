"""The professional's calendar subscription (an iCalendar feed a calendar app fetches with a secret in
its URL) and what the feed holds.

The secret is shown once, when it is made; the database keeps only its SHA-256 (CalendarFeedToken), so
a copy of the database opens no one's feed. A calendar app cannot sign in, so the secret alone opens
the feed: it therefore carries only what a lost phone may show, the time, the kind, the place and a
link into the system (which asks for a login). Never the citizen's name, CPR number, address, the
purpose of the meeting or any health detail."""

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from icalendar import Calendar, Event

from healthcenter import access
from healthcenter.models import AccessAction, User
from patients import phones
from patients.models import DIABETES_CONDITIONS, ConditionGroup, EncounterKind, conditions_in_group

from .models import Appointment, AppointmentStatus, CalendarFeedToken, CourseSession, CourseStatus, Place

# The right-hand side of every event's UID (RFC 5545 asks for a domain): fixed, so that an event keeps
# its UID whatever host name the feed is fetched through.
UID_DOMAIN = "sundhedscenter.feed"

# The window the feed covers, around the moment it is fetched.
DAYS_BACK = 30
DAYS_AHEAD = 180

# What an appointment shows in the feed besides the kind: booked, held or missed; cancelled ones are
# sent as cancelled so that calendar apps take them away.
SHOWN_STATUSES = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.ATTENDED,
    AppointmentStatus.DID_NOT_ATTEND,
    AppointmentStatus.CANCELLED_BY_CITIZEN,
    AppointmentStatus.CANCELLED_BY_CENTRE,
)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- the token -------------------------------------------------------------------------------------------


def live_token(user: User) -> CalendarFeedToken | None:
    """The user's subscription in force, if any (for the subscription page)."""
    return CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).first()


@transaction.atomic
def feed_token_issue(*, actor: User) -> str:
    """A new subscription for the actor; the one they had stops working. Returns the secret, which is
    kept nowhere: the caller shows it once."""
    if not access.may(actor, access.Work.CITIZENS):
        raise PermissionDenied
    # The user's row is locked so that two clicks at once cannot both leave a live token (the
    # constraint one_live_feed_per_user would refuse the second with an error).
    User.objects.select_for_update().filter(pk=actor.pk).exists()
    now = timezone.now()
    CalendarFeedToken.objects.filter(user=actor, revoked_at__isnull=True).update(revoked_at=now)
    secret = secrets.token_urlsafe(32)
    CalendarFeedToken.objects.create(user=actor, digest=_digest(secret))
    access.record(actor=actor, action=AccessAction.CREATE, what=gettext_noop("calendar subscription created"))
    return secret


@transaction.atomic
def feed_token_revoke(*, actor: User) -> bool:
    """Ends the actor's subscription at once; False when there was none."""
    revoked = CalendarFeedToken.objects.filter(user=actor, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        access.record(actor=actor, action=AccessAction.UPDATE, what=gettext_noop("calendar subscription revoked"))
    return bool(revoked)


def user_for_feed_token(secret: str, *, now: datetime.datetime | None = None) -> User | None:
    """The person a live secret belongs to, or None (unknown, revoked, or a person who no longer works
    with citizens: the caller answers 404 alike). A use is recorded: the token's last use, and one
    access-log row for the person (the feed names no citizen).

    The secret is looked up by its digest; a guess at 256 random bits that matches a digest is not
    feasible, so the lookup's timing tells nothing worth a constant-time comparison."""
    if not secret or len(secret) > 100:
        return None
    token = (
        CalendarFeedToken.objects.select_related("user").filter(digest=_digest(secret), revoked_at__isnull=True).first()
    )
    if token is None or not access.may(token.user, access.Work.CITIZENS):
        return None
    # Revoked in between: the update finds nothing and the fetch is refused.
    if not CalendarFeedToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        last_used_at=now or timezone.now()
    ):
        return None
    access.record(actor=token.user, action=AccessAction.EXPORT, what=gettext_noop("calendar feed fetched"))
    return token.user


# --- the calendar ----------------------------------------------------------------------------------------


def _summary(kind: str) -> str:
    """The kind of meeting, as the calendar shows it: never more."""
    return {
        EncounterKind.INDIVIDUAL: _("Conversation"),
        EncounterKind.GROUP: _("Group teaching"),
        EncounterKind.HOME_VISIT: _("Home visit"),
        EncounterKind.PHONE: _("Phone call"),
        EncounterKind.VIDEO: _("Video call"),
    }.get(kind, _("Appointment"))


def _room_place(room) -> str:
    return f"{room.name}, {room.location}" if room.location else room.name


def _location(appointment: Appointment) -> str:
    """Where: the room, or "the citizen's home" for a home visit (never the address)."""
    if appointment.place == Place.ROOM and appointment.room is not None:
        return _room_place(appointment.room)
    if appointment.place == Place.HOME:
        return _("The citizen's home")
    return _("Video") if appointment.kind == EncounterKind.VIDEO else _("Phone")


def _event(*, uid: str, summary: str, location: str, link: str, starts_at, ends_at, cancelled: bool, sequence: int):
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", starts_at.astimezone(datetime.UTC))
    event.add("dtend", ends_at.astimezone(datetime.UTC))
    event.add("summary", summary)
    event.add("location", location)
    event.add("url", link)
    event.add("description", _("Details in the case system: %(link)s") % {"link": link})
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("sequence", sequence)
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return event


def calendar_for(user: User, *, base_url: str = "", now: datetime.datetime | None = None) -> bytes:
    """The user's feed: their appointments from DAYS_BACK days ago to DAYS_AHEAD days ahead and the
    course sessions they teach, as iCalendar bytes. `base_url` ("https://host") makes the links
    absolute. Two queries, however many events."""
    now = now or timezone.now()
    since, until = now - datetime.timedelta(days=DAYS_BACK), now + datetime.timedelta(days=DAYS_AHEAD)
    calendar = Calendar()
    calendar.add("prodid", "-//Sundhedscenter//Kalender//DA")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _("My appointments (health centre)"))
    calendar.add("x-wr-timezone", "Europe/Copenhagen")
    # How often a calendar app should fetch again (Outlook and Google read the X- form, RFC 7986 the other).
    calendar.add("x-published-ttl", "PT1H")
    calendar.add("refresh-interval", datetime.timedelta(hours=1), parameters={"VALUE": "DURATION"})

    # A course session's participants each have an appointment pointing at the session; the session
    # is one event of its own, below.
    appointments = (
        Appointment.objects.filter(
            professionals=user,
            session__isnull=True,
            starts_at__gte=since,
            starts_at__lt=until,
            status__in=SHOWN_STATUSES,
        )
        .select_related("room")
        .only("public_id", "kind", "starts_at", "ends_at", "place", "status", "version", "room__name", "room__location")
        .order_by("starts_at", "pk")
    )
    for appointment in appointments:
        calendar.add_component(
            _event(
                uid=f"appointment-{appointment.public_id}@{UID_DOMAIN}",
                summary=_summary(appointment.kind),
                location=_location(appointment),
                link=base_url + reverse("scheduling:appointment", args=[appointment.public_id]),
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                cancelled=appointment.is_cancelled,
                sequence=appointment.version,
            )
        )

    sessions = (
        CourseSession.objects.filter(course__professionals=user, starts_at__gte=since, starts_at__lt=until)
        .select_related("course__room")
        .only(
            "public_id",
            "starts_at",
            "ends_at",
            "cancelled",
            "version",
            "course__public_id",
            "course__status",
            "course__room__name",
            "course__room__location",
        )
        .order_by("starts_at", "pk")
    )
    for session in sessions:
        calendar.add_component(
            _event(
                uid=f"session-{session.public_id}@{UID_DOMAIN}",
                summary=_summary(EncounterKind.GROUP),
                location=_room_place(session.course.room),
                link=base_url + reverse("scheduling:course", args=[session.course.public_id]),
                starts_at=session.starts_at,
                ends_at=session.ends_at,
                cancelled=session.cancelled or session.course.status == CourseStatus.CANCELLED,
                sequence=session.version,
            )
        )
    return calendar.to_ical()


# --- the invitation letter -------------------------------------------------------------------------------


@dataclass
class Invitation:
    """What the letter to the citizen says, in Danish, worked out once so that the template only lays it out."""

    heading: str
    kind: str
    day: str
    time: str
    place: str
    place_detail: str
    people: list[str]
    bring: list[str]
    written_on: str
    # How the meeting takes place, for the letter's wording: "phone" or "video" (we call the citizen:
    # nobody comes, so "we look forward to seeing you" and "if you cannot come" would be wrong),
    # "home" (we come to them) or "meeting" (they come to us).
    mode: str = "meeting"


def _long_day(moment) -> str:
    return _("%(weekday)s the %(day)s") % {
        "weekday": formats.date_format(moment, "l"),
        "day": formats.date_format(moment, "j. F Y"),
    }


def _what_to_bring(appointment: Appointment, *, diabetes: bool, dementia: bool) -> list[str]:
    """A short, kind list: what helps every meeting, and what helps this kind of meeting."""
    if appointment.kind in (EncounterKind.PHONE, EncounterKind.VIDEO):
        bring = [_("Have your list of medicines close by when we call.")]
    elif appointment.kind == EncounterKind.HOME_VISIT:
        bring = [_("Have your medicines or your list of medicines ready.")]
    else:
        bring = [
            _("Your list of medicines, or the medicines themselves."),
            _("Glasses and hearing aid, if you use them."),
        ]
    if diabetes:
        bring.append(_("Your blood-sugar diary or your blood-sugar meter, if you have one."))
    if appointment.kind == EncounterKind.GROUP:
        bring.append(_("Something to write with. We have coffee, tea and water."))
    if dementia:
        bring.append(_("You are welcome to bring a relative or someone close to you."))
    return bring


def invitation_letter(appointment: Appointment, *, today: datetime.date) -> Invitation:
    """The letter's facts in Danish, whatever language the person printing it reads: the letter is
    for the citizen. For a course session's appointment, the place and the people are the session's."""
    with translation.override("da"):
        start, end = timezone.localtime(appointment.starts_at), timezone.localtime(appointment.ends_at)
        patient = appointment.patient
        course = appointment.session.course if appointment.session_id else None
        room = course.room if course else appointment.room
        people = course.professionals.all() if course else appointment.professionals.all()
        kinds = set(patient.conditions.values_list("kind", flat=True))
        if appointment.place == Place.HOME:
            town = f"{patient.postal_code} {patient.city}".strip()
            place, detail = _("At your home"), ", ".join(part for part in [patient.address, town] if part)
        elif room is not None:
            place, detail = room.name, room.location
        elif appointment.kind == EncounterKind.VIDEO:
            place, detail = _("By video"), _("We will send you a link to the video meeting.")
        else:
            place = _("We will call you")
            detail = _("on %(phone)s") % {"phone": phones.formatted(patient.phone)} if patient.phone else ""
        return Invitation(
            heading=_("Invitation to %(kind)s") % {"kind": _invited_to(appointment.kind)},
            kind=_summary(appointment.kind),
            day=_long_day(start),
            time=_("at %(start)s to %(end)s") % {"start": f"{start:%H.%M}", "end": f"{end:%H.%M}"},
            place=place,
            place_detail=detail,
            people=[
                f"{person.get_full_name()}, {person.get_profession_display().lower()}"
                if person.profession
                else person.get_full_name()
                for person in sorted(people, key=lambda p: (p.first_name, p.last_name))
            ],
            bring=_what_to_bring(
                appointment,
                diabetes=bool(kinds & {k.value for k in DIABETES_CONDITIONS}),
                dementia=bool(kinds & set(conditions_in_group(ConditionGroup.DEMENTIA))),
            ),
            written_on=formats.date_format(today, "j. F Y"),
            mode=_mode(appointment),
        )


def _mode(appointment: Appointment) -> str:
    if appointment.kind == EncounterKind.VIDEO:
        return "video"
    if appointment.kind == EncounterKind.PHONE or appointment.place == Place.REMOTE:
        return "phone"
    if appointment.kind == EncounterKind.HOME_VISIT or appointment.place == Place.HOME:
        return "home"
    return "meeting"


def _invited_to(kind: str) -> str:
    return {
        EncounterKind.INDIVIDUAL: _("a conversation"),
        EncounterKind.GROUP: _("group teaching"),
        EncounterKind.HOME_VISIT: _("a home visit"),
        EncounterKind.PHONE: _("a phone call"),
        EncounterKind.VIDEO: _("a video call"),
    }.get(kind, _("a meeting"))
