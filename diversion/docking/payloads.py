"""The JSON a slip is sent to the 12345 platform as (docs/docking.md describes every field)."""

from django.utils import timezone

from ..models import HandoffSlip

PAYLOAD_VERSION = 1


def _time(value) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def slip_payload(slip: HandoffSlip, message_id: str) -> dict:
    """The slip's three parts (存根联, 交办联, 回执联), its sub-category, deadline and the call's facts. The
    department's part carries the caller's full number: the platform's case worker calls the caller."""
    call = slip.call
    category, limit = slip.category, slip.category.time_limit_class
    facts = {"serial": slip.serial, "category": category.code, "department": slip.department.code,
             "issued_at": _time(slip.issued_at), "deadline": _time(slip.deadline)}
    return {
        "version": PAYLOAD_VERSION,
        "id": message_id,
        "event": "slip.issued",
        "slip": {
            **facts,
            "category_name": category.name_zh,
            "time_limit_class": limit.code,
            "time_limit_class_name": limit.name_zh,
            "department_name": slip.department.name_zh,
            "instructions": slip.instructions,
            "issued_by": slip.issued_by.get_full_name() or slip.issued_by.username,
        },
        "call": {
            "call_id": call.call_id,
            "received_at": _time(call.received_at),
            "channel": call.channel,
            "address": call.address,
            "grid": call.micro_grid.code if call.micro_grid_id else None,
            "content": call.content,
        },
        "parts": {
            "stub": {**facts, "caller_phone_masked": call.masked_phone, "content": call.content},
            "department": {**facts, "caller_name": call.caller_name, "caller_phone": call.caller_phone,
                           "address": call.address, "content": call.content, "instructions": slip.instructions},
            "receipt": {**facts, "fields": ["accepted_at", "handler_name", "result", "completed_at"]},
        },
    }
