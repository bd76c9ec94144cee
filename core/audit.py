from .models import AuditLog


def audit_write(*, actor, action: str, obj, call=None, from_state: str = "", to_state: str = "",
                reason: str = "", data: dict | None = None) -> AuditLog:
    """Write one audit row. Call it inside the service's transaction so the row and the change
    commit together."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditLog.objects.create(
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
