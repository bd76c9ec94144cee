from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from core.models import Role
from core.roles import is_department_staff

from .models import HandoffSlip, Platform, ReviewLayer, ReviewStatus, ReviewStep, SlipReview, SlipStatus
from .models_vetting import MAX_REVIEW_LAYERS


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


# --- Review layers before a slip leaves (issue 40) --------------------------------------------------------

def review_layers_active() -> list[ReviewLayer]:
    """The centre's review, in order: the active layers, at most four."""
    return list(ReviewLayer.objects.filter(active=True).select_related("group").order_by("position")
                [:MAX_REVIEW_LAYERS])


def review_layers_of(user, *, include_inactive: bool = False) -> QuerySet[ReviewLayer]:
    """The layers this user decides: by their role, or as a member of the layer's group. A superuser decides
    every layer. Active ones only, unless `include_inactive`: a layer switched off while calls wait in it is
    still decided by its people, so no call is left stuck."""
    layers = ReviewLayer.objects.all() if include_inactive else ReviewLayer.objects.filter(active=True)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return layers.none()
    if user.is_superuser:
        return layers
    return layers.filter(Q(role=user.role) | Q(group__in=user.groups.all()))


def reviews_waiting_for(user) -> QuerySet[ReviewStep]:
    """The steps open in this user's layers that the user may decide (not a call they diverted, not a review
    they already decided a layer of: four eyes), the one due first on top."""
    if not getattr(user, "is_authenticated", False):
        return ReviewStep.objects.none()
    return (ReviewStep.objects.filter(layer__in=review_layers_of(user, include_inactive=True), outcome="",
                                      opened_at__isnull=False,
                                      review__status=ReviewStatus.PENDING)
            .exclude(review__requested_by=user).exclude(review__steps__decided_by=user)
            .select_related("layer", "review__call", "review__category", "review__department",
                            "review__requested_by")
            .order_by("due_at", "pk"))


def review_steps_overdue(now) -> QuerySet[ReviewStep]:
    """The layers keeping a call past their time limit, the longest overdue first (the supervisor's desk)."""
    return (ReviewStep.objects.filter(outcome="", due_at__lt=now, review__status=ReviewStatus.PENDING)
            .select_related("layer", "review__call").order_by("due_at", "pk"))


def reviews_pending() -> QuerySet[SlipReview]:
    """Every call in review, oldest first, with its steps (for the centre's overview)."""
    return (SlipReview.objects.filter(status=ReviewStatus.PENDING)
            .select_related("call", "category", "department", "requested_by")
            .prefetch_related("steps__layer", "steps__decided_by").order_by("requested_at", "pk"))


def review_get(pk) -> SlipReview:
    return get_object_or_404(SlipReview.objects.select_related("call", "category", "department", "requested_by",
                                                                "slip").prefetch_related("steps__layer",
                                                                                         "steps__decided_by"),
                             pk=pk)


# --- Docking with the 12345 platform (issue 40) ------------------------------------------------------------

def platform_for(department) -> Platform | None:
    """The active platform a department's slips go to: its own, else the one set for every department."""
    if department.platform_id:
        own = Platform.objects.filter(pk=department.platform_id, active=True).first()
        if own is not None:
            return own
    return Platform.objects.filter(active=True, all_departments=True).first()


def docking_state(slip: HandoffSlip) -> dict | None:
    """Where the slip's hand-over to the platform stands: acknowledged (the platform acted on it), sent (it
    took the message), failed (a dead letter, with the last error) or waiting (queued, or being retried after
    an error). None for a slip that does not go to a platform."""
    from core.models import OutboxMessage, OutboxStatus

    docking = getattr(slip, "docking", None)  # the reverse one-to-one's "does not exist" is an AttributeError
    if docking is None:
        return None
    if docking.acknowledged_at:
        state = "acknowledged"
    elif docking.sent_at:
        state = "sent"
    elif OutboxMessage.objects.filter(key=docking.key, status=OutboxStatus.DEAD).exists():
        state = "failed"
    else:
        state = "waiting"
    return {"state": state, "platform": docking.platform, "docking": docking,
            "error": docking.last_error if state in ("failed", "waiting") else ""}
