import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcenter.models import Team
from patients.models import AgreedAction, Enrolment, Patient, Programme
from scheduling.models import Appointment, AppointmentStatus


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = [TaskStatus.OPEN, TaskStatus.IN_PROGRESS]


class TaskPriority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class TaskOrigin(models.TextChoices):
    AGREED_ACTION = "agreed_action", _("Agreed at an encounter")
    REFERRAL = "referral", _("Referral")
    RULE = "rule", _("Care-gap rule")
    PROGRAMME = "programme", _("Programme plan")
    MANUAL = "manual", _("By hand")


class Task(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="tasks", verbose_name=_("citizen")
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="tasks", verbose_name=_("team"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_tasks",
        verbose_name=_("assignee"),
    )
    due_on = models.DateField(_("due"))
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    status = models.CharField(_("status"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    origin = models.CharField(_("origin"), max_length=15, choices=TaskOrigin.choices, default=TaskOrigin.MANUAL)
    agreed_action = models.OneToOneField(
        AgreedAction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="task",
        verbose_name=_("agreed action"),
    )
    referral = models.ForeignKey(
        "Referral", on_delete=models.PROTECT, null=True, blank=True, related_name="tasks", verbose_name=_("referral")
    )
    recurrence_months = models.PositiveSmallIntegerField(
        _("repeat every (months)"), null=True, blank=True, help_text=_("Leave empty for a one-off task")
    )
    # Empty for tasks the care-gap rules opened.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("created by")
    )
    # Set by the task service: now, or the moment the demo's replayed history says.
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            # "My tasks": a professional's open tasks by due date.
            models.Index(fields=["assignee", "status", "due_on"], name="task_assignee_status_due"),
            # The team board and the overdue count: a team's tasks by status and due date.
            models.Index(fields=["team", "status", "due_on"], name="task_team_status_due"),
            # Open tasks about one citizen, on the patient page and the briefing.
            models.Index(fields=["patient", "status"], name="task_patient_status"),
            # The worklist's overdue tasks per citizen (an index-only count for each of a team's
            # citizens) and the open tasks of a team's citizens on the board and the workload.
            models.Index(
                fields=["patient", "due_on"],
                condition=Q(status__in=["open", "in_progress"]),
                name="task_open_by_patient_due",
            ),
            # The board's "done in the last 7 days": a range of completion times, not every done task.
            models.Index(fields=["completed_at"], condition=Q(status="done"), name="task_done_by_completion"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="done", completed_at__isnull=False)
                | (~Q(status="done") & Q(completed_at__isnull=True)),
                name="task_completed_when_done",
            ),
            models.CheckConstraint(
                condition=~Q(origin="agreed_action") | Q(agreed_action__isnull=False),
                name="task_from_action_has_action",
            ),
            models.CheckConstraint(
                condition=Q(recurrence_months__isnull=True) | Q(recurrence_months__gte=1, recurrence_months__lte=24),
                name="task_recurrence_range",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ActionPlan(models.Model):
    """Who is to do one agreed action, and by when, as planned at the encounter. A draft is not the
    record, so its actions are not tasks yet: the plan waits with the draft and becomes the task
    when the encounter is signed (coordination.services.tasks_from_action_plans)."""

    agreed_action = models.OneToOneField(
        AgreedAction, on_delete=models.CASCADE, related_name="plan", verbose_name=_("agreed action")
    )
    # Empty: the task goes to nobody yet, for the coordinator to hand out.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    due_on = models.DateField(_("due"))

    class Meta:
        verbose_name = _("planned task")
        verbose_name_plural = _("planned tasks")

    def __str__(self):
        return f"{self.agreed_action_id} {self.due_on}"


class TaskTransition(models.Model):
    """Every change of a task's status or assignee: who, when, from, to. Time in state and
    hand-offs are measured from these rows."""

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="transitions")
    at = models.DateTimeField(default=timezone.now, editable=False)
    # Empty when the care-gap rules closed the task themselves.
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    from_status = models.CharField(max_length=12, choices=TaskStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=TaskStatus.choices)
    from_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            # A task's history on its page, in time order.
            models.Index(fields=["task", "at"], name="transition_task_at"),
            # The board's "cancelled in the last 7 days": the cancelling transitions since a time.
            models.Index(fields=["to_status", "at"], name="transition_to_status_at"),
        ]

    def __str__(self):
        return f"{self.from_status} -> {self.to_status}"


class TaskComment(models.Model):
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.text[:60]


