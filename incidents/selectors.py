from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from core.models import Role
from core.phones import caller_key
from core.times import day_start
from diversion.models import HandoffSlip
from diversion.supervision.services import LADDER_STATUSES
from grids.models import HotspotCase, HotspotStatus
from grids.selectors import busy_unit_ids

from .models import CALL_QUEUE_STATUSES, Call


def call_queue() -> QuerySet[Call]:
    """Calls waiting for a dispatcher's decision, newest first."""
    return (Call.objects.filter(status__in=CALL_QUEUE_STATUSES)
            .select_related("micro_grid", "suggested_category", "claimed_by")
            .order_by("-received_at", "-id"))


def calls_visible_to(user) -> QuerySet[Call]:
    qs = Call.objects.select_related("micro_grid", "category", "suggested_category", "classified_by", "claimed_by")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser or user.role in (Role.DISPATCHER, Role.SUPERVISOR):
        return qs
    if user.role == Role.DEPARTMENT and user.department_id:
        return qs.filter(slips__department_id=user.department_id).distinct()
    return qs.none()


def call_timeline_for(user, call: Call) -> list:
    """A call's audit timeline in the user's scope. The command centre sees every row. Department staff see
    the call's intake and the history of their own department's slips on it (with the callbacks on those
    slips), nothing of other departments: not their slips, return reasons or staff."""
    from django.db.models import Q

    from diversion.models import Callback, HandoffSlip

    rows = call.audit_rows.select_related("actor")
    if user.is_superuser or user.has_role(Role.DISPATCHER, Role.SUPERVISOR):
        return list(rows)
    if user.role != Role.DEPARTMENT or not user.department_id:
        return []
    own_slips = HandoffSlip.objects.filter(call=call, department_id=user.department_id).values("pk")
    own_callbacks = Callback.objects.filter(slip__in=own_slips).values("pk")
    return list(rows.filter(Q(action="call_intake")
                            | Q(object_type="handoffslip", object_id__in=own_slips)
                            | Q(object_type="callback", object_id__in=own_callbacks)))


def department_holds_call(user, call: Call) -> bool:
    """Whether the user's department holds a live (not returned) slip of the call. A department whose
    slips were all returned keeps only read-only facts of what it handled."""
    from diversion.models import SlipStatus

    return bool(user.role == Role.DEPARTMENT and user.department_id and call.slips.filter(
        department_id=user.department_id).exclude(status=SlipStatus.RETURNED).exists())


def call_repeats(*, phone: str, address: str, received_at, category_code: str | None,
                 exclude_pk: int | None = None) -> dict:
    """Repeat checks for a call: the same phone recently, the same kind of matter at the same address,
    an open slip for the same phone. Counts plus the ids of the calls behind them."""
    from diversion.models import SLIP_OPEN_STATUSES, HandoffSlip

    short = received_at - timedelta(hours=settings.REPEAT_PHONE_SHORT_HOURS)
    long = received_at - timedelta(days=settings.REPEAT_PHONE_LONG_DAYS)
    place = received_at - timedelta(hours=settings.REPEAT_PLACE_HOURS)
    others = Call.objects.exclude(pk=exclude_pk) if exclude_pk else Call.objects.all()
    # On the keyed hash, not the number: it finds the repeat after the number was anonymised.
    key = caller_key(phone)
    same_phone = others.filter(caller_key=key, received_at__gte=long, received_at__lte=received_at)
    counts = same_phone.aggregate(short=Count("id", filter=Q(received_at__gte=short)), long=Count("id"))
    phone_calls = list(same_phone.order_by("-received_at").values_list("id", flat=True)[:20])

    place_calls: list[int] = []
    if address and category_code:
        place_calls = list(
            others.filter(address=address, received_at__gte=place, received_at__lte=received_at)
            .filter(Q(category__code=category_code) | Q(category__isnull=True, suggested_category__code=category_code))
            .order_by("-received_at").values_list("id", flat=True)[:20]
        )
    open_slips = list(
        HandoffSlip.objects.filter(call__caller_key=key, status__in=SLIP_OPEN_STATUSES)
        .exclude(call_id=exclude_pk).order_by("-issued_at").values("id", "year", "number")[:10]
    )
    return {
        "phone_24h": counts["short"],
        "phone_7d": counts["long"],
        "phone_calls": phone_calls,
        "same_place_type_2h": len(place_calls),
        "place_calls": place_calls,
        "category": category_code or "",
        "open_slips": [{"id": s["id"], "serial": f"{s['year']}-{s['number']:06d}"} for s in open_slips],
    }


def repeats_flagged(repeats: dict) -> bool:
    return bool(repeats.get("phone_24h") or repeats.get("same_place_type_2h") or repeats.get("open_slips"))


def wallboard_figures(now=None) -> dict:
    """The command centre's wall screen (issue 36): today's calls and how they went, the live queue, units out,
    slips overdue and open hotspots. A handful of aggregate queries; counts only, nothing about any caller."""
    now = now or timezone.now()
    start = day_start(timezone.localdate(now))
    calls = Call.objects.filter(received_at__gte=start, received_at__lte=now).aggregate(
        total=Count("id"), police=Count("id", filter=Q(is_police=True)),
        non_police=Count("id", filter=Q(is_police=False)))
    slips = HandoffSlip.objects.aggregate(
        diverted=Count("id", filter=Q(issued_at__gte=start)),
        accepted=Count("id", filter=Q(accepted_at__gte=start)),
        # Overdue as the supervisor's desk counts it: slips the departments still owe, past their deadline.
        overdue=Count("id", filter=Q(status__in=LADDER_STATUSES, deadline__lte=now)))
    return {
        **calls, **slips,
        "queue": Call.objects.filter(status__in=CALL_QUEUE_STATUSES).count(),
        "units_out": len(busy_unit_ids()),  # as the map marks them: patrol groups out on a call
        "hotspots": HotspotCase.objects.filter(status=HotspotStatus.OPEN).count(),
        "police_share": round(100 * calls["police"] / (calls["police"] + calls["non_police"]))
        if calls["police"] + calls["non_police"] else None,
        "at": now,
    }
