"""Background jobs for mediation. Each takes ids, calls a service, and is safe to run twice."""

from celery import shared_task

from . import services


@shared_task
def dispute_calls_link(call_pk: int) -> int:
    """Enqueued on commit of every call intake: link the call to the dispute files that watch it."""
    return services.call_link_to_files(call_pk=call_pk)
