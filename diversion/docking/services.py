"""The platform's events, verified and parsed by the inbound endpoint (docking.api), applied through the same
services as the department pages and the dispatchers' intake, each at most once by its event id."""

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import services as call_services

from .. import services
from ..models import Platform, PlatformEvent, SlipDocking


def _docked_slip(platform: Platform, serial: str):
    """The slip with this serial sent to this platform; 404 for any other, whatever serial was typed."""
    year, _sep, number = (serial or "").partition("-")
    if not (year.isdigit() and number.isdigit()):
        raise Http404
    docking = (SlipDocking.objects.select_related("slip").filter(platform=platform, slip__year=int(year),
                                                                 slip__number=int(number)).first())
    if docking is None:
        raise Http404
    return docking


def _apply(platform: Platform, event: dict, row: PlatformEvent) -> dict:
    actor, kind = platform.user, event["type"]
    if kind == PlatformEvent.Type.TRANSFER:
        facts = event["call"]
        result = call_services.call_intake(actor=actor, data={
            "call_id": f"12345-{platform.code}-{facts['call_id']}", "received_at": facts["received_at"],
            "caller_phone": facts.get("caller_phone", ""), "caller_name": facts.get("caller_name", ""),
            "address": facts.get("address", ""), "content": facts["content"], "channel": "transfer",
            "lat": facts.get("lat"), "lon": facts.get("lon")})
        row.call = result.call
        return {"call": result.call.call_id, "call_status": result.call.status, "created": result.created}
    docking = _docked_slip(platform, event["slip"])
    slip_pk = docking.slip_id
    if kind == PlatformEvent.Type.ACCEPTED:
        slip = services.slip_accept(actor=actor, slip_pk=slip_pk, handler_name=event.get("handler_name", ""))
    elif kind == PlatformEvent.Type.RETURNED:
        slip = services.slip_return(actor=actor, slip_pk=slip_pk, reason=event.get("reason", ""),
                                    suggested_department=event.get("suggested_department"))
    elif kind == PlatformEvent.Type.COMPLETED:
        slip = services.slip_complete(actor=actor, slip_pk=slip_pk, result=event.get("result", ""),
                                      handler_name=event.get("handler_name", ""))
    else:
        callback = event["callback"]
        services.callback_record(actor=actor, slip_pk=slip_pk, channel=callback["channel"],
                                 reached=callback["reached"], resolved=callback.get("resolved", ""),
                                 satisfaction=callback.get("satisfaction"), comment=callback.get("comment", ""))
        slip = docking.slip
        slip.refresh_from_db()
    # The platform acting on the slip is its acknowledgement of it.
    SlipDocking.objects.filter(pk=docking.pk, acknowledged_at__isnull=True).update(acknowledged_at=row.received_at)
    row.slip = slip
    return {"slip": slip.serial, "slip_status": slip.status}


def platform_event_receive(*, platform: Platform, event: dict) -> tuple[PlatformEvent, bool]:
    """Apply one verified event from the platform. Idempotent on the event's id: the same id again changes
    nothing and returns the first answer (False). A refused event (unknown slip, a transition the slip's state
    does not allow) raises, and nothing of it is kept, so the platform may send it again once it is valid."""
    with transaction.atomic():
        try:
            with transaction.atomic():  # the row's unique id orders two deliveries of the same event
                row = PlatformEvent.objects.create(platform=platform, event_id=event["id"], type=event["type"],
                                                   received_at=timezone.now(), payload=event.get("raw", {}))
        except IntegrityError:
            first = PlatformEvent.objects.get(platform=platform, event_id=event["id"])
            if first.type != event["type"]:
                from core.errors import Conflict

                raise Conflict(_("Event %(id)s was already received as “%(type)s”.") % {
                    "id": event["id"], "type": first.get_type_display()}, code="event_id_conflict") from None
            return first, False
        row.answer = {"event": row.event_id, "type": row.type, **_apply(platform, event, row)}
        row.save(update_fields=["answer", "slip", "call"])
    return row, True
