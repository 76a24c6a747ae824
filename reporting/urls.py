from django.urls import path

from . import story_views, views

app_name = "reporting"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("export.<str:fmt>", views.export, name="export"),
    path("quarterly/", views.quarterly, name="quarterly"),
    path("stories/", story_views.story_queue, name="stories"),
    path("stories/<uuid:public_id>/", story_views.story_review, name="story_review"),
    path("stories/<uuid:public_id>/edit/", story_views.story_edit, name="story_edit"),
    path("stories/mine/", story_views.my_stories, name="my_stories"),
    path("citizens/<uuid:public_id>/stories/new/", story_views.story_create, name="story_create"),
]
