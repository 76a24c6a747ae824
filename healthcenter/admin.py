from collections import Counter

from django.contrib import admin
from django.contrib.admin.utils import NestedObjects
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import router
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import AccessLog, AccessLogArchive, Team, User


class CountsOnlyDeletion:
    """The delete confirmation (for one object, and for "delete selected") names what would go with
    the object, or stands in its way, by kind and count only, never the objects themselves. Django
    lists each related object as its text, and what hangs from a user, a team or a programme is
    citizens' encounters, goals, handover notes, measurements and access-log entries: an
    administrator never sees clinical content (DESIGN.md, who uses it)."""

    def get_deleted_objects(self, objs, request):
        try:
            first = objs[0]
        except IndexError:
            return [], {}, set(), []
        collector = NestedObjects(using=router.db_for_write(first._meta.model), origin=objs)
        collector.collect(objs)
        perms_needed = set()
        for model in collector.model_objs:
            registered = self.admin_site.is_registered(model)
            if registered and not self.admin_site.get_model_admin(model).has_delete_permission(request):
                perms_needed.add(model._meta.verbose_name)
        model_count = {model._meta.verbose_name_plural: len(found) for model, found in collector.model_objs.items()}
        protected = Counter(obj._meta.verbose_name_plural for obj in collector.protected)
        return _counted(model_count), model_count, perms_needed, _counted(protected)


def _counted(counts: dict) -> list[str]:
    return [f"{capfirst(name)}: {count}" for name, count in sorted(counts.items(), key=lambda item: str(item[0]))]


@admin.register(Team)
class TeamAdmin(CountsOnlyDeletion, admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(CountsOnlyDeletion, BaseUserAdmin):
    """A user who has recorded or read anything is kept, deactivated, so that the records and the
    access log go on naming who did what (PROTECT); the delete page says so
    (templates/admin/healthcenter/user/)."""

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
