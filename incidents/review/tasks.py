"""Background jobs of the daily review. Each takes plain values, calls a service, and is safe to run twice."""

from datetime import date

from celery import shared_task


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
