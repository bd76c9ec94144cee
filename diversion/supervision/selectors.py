"""Reads for supervision: the one scope for notices and joint meetings (department staff see only their own
department's, 404 otherwise), the unread badge, and the supervisor's list of open slips by deadline."""

from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from core.models import Role
from core.roles import is_department_staff

from ..models import (
    AccountabilityRecord,
    HandoffSlip,
    JointMeeting,
    JointMeetingAction,
    Notice,
    NoticeItem,
    NoticeStatus,
)
from .services import LADDER_STATUSES


def _is_centre(user) -> bool:
    return user.is_superuser or user.role in (Role.SUPERVISOR, Role.DISPATCHER)


def notices_visible_to(user) -> QuerySet[Notice]:
    qs = Notice.objects.select_related("department", "issued_by", "replied_by").annotate(item_count=Count("items"))
    if not user.is_authenticated:
        return qs.none()
    if _is_centre(user):
        return qs
    if is_department_staff(user):
        return qs.filter(department_id=user.department_id)
    return qs.none()


def notice_get_for_user(user, pk) -> Notice:
    """404 for a notice outside the user's scope, whatever id was typed."""
    items = NoticeItem.objects.select_related("slip__category", "slip__call", "action__meeting").order_by("id")
    return get_object_or_404(notices_visible_to(user).prefetch_related(Prefetch("items", queryset=items)), pk=pk)


def unread_notice_count(user) -> int:
    if not is_department_staff(user):
        return 0
    return Notice.objects.filter(department_id=user.department_id, read_at__isnull=True).count()


def open_notice_count() -> int:
    return Notice.objects.filter(status__in=[NoticeStatus.ISSUED, NoticeStatus.REPLIED]).count()


def meetings_visible_to(user) -> QuerySet[JointMeeting]:
    qs = (JointMeeting.objects.select_related("slip", "slip__department", "convened_by")
          .annotate(action_count=Count("actions", distinct=True)))
    if not user.is_authenticated:
        return qs.none()
    if _is_centre(user):
        return qs
    if is_department_staff(user):
        return qs.filter(invitations__department_id=user.department_id)
    return qs.none()


def meeting_get_for_user(user, pk) -> JointMeeting:
    qs = meetings_visible_to(user).prefetch_related(
        "invitations__department",
        Prefetch("actions", queryset=JointMeetingAction.objects.select_related("department", "done_by")))
    return get_object_or_404(qs, pk=pk)


def actions_visible_to(user) -> QuerySet[JointMeetingAction]:
    qs = JointMeetingAction.objects.select_related("meeting", "department")
    if _is_centre(user):
        return qs
    if is_department_staff(user):
        return qs.filter(department_id=user.department_id)
    return qs.none()


def action_get_for_user(user, pk) -> JointMeetingAction:
    return get_object_or_404(actions_visible_to(user), pk=pk)


def open_slips_by_deadline() -> QuerySet[HandoffSlip]:
    """The supervisor's list: slips the departments still owe, soonest deadline first, with how many
    notices each has had."""
    return (HandoffSlip.objects.filter(status__in=LADDER_STATUSES)
            .select_related("department", "category", "call")
            .annotate(notice_count=Count("notice_items"))
            .order_by("deadline"))


def accountability_records() -> QuerySet[AccountabilityRecord]:
    return AccountabilityRecord.objects.select_related("department", "recorded_by").prefetch_related("notices")
