"""Background jobs of incidents (the daily review's are in incidents.review.tasks)."""

from celery import shared_task

from core import outbox

from . import retention


@shared_task
def callers_anonymise() -> dict:
    """Beat, nightly: blank callers' numbers and names past CALLER_RETENTION_DAYS (incidents.retention).
    Idempotent and batched: a run cut short is finished by the next one."""
    return retention.callers_anonymise()


@outbox.handler("incidents.import_run", atomic=False)
def import_run_queued(payload: dict, key: str) -> None:
    """Queued when an import is started in the browser: the run itself is a task of its own (minutes long)."""
    outbox.task_publish(calls_import_run, key=key, pk=payload["import"])


@shared_task
def calls_import_run(pk: int) -> str:
    from core.models import User

    from .imports.services import import_run
    from .models import CallImport

    record = CallImport.objects.filter(pk=pk).first()
    if record is None or record.status != CallImport.Status.QUEUED:
        return "skipped"
    actor = User.objects.filter(pk=record.created_by_id).first()
    return import_run(actor=actor, record=record).status


@outbox.handler("incidents.import_follow_up", atomic=False)
def import_follow_up_queued(payload: dict, key: str) -> None:
    """Queued by an import's transaction: grids and suggestions in batches, then the days' reviews."""
    outbox.task_publish(calls_import_follow_up, key=key, pk=payload["import"])


@shared_task
def calls_import_follow_up(pk: int) -> int:
    from .imports.services import import_follow_up

    return import_follow_up(pk)
