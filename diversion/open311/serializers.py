"""What the Open311 interface reads (a partner's report, the filters of a list) and, for the schema, what it
writes: GeoReport v2's field names and types."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.phones import phone_normalise
from core.serializers import TextField

from .selectors import STATUSES, WINDOW

PARTNER_ID = "attribute[partner_request_id]"
PARTNER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
MAX_PAGE_SIZE = 1000  # the specification's largest answer
# The specification's limit of a description. Longer than a call the 110 system or a dispatcher enters
# (incidents.models.CONTENT_MAX_CHARS, the essentials of a call): a partner's reporter writes the report.
DESCRIPTION_MAX_CHARS = 4000


class W3CDateTimeField(serializers.Field):
    """A date and time as the specification writes it (W3C, e.g. 2026-12-06T08:00:00+08:00); without an offset
    it is the centre's local time."""

    default_error_messages = {"invalid": _("Give a date and time in W3C format, e.g. 2026-12-06T08:00:00+08:00.")}

    def to_internal_value(self, data):
        try:
            value = parse_datetime(data.strip()) if isinstance(data, str) else None
        except ValueError:
            value = None
        if value is None:
            self.fail("invalid")
        return timezone.make_aware(value) if timezone.is_naive(value) else value

    def to_representation(self, value):
        return timezone.localtime(value).isoformat(timespec="seconds")


class CommaListField(serializers.Field):
    """One value or several, comma delimited, as the specification's list parameters are."""

    def __init__(self, *, choices=None, item_max_length=64, **kwargs):
        self.choices, self.item_max_length = choices, item_max_length
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(_("Give this as text."))
        items = [item.strip() for item in data.split(",") if item.strip()]
        if not items or len(items) > 100 or any(len(item) > self.item_max_length for item in items):
            raise serializers.ValidationError(_("Give one to 100 values, comma delimited."))
        if self.choices is not None:
            unknown = [item for item in items if item not in self.choices]
            if unknown:
                raise serializers.ValidationError(
                    _("Unknown: %(values)s. Known: %(known)s.") % {"values": ", ".join(unknown),
                                                                  "known": ", ".join(self.choices)})
        return items


class WindowQuerySerializer(serializers.Serializer):
    """A time window and a page: what every list here reads (the page is our addition; see the Link header)."""

    api_key = TextField(max_length=64, required=False, help_text=_("The department's or the partner's key."))
    jurisdiction_id = TextField(max_length=64, required=False, help_text=_("Accepted and ignored: one centre."))
    start_date = W3CDateTimeField(required=False, help_text=_("At or after (W3C date and time)."))
    end_date = W3CDateTimeField(required=False, help_text=_(
        "At or before (W3C date and time); at most 90 days after start_date."))
    page = serializers.IntegerField(min_value=1, max_value=100000, required=False, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, required=False,
                                         default=MAX_PAGE_SIZE)

    def validate(self, attrs):
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and start > end:
            raise serializers.ValidationError({"end_date": [_("end_date is before start_date.")]})
        if start and end and end - start > WINDOW:
            raise serializers.ValidationError({"end_date": [
                _("The range may span at most 90 days (the specification's limit).")]})
        return attrs


class RequestQuerySerializer(WindowQuerySerializer):
    """GET requests: the specification's filters."""

    service_request_id = CommaListField(required=False, help_text=_(
        "One or more request ids, comma delimited; when given, the other filters are ignored."))
    service_code = CommaListField(required=False, help_text=_("One or more service codes, comma delimited."))
    status = CommaListField(choices=STATUSES, required=False, help_text=_(
        "open or closed (every status of that family), or mySociety's extended statuses, comma delimited."))


