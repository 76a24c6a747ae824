import uuid

import pgtrigger
from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    PROFESSIONAL = "professional", _("Professional")
    COORDINATOR = "coordinator", _("Coordinator")
    MANAGER = "manager", _("Manager")
    ADMINISTRATOR = "administrator", _("Administrator")


class Profession(models.TextChoices):
    NURSE = "nurse", _("Nurse")
    DIETITIAN = "dietitian", _("Dietitian")
    PHYSIOTHERAPIST = "physiotherapist", _("Physiotherapist")
    OCCUPATIONAL_THERAPIST = "occupational_therapist", _("Occupational therapist")
    DEMENTIA_COORDINATOR = "dementia_coordinator", _("Dementia coordinator")
    DOCTOR = "doctor", _("Doctor")


class User(AbstractUser):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.PROFESSIONAL)
    profession = models.CharField(_("profession"), max_length=30, choices=Profession.choices, blank=True)
    teams = models.ManyToManyField(Team, related_name="members", blank=True, verbose_name=_("teams"))

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.get_full_name() or self.username

    @property
    def works_with_citizens(self) -> bool:
        """Professionals and coordinators have a care relation through their teams; managers and
        administrators never see identifiable clinical content. The rule lives in the access layer's
        role table (healthcenter/access.py); templates ask it through this name."""
        from .access import Work, may

        return may(self, Work.CITIZENS)


class AccessAction(models.TextChoices):
    VIEW = "view", _("Viewed")
    SEARCH = "search", _("Searched")
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    EXPORT = "export", _("Exported")


class AccessOutcome(models.TextChoices):
    ALLOWED = "allowed", _("Allowed")
    DENIED = "denied", _("Denied")
    REJECTED = "rejected", _("Rejected input")


class AccessLog(models.Model):
    """Append-only record of every read or write of a citizen's data.

    The citizen is kept as its public id rather than a foreign key: the log belongs to the
    accountability layer below the patient records, and its rows must outlive any change to them."""

    at = models.DateTimeField(_("when"), auto_now_add=True)
    # No index of its own: accesslog_user_at leads with the user, and every page view inserts a row here.
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("who"), db_index=False)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    patient_public_id = models.UUIDField(_("citizen"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=AccessAction.choices)
    what = models.CharField(_("what"), max_length=200)
    outcome = models.CharField(_("outcome"), max_length=10, choices=AccessOutcome.choices)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        indexes = [
            # "Who viewed this record" on the patient page and the GDPR art. 15 export.
            models.Index(fields=["patient_public_id", "-at"], name="accesslog_patient_at"),
            # An auditor's view of one user's activity.
            models.Index(fields=["user", "-at"], name="accesslog_user_at"),
            # The retention job's entries older than the cutoff (healthcenter.retention), above all the nightly
            # run that finds none: BRIN, as the database stamps entries in the order they are appended, so a
            # few pages index years of the largest table, and every page view's insert costs next to nothing.
            BrinIndex(fields=["at"], name="accesslog_at_brin"),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            # The database's clock, not the writer's: the application's role cannot date an entry in the
            # past (where the next retention run would move it out of sight) or in the future.
            pgtrigger.Trigger(
                name="stamped_by_the_database",
                operation=pgtrigger.Insert,
                when=pgtrigger.Before,
                func="NEW.at := clock_timestamp(); RETURN NEW;",
            ),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.what}"


class AccessLogArchive(models.Model):
    """One file of access-log entries that the retention job (healthcenter.retention) moved out of the
    database. Written in the same transaction that deletes those entries, so a file listed here holds
    entries that are no longer in the log, and a file in the archive folder that is not listed was left
    by a run that did not finish (its entries are still in the log)."""

    archived_at = models.DateTimeField(_("archived"), auto_now_add=True)
    file_name = models.CharField(_("file"), max_length=200, unique=True)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    entries = models.PositiveIntegerField(_("entries"))
    first_at = models.DateTimeField(_("first entry"))
    last_at = models.DateTimeField(_("last entry"))
    cutoff = models.DateTimeField(_("older than"))

    class Meta:
        ordering = ["-archived_at"]
        verbose_name = _("access log archive")
        verbose_name_plural = _("access log archives")
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self):
        return self.file_name


class ApiScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


class ApiToken(models.Model):
    """A personal API token (issue 12): it acts as its user, with the user's role and care relation,
    narrowed to reading or to reading and writing. An administrator issues and revokes it; the
    secret is shown once and only its SHA-256 is kept. Every use is logged."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens", verbose_name=_("for"))
    name = models.CharField(_("what it is for"), max_length=100, help_text=_("e.g. the municipality's care system"))
    scope = models.CharField(_("scope"), max_length=5, choices=ApiScope.choices, default=ApiScope.READ)
    # The secret's first characters, to recognise a token in lists and logs without keeping it.
    prefix = models.CharField(_("begins with"), max_length=8, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", editable=False)
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    expires_on = models.DateField(_("valid until"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.prefix}… {self.name}"
