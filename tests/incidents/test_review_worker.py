"""The daily review task runs under a real Celery worker, fed through Redis, against the test database."""

import pytest

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
