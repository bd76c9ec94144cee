"""Background jobs of core: the outbox relay (see core.outbox); the webhooks' delivery (core.webhooks)."""

from celery import shared_task

from . import outbox, webhooks  # noqa: F401 - webhooks registers its outbox handler


@shared_task
def outbox_relay() -> int:
    """Deliver the outbox's due messages. Woken after every commit that queued one, and run by the beat
    sweep for whatever a lost wake (broker down, a worker killed) left waiting."""
    return outbox.relay_run()


@shared_task
def outbox_prune() -> int:
    """Beat, nightly: delete delivered and discarded messages older than OUTBOX_KEEP_DAYS."""
    return outbox.outbox_prune()
