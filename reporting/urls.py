from django.urls import path

from . import views

app_name = "reporting"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("export.<str:fmt>", views.export, name="export"),
    path("quarterly/", views.quarterly, name="quarterly"),
    path("stories/", views.story_queue, name="stories"),
    path("stories/<uuid:public_id>/", views.story_review, name="story_review"),
    path("stories/<uuid:public_id>/edit/", views.story_edit, name="story_edit"),
    path("citizens/<uuid:public_id>/stories/new/", views.story_create, name="story_create"),
]
