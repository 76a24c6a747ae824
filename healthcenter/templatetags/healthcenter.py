from django import template

from healthcenter import formatting

register = template.Library()


@register.filter
def number(value):
    return formatting.number(value)
