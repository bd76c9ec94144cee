from django import template

register = template.Library()


@register.filter
def state_label(value: str, object_type: str = "") -> str:
    """The translated label of a call or slip status code, as stored in audit rows."""
    from diversion.models import SlipStatus
    from incidents.models import CallStatus

    choices = SlipStatus if object_type == "handoffslip" else CallStatus
    try:
        return choices(value).label
    except ValueError:
        return value
