"""Slips and callbacks as the API shows them, and the input of each slip action. Validation and shape
only: every rule about states and who may act lives in diversion.services."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.serializers import TextField
from incidents.models import Call

from .models import Callback, Department, HandoffSlip, ReviewStep, SlipReview


class SlipCallSerializer(serializers.ModelSerializer):
    caller_phone_masked = serializers.CharField(source="masked_phone", read_only=True)

    class Meta:
        model = Call
        fields = ["id", "call_id", "content", "address", "caller_phone_masked"]
        read_only_fields = fields


class CodeNameSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class CallbackSerializer(serializers.ModelSerializer):
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True,
                                               help_text=_("Username of who recorded the callback."))
    # "" when the caller was not reached: declared, since a read-only model field drops allow_blank.
    resolved = serializers.ChoiceField(choices=Callback.Resolved.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Callback
        fields = ["id", "channel", "reached", "resolved", "satisfaction", "comment", "recorded_by",
                  "recorded_at", "reopened_slip"]
        read_only_fields = fields


class SlipSerializer(serializers.ModelSerializer):
    """Expects the slip loaded with call, category, department, accepted_by, suggested_department and
    callbacks (with recorded_by): see diversion.api.SlipViewSet.get_queryset."""

    serial = serializers.CharField(read_only=True)
    call = SlipCallSerializer(read_only=True)
    category = CodeNameSerializer(read_only=True)
    department = CodeNameSerializer(read_only=True)
    # Null until accepted / unless the returning department suggested one ("" until closed): declared, since
    # read-only fields drop allow_null and allow_blank and the schema would say otherwise.
    accepted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                               help_text=_("Username of who accepted the slip; null until then."))
    suggested_department = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True,
        help_text=_("Code of the department the returning department suggested, if any."))
    close_reason = serializers.ChoiceField(choices=HandoffSlip._meta.get_field("close_reason").choices,
                                           allow_blank=True, read_only=True)
    callbacks = CallbackSerializer(many=True, read_only=True)

    class Meta:
        model = HandoffSlip
        fields = ["id", "serial", "status", "call", "category", "department", "instructions", "issued_at",
                  "deadline", "accepted_at", "accepted_by", "handler_name", "returned_at", "return_reason",
                  "suggested_department", "result", "completed_at", "closed_at", "close_reason",
                  "reopen_count", "callbacks"]
        read_only_fields = fields


class SlipAcceptSerializer(serializers.Serializer):
    handler_name = TextField(max_length=64, required=False, allow_blank=True, default="")


class SlipReturnSerializer(serializers.Serializer):
    reason = TextField(min_length=1, max_length=2000)
    suggested_department = serializers.SlugRelatedField(
        slug_field="code", queryset=Department.objects.filter(active=True), required=False, allow_null=True,
        default=None,
    )


class SlipCompleteSerializer(serializers.Serializer):
    result = TextField(min_length=1, max_length=4000)
    handler_name = TextField(max_length=64, required=False, allow_blank=True, default="")


class CallbackRecordSerializer(serializers.Serializer):
    """Whether `resolved` and `satisfaction` are needed depends on `reached`: callback_record decides."""

    channel = serializers.ChoiceField(choices=Callback.Channel.choices)
    reached = serializers.BooleanField()
    resolved = serializers.ChoiceField(choices=Callback.Resolved.choices, required=False, allow_blank=True,
                                       default="")
    satisfaction = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True,
                                            default=None)
    comment = TextField(max_length=2000, required=False, allow_blank=True, default="")


class CallbackCreatedSerializer(CallbackSerializer):
    """The new callback, and what it did to the slip (closed, reopened, still waiting)."""

    slip_status = serializers.CharField(source="slip.status", read_only=True,
                                        help_text=_("The slip's status after this callback."))

    class Meta(CallbackSerializer.Meta):
        fields = [*CallbackSerializer.Meta.fields, "slip_status"]
        read_only_fields = fields




# --- Review layers before a slip leaves (issue 40) --------------------------------------------------------

class ReviewStepSerializer(serializers.ModelSerializer):
    layer = serializers.CharField(source="layer.name", read_only=True)

    class Meta:
        model = ReviewStep
        fields = ["position", "layer", "opened_at", "due_at", "outcome", "decided_at", "reason"]


class ReviewSerializer(serializers.ModelSerializer):
    """A diversion waiting for (or past) the centre's review layers; `slip` is its serial once issued."""

    call = serializers.SerializerMethodField()
    category = serializers.SlugRelatedField(slug_field="code", read_only=True)
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    slip = serializers.SerializerMethodField()
    steps = ReviewStepSerializer(many=True, read_only=True)

    class Meta:
        model = SlipReview
        fields = ["id", "call", "category", "department", "instructions", "mode", "status", "requested_at",
                  "decided_at", "slip", "steps"]

    def get_call(self, review) -> dict:
        return {"id": review.call_id, "call_id": review.call.call_id}

    def get_slip(self, review) -> str | None:
        return review.slip.serial if review.slip_id else None


class ReviewDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[("approve", _("Approve")), ("send_back", _("Send back"))])
    reason = TextField(max_length=1000, required=False, allow_blank=True, default="",
                       help_text=_("Required to send the call back."))
