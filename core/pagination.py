"""The API's pagination (REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"]). Its own module: the settings import it
while DRF's views are being defined, so it must not import them (as core.schema does, through drf-spectacular)."""

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StrictPageNumberPagination(PageNumberPagination):
    """A `page` that is not a whole number from 1 is a 400 saying so (not DRF's 404 "Invalid page"); a page
    past the end stays a 404."""

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) >= 1):
            raise ValidationError({self.page_query_param: [_("A page is a whole number from 1.")]}, code="page")
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters
