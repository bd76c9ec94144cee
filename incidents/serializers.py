"""Intake input and the call as the API shows it. Validation and shape only: writes are in services."""

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.phones import phone_normalise
from core.serializers import TextField
from core.times import validate_event_time
from diversion.models import Category, Department
from diversion.routing import DECISIONS
from grids.models import Unit

from .models import CONTENT_MAX_CHARS, Call, Channel

# The 110 system's clock and ours may differ a little; a call stamped further ahead than this is a typo
# or a wrong time zone, not a call.


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset. DRF would quietly read a naive time in the server's zone; for a call
    from another system that guess can be hours wrong, so a naive time is refused."""

    default_error_messages = {
        "naive": _("Give the time with its UTC offset, e.g. 2025-05-01T08:30:00+08:00."),
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # well formed but impossible (month 13): the parent reports it
                parsed = None
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        elif isinstance(value, datetime.datetime) and timezone.is_naive(value):
            self.fail("naive")
        return super().to_internal_value(value)


class CallIntakeSerializer(serializers.Serializer):
    """A call as the 110 system (or a dispatcher's client) sends it. `validated_data` is exactly what
    `incidents.services.call_intake` takes."""

    call_id = TextField(min_length=1, max_length=64)
    received_at = AwareDateTimeField()
    caller_phone = TextField(min_length=1, max_length=32)
    caller_name = TextField(max_length=64, required=False, allow_blank=True, default="")
    address = TextField(max_length=200, required=False, allow_blank=True, default="")
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, default=None)
    lon = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)
    content = TextField(min_length=1, max_length=CONTENT_MAX_CHARS)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, default=Channel.PHONE)

    def validate_received_at(self, value):
        try:
            validate_event_time(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from None
        return value

    def validate_caller_phone(self, value):
        try:
            return phone_normalise(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from None

    def validate(self, attrs):
        lat, lon = attrs.get("lat"), attrs.get("lon")
        if (lat is None) != (lon is None):
            missing = "lon" if lon is None else "lat"
            raise serializers.ValidationError(
                {missing: [_("Give both latitude and longitude, or neither.")]}, code="coordinates_pair"
            )
        return attrs


class CallSerializer(serializers.ModelSerializer):
    """A call as the API shows it. The caller's number only ever masked."""

    caller_phone_masked = serializers.CharField(source="masked_phone", read_only=True)
    micro_grid = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)  # unplaced
    suggested_decision = serializers.ChoiceField(
        choices=DECISIONS, read_only=True,
        help_text="The suggestion's keep-or-divert decision; undecided: the dispatcher decides.")
    claimed_by = serializers.SerializerMethodField(
        help_text="The user name of the dispatcher working on the call (their claim is live), else null.")

    class Meta:
        model = Call
        fields = ["id", "call_id", "status", "version", "received_at", "caller_phone_masked", "address",
                  "micro_grid", "suggested_decision", "suggested_police", "suggestions", "repeats", "claimed_by"]
        read_only_fields = fields


    def get_claimed_by(self, call) -> str | None:
        holder = call.claim_holder()
        return holder.username if holder is not None else None


class CallClassifySerializer(serializers.Serializer):
    """A decision on one call, as the workbench sends it: police with a unit, or non-police with a
    sub-category. `version` is the call's version the client showed (GET the call); `validated_data` is
    what `incidents.services.call_classify` takes, less the actor and the call."""

    version = serializers.IntegerField(min_value=0, help_text=_(
        "The call's version when the decision was made (the `version` of GET /calls/{id}/). A call that changed "
        "since is refused with 409."))
    decision = serializers.ChoiceField(choices=[("police", _("Police matter")),
                                                ("non_police", _("Divert to a department"))])
    category = serializers.SlugRelatedField(slug_field="code", queryset=Category.objects.filter(active=True),
                                            required=False, allow_null=True, default=None)
    department = serializers.SlugRelatedField(slug_field="code", queryset=Department.objects.filter(active=True),
                                              required=False, allow_null=True, default=None,
                                              help_text=_("Empty: the sub-category's department for the call's grid."))
    instructions = TextField(max_length=500, required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="",
        help_text=_("Required to divert a call the suggestion keeps with the police."))
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.filter(available=True), required=False,
                                              allow_null=True, default=None)
    note = TextField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        police = attrs.pop("decision") == "police"
        if police and attrs.get("unit") is None:
            raise serializers.ValidationError({"unit": [_("Choose a police unit.")]}, code="unit_required")
        if not police and attrs.get("category") is None:
            raise serializers.ValidationError({"category": [_("Choose a sub-category.")]}, code="category_required")
        if police:
            attrs["category"] = None
        return {**attrs, "police": police}


class CallDecisionSerializer(serializers.Serializer):
    """What came of a decision: the call as it now is, and the slip or the police assignment."""

    already_classified = serializers.BooleanField(
        source="repeated", help_text=_("The same decision was already made on this version: nothing was done."))
    call = CallSerializer()
    slip = serializers.SerializerMethodField()
    review = serializers.SerializerMethodField(
        help_text=_("When the centre's review layers apply: the review the slip waits for (no slip yet)."))
    assignment = serializers.SerializerMethodField()

    def get_review(self, decision) -> dict | None:
        review = decision.review
        return {"id": review.pk, "status": review.status, "mode": review.mode,
                "waiting_for": [s.position for s in review.steps.all() if s.is_open]} if review else None

    def get_slip(self, decision) -> dict | None:
        slip = decision.slip
        return {"id": slip.pk, "serial": slip.serial, "department": slip.department.code,
                "category": slip.category.code} if slip else None

    def get_assignment(self, decision) -> dict | None:
        a = decision.assignment
        return {"id": a.pk, "unit": a.unit_id, "unit_name": a.unit.name} if a else None