class ReferralSource(models.TextChoices):
    GP = "gp", _("General practitioner")
    HOSPITAL = "hospital", _("Hospital")
    SELF = "self", _("The citizen")
    RELATIVE = "relative", _("A relative")
    # A registration by another team of a citizen this team follows (coordination.services.citizen_register).
    CENTRE = "centre", _("Another team in the centre")


class ReferralStatus(models.TextChoices):
    RECEIVED = "received", _("Awaiting triage")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class Referral(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("citizen"))
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("team"))
    source = models.CharField(_("from"), max_length=10, choices=ReferralSource.choices)
    reason = models.TextField(_("reason"))
    received_on = models.DateField(_("received"))
    attachments = models.TextField(
        _("attachments"), blank=True, help_text=_("Text of letters or notes that came with it")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.RECEIVED
    )
    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("programme")
    )
    enrolment = models.OneToOneField(
        Enrolment, on_delete=models.PROTECT, null=True, blank=True, related_name="referral", verbose_name=_("enrolment")
    )
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    # The citizen was not known before: registered from this referral's own data.
    new_citizen = models.BooleanField(_("registered with this referral"), default=False)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        indexes = [
            # The coordinator's triage list: a team's referrals awaiting a decision, oldest first.
            models.Index(fields=["team", "status", "received_on"], name="referral_team_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(enrolment__isnull=False), name="accepted_referral_has_enrolment"
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""), name="declined_referral_has_reason"
            ),
        ]

    def __str__(self):
        return f"{self.get_source_display()} {self.received_on}"


class HandoverNote(models.Model):
    """A short message between professionals about a citizen; part of the record."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="handovers")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("message"), max_length=1000)
    # Who the note is for: named people, or everyone in the citizen's team when it was written
    # (kept as the team, so the note says so).
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="handovers_received", verbose_name=_("for")
    )
    to_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("for the whole team")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("handover note")
        verbose_name_plural = _("handover notes")
        indexes = [
            # The patient page: a citizen's latest handover notes.
            models.Index(fields=["patient", "-created_at"], name="handover_patient_time"),
        ]

    def __str__(self):
        return self.text[:60]


class HandoverAcknowledgement(models.Model):
    note = models.ForeignKey(HandoverNote, on_delete=models.PROTECT, related_name="acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["note", "user"], name="acknowledged_once")]

    def __str__(self):
        return f"{self.user_id} {self.note_id}"


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned to you")
    COMMENT = "comment", _("Comment on your task")
    HANDOVER = "handover", _("Handover note for you")


class Notification(models.Model):
    """What is new for one professional since they last looked."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=10, choices=NotificationKind.choices)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    handover = models.ForeignKey(HandoverNote, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # Empty when the care-gap rules acted (a task they opened for the responsible professional).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The unread badge: a user's unseen notifications.
            models.Index(fields=["user", "seen_at", "-created_at"], name="notification_user_unseen"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(task__isnull=False) | Q(handover__isnull=False), name="notification_has_subject"
            ),
        ]

    def __str__(self):
        return f"{self.kind} for {self.user_id}"


