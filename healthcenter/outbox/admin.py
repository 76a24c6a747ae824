from django.contrib import admin

from .models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Read-only: jobs are written by the services that ask for them and by the relay."""

    list_display = ["created_at", "task", "kwargs", "sent_at", "sends", "done_at", "error"]
    list_filter = ["task", ("done_at", admin.EmptyFieldListFilter)]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
