from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()


def _span(seconds: int) -> str:
    minutes = seconds // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)sd %(h)sh") % {"d": days, "h": hours}
    if hours:
        return _("%(h)sh %(m)smin") % {"h": hours, "m": mins}
    return _("%(m)smin") % {"m": mins}


@register.simple_tag
def countdown(slip, now=None):
    """Time left to the slip's deadline, or how late it is; nothing once the slip is done."""
    if slip.status in ("completed", "closed", "returned"):
        return ""
    now = now or timezone.now()
    left = int((slip.deadline - now).total_seconds())
    if left < 0:
        return format_html('<span class="overdue" data-deadline="{}">{}</span>', slip.deadline.isoformat(),
                           _("overdue by %(t)s") % {"t": _span(-left)})
    return format_html('<span data-deadline="{}">{}</span>', slip.deadline.isoformat(),
                       _("%(t)s left") % {"t": _span(left)})


@register.inclusion_tag("partials/docking_state.html")
def docking(slip):
    """Where the slip's hand-over to the 12345 platform stands (issue 40); nothing for a slip not sent there."""
    from ..selectors import docking_state

    return {"d": docking_state(slip), "slip": slip}
