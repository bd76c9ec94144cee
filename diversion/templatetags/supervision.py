from django import template

from core.models import Role

register = template.Library()


@register.inclusion_tag("partials/supervision_nav.html", takes_context=True)
def supervision_nav(context):
    """The nav link to notices (department staff, with the unread badge) or to the supervisor's desk."""
    from diversion.supervision.selectors import unread_notice_count

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    is_department = user.role == Role.DEPARTMENT and user.department_id is not None
    return {
        "show": is_department or user.has_role(Role.SUPERVISOR),
        "is_department": is_department,
        "unread": unread_notice_count(user) if is_department else 0,
        "nav": context.get("nav"),
        "request": request,
    }


@register.inclusion_tag("partials/notices_banner.html", takes_context=True)
def notices_banner(context):
    """On the department inbox: how many notices are unread, linking to them."""
    from diversion.supervision.selectors import unread_notice_count

    request = context.get("request")
    user = getattr(request, "user", None)
    return {"unread": unread_notice_count(user) if user is not None and user.is_authenticated else 0}