class ReportSerializer(serializers.Serializer):
    """POST requests: a partner's report, form encoded as the specification has it."""

    api_key = TextField(max_length=64, required=False, help_text=_("The partner's key."))
    jurisdiction_id = TextField(max_length=64, required=False, help_text=_("Accepted and ignored: one centre."))
    service_code = TextField(max_length=8, help_text=_("A service_code from services."))
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, default=None)
    long = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)
    address_string = TextField(max_length=200, required=False, allow_blank=True, default="")
    address_id = TextField(max_length=64, required=False, allow_blank=True, default="",
                           help_text=_("Not used here: give lat and long or address_string."))
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    device_id = TextField(max_length=64, required=False, allow_blank=True, default="")
    account_id = TextField(max_length=64, required=False, allow_blank=True, default="")
    first_name = TextField(max_length=32, required=False, allow_blank=True, default="")
    last_name = TextField(max_length=32, required=False, allow_blank=True, default="")
    phone = TextField(max_length=32, required=False, allow_blank=True, default="")
    description = TextField(min_length=1, max_length=DESCRIPTION_MAX_CHARS, help_text=_(
        "What happened, as the reporter wrote it (at most %(n)s characters).") % {"n": DESCRIPTION_MAX_CHARS})
    media_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")

    def get_fields(self):
        fields = super().get_fields()
        fields[PARTNER_ID] = serializers.RegexField(
            PARTNER_ID_PATTERN, source="partner_request_id", help_text=_(
                "The partner's own id of the report (letters, digits, - and _; at most 40): the same id again "
                "returns the first request and writes nothing."),
            error_messages={"invalid": _("Letters, digits, - and _ only, at most 40.")})
        return fields

    def validate_phone(self, value):
        if not value:
            return ""
        try:
            return phone_normalise(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate(self, attrs):
        lat, lon = attrs.get("lat"), attrs.get("long")
        if (lat is None) != (lon is None):
            raise serializers.ValidationError({"long" if lon is None else "lat": [
                _("Give both lat and long, or neither.")]})
        if lat is None and not attrs.get("address_string"):
            raise serializers.ValidationError({"address_string": [
                _("address_id is not used here: give lat and long or address_string.") if attrs.get("address_id")
                else _("Give the place: lat and long, or address_string.")]})
        attrs["lon"], attrs["address"] = attrs.pop("long"), attrs.pop("address_string")
        return attrs


# --- What the interface writes, for the schema --------------------------------------------------------------

class ServiceSerializer(serializers.Serializer):
    service_code = serializers.CharField()
    service_name = serializers.CharField()
    description = serializers.CharField()
    metadata = serializers.BooleanField()
    type = serializers.ChoiceField(choices=["realtime", "batch", "blackbox"])
    keywords = serializers.CharField(help_text=_("Comma delimited."))
    group = serializers.CharField()
    time_limit_class = serializers.CharField(help_text=_("Our addition: the time-limit class's code."))


class AttributeValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()


class AttributeSerializer(serializers.Serializer):
    variable = serializers.BooleanField()
    code = serializers.CharField()
    datatype = serializers.ChoiceField(choices=["string", "number", "datetime", "text", "singlevaluelist",
                                                "multivaluelist"])
    required = serializers.BooleanField()
    datatype_description = serializers.CharField(allow_blank=True)
    order = serializers.IntegerField()
    description = serializers.CharField()
    values = AttributeValueSerializer(many=True, required=False)


class ServiceDefinitionSerializer(serializers.Serializer):
    service_code = serializers.CharField()
    attributes = AttributeSerializer(many=True)


class ServiceRequestSerializer(serializers.Serializer):
    service_request_id = serializers.CharField()
    status = serializers.ChoiceField(choices=STATUSES)
    status_notes = serializers.CharField(allow_blank=True)
    service_name = serializers.CharField()
    service_code = serializers.CharField()
    description = serializers.CharField()
    agency_responsible = serializers.CharField(allow_null=True)
    service_notice = serializers.CharField(allow_null=True)
    requested_datetime = serializers.CharField()
    updated_datetime = serializers.CharField(allow_null=True)
    expected_datetime = serializers.CharField(allow_null=True)
    address = serializers.CharField(allow_blank=True)
    address_id = serializers.CharField(allow_null=True)
    zipcode = serializers.CharField(allow_null=True)
    lat = serializers.FloatField(allow_null=True)
    long = serializers.FloatField(allow_null=True)
    media_url = serializers.CharField(allow_null=True)


class UpdateSerializer(serializers.Serializer):
    update_id = serializers.CharField()
    service_request_id = serializers.CharField()
    status = serializers.ChoiceField(choices=STATUSES)
    updated_datetime = serializers.CharField()
    description = serializers.CharField()
    media_url = serializers.CharField(allow_null=True)


class CreatedSerializer(serializers.Serializer):
    service_request_id = serializers.CharField()
    service_notice = serializers.CharField(allow_blank=True)
    account_id = serializers.CharField(allow_null=True)


class TokenSerializer(serializers.Serializer):
    service_request_id = serializers.CharField()
    token = serializers.CharField()


class EndpointSerializer(serializers.Serializer):
    specification = serializers.CharField()
    url = serializers.CharField()
    changeset = serializers.CharField()
    type = serializers.CharField()
    formats = serializers.ListField(child=serializers.CharField())


class DiscoverySerializer(serializers.Serializer):
    changeset = serializers.CharField()
    contact = serializers.CharField()
    key_service = serializers.CharField()
    endpoints = EndpointSerializer(many=True)
