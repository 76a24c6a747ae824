"""What is planned: appointments with a citizen, the rooms they take, and group courses with their
sessions, participants and waiting list.

A professional or a room is never in two places at once. PostgreSQL itself refuses it: every
appointment and every course session holds a `Reservation` per professional and per room it takes,
and two exclusion constraints (btree_gist) forbid overlapping reservations of one professional or one
room. A cancelled appointment gives its reservations back."""

import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcenter.models import Team
from patients.models import Encounter, EncounterKind, Patient, Programme, tracked


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    ATTENDED = "attended", _("Attended")
    DID_NOT_ATTEND = "did_not_attend", _("Did not attend")
    CANCELLED_BY_CITIZEN = "cancelled_citizen", _("Cancelled by the citizen")
    CANCELLED_BY_CENTRE = "cancelled_centre", _("Cancelled by the centre")


CANCELLED_STATUSES = (AppointmentStatus.CANCELLED_BY_CITIZEN, AppointmentStatus.CANCELLED_BY_CENTRE)
# OPS-NO-SHOW's denominator: appointments held or missed (DESIGN.md); cancellations are left out.
HELD_OR_MISSED = (AppointmentStatus.ATTENDED, AppointmentStatus.DID_NOT_ATTEND)


class Place(models.TextChoices):
    ROOM = "room", _("A room at the centre")
    HOME = "home", _("The citizen's home")
    REMOTE = "remote", _("By phone or video")


class Room(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100, unique=True)
    location = models.CharField(_("where"), max_length=200, blank=True, help_text=_("e.g. 1st floor, Sundhedshuset"))
    capacity = models.PositiveSmallIntegerField(_("seats"), default=2)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")

    def __str__(self):
        return self.name


class Holiday(models.Model):
    """A day the centre is closed; course sessions generated from a weekly template skip it."""

    day = models.DateField(_("day"), unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["day"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")

    def __str__(self):
        return f"{self.day} {self.name}"


class CourseStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    CANCELLED = "cancelled", _("Cancelled")


@tracked
class Course(models.Model):
    """A cohort of a programme (e.g. "Diabetesskole, forår 2027"): sessions from a weekly template, a
    room, the professionals who teach it and a limit on participants."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+", verbose_name=_("programme"))
    # OPS-COURSE-COMPLETION's unit: the course's own team.
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="courses", verbose_name=_("team"))
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="courses", verbose_name=_("room"))
    professionals = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="courses_taught", verbose_name=_("professionals")
    )
    capacity = models.PositiveSmallIntegerField(_("places"), default=12)
    # The weekly template the sessions were generated from (kept to show and to extend it).
    weekday = models.PositiveSmallIntegerField(_("weekday"), help_text=_("0 is Monday"))
    starts_at = models.TimeField(_("from"))
    ends_at = models.TimeField(_("to"))
    first_day = models.DateField(_("first session on or after"))
    session_count = models.PositiveSmallIntegerField(_("number of sessions"))
    status = models.CharField(_("status"), max_length=10, choices=CourseStatus.choices, default=CourseStatus.PLANNED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["first_day", "name"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="course_weekday_is_a_weekday"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="course_ends_after_start"),
            models.CheckConstraint(condition=Q(session_count__gte=1), name="course_has_sessions"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="course_has_places"),
        ]

    def __str__(self):
        return self.name


@tracked
class CourseSession(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    number = models.PositiveSmallIntegerField(_("session"))
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("to"))
    # A cancelled session is not held: it does not count among the sessions a participant had to attend.
    cancelled = models.BooleanField(_("cancelled"), default=False)
    cancel_reason = models.TextField(_("why it was cancelled"), blank=True)
    # The session's shared note, copied into each attendee's group encounter when the register is taken.
    note = models.TextField(_("session note"), blank=True)
    registered_at = models.DateTimeField(_("attendance registered"), null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["course", "number"]
        verbose_name = _("course session")
        verbose_name_plural = _("course sessions")
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="one_session_per_number"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"),
            models.CheckConstraint(
                condition=Q(cancelled=False) | ~Q(cancel_reason=""), name="session_cancel_has_reason"
            ),
        ]
        indexes = [
            # My day and the week views: the sessions in a range of days.
            models.Index(fields=["starts_at"], name="session_starts"),
        ]

    def __str__(self):
        return f"{self.course} {self.number}"


class ParticipantStatus(models.TextChoices):
    ENROLLED = "enrolled", _("Participating")
    COMPLETED = "completed", _("Completed")
    NOT_COMPLETED = "not_completed", _("Attended too few sessions")
    DROPPED_OUT = "dropped_out", _("Dropped out")


@tracked
class CourseParticipant(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="participants")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="course_places")
    status = models.CharField(
        _("status"), max_length=15, choices=ParticipantStatus.choices, default=ParticipantStatus.ENROLLED
    )
    joined_on = models.DateField(_("joined"))
    dropped_out_on = models.DateField(_("dropped out on"), null=True, blank=True)
    dropout_reason = models.TextField(_("reason for dropping out"), blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("course participant")
        verbose_name_plural = _("course participants")
        constraints = [
            models.UniqueConstraint(fields=["course", "patient"], name="one_place_per_citizen_per_course"),
            models.CheckConstraint(
                condition=~Q(status="dropped_out") | (Q(dropped_out_on__isnull=False) & ~Q(dropout_reason="")),
                name="dropout_has_day_and_reason",
            ),
        ]
        indexes = [
            # The patient page: a citizen's courses.
            models.Index(fields=["patient"], name="participant_patient"),
        ]

    def __str__(self):
        return f"{self.course} {self.patient_id}"


@tracked
class WaitingListEntry(models.Model):
    """A citizen waiting for a place on the next cohort of a programme's course, because the course
    they wanted was full."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="course_waits")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+", verbose_name=_("programme"))
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+", verbose_name=_("team"))
    # The full course the citizen asked for.
    wanted = models.ForeignKey(Course, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    added_on = models.DateField(_("on the list since"))
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Filled when the citizen got a place (or left the list).
    placed_in = models.ForeignKey(Course, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    closed_on = models.DateField(_("left the list on"), null=True, blank=True)

    class Meta:
        ordering = ["added_on", "id"]
        verbose_name = _("waiting-list entry")
        verbose_name_plural = _("waiting list")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "programme"], condition=Q(closed_on__isnull=True), name="one_open_wait_per_programme"
            ),
        ]
        indexes = [
            # The course page: who waits for the next cohort of this programme in this team, first come first.
            models.Index(
                fields=["team", "programme", "added_on"], condition=Q(closed_on__isnull=True), name="wait_open"
            ),
        ]

    def __str__(self):
        return f"{self.programme_id} {self.patient_id}"


