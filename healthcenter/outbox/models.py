from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    """A job a service asked for: a registered Celery task and its keyword arguments. Written in the
    service's transaction, so it exists exactly when the change that needs it was committed. Handed to
    the broker (`sent_at`) after the commit or by the sweep; done (`done_at`) when a worker has run it."""

    task = models.CharField(_("Celery task"), max_length=200)
    kwargs = models.JSONField(_("arguments"), default=dict, blank=True)
    created_at = models.DateTimeField(_("asked for"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("handed to the queue"), null=True, blank=True)
    sends = models.PositiveSmallIntegerField(_("times handed to the queue"), default=0)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("queued job")
        verbose_name_plural = _("queued jobs")
        indexes = [
            # The relay: the jobs not done yet, oldest first.
            models.Index(fields=["created_at"], condition=Q(done_at__isnull=True), name="outbox_job_not_done"),
            # The sweep's clean-up of jobs done long ago.
            models.Index(fields=["done_at"], condition=Q(done_at__isnull=False), name="outbox_job_done"),
        ]

    def __str__(self):
        return f"{self.task} {self.kwargs}"
