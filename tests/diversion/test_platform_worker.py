"""Issue 40 with real parts: a slip for a department reached through the 12345 platform travels from a
dispatcher's divert to a small HTTP server standing in for the platform through the outbox, delivered by a
real Celery worker (with its beat sweep) over Redis against PostgreSQL. The platform fails the first two
deliveries and takes the third; its signed acceptance comes back and the slip is accepted, once."""

import time

import pytest
from django.test import Client
from django.urls import reverse

from core.models import OutboxMessage, Role
from core.signing import body_bytes, signature, signed_headers
from diversion.models import HandoffSlip, Platform, SlipDocking, SlipStatus
from incidents import services as call_services
from tests.core.test_celery_worker import _worker_log, worker_process
from tests.core.test_outbox_worker import queue  # noqa: F401 - the fixture: a fresh queue per test
from tests.factories import UserFactory, category
from tests.receiver import Receiver

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SECRET = "county-12345-shared-secret"


def test_a_worker_delivers_the_slip_after_two_failures_and_the_acceptance_comes_back(
        require_postgres, redis_url, queue, broker_down, dispatcher, dept_a, make_call,  # noqa: F811
        tmp_path):
    with Receiver(fail_first=2) as platform_server:
        platform = Platform.objects.create(
            code="gx12345", name="珙县数管中心", url=platform_server.url, secret=SECRET,
            user=UserFactory(username="platform-gx", role=Role.PLATFORM), all_departments=True)
        call = make_call(content="小区广场舞音响声音太大，每天晚上都吵到十点")
        slip = call_services.call_divert(actor=dispatcher, call_pk=call.pk, category=category("C01"),
                                         department=dept_a)
        docking = SlipDocking.objects.get(slip=slip)
        assert docking.platform == platform and platform_server.requests == 0  # the broker is down: it waits

        env = {"OUTBOX_SWEEP_SECONDS": "1", "OUTBOX_RETRY_BASE_SECONDS": "1"}
        with worker_process(queue, tmp_path, redis_url, beat=True, env=env) as (proc, log):
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not SlipDocking.objects.filter(pk=docking.pk,
                                                                                 sent_at__isnull=False).exists():
                assert proc.poll() is None, f"the worker exited early:\n{_worker_log(log)}"
                time.sleep(0.25)
            assert SlipDocking.objects.filter(pk=docking.pk, sent_at__isnull=False).exists(), _worker_log(log)

        assert platform_server.requests == 3 and platform_server.unique == 1
        raw, headers = platform_server.raw[docking.key], platform_server.headers[docking.key]
    assert headers["X-Fenliu-Signature"] == signature(SECRET, headers["X-Fenliu-Timestamp"], raw)
    docking.refresh_from_db()
    assert docking.attempts == 3 and docking.last_error == ""
    assert OutboxMessage.objects.get(key=docking.key).status == "delivered"

    event = body_bytes({"id": "evt-1", "type": "accepted", "slip": slip.serial, "handler_name": "李专员"})
    headers = {k: v for k, v in signed_headers(SECRET, event).items() if k != "Content-Type"}
    client = Client()
    url = reverse("api-platform-events", args=["gx12345"])
    answers = [client.post(url, data=event, content_type="application/json", headers=headers) for _ in range(2)]

    assert [a.status_code for a in answers] == [200, 200]
    assert [a.json()["duplicate"] for a in answers] == [False, True]
    assert HandoffSlip.objects.get(pk=slip.pk).status == SlipStatus.ACCEPTED
