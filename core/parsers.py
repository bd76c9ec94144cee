"""The API's JSON parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]): DRF's, behind a size and a depth limit.
Its own module: core.api imports DRF's views, whose classes read the parser setting when they are defined."""

import re
from io import BytesIO

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str, limit: int) -> int:
    """How deep the arrays and objects of a JSON text nest, counted up to limit + 1 (strings skipped).
    Runs before the parser, so a body nested thousands deep is refused instead of exhausting the stack."""
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser behind two limits checked before parsing: the body's size (API_JSON_MAX_BYTES) and
    its nesting depth (API_JSON_MAX_DEPTH). Either refused is a 400 with the reason."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_JSON_MAX_BYTES
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise exceptions.ParseError(_("The JSON body is larger than %(limit)s bytes.") % {"limit": limit})
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise exceptions.ParseError(_("The JSON body is not valid %(encoding)s text.") % {
                "encoding": encoding}) from None
        if json_depth(text, settings.API_JSON_MAX_DEPTH) > settings.API_JSON_MAX_DEPTH:
            raise exceptions.ParseError(_("The JSON body nests deeper than %(depth)s levels.") % {
                "depth": settings.API_JSON_MAX_DEPTH})
        data = super().parse(BytesIO(body), media_type, parser_context)
        if holds_nul(data):
            raise exceptions.ParseError(NUL_REFUSED)
        return data


# PostgreSQL text cannot hold the NUL character (0x00), and nothing Fenliu takes has one: a request carrying
# one is refused before any lookup or write (JSON here, query strings and forms in core.middleware).
NUL_REFUSED = gettext_lazy("The request contains a NUL character (0x00), which no field accepts.")


def holds_nul(data) -> bool:
    """Whether a parsed body (or a QueryDict's items) has a NUL in any key or text, at any depth."""
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(holds_nul(key) or holds_nul(value) for key, value in data.items())
    if isinstance(data, list | tuple):
        return any(holds_nul(item) for item in data)
    return False
