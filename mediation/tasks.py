"""Background jobs for mediation (outbox handlers). Each takes ids, calls a service, and is safe to run twice."""

from core import outbox

from . import services


@outbox.handler("mediation.calls_link")
def dispute_calls_link(payload: dict, key: str) -> int:
    """Queued in every call intake: link the call to the dispute files that watch it."""
    return services.call_link_to_files(call_pk=payload["call"])
