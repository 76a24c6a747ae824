import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

SMALL_CELL = 5


class IndicatorKind(models.TextChoices):
    SHARE = "share", _("Share of citizens")
    MEDIAN_DAYS = "median_days", _("Median days")
    COUNT = "count", _("Count")


class TargetDirection(models.TextChoices):
    AT_LEAST = "gte", "≥"
    ABOVE = "gt", ">"
    BELOW = "lt", "<"
    AT_MOST = "lte", "≤"


class Indicator(models.Model):
    """A quality indicator's definition (reference data, see DESIGN.md). The computation for each
    code lives in reporting/rollups.py; this row holds what managers read and the target."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name_da = models.CharField(_("name (Danish)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=IndicatorKind.choices, default=IndicatorKind.SHARE)
    condition_group = models.CharField(_("target group"), max_length=10, blank=True)
    target = models.DecimalField(_("target"), max_digits=6, decimal_places=2)
    direction = models.CharField(_("target direction"), max_length=3, choices=TargetDirection.choices)
    source = models.CharField(_("source"), max_length=100, blank=True)
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["display_order", "code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def name(self) -> str:
        return self.name_en if translation.get_language() == "en" else self.name_da

    def meets_target(self, value) -> bool | None:
        if value is None:
            return None
        return {
            TargetDirection.AT_LEAST: value >= self.target,
            TargetDirection.ABOVE: value > self.target,
            TargetDirection.BELOW: value < self.target,
            TargetDirection.AT_MOST: value <= self.target,
        }[self.direction]


class UnitKind(models.TextChoices):
    CENTRE = "centre", _("Centre")
    PROGRAMME = "programme", _("Programme")
    TEAM = "team", _("Team")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class RunKind(models.TextChoices):
    INCREMENTAL = "incremental", _("Changed months")
    FULL = "full", _("Full recomputation, compared with the stored rows")
    RANGE = "range", _("Chosen months")


class RollupRun(models.Model):
    """One computation of the monthly rollups: when, what, how it ended. A full recomputation
    also records how many stored cells it found different (there should be none)."""

    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    kind = models.CharField(_("kind"), max_length=12, choices=RunKind.choices, default=RunKind.RANGE)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    first_month = models.DateField(_("first month"))
    last_month = models.DateField(_("last month"))
    rows = models.PositiveIntegerField(_("rows"), default=0)
    differences = models.PositiveIntegerField(_("differences from the stored rows"), default=0)
    difference_detail = models.TextField(_("the differences"), blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("rollup run")
        verbose_name_plural = _("rollup runs")

    def __str__(self):
        return f"{self.first_month:%m.%Y}–{self.last_month:%m.%Y} {self.get_status_display()}"


class StaleDay(models.Model):
    """A change to a source of the figures: from `from_day` on, months may have changed. Database
    triggers on every source table write these rows (see the migrations that install them), so
    bulk updates and raw SQL mark months stale too; the incremental run consumes them. `patient`
    names the citizen whose facts changed (none: a change that is nobody's own, such as a task's or
    a programme's), so that the run recomputes only that citizen's facts."""

    from_day = models.DateField()
    source = models.CharField(max_length=40)
    patient_id = models.IntegerField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.source} {self.from_day}"


class IndicatorValue(models.Model):
    """A typed rollup row: one indicator for one month and one unit, written by upsert on its key."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="values")
    month = models.DateField(help_text="First day of the month; the value is as of its last day.")
    unit_kind = models.CharField(max_length=10, choices=UnitKind.choices)
    unit_id = models.PositiveIntegerField(default=0, help_text="Team or programme id; 0 for the centre.")
    numerator = models.PositiveIntegerField()
    denominator = models.PositiveIntegerField()
    value = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["indicator", "month", "unit_kind", "unit_id"], name="one_value_per_key"),
            models.CheckConstraint(
                condition=Q(numerator__lte=models.F("denominator")), name="numerator_within_denominator"
            ),
        ]
        indexes = [
            # The dashboard: one unit kind over a range of months.
            models.Index(fields=["unit_kind", "unit_id", "month"], name="value_unit_month"),
        ]

    def __str__(self):
        return f"{self.indicator_id} {self.month} {self.unit_kind}:{self.unit_id} {self.value}"

    @property
    def is_suppressed(self) -> bool:
        """Fewer than 5 citizens behind a figure: it never leaves the system as a number."""
        return 0 < self.denominator < SMALL_CELL


