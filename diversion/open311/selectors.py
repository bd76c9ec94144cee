"""What a key may read, as GeoReport v2 service requests: a department's key its department's slips (the
slip's serial is the service_request_id), a partner's key the reports it posted (the call's id). Statuses are
mySociety's extension of the specification's open/closed, one per state of a slip or call (STATUSES)."""

import datetime

from django.db.models import Case, CharField, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import AuditLog
from incidents.models import CallStatus

from ..models import Category, HandoffSlip, Open311Client, Open311Report, SlipStatus

# mySociety's extended statuses, by slip state. Each belongs to the specification's `open` or `closed`.
SLIP_STATUS = {
    SlipStatus.ISSUED: "open",
    SlipStatus.ACCEPTED: "in_progress",
    SlipStatus.RETURNED: "not_councils_responsibility",
    SlipStatus.COMPLETED: "fixed",
    SlipStatus.REOPENED: "reopen",
    SlipStatus.CLOSED: "closed",
}
# A partner's report before (or instead of) a slip: waiting with the dispatchers, or kept by the police.
CALL_STATUS = {
    CallStatus.NEW: "open",
    CallStatus.REVIEWING: "open",
    CallStatus.RETURNED: "open",
    CallStatus.ASSIGNED: "internal_referral",
}
OPEN_STATUSES = {"open", "in_progress", "reopen"}
CLOSED_STATUSES = {"closed", "fixed", "not_councils_responsibility", "internal_referral"}
STATUSES = sorted(OPEN_STATUSES | CLOSED_STATUSES)

# The specification's window: a range may span at most 90 days, and without dates it is the last 90 days.
WINDOW = datetime.timedelta(days=90)


def window(start, end, now=None) -> tuple[datetime.datetime, datetime.datetime]:
    """The range to search: the one given; from a start, the 90 days after it; up to an end, the 90 days
    before it; neither, the last 90 days."""
    if start is None and end is None:
        end = now or timezone.now()
    if start is None:
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    return start, end


def statuses_asked(values: list[str]) -> set[str]:
    """`open` and `closed` stand for every status of their family (the specification's two); an extended
    status stands for itself."""
    asked: set[str] = set()
    for value in values:
        asked |= OPEN_STATUSES if value == "open" else CLOSED_STATUSES if value == "closed" else {value}
    return asked


def services_offered() -> QuerySet[Category]:
    return (Category.objects.filter(active=True)
            .select_related("group", "time_limit_class", "default_department").order_by("code"))


def _slip_status_case(field: str) -> Case:
    return Case(*[When(**{field: state}, then=Value(name)) for state, name in SLIP_STATUS.items()],
                default=Value("open"), output_field=CharField())


def requests_of(client: Open311Client) -> QuerySet:
    """The client's requests, newest first, each annotated with `open311_status` and `requested_at`."""
    if client.kind == Open311Client.Kind.DEPARTMENT:
        return (HandoffSlip.objects.filter(department_id=client.department_id)
                .select_related("call", "category", "department", "category__time_limit_class")
                .annotate(open311_status=_slip_status_case("status"), requested_at=F("issued_at"))
                .order_by("-issued_at", "-id"))
    latest = HandoffSlip.objects.filter(call=OuterRef("call")).order_by("-issued_at", "-id")
    return (Open311Report.objects.filter(client=client)
            .select_related("call", "service", "service__time_limit_class")
            .annotate(slip_status=Subquery(latest.values("status")[:1]), slip_pk=Subquery(latest.values("pk")[:1]))
            .annotate(open311_status=Case(
                *[When(call__status=state, then=Value(name)) for state, name in CALL_STATUS.items()],
                When(call__status=CallStatus.CLOSED, slip_status__isnull=True, then=Value("closed")),
                *[When(slip_status=state, then=Value(name)) for state, name in SLIP_STATUS.items()],
                default=Value("open"), output_field=CharField()),
                requested_at=F("received_at"))
            .order_by("-received_at", "-id"))


