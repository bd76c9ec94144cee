from datetime import timedelta

from django.conf import settings
from django.db import connection
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
    an open slip for the same phone. Counts plus the ids of the calls behind them.

    One query (intake pays for it on every call, issue 43): the four checks are branches of one UNION ALL,
    each row tagged with its check and its position. Portable SQL (PostgreSQL and SQLite); each branch is
    served by an index (caller_key, received_at), (address, received_at) and the slips' call key."""
    from diversion.models import SLIP_OPEN_STATUSES, Category, HandoffSlip

    at = connection.ops.adapt_datetimefield_value  # raw SQL: the backend's own form of a timestamp
    short = at(received_at - timedelta(hours=settings.REPEAT_PHONE_SHORT_HOURS))
    long = at(received_at - timedelta(days=settings.REPEAT_PHONE_LONG_DAYS))
    place = at(received_at - timedelta(hours=settings.REPEAT_PLACE_HOURS))
    received_at = at(received_at)
    # On the keyed hash, not the number: it finds the repeat after the number was anonymised.
    key = caller_key(phone)
    other = exclude_pk or 0  # ids start at 1: 0 excludes nothing
    calls, slips, categories = Call._meta.db_table, HandoffSlip._meta.db_table, Category._meta.db_table
    same_phone = "caller_key = %s AND received_at >= %s AND received_at <= %s AND id <> %s"
    branches = [
        (f"SELECT 'n' AS kind, 0 AS id, 0 AS pos, COALESCE(SUM(CASE WHEN received_at >= %s THEN 1 ELSE 0 END), 0)"
         f" AS a, COUNT(*) AS b FROM {calls} WHERE {same_phone}", [short, key, long, received_at, other]),
        (f"SELECT 'p' AS kind, id, ROW_NUMBER() OVER (ORDER BY received_at DESC, id DESC) AS pos, 0 AS a, 0 AS b"
         f" FROM {calls} WHERE {same_phone} ORDER BY received_at DESC, id DESC LIMIT 20",
         [key, long, received_at, other]),
        (f"SELECT 's' AS kind, s.id, ROW_NUMBER() OVER (ORDER BY s.issued_at DESC, s.id DESC) AS pos, s.year AS a,"
         f" s.number AS b FROM {slips} s JOIN {calls} c ON c.id = s.call_id WHERE c.caller_key = %s"
         f" AND s.status IN ({', '.join(['%s'] * len(SLIP_OPEN_STATUSES))}) AND s.call_id <> %s"
         f" ORDER BY s.issued_at DESC, s.id DESC LIMIT 10", [key, *SLIP_OPEN_STATUSES, other]),
    ]
    if address and category_code:
        kind = f"SELECT id FROM {categories} WHERE code = %s"
        branches.append((
            f"SELECT 'a' AS kind, id, ROW_NUMBER() OVER (ORDER BY received_at DESC, id DESC) AS pos, 0 AS a, 0 AS b"
            f" FROM {calls} WHERE address = %s AND received_at >= %s AND received_at <= %s AND id <> %s"
            f" AND (category_id IN ({kind}) OR (category_id IS NULL AND suggested_category_id IN ({kind})))"
            f" ORDER BY received_at DESC, id DESC LIMIT 20",
            [address, place, received_at, other, category_code, category_code]))
    sql = " UNION ALL ".join(f"SELECT kind, id, pos, a, b FROM ({branch}) AS r{i}"
                             for i, (branch, _params) in enumerate(branches))
    found: dict[str, list] = {"n": [], "p": [], "a": [], "s": []}
    with connection.cursor() as cursor:
        cursor.execute(sql, [param for _branch, params in branches for param in params])
        for kind, pk, pos, a, b in cursor.fetchall():
            found[kind].append((pos, pk, a, b))
    counts = found["n"][0] if found["n"] else (0, 0, 0, 0)
    phone_calls = [pk for _pos, pk, _a, _b in sorted(found["p"])]
    place_calls = [pk for _pos, pk, _a, _b in sorted(found["a"])]
    return {
        "phone_24h": int(counts[2]),
        "phone_7d": int(counts[3]),
        "phone_calls": phone_calls,
        "same_place_type_2h": len(place_calls),
        "place_calls": place_calls,
        "category": category_code or "",
        "open_slips": [{"id": pk, "serial": f"{year}-{number:06d}"} for _pos, pk, year, number in sorted(found["s"])],
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
