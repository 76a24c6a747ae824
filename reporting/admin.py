from django.contrib import admin

from .models import Indicator, RollupRun


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["code", "name_da", "kind", "target", "direction", "source"]


@admin.register(RollupRun)
class RollupRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "finished_at", "status", "first_month", "last_month", "rows"]
    readonly_fields = ["started_at", "finished_at", "status", "first_month", "last_month", "rows", "error"]

    def has_add_permission(self, request):
        return False