def request_filter(qs: QuerySet, *, ids: list[str] | None = None, service_codes: list[str] | None = None,
                   start: datetime.datetime | None = None, end: datetime.datetime | None = None,
                   statuses: list[str] | None = None, now: datetime.datetime | None = None) -> QuerySet:
    """The specification's filters: service_request_id (overrides the others), service_code, start_date and
    end_date on the requested time (`window`), status."""
    if ids:
        return qs.filter(_id_filter(qs.model, ids))
    if service_codes:
        field = "category__code__in" if qs.model is HandoffSlip else "service__code__in"
        qs = qs.filter(**{field: service_codes})
    start, end = window(start, end, now)
    qs = qs.filter(requested_at__gte=start, requested_at__lte=end)
    if statuses:
        qs = qs.filter(open311_status__in=statuses_asked(statuses))
    return qs


def _id_filter(model, ids: list[str]):
    if model is Open311Report:
        return Q(call__call_id__in=ids)
    query = Q(pk__in=[])
    for serial in ids:  # 2026-000123; anything else names no slip
        year, _sep, number = serial.partition("-")
        if len(year) == 4 and 1 <= len(number) <= 9 and (year + number).isascii() and (year + number).isdigit():
            query |= Q(year=int(year), number=int(number))
    return query


def request_get(client: Open311Client, request_id: str):
    """One of the client's requests; None for any other id, whatever was typed (the view says 404)."""
    return request_filter(requests_of(client), ids=[request_id]).first()