@tracked
class Appointment(models.Model):
    """A planned meeting with one citizen. A group session's participants each have one, pointing at
    the session (which holds the room and the professionals), so that attendance and no-shows are
    counted the same way for every kind."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments", db_index=False)
    professionals = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="appointments", verbose_name=_("professionals")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=EncounterKind.choices)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("to"))
    place = models.CharField(_("place"), max_length=6, choices=Place.choices)
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments", verbose_name=_("room")
    )
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    cancel_reason = models.TextField(_("reason"), blank=True)
    session = models.ForeignKey(
        CourseSession, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    # The encounter logged from this appointment; signing it marks the appointment attended.
    encounter = models.OneToOneField(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="appointment"
    )
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    booked_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        indexes = [
            # The patient page, the worklist's next appointment and the care gaps' "booked": a citizen's
            # appointments by time.
            models.Index(fields=["patient", "starts_at"], name="appointment_patient_time"),
            # OPS-NO-SHOW: the appointments of a month, by status.
            models.Index(fields=["starts_at", "status"], name="appointment_month_status"),
            # The register: a session's participants.
            models.Index(fields=["session"], condition=Q(session__isnull=False), name="appointment_session"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"),
            models.CheckConstraint(
                condition=~Q(place="room") | Q(room__isnull=False), name="appointment_in_a_room_names_it"
            ),
            models.CheckConstraint(
                condition=Q(place="room") | Q(room__isnull=True), name="appointment_room_only_in_room"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["cancelled_citizen", "cancelled_centre"]) | ~Q(cancel_reason=""),
                name="cancellation_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(session__isnull=True) | Q(kind="group"), name="session_appointment_is_group"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_cancelled(self) -> bool:
        return self.status in CANCELLED_STATUSES


class Reservation(models.Model):
    """The time a professional or a room is taken by an appointment or a course session. Written only
    by the scheduling services, with the appointment or session; the exclusion constraints make a
    double booking impossible whoever writes."""

    during = DateTimeRangeField()
    professional = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    room = models.ForeignKey(Room, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, null=True, blank=True, related_name="reservations"
    )
    session = models.ForeignKey(
        CourseSession, on_delete=models.CASCADE, null=True, blank=True, related_name="reservations"
    )

    class Meta:
        constraints = [
            ExclusionConstraint(
                name="professional_not_booked_twice",
                expressions=[("professional", RangeOperators.EQUAL), ("during", RangeOperators.OVERLAPS)],
                condition=Q(professional__isnull=False),
            ),
            ExclusionConstraint(
                name="room_not_booked_twice",
                expressions=[("room", RangeOperators.EQUAL), ("during", RangeOperators.OVERLAPS)],
                condition=Q(room__isnull=False),
            ),
            models.CheckConstraint(
                condition=Q(professional__isnull=True) ^ Q(room__isnull=True), name="reservation_of_one_resource"
            ),
            models.CheckConstraint(
                condition=Q(appointment__isnull=True) ^ Q(session__isnull=True), name="reservation_for_one_thing"
            ),
        ]
        indexes = [
            models.Index(fields=["appointment"], name="reservation_appointment"),
            models.Index(fields=["session"], name="reservation_session"),
        ]

    def __str__(self):
        return f"{self.professional_id or self.room_id} {self.during}"


class CalendarFeedToken(models.Model):
    """A professional's personal iCalendar subscription. Only the SHA-256 of the secret is kept; the
    URL holding the secret is shown once. Revoking it ends every subscription made with it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar subscription")
        verbose_name_plural = _("calendar subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="one_live_feed_per_user"
            )
        ]

    def __str__(self):
        return f"{self.user_id} {self.created_at:%Y-%m-%d}"
