from django.contrib import admin

from healthcenter.admin import CountsOnlyDeletion

from .models import Indicator, RollupRun


@admin.register(Indicator)
class IndicatorAdmin(CountsOnlyDeletion, admin.ModelAdmin):
    list_display = ["code", "name_da", "kind", "target", "direction", "source"]


@admin.register(RollupRun)
class RollupRunAdmin(CountsOnlyDeletion, admin.ModelAdmin):
    list_display = ["started_at", "finished_at", "kind", "status", "first_month", "last_month", "rows", "differences"]
    list_filter = ["kind", "status"]
    readonly_fields = [
        "started_at",
        "finished_at",
        "kind",
        "status",
        "first_month",
        "last_month",
        "rows",
        "differences",
        "difference_detail",
        "error",
    ]

    def has_add_permission(self, request):
        return False
