from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied

from .models import Role
from .outbox import outbox_figures
from .throttle import login_address_blocked


@login_required
def home(request):
    """Send each user to the page of their role."""
    user = request.user
    if user.has_role(Role.DISPATCHER):
        return redirect("dispatch-workbench")
    if user.role == Role.DEPARTMENT and user.department_id:
        return redirect("department-inbox")
    if user.role == Role.MEDIATOR:
        return redirect("mediation-files")
    if user.role == Role.WALLBOARD:
        return redirect("wallboard")
    if user.role == Role.UNIT and user.unit_id:
        return redirect("unit-page")
    if user.role == Role.SUPERVISOR:
        return redirect("callback-list")
    if user.is_staff:
        return redirect("admin:index")
    return render(request, "home.html")


@require_GET
@never_cache
def health(request):
    """For the load balancer and monitoring: 200 while the database answers ("ok", or "degraded" when the
    outbox holds dead letters or a message has waited longer than OUTBOX_STALE_SECONDS), 503 when it does
    not. Counts only, nothing about any call."""
    try:
        figures = outbox_figures()
    except DatabaseError:
        return JsonResponse({"status": "down", "database": "unreachable"}, status=503)
    degraded = figures["dead"] > 0 or figures["oldest_pending_seconds"] > settings.OUTBOX_STALE_SECONDS
    return JsonResponse({"status": "degraded" if degraded else "ok", "database": "ok", "outbox": figures})


# Open311 GeoReport v2 (issue 41) answers every error in its own format, JSON or XML by the path's suffix, even
# when no view was reached (an unknown path or format, a NUL character refused by the middleware).
STANDARD_ERROR_PREFIX = "/open311/"


def _standard_error(request, status: int, description: str) -> HttpResponse:
    if request.path.endswith(".xml"):
        from xml.etree import ElementTree

        root = ElementTree.Element("errors")
        error = ElementTree.SubElement(root, "error")
        ElementTree.SubElement(error, "code").text = str(status)
        ElementTree.SubElement(error, "description").text = description
        return HttpResponse(ElementTree.tostring(root, encoding="utf-8", xml_declaration=True), status=status,
                            content_type="text/xml; charset=utf-8")
    return JsonResponse([{"code": status, "description": description}], status=status, safe=False)


def bad_request(request, exception=None):
    """handler400: a page that says what was wrong with the request (core.times.day_param's reason), not a
    bare "Bad Request". Django only sends BadRequest, SuspiciousOperation and its kin here; the reason is
    shown only for BadRequest, whose message we write."""
    reason = str(exception) if isinstance(exception, BadRequest) else ""
    if isinstance(exception, RequestDataTooBig):
        reason = _("The request is larger than %(n)s bytes.") % {"n": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    if request.path.startswith(STANDARD_ERROR_PREFIX):
        return _standard_error(request, 400, reason or "Bad Request")
    if request.path.startswith("/api/"):  # the API's own error body, as its schema documents for 400
        return JsonResponse({"detail": reason or "Bad Request", "code": "bad_request"}, status=400)
    return _error_page(request, "400.html", 400, reason=reason)


def _way_back(request) -> str:
    """The page the user came from when it is one of ours, for the error pages' "back" link."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return referer
    return ""


def _error_page(request, template: str, status: int, **context):
    return render(request, template, {"back": _way_back(request), "status": status,
                                      "request_id": getattr(request, "request_id", ""), **context}, status=status)


def permission_denied(request, exception=None):
    """handler403: the app's page saying this page is not for this account, with the way back and the
    request id; under /api/ the API's error body."""
    if request.path.startswith(STANDARD_ERROR_PREFIX):
        return _standard_error(request, 403, str(DRFPermissionDenied.default_detail))
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(DRFPermissionDenied.default_detail),
                             "code": DRFPermissionDenied.default_code}, status=403)
    return _error_page(request, "403.html", 403)


def page_not_found(request, exception=None):
    """handler404: under /api/ the API's own error body (JSON, as its schema documents for 404), so a client
    that sends `/api/v1/calls/abc/` reads the same shape as for an id that does not exist; the app's page
    elsewhere."""
    if request.path.startswith(STANDARD_ERROR_PREFIX):
        return _standard_error(request, 404, _("No such address here: the paths end in .json or .xml."))
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(NotFound.default_detail), "code": NotFound.default_code}, status=404)
    return _error_page(request, "404.html", 404)


def server_error(request):
    """handler500: a page that touches neither the database nor the session (either may be what failed):
    no context processors, no user menu; the request id ties what the user reports to the log line."""
    request_id = getattr(request, "request_id", "")
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error", "code": "server_error", "request_id": request_id},
                            status=500)
    try:
        body = loader.get_template("500.html").render({"request_id": request_id})
    except Exception:  # noqa: BLE001 - the last resort must answer whatever broke
        return defaults.server_error(request)
    return HttpResponseServerError(body)


class LoginView(auth_views.LoginView):
    """Django's login page, refusing at once (429) while the address is blocked for password spraying
    (core.throttle); django-axes still locks one username at one address after fewer failures."""

    def post(self, request, *args, **kwargs):
        if settings.AXES_ENABLED and login_address_blocked(request):
            return render(request, "registration/locked_out.html", {"by_address": True}, status=429)
        return super().post(request, *args, **kwargs)
