from django.conf import settings

from . import live
from .models import Role
from .roles import is_administrator


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "is_dispatcher": user.has_role(Role.DISPATCHER),
        "is_department": user.has_role(Role.DEPARTMENT) and user.department_id is not None,
        "is_supervisor": user.has_role(Role.SUPERVISOR),
        "can_callback": user.has_role(Role.DISPATCHER, Role.SUPERVISOR),
        "is_admin": is_administrator(user),
        "is_mediator": user.has_role(Role.MEDIATOR),
        "is_wallboard": user.role == Role.WALLBOARD,
        "is_unit": user.role == Role.UNIT and user.unit_id is not None,
        # The live channel's indicator and client (core.live), for whoever hears something on it.
        "live": {"poll": settings.LIVE_POLL_SECONDS, "poll_pushed": settings.LIVE_POLL_SECONDS_WHEN_PUSHED}
        if live.groups_for(user) else None,
    }
