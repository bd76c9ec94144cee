"""The GeoReport v2 endpoints. Every answer is JSON or XML by the path's suffix; every error is the
specification's list of `{code, description}` with its HTTP status (400 bad input, 403 a missing or unknown
api_key or a key that may not do this, 404 an unknown service or a request outside the key's scope)."""

import math

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback

from core.errors import DomainError
from core.parsers import BoundedJSONParser
from core.throttle import TokenRateThrottle

from ..models import Category, Open311Client
from ..models_open311 import key_hash
from . import selectors, serializers
from .renderers import Open311JSONRenderer, Open311XMLRenderer
from .services import open311_client_seen, open311_report_create

FORMATS = ["json", "xml"]
MEDIA = {"json": "application/json", "xml": "text/xml"}


def _flatten(detail, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [line for name, value in detail.items()
                for line in _flatten(value, "" if name == "non_field_errors" else f"{name}: ")]
    if isinstance(detail, list):
        return [line for value in detail for line in _flatten(value, prefix)]
    return [f"{prefix}{detail}"]


def _language_asked(asked: str) -> str | None:
    for part in asked.replace("_", "-").split(","):
        code = part.split(";")[0].strip().lower()
        if code.startswith("en"):
            return "en"
        if code.startswith("zh"):
            return "zh-hans"
    return None


def open311_errors(exc, context):
    """Every error as the specification writes it: [{"code": <HTTP status>, "description": ...}]."""
    if isinstance(exc, DomainError):
        code, description = exc.status_code, str(exc.message)
    elif isinstance(exc, Http404 | exceptions.NotFound):
        code, description = 404, (str(exc.detail) if isinstance(exc, exceptions.NotFound) and exc.args
                                  else _("Not found."))
    elif isinstance(exc, DjangoPermissionDenied):
        code, description = 403, str(exc) or _("Not allowed.")
    elif isinstance(exc, exceptions.ValidationError):
        code, description = 400, "; ".join(_flatten(exc.detail))
    elif isinstance(exc, exceptions.APIException):
        code, description = exc.status_code, "; ".join(_flatten(exc.detail))
    else:
        return None
    set_rollback()
    response = Response([{"code": code, "description": description}], status=code)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(math.ceil(exc.wait))
    return response


# The specification's error: a list of {code, description} (written out: drf-spectacular lists only 2xx bodies).
ERRORS_SCHEMA = {"type": "array", "items": {
    "type": "object", "required": ["code", "description"],
    "properties": {"code": {"type": "integer", "description": "The HTTP status."}, "description": {"type": "string"}}}}


def _error_docs(**codes: str) -> dict:
    return {(int(code[1:]), media): OpenApiResponse(ERRORS_SCHEMA, description=text)
            for code, text in codes.items() for media in MEDIA.values()}


def _ok_docs(code: int, serializer, text: str, **errors: str) -> dict:
    """The answer in both formats, and the errors: those named, and those every path gives."""
    errors = {"e400": "A NUL character (0x00) in the query or the form.",
              "e404": "No such path: an unknown format (json or xml), service or request.", "e429": THROTTLED,
              **errors}
    return {**{(code, media): OpenApiResponse(serializer, description=text) for media in MEDIA.values()},
            **_error_docs(**errors)}


FORMAT_PARAMETER = OpenApiParameter("format", OpenApiTypes.STR, OpenApiParameter.PATH, enum=FORMATS,
                                    description="json or xml, as the path's suffix.")
LOCALE_PARAMETER = OpenApiParameter("locale", OpenApiTypes.STR, description=(
    "en or zh (or Accept-Language): the language of names and messages; Chinese by default."))
COMMON_PARAMETERS = [FORMAT_PARAMETER, LOCALE_PARAMETER]
KEY_ERRORS = {"e403": "No api_key, an unknown or inactive one, or a key that may not do this."}
THROTTLED = "More than API_THROTTLE_RATE requests for this api_key (or address); see Retry-After."


class KeyRateThrottle(TokenRateThrottle):
    """API_THROTTLE_RATE requests per api_key (by its hash), per address without one; over it, 429 in the
    specification's error format with Retry-After."""

    def get_cache_key(self, request, view):
        key = view.key_given()
        ident = "apikey:" + key_hash(key)[:24] if key else "addr:" + (self.get_ident(request) or "unknown")
        return self.cache_format % {"scope": self.scope, "ident": ident}


class Open311View(APIView):
    """Keys, not logins: no session, no token, no CSRF; the specification's formats and errors."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [KeyRateThrottle]
    renderer_classes = [Open311JSONRenderer, Open311XMLRenderer]
    parser_classes = [FormParser, MultiPartParser, BoundedJSONParser]
    xml_root = "response"

    def get_exception_handler(self):
        return open311_errors

    def initial(self, request, *args, **kwargs):
        # Names and messages in the language the client asks for: `locale` (as Helsinki's extension of the
        # specification has it) or Accept-Language; Chinese otherwise, as everywhere in Fenliu.
        language = _language_asked(request.query_params.get("locale") or request.headers.get("Accept-Language", ""))
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Language"] = translation.get_language()
        return response

    def key_given(self) -> str:
        key = self.request.query_params.get("api_key") or self.request.headers.get("X-Api-Key")
        if not key and self.request.method == "POST" and hasattr(self.request.data, "get"):  # a JSON list has none
            key = self.request.data.get("api_key")
        return key if isinstance(key, str) else ""

    def client(self, *, kind: str | None = None) -> Open311Client:
        key = self.key_given()
        if not key:
            raise DjangoPermissionDenied(_("Give your api_key."))
        client = (Open311Client.objects.select_related("department", "user")
                  .filter(key_hash=key_hash(key), active=True).first())
        if client is None:
            raise DjangoPermissionDenied(_("This api_key is unknown or no longer active."))
        if kind is not None and client.kind != kind:
            raise DjangoPermissionDenied(
                _("This key reads a department's slips; only a partner's key posts reports.")
                if kind == Open311Client.Kind.PARTNER else _("Only a partner's key asks by its own id."))
        open311_client_seen(client)
        return client


def _service(category: Category) -> dict:
    return {
        "service_code": category.code, "service_name": category.name,
        "description": selectors.time_limit_text(category), "metadata": True, "type": "realtime",
        "keywords": ",".join(category.keywords or []), "group": category.group.name,
        "time_limit_class": category.time_limit_class.code,
    }


class DiscoveryApi(Open311View):
    xml_root = "discovery"

    @extend_schema(operation_id="open311_discovery", auth=[], parameters=COMMON_PARAMETERS,
                   responses=_ok_docs(200, serializers.DiscoverySerializer, "Where and how to use this interface."))
    def get(self, request, format=None):
        """GeoReport v2 discovery: the endpoint, its formats and whom to ask for a key."""
        base = request.build_absolute_uri(reverse("open311-discovery", kwargs={"format": "json"}))
        return Response({
            "changeset": "2026-12-06T00:00:00+08:00",
            "contact": settings.OPEN311_CONTACT,
            "key_service": settings.OPEN311_KEY_SERVICE,
            "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2",
                           "url": base.rsplit("/", 1)[0], "changeset": "2026-12-06T00:00:00+08:00",
                           "type": "production", "formats": list(MEDIA.values())}],
        })


class ServiceListApi(Open311View):
    xml_root = "services"

    @extend_schema(operation_id="open311_services", auth=[], parameters=COMMON_PARAMETERS,
                   responses=_ok_docs(200, serializers.ServiceSerializer(many=True),
                                      "Every active sub-category: its group, keywords and time-limit class."))
    def get(self, request, format=None):
        """The services: the centre's active sub-categories. No key needed."""
        return Response([_service(c) for c in selectors.services_offered()])


class ServiceDefinitionApi(Open311View):
    xml_root = "service_definition"

    @extend_schema(operation_id="open311_service_definition", auth=[], parameters=COMMON_PARAMETERS,
                   responses={**_ok_docs(200, serializers.ServiceDefinitionSerializer,
                                         "What a report of this service carries besides the standard fields."),
                              **_error_docs(e404="No active service with this code.")})
    def get(self, request, code, format=None):
        """One service's definition: the attribute every report carries, the partner's own id."""
        if not selectors.services_offered().filter(code=code).exists():
            raise Http404
        return Response({"service_code": code, "attributes": [{
            "variable": True, "code": "partner_request_id", "datatype": "string", "required": True,
            "datatype_description": _("Letters, digits, - and _; at most 40."), "order": 1,
            "description": _("Your own id of the report, sent as attribute[partner_request_id]: the same id "
                             "again returns the first request and writes nothing."),
        }]})


LIST_PARAMETERS = [
    OpenApiParameter("api_key", OpenApiTypes.STR, description="The department's or the partner's key."),
    OpenApiParameter("jurisdiction_id", OpenApiTypes.STR, description="Accepted and ignored."),
    OpenApiParameter("service_request_id", OpenApiTypes.STR, description=(
        "Request ids, comma delimited; the other filters are then ignored.")),
    OpenApiParameter("service_code", OpenApiTypes.STR, description="Service codes, comma delimited."),
    OpenApiParameter("start_date", OpenApiTypes.DATETIME, description="Requested at or after (W3C)."),
    OpenApiParameter("end_date", OpenApiTypes.DATETIME, description=(
        "Requested at or before (W3C), at most 90 days after start_date. From start_date alone: the 90 days "
        "after it; to end_date alone: the 90 days before it; without either: the last 90 days.")),
    OpenApiParameter("status", OpenApiTypes.STR, description=(
        "open, closed, or mySociety's extended statuses (" + ", ".join(selectors.STATUSES) + "), comma delimited.")),
    OpenApiParameter("page", OpenApiTypes.INT, description="From 1; the Link header names the next page."),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="1 to 1000 (the default)."),
]
UPDATE_PARAMETERS = [
    *LIST_PARAMETERS[:2],
    OpenApiParameter("start_date", OpenApiTypes.DATETIME, description="Changed at or after (W3C)."),
    OpenApiParameter("end_date", OpenApiTypes.DATETIME, description=(
        "Changed at or before (W3C), at most 90 days after start_date; the window as for requests.")),
    *LIST_PARAMETERS[-2:],
]
PAGE_HEADERS = [
    OpenApiParameter("X-Total-Count", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[200],
                     description="Requests matching the filters, on every page."),
    OpenApiParameter("Link", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200],
                     description='rel="next" and rel="prev" pages, when there are.'),
]


