from django.contrib import admin

from healthcenter.admin import CountsOnlyDeletion

from .models import MeasurementType, Programme


@admin.register(Programme)
class ProgrammeAdmin(CountsOnlyDeletion, admin.ModelAdmin):
    list_display = ["code", "name_da", "name_en", "condition_group"]


@admin.register(MeasurementType)
class MeasurementTypeAdmin(CountsOnlyDeletion, admin.ModelAdmin):
    list_display = [
        "code",
        "label_da",
        "label_en",
        "unit",
        "plausible_min",
        "plausible_max",
        "coding_system",
        "coding_code",
    ]