class ProgrammeTask(models.Model):
    """Reference data: the tasks a programme plans for each citizen who is accepted into it
    (e.g. a follow-up call every 3 months)."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="planned_tasks")
    title_da = models.CharField(_("title (Danish)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    days_after_start = models.PositiveSmallIntegerField(_("due days after start"))
    recurrence_months = models.PositiveSmallIntegerField(_("repeat every (months)"), null=True, blank=True)

    class Meta:
        ordering = ["programme", "days_after_start"]
        verbose_name = _("planned programme task")
        verbose_name_plural = _("planned programme tasks")

    def __str__(self):
        return self.title_da


class CareGapCheck(models.TextChoices):
    MEASUREMENT_DUE = "measurement_due", _("Measurement older than the interval, or never made")
    CAREGIVER_CONTACT_DUE = "caregiver_due", _("No contact with the primary caregiver within the interval")
    ENCOUNTER_DUE = "encounter_due", _("No encounter within the interval during an active enrolment")
    RISING = "rising", _("Rising by the threshold or more across the last two measurements")
    FALLING = "falling", _("Falling by the threshold or more across the last two measurements")


class CareGapRule(models.Model):
    """A care-gap rule as data. The same rules drive the worklist, the tasks the job opens and the
    indicators that count them, so the professional's list and the manager's figures agree."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_da = models.CharField(_("name (Danish)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    condition_group = models.CharField(_("target group"), max_length=10, blank=True, help_text=_("Empty: everyone"))
    check_kind = models.CharField(_("check"), max_length=20, choices=CareGapCheck.choices)
    measurement_code = models.SlugField(_("measurement"), max_length=30, blank=True)
    interval_months = models.PositiveSmallIntegerField(_("interval (months)"), null=True, blank=True)
    interval_weeks = models.PositiveSmallIntegerField(_("interval (weeks)"), null=True, blank=True)
    threshold = models.DecimalField(_("threshold"), max_digits=6, decimal_places=2, null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("care-gap rule")
        verbose_name_plural = _("care-gap rules")
        constraints = [
            models.CheckConstraint(
                condition=~Q(check_kind__in=["measurement_due", "caregiver_due", "encounter_due"])
                | Q(interval_months__isnull=False)
                | Q(interval_weeks__isnull=False),
                name="gap_rule_due_has_interval",
            ),
            models.CheckConstraint(
                condition=~Q(check_kind__in=["rising", "falling"]) | Q(threshold__isnull=False),
                name="gap_rule_trend_has_threshold",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        from django.utils import translation

        return self.name_en if translation.get_language() == "en" else self.name_da


class CareGap(models.Model):
    """One citizen failing one rule, from when the job saw it until the gap was filled."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_gaps")
    rule = models.ForeignKey(CareGapRule, on_delete=models.PROTECT, related_name="gaps")
    opened_at = models.DateTimeField(default=timezone.now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    task = models.OneToOneField(Task, on_delete=models.PROTECT, null=True, blank=True, related_name="care_gap")
    # The appointment booked to fill the gap, from the gap's own "Book" button
    # (services.care_gap_book). Only this link makes a gap "booked": another appointment of the
    # citizen's may be about something else. A cancelled or missed one leaves the link in place and
    # the gap missing again (`booked_on`); an appointment removed altogether leaves no link.
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("appointment")
    )

    class Meta:
        indexes = [
            # The worklist and the briefing: a citizen's open gaps.
            models.Index(fields=["patient", "closed_at"], name="caregap_patient_open"),
        ]
        constraints = [
            # Running the job twice opens nothing twice.
            models.UniqueConstraint(
                fields=["patient", "rule"], condition=Q(closed_at__isnull=True), name="one_open_gap_per_rule"
            ),
        ]

    def __str__(self):
        return f"{self.rule.code} {self.patient_id}"

    def booked_on(self, today: datetime.date) -> datetime.date | None:
        """The day of the appointment booked for the gap, while it is still to come: booked (not
        cancelled, missed or attended) and on `today` or later. None: the gap shows as missing.
        Reads `appointment`, so a list selects it with the gap."""
        appointment = self.appointment if self.appointment_id else None
        if appointment is None or appointment.status != AppointmentStatus.BOOKED:
            return None
        day = timezone.localdate(appointment.starts_at)
        return day if day >= today else None


class CareGapReview(models.Model):
    """When the care-gap rules last looked at a citizen, and the first day on which their answer can
    change without anything being recorded (an interval running out, an enrolment starting or
    ending). The job re-evaluates only citizens whose day has come, whose data changed since
    (CareGapChange), or who were reviewed under other rules."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, primary_key=True, related_name="+")
    reviewed_on = models.DateField()
    # Null: only a change to the citizen's data can change the answer.
    recheck_on = models.DateField(null=True)
    # The fingerprint of the rules, programmes and measurement codes the answer came from.
    rules = models.CharField(max_length=32)

    class Meta:
        indexes = [
            # The daily job: the citizens whose recheck day has come.
            models.Index(fields=["recheck_on"], name="caregapreview_recheck_due"),
            # The job: the citizens reviewed under rules that have changed since (rules below or above now).
            models.Index(fields=["rules"], name="caregapreview_rules"),
        ]

    def __str__(self):
        return f"{self.patient_id} {self.recheck_on}"


class CareGapChange(models.Model):
    """A change to data the care-gap rules read (measurements, encounters, conditions, enrolments,
    relatives), written by database triggers so that the admin, bulk updates and raw SQL count as
    well as the services. The job consumes them; no foreign key, so that writing one never waits
    for a lock on the citizen's row."""

    patient_id = models.BigIntegerField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The job: the changes of one batch of citizens.
            models.Index(fields=["patient_id"], name="caregapchange_patient"),
        ]

    def __str__(self):
        return f"{self.patient_id} {self.at}"
