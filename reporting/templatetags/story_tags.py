"""Good stories composed into other apps' pages (STYLE.md rule 0): "new for you" and its badge in
coordination, the citizen's page in patients. Those apps load these tags; they never import reporting."""

from django import template
from django.db.models import QuerySet

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
def news_count(user: User, unread: QuerySet) -> int:
    """The "new for you" badge's number in one query: the user's unread news (coordination's
    queryset, handed in by its view) and, for an author, the stories returned to them."""
    unread = unread.order_by().values("pk")
    if not _author(user):
        return unread.count()
    return unread.union(stories.returned_to(user).order_by().values("pk"), all=True).count()


@register.inclusion_tag("reporting/story_citizen_list.html")
def citizen_stories(user: User, patient: Patient) -> dict:
    return {"stories": list(stories.stories_about(user, patient)) if _author(user) else []}