class CitizenMonth(models.Model):
    """One citizen's facts for one month, as of the month's last day: the populations they are
    counted in (with the programmes that qualify them), their team, and what each indicator asks
    about them. Computed once per citizen and month in SQL (reporting.facts) and aggregated into
    the IndicatorValue rows of every unit in one pass; an incremental run recomputes only the
    citizens whose data changed. Internal: never shown, never exported. A row exists only for a
    citizen in at least one population that month."""

    month = models.DateField()
    patient_id = models.IntegerField()
    team_id = models.IntegerField(null=True)
    # The qualifying programmes; none when the citizen is not in the population that month.
    diabetes_programmes = ArrayField(models.IntegerField(), null=True)
    dementia_programmes = ArrayField(models.IntegerField(), null=True)
    latest_hba1c = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    goal_low = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    goal_high = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    bp_measured = models.BooleanField(default=False)
    albumin_screened = models.BooleanField(default=False)
    eye_screened = models.BooleanField(default=False)
    foot_examined = models.BooleanField(default=False)
    cognition_tested = models.BooleanField(default=False)
    latest_dementia = models.CharField(max_length=20, blank=True)
    caregiver_registered = models.BooleanField(default=False)
    caregiver_spoken_with = models.BooleanField(default=False)

    class Meta:
        constraints = [
            # Also serves the incremental run: one citizen's months from a month on.
            models.UniqueConstraint(fields=["patient_id", "month"], name="one_fact_row_per_citizen_month"),
        ]
        indexes = [
            # The aggregation of the months a run recomputes: WHERE month = ANY(...).
            models.Index(fields=["month"], name="citizenmonth_month"),
        ]

    def __str__(self):
        return f"{self.month} {self.patient_id}"


class MonthlyActivity(models.Model):
    """A unit's own activity in a month: signed contacts (encounters) and the citizens they were
    with, by the citizen's team on the day of the contact. Counts, never names: the product shows
    a team its activity over time, not a ranking of staff."""

    month = models.DateField()
    unit_kind = models.CharField(max_length=10, choices=UnitKind.choices)
    unit_id = models.PositiveIntegerField(default=0)
    contacts = models.PositiveIntegerField()
    citizens = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "unit_kind", "unit_id"], name="one_activity_per_key"),
        ]

    def __str__(self):
        return f"{self.month} {self.unit_kind}:{self.unit_id} {self.contacts}"


class StoryStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Awaiting approval")
    RETURNED = "returned", _("Returned to the author")
    APPROVED = "approved", _("Approved")


class Story(models.Model):
    """A "good story" about a citizen's course, told for reports in a pseudonymised version. It is
    shown only while the citizen's consent to use the story in reports is given."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="stories")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    what_happened = models.TextField(_("what happened"))
    what_made_the_difference = models.TextField(_("what made the difference"))
    published_text = models.TextField(
        _("text for reports"), help_text=_("The pseudonymised version that managers and reports see")
    )
    show_chart = models.BooleanField(_("show the citizen's HbA1c before and after, without dates"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=StoryStatus.choices, default=StoryStatus.DRAFT)
    manager_comment = models.TextField(_("comment from the manager"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("good story")
        verbose_name_plural = _("good stories")
        indexes = [
            # The manager's queue and the approved stories of a quarter.
            models.Index(fields=["status", "decided_at"], name="story_status_decided"),
        ]

    def __str__(self):
        return self.title
