"""The API's pagination: page numbers by default (REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"]), positions for the
long lists (KeysetPagination). Its own module: the settings import it while DRF's views are being defined,
so it must not import them (as core.schema does, through drf-spectacular)."""

from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination


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


class KeysetPagination(CursorPagination):
    """A long list's pages by position (issue 42): each page is read from an index in the list's order, after
    the last row of the page before, so a page deep in years of history costs what the first one does and
    nothing counts every row. The `next` and `previous` links carry the position; a `cursor` that is not one
    of them is a 400 saying so (not DRF's 404 "Invalid cursor"). A view sets its order (the primary key last,
    so that rows sharing a time never fall between pages) on a subclass."""

    page_size = 50

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: [
                _("Not a position in this list: follow the list's next and previous links.")]},
                code="cursor") from None
