"""Logging filters."""

import logging


class RequestLogFilter(logging.Filter):
    """On `django.request`: an expected refusal (a 4xx: a page not for this role, an id that does not exist)
    is one warning line, without the traceback Django attaches to a PermissionDenied; a server error keeps
    its traceback and gains the request id the user saw on the error page."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        request_id = getattr(getattr(record, "request", None), "request_id", "")
        if request_id and status is not None and status >= 500:
            record.msg = f"{record.msg} [request {request_id}]"
        return True
