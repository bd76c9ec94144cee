"""A real Celery worker, fed through Redis, runs the outbox relay against the test database."""

import os
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.utils import timezone

from config.celery import app
from core.models import OutboxMessage
from core.tasks import outbox_relay
from diversion.models import HandoffSlip
from tests.processes import process_stop, test_database_url

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    # Transactional: the worker is another process and sees only committed rows.
    pytest.mark.django_db(transaction=True),
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CELERY = PROJECT_ROOT / ".venv" / "bin" / "celery"
WAIT_SECONDS = 60


@contextmanager
def worker_process(queue: str, tmp_path: Path, redis_url: str, *, beat: bool = False, env: dict | None = None):
    """A Celery worker on `queue` (and, with `beat`, the beat schedule sending to that queue), against the
    test database. Yields (process, log). Always stopped, with its beat; `process_crash` in a test is a crash."""
    environment = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "FENLIU_VAR_DIR": str(tmp_path / "var"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [str(CELERY), "-A", "config", "worker", "--pool=solo", "--concurrency=1", "-Q", queue,
               "--loglevel=info", "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"{queue}@%h"]
    if beat:
        command += ["--beat", "--schedule", str(tmp_path / f"beat-{uuid.uuid4().hex[:6]}")]
    with open(tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log", "w+") as log:
        proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its beat child stopped with it (process_stop)
        try:
            yield proc, log
        finally:
            process_stop(proc)


def queue_delete(redis_url: str, queue: str) -> None:
    # Kombu leaves the queue's binding set behind in Redis.
    leftovers = [f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}", queue]
    redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5).delete(*leftovers)


@pytest.fixture
def worker(require_postgres, redis_url, tmp_path):
    """Start a worker on a queue of its own, so no stray worker can take the task. Always stopped."""
    queue = f"fenliu-test-{uuid.uuid4().hex[:12]}"
    try:
        with worker_process(queue, tmp_path, redis_url) as (proc, log):
            yield queue, proc, log
    finally:
        queue_delete(redis_url, queue)


def _worker_log(log) -> str:
    log.seek(0)
    return log.read()[-4000:]


def _wait_for(condition, proc, log, seconds: float = WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the worker exited early:\n{_worker_log(log)}"
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    return None


def test_a_worker_relays_the_slip_notice_from_redis(worker, redis_url, make_slip, settings):
    queue, proc, log = worker
    slip = make_slip()  # committed: the test is transactional
    # Eager in the conftest delivered the notice at commit; make it wait again so the worker has work.
    HandoffSlip.objects.filter(pk=slip.pk).update(notified_at=None)
    message = OutboxMessage.objects.filter(key=f"slip-issued:{slip.pk}")
    message.update(status="pending", delivered_at=None, next_attempt_at=timezone.now())

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    old_broker = app.conf.broker_url
    app.conf.broker_url = redis_url
    try:
        with app.connection_for_write(redis_url) as conn:
            result = outbox_relay.apply_async(queue=queue, connection=conn)
        assert result.id

        notified = HandoffSlip.objects.filter(pk=slip.pk).values_list("notified_at", flat=True)
        notified_at = _wait_for(notified.get, proc, log)
    finally:
        app.conf.broker_url = old_broker

    assert notified_at is not None, f"no worker ran the task within {WAIT_SECONDS}s:\n{_worker_log(log)}"
    assert message.get().status == "delivered"
    succeeded = f"core.tasks.outbox_relay[{result.id}] succeeded"
    assert _wait_for(lambda: succeeded in _worker_log(log), proc, log, seconds=10), _worker_log(log)
