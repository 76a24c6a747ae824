"""Templates ask the access layer's role table, never a role by name: `{% if user|may:"triage" %}`."""

from django import template

from healthcenter import access

register = template.Library()


@register.filter
def may(user, work: str) -> bool:
    """Whether the user's role may do this work (healthcenter.access.Work); menus and buttons only,
    the views decide for themselves."""
    return access.may(user, access.Work(work))
