import re
import uuid

from django.conf import settings
from django.core.exceptions import BadRequest
from django.utils import translation

from .parsers import NUL_REFUSED, holds_nul

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class LanguageMiddleware:
    """Chinese unless the user chose otherwise with the header switch (the language cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language; a command centre's shared
    workstations should not change language with the browser's install locale."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class RefuseNulMiddleware:
    """A query string or a form carrying a NUL character (0x00) is a 400 before any view runs (core.parsers
    does the same for JSON bodies): PostgreSQL text cannot hold one, so it would otherwise fail a lookup as a
    server error. Reading the form here leaves it parsed for the view and for DRF."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if holds_nul(list(request.GET.lists())) or (
                request.method == "POST" and request.content_type in FORM_TYPES
                and holds_nul(list(request.POST.lists()))):
            raise BadRequest(NUL_REFUSED)
        return self.get_response(request)


REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Every request gets an id (the proxy's `X-Request-ID` when it sends a sane one, else a new one): it is
    sent back in `X-Request-ID`, shown on the error pages and added to the server-error log line
    (core.logs), so a user's "it failed, id 3f2a…" leads to the traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = request.headers.get("X-Request-ID", "")
        request.request_id = sent if REQUEST_ID.match(sent) else uuid.uuid4().hex[:16]
        response = self.get_response(request)
        response.headers["X-Request-ID"] = request.request_id
        return response
