from . import live
from .models import AuditLog


def audit_write(*, actor, action: str, obj, call=None, from_state: str = "", to_state: str = "",
                reason: str = "", data: dict | None = None) -> AuditLog:
    """Write one audit row. Call it inside the service's transaction so the row and the change
    commit together. Every state change writes one, so this is also where open pages are told of it
    (core.live), after the commit."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    row = AuditLog.objects.create(
        actor=actor,
        action=action,
        object_type=obj._meta.model_name,
        object_id=obj.pk,
        call=call,
        from_state=from_state or "",
        to_state=to_state or "",
        reason=reason or "",
        data=data or {},
    )
    live.audit_written(row, obj)
    return row
