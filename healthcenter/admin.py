from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import AccessLog, AccessLogArchive, Team, User


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "profession", "is_active"]
    list_filter = ["role", "profession", "teams", "is_active"]
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Health centre"), {"fields": ["role", "profession", "teams"]}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, (_("Health centre"), {"fields": ["role", "profession", "teams"]}))
    filter_horizontal = ["teams", "groups", "user_permissions"]


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only: the table is append-only in the database as well."""

    list_display = ["at", "user", "role", "action", "what_done", "outcome", "patient_public_id"]
    list_filter = ["action", "outcome", "role"]
    date_hierarchy = "at"
    search_fields = ["=patient_public_id", "user__username"]
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("what"), ordering="what")
    def what_done(self, entry: AccessLog) -> str:
        # Written in English as message ids (gettext_noop); read in the reader's language.
        return gettext(entry.what)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessLogArchive)
class AccessLogArchiveAdmin(admin.ModelAdmin):
    """Read-only: which access-log entries left the database for which archive file (healthcenter/retention.py).
    Only the retention job, as the owner, writes these rows; the application's role may only read them."""

    list_display = ["archived_at", "file_name", "entries", "first_at", "last_at", "cutoff"]
    readonly_fields = ["archived_at", "file_name", "sha256", "entries", "first_at", "last_at", "cutoff"]
    date_hierarchy = "archived_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
