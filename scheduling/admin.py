from django.contrib import admin

from healthcenter.admin import CountsOnlyDeletion

from .models import Holiday, Room


@admin.register(Room)
class RoomAdmin(CountsOnlyDeletion, admin.ModelAdmin):
    list_display = ["name", "location", "capacity", "is_active"]
    list_filter = ["is_active"]


@admin.register(Holiday)
class HolidayAdmin(CountsOnlyDeletion, admin.ModelAdmin):
    """The days the centre is closed; a course's sessions skip them when they are generated."""

    list_display = ["day", "name"]
    date_hierarchy = "day"
