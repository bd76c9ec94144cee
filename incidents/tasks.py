"""Background jobs of incidents (the daily review's are in incidents.review.tasks)."""

from celery import shared_task

from . import retention


@shared_task
def callers_anonymise() -> dict:
    """Beat, nightly: blank callers' numbers and names past CALLER_RETENTION_DAYS (incidents.retention).
    Idempotent and batched: a run cut short is finished by the next one."""
    return retention.callers_anonymise()
