from collections import Counter

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import NestedObjects
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.db import router
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .api import api_token_issue, api_token_revoke, may_issue_tokens
from .models import AccessLog, AccessLogArchive, ApiToken, Team, User


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


class ApiTokenIssueForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name", "scope", "expires_on"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = User.objects.filter(is_active=True).order_by("username")

    def clean_expires_on(self):
        expires_on = self.cleaned_data.get("expires_on")
        if expires_on is not None and expires_on <= timezone.localdate():
            raise ValidationError(gettext("The end date must be in the future."))
        return expires_on


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Personal API tokens (issue 12). An administrator issues one for a user (what it is for, read or
    write, an optional end date) and sees its secret once, on the page after saving: only its first
    characters and its SHA-256 are kept. Tokens are never edited or deleted (the access log names them
    by their prefix); the "revoke" action ends them. Issuing and revoking go through
    healthcenter.api's services, which log."""

    form = ApiTokenIssueForm
    list_display = ["prefix", "name", "user", "scope", "created_at", "expires_on", "last_used_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "user__username"]
    list_select_related = ["user"]
    actions = ["revoke"]
    readonly_fields = [
        "user",
        "name",
        "scope",
        "prefix",
        "created_by",
        "created_at",
        "expires_on",
        "last_used_at",
        "revoked_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_fields(self, request, obj=None):
        return ApiTokenIssueForm.Meta.fields if obj is None else self.readonly_fields

    def has_add_permission(self, request):
        return may_issue_tokens(request.user)

    def has_view_permission(self, request, obj=None):
        return may_issue_tokens(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return may_issue_tokens(request.user)

    def save_model(self, request, obj, form, change):
        if change:  # never: a token is not edited
            raise PermissionError("API tokens are not edited")
        token, secret = api_token_issue(
            actor=request.user,
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_on=form.cleaned_data["expires_on"],
        )
        for field in ApiToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(token, field.attname))
        obj._state.adding = False
        request._api_token_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        """The secret, once: this page is the only place it is ever shown (not stored, not in a message
        that the session would keep)."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "token": obj,
            "secret": request._api_token_secret,
            "title": gettext("API token issued"),
        }
        response = TemplateResponse(request, "admin/healthcenter/apitoken/issued.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke the selected API tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            api_token_revoke(actor=request.user, token=token)
            revoked += 1
        self.message_user(
            request,
            ngettext("%(count)d API token revoked.", "%(count)d API tokens revoked.", revoked) % {"count": revoked},
            messages.SUCCESS,
        )
