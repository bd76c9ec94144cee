"""Units over the API (issue 37): a patrol system's or vehicle terminals' position feed. Each position goes
through grids.services.unit_set_position on its own, so one bad or late fix never holds back the others."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import DomainError
from core.parsers import BoundedJSONParser
from core.roles import CanTakeCalls
from core.serializers import NumberField, TextField

from . import services
from .models import Unit

MAX_POSITIONS = 500


def _messages(errors, prefix: str = ""):
    """Nested serializer errors as flat messages, each saying which item and field it is about."""
    if isinstance(errors, dict):
        for field, value in errors.items():
            yield from _messages(value, prefix if field == "non_field_errors" else f"{prefix}{field}: ")
    elif isinstance(errors, list):
        for n, value in enumerate(errors, start=1):
            yield from _messages(value, f"{prefix}[{n}] " if isinstance(value, dict) else prefix)
    else:
        yield f"{prefix}{errors}"


class PositionSerializer(serializers.Serializer):
    unit = TextField(max_length=32, help_text="The unit's code.")
    lat = NumberField(min_value=-90, max_value=90)
    lon = NumberField(min_value=-180, max_value=180)
    at = serializers.DateTimeField(required=False, help_text="When the fix was taken; now if left out.")


class PositionFeedSerializer(serializers.Serializer):
    positions = PositionSerializer(many=True, allow_empty=False, max_length=MAX_POSITIONS)


class PositionResultSerializer(serializers.Serializer):
    unit = serializers.CharField()
    ok = serializers.BooleanField()
    code = serializers.CharField(required=False)
    error = serializers.CharField(required=False)


class PositionFeedResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = PositionResultSerializer(many=True)


class UnitPositionsApi(APIView):
    permission_classes = [CanTakeCalls]
    # A list of objects is JSON: form and multipart bodies cannot carry it.
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        request=PositionFeedSerializer,
        responses={
            200: OpenApiResponse(PositionFeedResultSerializer,
                                 description="Each position kept or refused, in the order sent."),
            400: OpenApiResponse(description="Not a list of positions; nothing was kept."),
            415: OpenApiResponse(description="The body is not JSON; nothing was kept."),  # body: core.schema
        },
    )
    def post(self, request):
        """Report units' positions (up to 500 at once). A position older than the unit's last one, from the
        future, or for an unknown unit is refused with its reason; the others are kept."""
        feed = PositionFeedSerializer(data=request.data)
        if not feed.is_valid():
            # The API's 400 body is {field: [message, ...]} everywhere (core.schema): an item's errors are
            # told as "[2] lat: …" under `positions`.
            raise ValidationError({field: list(_messages(errors)) for field, errors in feed.errors.items()})
        units = Unit.objects.in_bulk([p["unit"] for p in feed.validated_data["positions"]], field_name="code")
        results = []
        for position in feed.validated_data["positions"]:
            unit = units.get(position["unit"])
            if unit is None:
                results.append({"unit": position["unit"], "ok": False, "code": "unknown_unit",
                                "error": _("No unit has this code.")})
                continue
            try:
                services.unit_set_position(actor=request.user, unit_pk=unit.pk, lat=position["lat"],
                                           lon=position["lon"], at=position.get("at"))
            except DomainError as exc:
                results.append({"unit": unit.code, "ok": False, "code": exc.code, "error": str(exc.message)})
            else:
                results.append({"unit": unit.code, "ok": True})
        accepted = sum(1 for r in results if r["ok"])
        return Response({"accepted": accepted, "refused": len(results) - accepted, "results": results})
