"""The platform's events as the inbound endpoint takes them, and its answer (described in the OpenAPI schema)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.serializers import TextField
from incidents.serializers import CallIntakeSerializer

from ..models import Department, PlatformEvent
from ..serializers import CallbackRecordSerializer

# What each event type must carry besides its id.
REQUIRED = {
    PlatformEvent.Type.ACCEPTED: ["slip"],
    PlatformEvent.Type.RETURNED: ["slip", "reason"],
    PlatformEvent.Type.COMPLETED: ["slip", "result"],
    PlatformEvent.Type.CALLBACK: ["slip", "callback"],
    PlatformEvent.Type.TRANSFER: ["call"],
}


class PlatformEventSerializer(serializers.Serializer):
    """One event from the 12345 platform. `slip` is the serial Fenliu sent (e.g. 2026-000123)."""

    id = TextField(min_length=1, max_length=64, help_text=_("The platform's id of this event: sent again, "
                                                            "it changes nothing."))
    type = serializers.ChoiceField(choices=PlatformEvent.Type.choices)
    slip = TextField(max_length=16, required=False, help_text=_("The slip's serial, for slip events."))
    handler_name = TextField(max_length=64, required=False, allow_blank=True, default="")
    reason = TextField(max_length=1000, required=False, allow_blank=True, default="",
                       help_text=_("Why the slip is returned (returned)."))
    suggested_department = serializers.SlugRelatedField(
        slug_field="code", queryset=Department.objects.filter(active=True), required=False, allow_null=True,
        default=None, help_text=_("The department the platform thinks it belongs to (returned)."))
    result = TextField(max_length=4000, required=False, allow_blank=True, default="",
                       help_text=_("What was done (completed)."))
    callback = CallbackRecordSerializer(required=False, help_text=_("The caller's callback (callback)."))
    call = CallIntakeSerializer(required=False, help_text=_(
        "A call the platform transfers to 110 (transfer); `call_id` is the platform's own case id."))

    def validate(self, attrs):
        missing = [field for field in REQUIRED[attrs["type"]] if not attrs.get(field)]
        if missing:
            raise serializers.ValidationError({field: [_("Required for a “%(type)s” event.") % {
                "type": attrs["type"]}] for field in missing})
        return attrs


class PlatformAnswerSerializer(serializers.Serializer):
    event = serializers.CharField()
    type = serializers.CharField()
    duplicate = serializers.BooleanField(help_text=_("The event was already received: nothing was done."))
    slip = serializers.CharField(required=False)
    slip_status = serializers.CharField(required=False)
    call = serializers.CharField(required=False)
    call_status = serializers.CharField(required=False)
    created = serializers.BooleanField(required=False)


# --- What Fenliu sends the platform (documentation: the schema's `webhooks`, docs/docking.md) -------------

class _SlipFactsSerializer(serializers.Serializer):
    serial = serializers.CharField(help_text=_("The slip's serial, e.g. 2026-000123: the platform's events name it."))
    category = serializers.CharField(help_text=_("Sub-category code (the catalog's 36 by default)."))
    department = serializers.CharField(help_text=_("Department code."))
    issued_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField(help_text=_("When the department must have completed it."))


class _SlipSerializer(_SlipFactsSerializer):
    category_name = serializers.CharField()
    time_limit_class = serializers.ChoiceField(choices=["consultation", "request", "complaint", "report",
                                                        "major_urgent"])
    time_limit_class_name = serializers.CharField()
    department_name = serializers.CharField()
    instructions = serializers.CharField(allow_blank=True)
    issued_by = serializers.CharField()


class _CallFactsSerializer(serializers.Serializer):
    call_id = serializers.CharField(help_text=_("The 110 system's id of the call."))
    received_at = serializers.DateTimeField()
    channel = serializers.CharField()
    address = serializers.CharField(allow_blank=True)
    grid = serializers.CharField(allow_null=True)
    content = serializers.CharField()


class _StubSerializer(_SlipFactsSerializer):
    caller_phone_masked = serializers.CharField()
    content = serializers.CharField()


class _DepartmentPartSerializer(_SlipFactsSerializer):
    caller_name = serializers.CharField(allow_blank=True)
    caller_phone = serializers.CharField(help_text=_("The caller's full number: the case worker calls them."))
    address = serializers.CharField(allow_blank=True)
    content = serializers.CharField()
    instructions = serializers.CharField(allow_blank=True)


class _ReceiptSerializer(_SlipFactsSerializer):
    fields = serializers.ListField(child=serializers.CharField(),
                                   help_text=_("What the receipt asks back: the `completed` event carries it."))


class _PartsSerializer(serializers.Serializer):
    stub = _StubSerializer(help_text=_("存根联: kept by the command centre."))
    department = _DepartmentPartSerializer(help_text=_("交办联: the department's part."))
    receipt = _ReceiptSerializer(help_text=_("回执联: returned with the result."))


class SlipIssuedPayloadSerializer(serializers.Serializer):
    """A slip handed to the 12345 platform: POSTed signed (X-Fenliu-Timestamp, X-Fenliu-Signature) with the
    message id as Idempotency-Key; answer 2xx to take it, anything else and it is sent again later."""

    version = serializers.IntegerField()
    id = serializers.CharField(help_text=_("The message id, the same on every retry."))
    event = serializers.ChoiceField(choices=["slip.issued"])
    slip = _SlipSerializer()
    call = _CallFactsSerializer()
    parts = _PartsSerializer()
