from django.contrib import admin

from healthcenter.admin import CountsOnlyDeletion

from .models import CareGapRule, ProgrammeTask


@admin.register(CareGapRule)
class CareGapRuleAdmin(CountsOnlyDeletion, admin.ModelAdmin):
    list_display = [
        "code",
        "name_da",
        "condition_group",
        "check_kind",
        "measurement_code",
        "interval_months",
        "interval_weeks",
        "threshold",
        "is_active",
    ]
    list_filter = ["check_kind", "condition_group", "is_active"]


@admin.register(ProgrammeTask)
class ProgrammeTaskAdmin(CountsOnlyDeletion, admin.ModelAdmin):
    list_display = ["programme", "title_da", "days_after_start", "recurrence_months"]
    list_filter = ["programme"]
