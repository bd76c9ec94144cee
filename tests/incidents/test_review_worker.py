"""The daily review task runs under a real Celery worker, fed through Redis, against the test database."""

import pytest
from django.utils import timezone

from config.celery import app
from incidents.models import DailyReview
from incidents.review.tasks import daily_review_build_task
from tests.core.test_celery_worker import (
    WAIT_SECONDS,
    _wait_for,
    _worker_log,
    worker,  # noqa: F401 - the fixture that starts the worker
)

from .review_fixture import DAY, EXPECTED, build_fixture_day

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    # Transactional: the worker is another process and sees only committed rows.
    pytest.mark.django_db(transaction=True),
]


def test_a_worker_builds_the_daily_review_and_a_second_run_changes_nothing(worker, redis_url, make_slip,  # noqa: F811
                                                                           settings):
    queue, proc, log = worker
    build_fixture_day(make_slip)

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    old_broker = app.conf.broker_url
    app.conf.broker_url = redis_url
    city = DailyReview.objects.filter(date=DAY, scope="city")
    try:
        with app.connection_for_write(redis_url) as conn:
            first = daily_review_build_task.apply_async((DAY.isoformat(),), queue=queue, connection=conn)
        built = _wait_for(lambda: city.values_list("built_at", "data").first(), proc, log)
        assert built is not None, f"no worker built the review within {WAIT_SECONDS}s:\n{_worker_log(log)}"
        done = f"incidents.review.tasks.daily_review_build_task[{first.id}] succeeded"
        assert _wait_for(lambda: done in _worker_log(log), proc, log, seconds=10), _worker_log(log)

        with app.connection_for_write(redis_url) as conn:
            second = daily_review_build_task.apply_async((DAY.isoformat(),), queue=queue, connection=conn)
        again = f"incidents.review.tasks.daily_review_build_task[{second.id}] succeeded"
        assert _wait_for(lambda: again in _worker_log(log), proc, log), _worker_log(log)
    finally:
        app.conf.broker_url = old_broker

    built_at, data = built
    assert data["totals"]["calls"] == EXPECTED["calls"]
    assert len(data["clusters"]) == EXPECTED["clusters"]
    rebuilt_at, rebuilt = city.values_list("built_at", "data").get()
    assert rebuilt_at > built_at and rebuilt == data
    assert DailyReview.objects.filter(date=DAY).count() == 3


def test_a_worker_runs_the_backfill_the_beat_asks_for(worker, redis_url, make_slip, settings):  # noqa: F811
    """Issue 38: the hourly beat's job, in a real worker, builds every past day with calls that has no review."""
    from datetime import timedelta

    from incidents.review.tasks import daily_reviews_backfill

    queue, proc, log = worker
    build_fixture_day(make_slip)
    # The worker is another process: it reads REVIEW_BACKFILL_DAYS from its environment, the default 400
    # days, which does not reach back to the fixture's 2025. The fixture's days are moved to last week.
    from incidents.models import Call

    shift = timezone.localdate() - timedelta(days=7) - DAY
    for call in Call.objects.all():
        Call.objects.filter(pk=call.pk).update(received_at=call.received_at + shift)
    days = {DAY + shift - timedelta(days=n) for n in (0, 1, 2, 3, 5)}

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    old_broker = app.conf.broker_url
    app.conf.broker_url = redis_url
    built = DailyReview.objects.filter(scope="city")
    try:
        with app.connection_for_write(redis_url) as conn:
            sent = daily_reviews_backfill.apply_async(queue=queue, connection=conn)
        done = f"incidents.review.tasks.daily_reviews_backfill[{sent.id}] succeeded in"
        assert _wait_for(lambda: done in _worker_log(log), proc, log), _worker_log(log)
    finally:
        app.conf.broker_url = old_broker
    assert set(built.values_list("date", flat=True)) == days
    assert "succeeded in" in _worker_log(log) and ": 5" in _worker_log(log).split(done, 1)[1].splitlines()[0]
