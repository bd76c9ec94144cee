"""The inbound endpoint of the 12345 platform: signed events, verified before anything is read."""

import json

from django.conf import settings
from django.http.request import RawPostDataException
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.parsers import NUL_REFUSED, holds_nul, json_depth
from core.signing import SignatureError, verify

from ..models import Platform
from .serializers import PlatformAnswerSerializer, PlatformEventSerializer
from .services import platform_event_receive


def _refused(message: str, code: str, status_code: int) -> Response:
    return Response({"detail": message, "code": code}, status=status_code)


class PlatformEventsApi(APIView):
    # The platform proves itself by the signature, not a login: no session, no token, no CSRF.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="platform_event",
        request=PlatformEventSerializer,
        auth=[],
        responses={
            200: OpenApiResponse(PlatformAnswerSerializer, description=(
                "Applied, or already applied under this event id (`duplicate`: nothing more was done).")),
            400: OpenApiResponse(description="Not JSON, or a field missing or invalid for the event's type; "
                                             "nothing was changed."),
            401: OpenApiResponse(description="`bad_signature`: not signed with the shared secret, or signed more "
                                             "than SIGNATURE_MAX_SKEW_SECONDS away (a replay); nothing was read."),
            404: OpenApiResponse(description="No such platform, or no slip with that serial sent to it."),
            409: OpenApiResponse(description="The slip's state does not allow this event (e.g. completed before "
                                             "accepted), or the event id was used for another type; nothing "
                                             "was changed."),
            413: OpenApiResponse(description="The body is larger than PLATFORM_MAX_BODY_BYTES."),
        },
    )
    def post(self, request, code):
        """An event from the 12345 platform on a slip Fenliu sent it (`accepted`, `returned`, `completed`,
        `callback`) or a call it transfers to 110 (`transfer`). Signed like Fenliu's own messages: the headers
        X-Fenliu-Timestamp and X-Fenliu-Signature (HMAC-SHA256 of `<timestamp>.<body>`; docs/docking.md).
        Idempotent on the event's `id`."""
        platform = get_object_or_404(Platform.objects.select_related("user"), code=code, active=True)
        limit = settings.PLATFORM_MAX_BODY_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return _refused(_("The body is larger than %(n)s bytes.") % {"n": limit}, "too_large",
                            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        try:
            body = request.body
        except RawPostDataException:  # a form body, read as a form before this view (core.middleware)
            body = None
        if body is None:
            try:
                verify(platform.secret, request.headers, b"")
            except SignatureError as exc:
                return _refused(str(exc), "bad_signature", status.HTTP_401_UNAUTHORIZED)
            return _refused(_("The body is not a JSON object."), "bad_json", status.HTTP_400_BAD_REQUEST)
        if len(body) > limit:
            return _refused(_("The body is larger than %(n)s bytes.") % {"n": limit}, "too_large",
                            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        try:
            verify(platform.secret, request.headers, body)
        except SignatureError as exc:
            return _refused(str(exc), "bad_signature", status.HTTP_401_UNAUTHORIZED)
        try:
            text = body.decode("utf-8")
            if json_depth(text, settings.API_JSON_MAX_DEPTH) > settings.API_JSON_MAX_DEPTH:
                raise ValueError
            data = json.loads(text)
        except ValueError:
            return _refused(_("The body is not a JSON object."), "bad_json", status.HTTP_400_BAD_REQUEST)
        if not isinstance(data, dict):
            return _refused(_("The body is not a JSON object."), "bad_json", status.HTTP_400_BAD_REQUEST)
        if holds_nul(data):
            return _refused(str(NUL_REFUSED), "nul", status.HTTP_400_BAD_REQUEST)
        serializer = PlatformEventSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        event = {**serializer.validated_data, "raw": data}
        row, created = platform_event_receive(platform=platform, event=event)
        return Response({**row.answer, "duplicate": not created})
