"""Domain errors raised by services. The API maps them to status codes in one place (core.api)."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A rule of the domain refused the request. Maps to HTTP 400."""

    status_code = 400
    default_message = _("The request was refused.")

    def __init__(self, message=None, *, code: str = "refused"):
        self.message = message or self.default_message
        self.code = code
        super().__init__(str(self.message))


class Conflict(DomainError):
    """The object is not in a state that allows this (already accepted, changed meanwhile). HTTP 409."""

    status_code = 409
    default_message = _("The record changed or is not in a state that allows this.")


class TransitionNotAllowed(Conflict):
    def __init__(self, kind: str, from_state: str, to_state: str):
        super().__init__(
            _("%(kind)s cannot go from “%(from)s” to “%(to)s”.") % {"kind": kind, "from": from_state, "to": to_state},
            code="transition_not_allowed",
        )
        self.from_state = from_state
        self.to_state = to_state
