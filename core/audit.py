"""The audit log's one writer, and `Reason`: a reason the system writes (not one a person typed) kept as its
message and arguments, so each reader sees it in their own language (AuditLog.reason_display)."""

from django.apps import apps
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from . import live
from .models import AuditLog

REASON_KEY = "reason_i18n"


class Reason:
    """`Reason(gettext_noop("Diverted on slip %(serial)s"), serial=...)`: translated when shown, not when
    written. `Reason.choice(slip, "close_reason")`: the label of a model field's choice, likewise."""

    def __init__(self, message: str = "", *, choice: dict | None = None, **args):
        self.message, self.args, self.choice_of = message, args, choice

    @classmethod
    def choice(cls, obj, field: str) -> "Reason":
        return cls(choice={"model": obj._meta.label_lower, "field": field, "value": getattr(obj, field)})

    def as_data(self) -> dict:
        return {"choice": self.choice_of} if self.choice_of else {"message": self.message, "args": self.args}

    @staticmethod
    def render(stored: dict) -> str:
        """The stored reason in the active language."""
        choice = stored.get("choice")
        if choice:
            try:
                field = apps.get_model(choice["model"])._meta.get_field(choice["field"])
            except (LookupError, KeyError, ValueError):
                return str(choice.get("value", ""))
            return str(dict(field.flatchoices).get(choice["value"], choice["value"]))
        message = stored.get("message") or ""
        if not message:  # gettext("") is the catalogue's header, never a reason
            return ""
        args = {k: str(Reason.render(v)) if isinstance(v, dict) and ("message" in v or "choice" in v) else v
                for k, v in (stored.get("args") or {}).items()}
        return gettext(message) % args if args else gettext(message)

    def __str__(self) -> str:
        return self.render(self.as_data())


def audit_write(*, actor, action: str, obj, call=None, from_state: str = "", to_state: str = "",
                reason: str = "", data: dict | None = None) -> AuditLog:
    """Write one audit row. Call it inside the service's transaction so the row and the change
    commit together. Every state change writes one, so this is also where open pages are told of it
    (core.live), after the commit."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if isinstance(reason, Reason):
        data = {**(data or {}), REASON_KEY: reason.as_data()}
        with translation.override(settings.LANGUAGE_CODE):  # the stored text: the centre's language
            reason = str(reason)
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
    from .webhooks import fan_out  # here, not at the top: core.webhooks' outbox imports this module

    fan_out(row, obj)  # issue 40: subscribers hear of call and slip status changes, in this transaction
    return row
