"""Good stories composed into other apps' pages (STYLE.md rule 0): "new for you" and its badge in
coordination, the citizen's page in patients. Those apps load these tags; they never import reporting."""

from django import template

from healthcenter import access
from healthcenter.models import User
from patients.models import Patient

from .. import stories

register = template.Library()


def _author(user: User) -> bool:
    return access.may(user, access.Work.CITIZENS)


@register.inclusion_tag("reporting/story_returned_list.html")
def returned_stories(user: User) -> dict:
    return {"returned": list(stories.returned_to(user)) if _author(user) else []}


@register.simple_tag
def returned_story_count(user: User) -> int:
    return stories.returned_to(user).count() if _author(user) else 0


@register.inclusion_tag("reporting/story_citizen_list.html")
def citizen_stories(user: User, patient: Patient) -> dict:
    return {"stories": list(stories.stories_about(user, patient)) if _author(user) else []}
