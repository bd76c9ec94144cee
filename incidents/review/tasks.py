"""Background jobs of the daily review. Each takes plain values, calls a service, and is safe to run twice."""

from datetime import date

from celery import shared_task

from core import outbox


@shared_task
def daily_review_build_task(day: str, actor_pk: int | None = None) -> int:
    """Build (or rebuild) the daily review of `day` (ISO date). A re-run replaces it with the same figures.
    Returns the number of scopes stored."""
    from core.models import User

    from .services import daily_review_build

    actor = User.objects.filter(pk=actor_pk).first() if actor_pk else None
    return len(daily_review_build(day=date.fromisoformat(day), actor=actor))


@shared_task
def daily_review_build_due() -> int:
    """Beat, 00:30: yesterday's review."""
    from .services import daily_review_build_due as build_due

    return len(build_due())


@shared_task
def daily_reviews_backfill() -> int:
    """Beat, hourly, and on request through the outbox: the review of every past day that has calls and
    none stored (incidents.review.services.daily_reviews_backfill). Safe to run twice or at once."""
    from .services import daily_reviews_backfill as backfill

    return backfill()


@outbox.handler("review.backfill", atomic=False)
def review_backfill_publish(payload: dict, key: str) -> None:
    """Handed to a worker: a backfill of years of days must not run inside the relay's lease."""
    outbox.task_publish(daily_reviews_backfill, key=key)
