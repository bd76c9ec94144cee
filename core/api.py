"""The one place where errors become API responses (REST_FRAMEWORK["EXCEPTION_HANDLER"])."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .errors import DomainError


def exception_handler(exc, context):
    """Domain errors keep their own status (400, 409) and a machine-readable code; Django's own
    exceptions become the matching DRF ones; everything else is DRF's default."""
    if isinstance(exc, DomainError):
        # Same as DRF does for its own errors: a request wrapped in a transaction must not commit.
        set_rollback()
        return Response({"detail": str(exc.message), "code": exc.code}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        # The same shape as a serializer's errors: {field: [messages]} or {"non_field_errors": [...]}.
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        # Not Http404's own message: it names the model and the lookup, which says what exists.
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    return drf_exception_handler(exc, context)
