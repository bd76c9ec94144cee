"""JSON and XML as GeoReport v2 writes them. The views return plain lists and dicts; the XML renderer names
the root element after the view (`xml_root`) and each list item after its parent (ITEM_TAGS), so
`[{"code": 404, ...}]` under root `errors` is `<errors><error><code>404</code>…</error></errors>`."""

from xml.etree import ElementTree

from rest_framework.renderers import BaseRenderer, JSONRenderer

# The element of each item of a list, by the list's element (GeoReport v2's examples).
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


class Open311JSONRenderer(JSONRenderer):
    format = "json"
    charset = "utf-8"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ElementTree.Element, value) -> None:
    if isinstance(value, dict):
        for name, child in value.items():
            _fill(ElementTree.SubElement(element, name), child)
    elif isinstance(value, list | tuple):
        tag = ITEM_TAGS.get(element.tag, "item")
        for child in value:
            _fill(ElementTree.SubElement(element, tag), child)
    else:
        element.text = _text(value)


class Open311XMLRenderer(BaseRenderer):
    media_type = "text/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        view = (renderer_context or {}).get("view")
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            root = "errors"
        else:
            root = getattr(view, "xml_root", "response")
        element = ElementTree.Element(root)
        _fill(element, data)
        return ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
