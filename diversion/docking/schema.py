"""The message Fenliu sends the 12345 platform, in the OpenAPI schema's `webhooks` (SPECTACULAR_SETTINGS)."""

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema

from .serializers import SlipIssuedPayloadSerializer

SLIP_ISSUED = OpenApiWebhook(
    name="platform.slip.issued",
    decorator=extend_schema(
        summary="A slip sent to the 12345 platform",
        description=("POSTed to the platform's address when a slip for a department reached through it is issued "
                     "(docs/docking.md). Signed: X-Fenliu-Signature is sha256=HMAC-SHA256(secret, "
                     "'<X-Fenliu-Timestamp>.' + body). The platform answers with its events at "
                     "/api/v1/platforms/{code}/events/."),
        request=SlipIssuedPayloadSerializer,
        responses={200: OpenApiResponse(description="Taken. Any other answer: sent again later, then a dead "
                                                    "letter.")},
    ),
)
