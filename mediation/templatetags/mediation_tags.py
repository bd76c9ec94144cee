from django import template

from core.models import Role

from ..models import FileCall
from ..selectors import is_dispute_call

register = template.Library()


@register.inclusion_tag("mediation/_call_button.html", takes_context=True)
def dispute_file_button(context, call):
    """On a dispute call's page, for the command centre: the file it is in, or a button to open one."""
    user = context["request"].user
    if not user.has_role(Role.DISPATCHER, Role.SUPERVISOR) or not is_dispute_call(call):
        return {"show": False}
    link = FileCall.objects.filter(call=call).select_related("file", "file__station").first()
    return {"show": True, "call": call, "link": link,
            "can_see_file": user.is_superuser or user.role == Role.SUPERVISOR}


@register.filter
def dispute_action(code: str) -> str:
    """The translated label of a mediation audit action."""
    from core.models import AuditAction

    try:
        return AuditAction(code).label
    except ValueError:
        return code


@register.filter
def file_state(code: str) -> str:
    from ..models import DisputeFile, FileStatus

    for choices in (FileStatus, DisputeFile.Complexity):
        try:
            return choices(code).label
        except ValueError:
            continue
    return code
