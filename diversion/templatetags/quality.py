from django import template

from core import labels

register = template.Library()


@register.filter
def percent(value, digits: int = 1) -> str:
    """A share (0–1) as a percentage; None (nothing to take it over) as a dash (core.labels.percent)."""
    return labels.percent(value, digits)