def _stamp(value: datetime.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _latest(*values):
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _slip_updated(slip: HandoffSlip):
    return _latest(slip.issued_at, slip.accepted_at, slip.returned_at, slip.completed_at, slip.closed_at)


def _slip_notes(slip: HandoffSlip) -> str:
    if slip.status == SlipStatus.RETURNED:
        return slip.return_reason
    if slip.status in (SlipStatus.COMPLETED, SlipStatus.CLOSED):
        return slip.result
    return ""


def time_limit_text(category: Category) -> str:
    tlc = category.time_limit_class
    if tlc.counts_working_days:  # as the slip's deadline is counted (supervision.deadlines)
        return _("%(name)s: within %(n)s working days") % {"name": tlc.name, "n": tlc.deadline_working_days}
    return _("%(name)s: within %(n)s hours") % {"name": tlc.name, "n": tlc.deadline_hours}


def _place(call) -> dict:
    return {"address": call.address, "address_id": None, "zipcode": None, "lat": call.lat, "long": call.lon}


def requests_as_dicts(rows) -> list[dict]:
    """Service requests as GeoReport v2 names their fields; a partner's reports with their calls' latest
    slips, read in one query."""
    rows = list(rows)
    slip_pks = [r.slip_pk for r in rows if isinstance(r, Open311Report) and r.slip_pk is not None]
    slips = HandoffSlip.objects.select_related("department").in_bulk(slip_pks)
    return [request_as_dict(r, slips.get(getattr(r, "slip_pk", None))) for r in rows]


def request_as_dict(row, slip: HandoffSlip | None = None) -> dict:
    """One service request as GeoReport v2 names its fields: a slip, or a partner's report with its call's
    latest slip."""
    if isinstance(row, HandoffSlip):
        return {
            "service_request_id": row.serial, "status": row.open311_status, "status_notes": _slip_notes(row),
            "service_name": row.category.name, "service_code": row.category.code,
            "description": row.call.content, "agency_responsible": row.department.name,
            "service_notice": time_limit_text(row.category),
            "requested_datetime": _stamp(row.issued_at), "updated_datetime": _stamp(_slip_updated(row)),
            "expected_datetime": _stamp(row.deadline), **_place(row.call), "media_url": None,
        }
    call = row.call
    notes = _("Handled by the police.") if call.status == CallStatus.ASSIGNED else (_slip_notes(slip) if slip else "")
    if slip is not None and slip.status == SlipStatus.RETURNED:
        notes, slip = "", None  # back with the dispatchers: the department's reason is theirs, not the partner's
    return {
        "service_request_id": call.call_id, "status": row.open311_status, "status_notes": notes,
        "service_name": row.service.name, "service_code": row.service.code,
        "description": call.content, "agency_responsible": slip.department.name if slip else None,
        "service_notice": time_limit_text(row.service),
        "requested_datetime": _stamp(row.received_at),
        "updated_datetime": _stamp(_latest(row.received_at, call.classified_at, slip and _slip_updated(slip))),
        "expected_datetime": _stamp(slip.deadline) if slip else None, **_place(call),
        "media_url": row.media_url or None,
    }


# --- Updates: mySociety's servicerequestupdates --------------------------------------------------------------

def updates_of(client: Open311Client) -> QuerySet[AuditLog]:
    """Each change of status a client's requests went through, oldest first, from the audit log (its row id is
    the update_id). A department's: its slips' changes. A partner's: its calls' slips' changes except a
    department's return (the call is then back with the dispatchers: `open`), and the call's own changes the
    partner can see (back with the dispatchers, handed to the police, closed by them)."""
    changed = ~Q(from_state=F("to_state"))
    if client.kind == Open311Client.Kind.DEPARTMENT:
        slips = HandoffSlip.objects.filter(department_id=client.department_id).values("pk")
        rows = AuditLog.objects.filter(changed, action="slip_status", object_type="handoffslip",
                                       object_id__in=slips)
    else:
        slip_rows = Q(action="slip_status", object_type="handoffslip") & changed & ~Q(to_state=SlipStatus.RETURNED)
        call_rows = Q(action="call_status") & (Q(to_state__in=[CallStatus.RETURNED, CallStatus.ASSIGNED])
                                               | Q(to_state=CallStatus.CLOSED, from_state=CallStatus.ASSIGNED))
        rows = AuditLog.objects.filter(slip_rows | call_rows, call__open311_report__client=client)
    return rows.select_related("call").order_by("at", "id")


def updates_filter(rows: QuerySet, *, start=None, end=None, now=None) -> QuerySet:
    """start_date and end_date on the time of the change, as `window` reads them."""
    start, end = window(start, end, now)
    return rows.filter(at__gte=start, at__lte=end)


def _update_text(row: AuditLog, slip: HandoffSlip | None) -> str:
    if row.action == "call_status":
        return {CallStatus.RETURNED: _("Back with the dispatchers, to be handed on."),
                CallStatus.ASSIGNED: _("Handled by the police."),
                CallStatus.CLOSED: _("Closed by the police.")}[row.to_state]
    said = row.reason_display
    if row.to_state == SlipStatus.ISSUED:
        return _("Handed to %(department)s.") % {"department": slip.department.name}
    if row.to_state == SlipStatus.ACCEPTED:
        return _("Accepted by %(department)s.") % {"department": slip.department.name}
    return said or SlipStatus(row.to_state).label


def updates_as_dicts(rows, client: Open311Client) -> list[dict]:
    """mySociety's request updates: update_id, service_request_id, status, updated_datetime, description."""
    rows = list(rows)
    slips = HandoffSlip.objects.select_related("department").in_bulk(
        [r.object_id for r in rows if r.object_type == "handoffslip"])
    department = client.kind == Open311Client.Kind.DEPARTMENT
    found = []
    for row in rows:
        slip = slips.get(row.object_id) if row.object_type == "handoffslip" else None
        if row.action == "call_status":
            status = "open" if row.to_state == CallStatus.RETURNED else (
                "internal_referral" if row.to_state == CallStatus.ASSIGNED else "closed")
        else:
            status = SLIP_STATUS[row.to_state]
        found.append({
            "update_id": str(row.pk), "service_request_id": slip.serial if department else row.call.call_id,
            "status": status, "updated_datetime": _stamp(row.at), "description": _update_text(row, slip),
            "media_url": None,
        })
    return found
