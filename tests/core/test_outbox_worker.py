"""The outbox with real parts: PostgreSQL, Redis and Celery workers with beat, run as other processes.

- With the broker unreachable, 100 intakes answer 201 and 100 diverts succeed; once a worker runs again,
  its beat sweep delivers every side effect exactly once at a de-duplicating receiver.
- A relay killed mid-batch loses nothing, and after the restart nothing arrives twice."""

import email
import time
import uuid
from collections import Counter

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core import outbox
from core.models import OutboxMessage
from diversion.models import Department
from tests.processes import process_crash
from tests.receiver import Receiver

from .test_celery_worker import _worker_log, queue_delete, worker_process

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    # Transactional: the worker is another process and sees only committed rows.
    pytest.mark.django_db(transaction=True),
]

DEADLINE_SECONDS = 90


def _wait(condition, proc, log, seconds=DEADLINE_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the worker exited early:\n{_worker_log(log)}"
        if condition():
            return True
        time.sleep(0.25)
    return False


@pytest.fixture
def queue(redis_url):
    name = f"fenliu-test-{uuid.uuid4().hex[:12]}"
    yield name
    queue_delete(redis_url, name)


def _message_ids(folder) -> Counter:
    ids = Counter()
    for path in folder.glob("*.log"):
        # The file backend writes each message followed by a line of dashes.
        for raw in path.read_text().split("-" * 79):
            if raw.strip():
                ids[email.message_from_string(raw.strip())["Message-ID"]] += 1
    return ids


def test_with_the_broker_down_every_request_succeeds_and_the_side_effects_arrive_once_later(
        require_postgres, redis_url, queue, dispatcher, broker_down, tmp_path):
    Department.objects.filter(code="STJ").update(email="stj@example.gov.cn")
    api = APIClient()
    api.force_authenticate(dispatcher)
    web = Client()
    web.force_login(dispatcher)
    answers = []
    # The broker is down (the fixture): every wake fails, and the requests do not notice.
    started = time.monotonic()
    for n in range(100):
        response = api.post("/api/v1/calls/", {
            "call_id": f"110-OUTBOX-{n:04d}", "received_at": "2025-05-01T21:30:00+08:00",
            "caller_phone": f"1380013{n:04d}", "address": f"秀峰区中山路{n}号", "content": "楼下KTV噪音扰民",
        }, format="json")
        answers.append(response.status_code)
        call = response.json()
        if n % 10 == 0:  # a dispatcher diverts on the workbench page
            response = web.post(f"/dispatch/calls/{call['id']}/classify/",
                                {"decision": "category", "category": "C01", "version": call["version"]})
            answers.append(response.status_code)
        else:
            response = api.post(f"/api/v1/calls/{call['id']}/classify/",
                                {"version": call["version"], "decision": "non_police", "category": "C01"},
                                format="json")
            answers.append(response.status_code)
    elapsed = time.monotonic() - started

    assert Counter(answers) == {201: 100, 200: 90, 302: 10}
    assert elapsed < 60
    assert outbox._broker_down_until > 0  # the wakes really failed
    waiting = OutboxMessage.objects.filter(status="pending")
    assert Counter(waiting.values_list("kind", flat=True)) == {"mediation.calls_link": 100,
                                                               "diversion.slip_issued": 100}

    mail_dir = tmp_path / "mail"
    env = {"OUTBOX_SWEEP_SECONDS": "1", "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
           "EMAIL_FILE_PATH": str(mail_dir)}
    with worker_process(queue, tmp_path, redis_url, beat=True, env=env) as (proc, log):  # the broker is back
        delivered = _wait(lambda: not waiting.exists(), proc, log)
        assert delivered, f"{waiting.count()} messages still waiting:\n{_worker_log(log)}"

    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {("delivered", 1)}
    ids = _message_ids(mail_dir)
    assert len(ids) == 100 and set(ids.values()) == {1}  # one e-mail per slip, none twice


def test_a_relay_killed_mid_batch_loses_nothing_and_doubles_nothing(require_postgres, redis_url, queue, broker_down,
                                                                    tmp_path):
    total = 300
    env = {"OUTBOX_SWEEP_SECONDS": "1", "OUTBOX_LEASE_SECONDS": "3", "OUTBOX_BATCH": "50",
           "OUTBOX_HTTP_TIMEOUT_SECONDS": "1", "EMAIL_TIMEOUT": "1"}
    with Receiver(delay=0.02) as receiver:
        # Queued while this process cannot wake anyone (the fixture), so only the workers deliver.
        outbox.outbox_put_many("core.http_post", [
            (f"kill-{n}", {"url": receiver.url, "body": {"n": n}}) for n in range(total)])

        with worker_process(queue, tmp_path, redis_url, beat=True, env=env) as (proc, log):
            assert _wait(lambda: receiver.unique >= 60, proc, log), _worker_log(log)
            process_crash(proc)  # no warm shutdown: the relay dies between two messages of its batch, or inside one
        left = OutboxMessage.objects.filter(status="pending").count()
        assert 0 < left < total

        with worker_process(queue, tmp_path, redis_url, beat=True, env=env) as (proc, log):
            done = _wait(lambda: not OutboxMessage.objects.filter(status="pending").exists(), proc, log)
            assert done, _worker_log(log)

        assert receiver.unique == total
        assert sorted(body["n"] for body in receiver.bodies.values()) == list(range(total))
        # Each message is marked delivered as soon as it went, so at most the one in flight at the kill is
        # sent again, and the receiver recognises it by its key.
        assert receiver.requests - receiver.unique <= 1
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"delivered"}