class RequestListApi(Open311View):
    xml_root = "service_requests"

    @extend_schema(operation_id="open311_requests", auth=[],
                   parameters=[*COMMON_PARAMETERS, *LIST_PARAMETERS, *PAGE_HEADERS],
                   responses={**_ok_docs(200, serializers.ServiceRequestSerializer(many=True), (
                       "A department's key: its department's slips. A partner's key: the reports it posted.")),
                              **_error_docs(e400="A malformed date, an unknown status, a bad page.", **KEY_ERRORS)})
    def get(self, request, format=None):
        """Service requests in the key's scope, newest first."""
        client = self.client()
        query = serializers.RequestQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        rows = selectors.request_filter(
            selectors.requests_of(client), ids=q.get("service_request_id"), service_codes=q.get("service_code"),
            start=q.get("start_date"), end=q.get("end_date"), statuses=q.get("status"))
        return _paged(request, rows, q, selectors.requests_as_dicts)

    @extend_schema(operation_id="open311_request_create", auth=[], parameters=COMMON_PARAMETERS,
                   request={"application/x-www-form-urlencoded": serializers.ReportSerializer,
                            "multipart/form-data": serializers.ReportSerializer},
                   responses={**_ok_docs(201, serializers.CreatedSerializer(many=True),
                                         "The report is a call in the dispatchers' queue."),
                              **_ok_docs(200, serializers.CreatedSerializer(many=True),
                                         "This partner's id was posted before: its request, nothing written."),
                              **_error_docs(e400="A missing or invalid field (the description says which).",
                                            e404="No active service with this service_code.", **KEY_ERRORS)})
    def post(self, request, format=None):
        """A partner's report: a new call for the dispatchers, once per partner's own id."""
        client = self.client(kind=Open311Client.Kind.PARTNER)
        report = serializers.ReportSerializer(data=request.data)
        report.is_valid(raise_exception=True)
        data = report.validated_data
        service = selectors.services_offered().filter(code=data["service_code"]).first()
        if service is None:
            raise exceptions.NotFound(_("No active service with service_code %(code)s.")
                                      % {"code": data["service_code"]})
        row, created = open311_report_create(client=client, service=service, data=data)
        return Response([{"service_request_id": row.call.call_id, "service_notice": selectors.time_limit_text(service),
                          "account_id": row.account_id or None}],
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _paged(request, rows, query: dict, as_dicts) -> Response:
    """One page of the rows; X-Total-Count, and Link to the next and previous pages."""
    total, size, page = rows.count(), query["page_size"], query["page"]
    response = Response(as_dicts(rows[(page - 1) * size:page * size]))
    response["X-Total-Count"] = str(total)
    links = []
    if page * size < total:
        links.append(f'<{_page_url(request, page + 1)}>; rel="next"')
    if page > 1:
        links.append(f'<{_page_url(request, page - 1)}>; rel="prev"')
    if links:
        response["Link"] = ", ".join(links)
    return response


def _page_url(request, page: int) -> str:
    params = request.query_params.copy()
    params["page"] = str(page)
    return request.build_absolute_uri(request.path + "?" + params.urlencode())


class RequestDetailApi(Open311View):
    xml_root = "service_requests"

    @extend_schema(operation_id="open311_request", auth=[], parameters=[*COMMON_PARAMETERS, LIST_PARAMETERS[0]],
                   responses={**_ok_docs(200, serializers.ServiceRequestSerializer(many=True),
                                         "The request, as the one item of a list (the specification's form)."),
                              **_error_docs(e404="No request with this id in the key's scope.", **KEY_ERRORS)})
    def get(self, request, request_id, format=None):
        """One service request in the key's scope; any other id is 404, whatever was typed."""
        row = selectors.request_get(self.client(), request_id)
        if row is None:
            raise Http404
        return Response(selectors.requests_as_dicts([row]))


class TokenApi(Open311View):
    xml_root = "service_requests"

    @extend_schema(operation_id="open311_token", auth=[], parameters=[*COMMON_PARAMETERS, LIST_PARAMETERS[0]],
                   responses={**_ok_docs(200, serializers.TokenSerializer(many=True),
                                         "The request this partner posted under its own id."),
                              **_error_docs(e404="This partner posted nothing under this id.", **KEY_ERRORS)})
    def get(self, request, token, format=None):
        """The request id of a report, asked by the partner's own id (its token here: the answer to the POST
        already carries the request id, so a token is only needed by a partner that lost that answer)."""
        client = self.client(kind=Open311Client.Kind.PARTNER)
        row = client.reports.select_related("call").filter(partner_request_id=token).first()
        if row is None:
            raise Http404
        return Response([{"service_request_id": row.call.call_id, "token": token}])


class UpdateListApi(Open311View):
    xml_root = "service_request_updates"

    @extend_schema(operation_id="open311_request_updates", auth=[],
                   parameters=[*COMMON_PARAMETERS, *UPDATE_PARAMETERS, *PAGE_HEADERS],
                   responses={**_ok_docs(200, serializers.UpdateSerializer(many=True), (
                       "mySociety's extension: each change of status of the key's requests, oldest first; "
                       "update_id is stable.")),
                              **_error_docs(e400="A malformed date or a bad page.", **KEY_ERRORS)})
    def get(self, request, format=None):
        """Changes of status of the requests in the key's scope (mySociety's servicerequestupdates), as a
        partner such as FixMyStreet polls them: start_date and end_date on the time of the change."""
        client = self.client()
        query = serializers.WindowQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        rows = selectors.updates_filter(selectors.updates_of(client), start=q.get("start_date"),
                                        end=q.get("end_date"))
        return _paged(request, rows, q, lambda page: selectors.updates_as_dicts(page, client))
