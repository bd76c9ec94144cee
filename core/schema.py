"""The API's OpenAPI schema (drf-spectacular) says what the API really answers: besides each operation's own
responses, the errors every operation can give, each with the body it really has (core.api's handler):

- 400: `{"detail", "code"}` for a refused request (a domain rule, an unreadable body, a bad page number), or
  `{field: [message, ...]}` for invalid input;
- 401 without credentials, 403 for a role that may not, 404 outside the user's scope, 415 for a body an
  operation that reads JSON only cannot read, 429 when throttled: `{"detail"}` (and `code` for domain
  errors)."""

from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from rest_framework.schemas.generators import is_api_view

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}
INVALID = {
    "type": "object",
    "description": "`detail` and `code` for a refused request; otherwise each invalid field (or "
                   "`non_field_errors`) with its messages.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
DESCRIPTIONS = {
    "400": "Invalid input, or refused by a rule of the domain; nothing was written.",
    "401": "No credentials, or a token that does not exist.",
    "403": "Not allowed for this user's role.",
    "404": "Not found in this user's scope.",
    "409": "The record changed, or is not in a state that allows this.",
    "415": "The body is not in a media type this operation reads; nothing was written.",
    "429": "Too many requests for this token; see Retry-After.",
}


# Paths whose format is part of every address (Open311 GeoReport v2: services.json, services.xml), where DRF's
# schema leaves out `.{format}` paths as optional copies of the same operation.
FORMAT_IN_PATH_PREFIXES = ("/open311/",)


class FenliuAutoSchema(AutoSchema):
    def _get_format_parameters(self):
        if self.path.startswith(FORMAT_IN_PATH_PREFIXES):  # the path's suffix names it; ?format= is not read
            return []
        return super()._get_format_parameters()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response" or self.path.endswith("/schema/"):
            return responses
        if self.path.startswith(FORMAT_IN_PATH_PREFIXES):  # a standard's own errors, documented by its views
            return responses
        listing = self._is_list_view()
        codes = ["401", "403", "429"]
        if self.method in ("POST", "PUT", "PATCH") or listing:  # a body, or a query (a page, a filter)
            codes.append("400")
        if "{" in self.path or listing:  # an id outside the scope, or a page past the end
            codes.append("404")
        codes += [c for c in responses if c in ("400", "404", "409", "415")]
        for code in sorted(set(codes)):
            body = INVALID if code == "400" else ERROR
            response = responses.setdefault(code, {"description": DESCRIPTIONS[code]})
            response.setdefault("content", {"application/json": {"schema": body}})
        return responses


class FormatInPathEnumerator(EndpointEnumerator):
    def should_include_endpoint(self, path, callback):
        if path.startswith(FORMAT_IN_PATH_PREFIXES) and is_api_view(callback):
            return callback.cls.schema is not None
        return super().should_include_endpoint(path, callback)


class FenliuSchemaGenerator(SchemaGenerator):
    """SPECTACULAR_SETTINGS["DEFAULT_GENERATOR_CLASS"]: drf-spectacular's, with FormatInPathEnumerator."""

    endpoint_inspector_cls = FormatInPathEnumerator


def _webhook():
    from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema

    from .serializers import WebhookPayloadSerializer

    return OpenApiWebhook(name="status", decorator=extend_schema(
        summary="A call's or a slip's status changed",
        description=("POSTed to every active webhook subscriber that asked for the type (admin: webhook "
                     "subscribers), signed like every Fenliu message (docs/docking.md); retried, then a dead "
                     "letter. Carries ids and states only, never a caller's details."),
        request=WebhookPayloadSerializer,
        responses={200: OpenApiResponse(description="Taken.")},
    ))


STATUS_WEBHOOK = _webhook()
