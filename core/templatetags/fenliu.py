from django import template

from core import labels

register = template.Library()


@register.filter(name="label")
def label_filter(key, group: str) -> str:
    """`{{ key|label:"notice" }}`: the human label of a stored figure's key (core.labels)."""
    return labels.label(group, key)


@register.filter(name="yes_no")
def yes_no_filter(value) -> str:
    return labels.yes_no(value)


@register.filter(name="pct")
def percent_filter(rate, digits: int = 0) -> str:
    """`{{ rate|pct }}`: a share 0–1 as a percentage, a dash for None (core.labels.percent)."""
    return labels.percent(rate, digits)


@register.filter
def state_label(value: str, object_type: str = "") -> str:
    """The translated label of a call's, a slip's or a review's status code, as stored in audit rows."""
    from diversion.models import ReviewStatus, SlipStatus
    from incidents.models import CallStatus

    choices = {"handoffslip": SlipStatus, "slipreview": ReviewStatus}.get(object_type, CallStatus)
    try:
        return choices(value).label
    except ValueError:
        return value
