"""Serializer fields that keep to the schema the API publishes (drf-spectacular reads them as DRF's own).

DRF's CharField reads a number as its digits and checks `max_length` after trimming whitespace, so a JSON
number, or a string one character too long with a leading space, is accepted although the schema says
"string, at most N characters" (the API fuzz test found both). `TextField` refuses them; it still trims
what it keeps."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import ValidationError


class TextField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise ValidationError(_("Give this as text."))
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class NumberField(serializers.FloatField):
    """A JSON number, as the schema says: text (“25.1”) and true/false are refused, not converted."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise ValidationError(_("Give this as a number."))
        return super().to_internal_value(data)


class WebhookPayloadSerializer(serializers.Serializer):
    """A call's or a slip's status change, as a webhook subscriber receives it (core.webhooks)."""

    id = serializers.CharField(help_text=_("The message id, the same on every retry (also Idempotency-Key)."))
    type = serializers.ChoiceField(choices=["call.status", "slip.status"])
    occurred_at = serializers.DateTimeField()
    to = serializers.CharField(help_text=_("The new status."))
    call = serializers.DictField(help_text=_("id, call_id (and status for call.status)."))
    slip = serializers.DictField(required=False, help_text=_("id, serial, department, category, status."))

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField(allow_blank=True, help_text=_("The status before."))
        return fields
