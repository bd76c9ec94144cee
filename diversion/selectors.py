from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from core.models import Role
from core.roles import is_department_staff

from .models import HandoffSlip, SlipStatus


def slips_visible_to(user) -> QuerySet[HandoffSlip]:
    """The one scope for slips: department staff see their own department's, the centre sees all."""
    qs = HandoffSlip.objects.select_related("call", "category", "department", "issued_by", "accepted_by")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser or user.role in (Role.DISPATCHER, Role.SUPERVISOR):
        return qs
    if is_department_staff(user):
        return qs.filter(department_id=user.department_id)
    return qs.none()


def slip_get_for_user(user, pk) -> HandoffSlip:
    """404 for a slip outside the user's scope, whatever id was typed."""
    return get_object_or_404(slips_visible_to(user), pk=pk)


def slip_caller_hidden(user, slip: HandoffSlip) -> bool:
    """A department that returned the slip keeps it as a read-only record, without the caller's name."""
    return user.role == Role.DEPARTMENT and slip.status == SlipStatus.RETURNED


def callbacks_due(user) -> QuerySet[HandoffSlip]:
    """Completed slips waiting for the caller to be called back, oldest completion first."""
    return (slips_visible_to(user).filter(status=SlipStatus.COMPLETED)
            .annotate(attempts=Count("callbacks")).order_by("completed_at"))
