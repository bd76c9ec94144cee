"""Issue 40: docking with the county 12345 platform. A real small HTTP server stands in for the platform: slips
reach it through the outbox, signed; its signed events come back to the inbound endpoint and move the slip
through the same services as the department pages, once per event id; bad input changes nothing."""

import json
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from core import outbox
from core.models import AuditLog, OutboxMessage, Role
from core.signing import body_bytes, signature, signed_headers
from diversion.models import Callback, HandoffSlip, Platform, PlatformEvent, SlipDocking, SlipStatus
from diversion.selectors import docking_state
from incidents.models import Call, CallStatus
from tests.factories import UserFactory
from tests.receiver import Receiver

pytestmark = pytest.mark.django_db

SECRET = "county-12345-shared-secret"


@pytest.fixture
def platform_at(db, dept_a):
    """A platform reaching department A, at the receiver's address."""

    def make(receiver):
        account = UserFactory(username="platform-gx", role=Role.PLATFORM, first_name="12345平台")
        platform = Platform.objects.create(code="gx12345", name="珙县数管中心", url=receiver.url, secret=SECRET,
                                           user=account)
        dept_a.platform = platform
        dept_a.save(update_fields=["platform"])
        return platform

    return make


def _due_now():
    OutboxMessage.objects.filter(status="pending").update(next_attempt_at=timezone.now())


def _send(client, event: dict, *, secret=SECRET, at=None, code="gx12345", raw: bytes | None = None):
    body = raw if raw is not None else body_bytes(event)
    headers = signed_headers(secret, body, now=at)
    return client.post(reverse("api-platform-events", args=[code]), data=body, content_type="application/json",
                       headers={k: v for k, v in headers.items() if k != "Content-Type"})


def _docked_slip(make_slip, receiver, platform_at):
    """A slip to department A, and the relay's first run as after its commit (the test holds the transaction)."""
    platform = platform_at(receiver)
    slip = make_slip()
    outbox.relay_run()
    return platform, slip


def test_the_platform_fails_twice_then_takes_the_slip_once_and_accepts_it_once(client, make_slip, platform_at):
    with Receiver(fail_first=2) as receiver:
        platform, slip = _docked_slip(make_slip, receiver, platform_at)
        docking = SlipDocking.objects.get(slip=slip)
        # The first delivery failed; the slip's page says so, with the error.
        assert receiver.requests == 1 and docking_state(slip)["state"] == "waiting"
        assert "500" in docking_state(HandoffSlip.objects.get(pk=slip.pk))["error"]
        _due_now()
        outbox.relay_run()
        _due_now()
        outbox.relay_run()

        assert receiver.requests == 3 and receiver.unique == 1
        body = receiver.bodies[docking.key]
        raw, headers = receiver.raw[docking.key], receiver.headers[docking.key]
    # What arrived is the documented payload, signed with the shared secret over the bytes sent.
    assert headers["X-Fenliu-Signature"] == signature(SECRET, headers["X-Fenliu-Timestamp"], raw)
    assert body["slip"]["serial"] == slip.serial and body["slip"]["department"] == "STJ"
    assert set(body["parts"]) == {"stub", "department", "receipt"}
    assert body["parts"]["department"]["caller_phone"] == slip.call.caller_phone
    assert body["slip"]["deadline"] and body["call"]["content"] == slip.call.content
    slip = HandoffSlip.objects.get(pk=slip.pk)
    assert docking_state(slip)["state"] == "sent"
    assert OutboxMessage.objects.get(key=docking.key).status == "delivered"

    response = _send(client, {"id": "evt-1", "type": "accepted", "slip": slip.serial, "handler_name": "李专员"})
    again = _send(client, {"id": "evt-1", "type": "accepted", "slip": slip.serial, "handler_name": "李专员"})

    assert response.status_code == 200, response.content
    assert response.json()["slip_status"] == "accepted" and response.json()["duplicate"] is False
    assert again.status_code == 200 and again.json()["duplicate"] is True
    slip.refresh_from_db()
    assert slip.status == SlipStatus.ACCEPTED and slip.handler_name == "李专员"
    assert slip.accepted_by == platform.user
    assert AuditLog.objects.filter(action="slip_status", object_id=slip.pk, to_state="accepted").count() == 1
    assert docking_state(slip)["state"] == "acknowledged"


def test_completed_closes_the_receipt_and_the_callback_closes_the_slip(client, make_slip, platform_at):
    with Receiver() as receiver:
        _platform, slip = _docked_slip(make_slip, receiver, platform_at)
    _send(client, {"id": "e1", "type": "accepted", "slip": slip.serial})

    done = _send(client, {"id": "e2", "type": "completed", "slip": slip.serial, "result": "已协调物业处理"})
    called = _send(client, {"id": "e3", "type": "callback", "slip": slip.serial,
                            "callback": {"channel": "sms", "reached": True, "resolved": "yes", "satisfaction": 5}})

    assert done.status_code == 200 and done.json()["slip_status"] == "completed"
    assert called.status_code == 200 and called.json()["slip_status"] == "closed"
    slip.refresh_from_db()
    assert slip.result == "已协调物业处理" and slip.completed_at is not None
    assert Callback.objects.get(slip=slip).channel == "sms"
    assert Call.objects.get(pk=slip.call_id).status == CallStatus.CLOSED


def test_a_returned_event_sends_the_call_back_to_the_queue_with_the_reason(client, make_slip, platform_at, dept_b):
    with Receiver() as receiver:
        _platform, slip = _docked_slip(make_slip, receiver, platform_at)

    response = _send(client, {"id": "r1", "type": "returned", "slip": slip.serial, "reason": "属城管职责",
                              "suggested_department": dept_b.code})

    assert response.status_code == 200
    slip.refresh_from_db()
    assert slip.status == SlipStatus.RETURNED and slip.suggested_department == dept_b
    assert Call.objects.get(pk=slip.call_id).status == CallStatus.RETURNED


@pytest.mark.parametrize("tamper", ["secret", "body", "unsigned", "old", "future"])
def test_a_bad_signature_or_a_replay_is_refused_401_and_changes_nothing(client, make_slip, platform_at, tamper):
    with Receiver() as receiver:
        _platform, slip = _docked_slip(make_slip, receiver, platform_at)
    event = {"id": "evt-x", "type": "accepted", "slip": slip.serial}
    url = reverse("api-platform-events", args=["gx12345"])
    if tamper == "secret":
        response = _send(client, event, secret="not-the-secret-at-all")
    elif tamper == "body":
        headers = signed_headers(SECRET, body_bytes(event))
        forged = body_bytes({**event, "handler_name": "冒充"})
        response = client.post(url, data=forged, content_type="application/json",
                               headers={k: v for k, v in headers.items() if k != "Content-Type"})
    elif tamper == "unsigned":
        response = client.post(url, data=body_bytes(event), content_type="application/json")
    else:  # the same message captured and sent again ten minutes later (or stamped ahead)
        response = _send(client, event, at=time.time() + (-600 if tamper == "old" else 600))

    assert response.status_code == 401, response.content
    assert response.json()["code"] == "bad_signature"
    slip.refresh_from_db()
    assert slip.status == SlipStatus.ISSUED and not PlatformEvent.objects.exists()


def test_an_unknown_slip_an_illegal_transition_and_bad_bodies_are_refused(client, make_slip, platform_at,
                                                                          settings, dept_b):
    with Receiver() as receiver:
        _platform, slip = _docked_slip(make_slip, receiver, platform_at)
    other = make_slip(department=dept_b, code="C05")  # not sent to the platform (department B is not docked)
    settings.PLATFORM_MAX_BODY_BYTES = 2048

    unknown = _send(client, {"id": "u1", "type": "accepted", "slip": "1999-000001"})
    not_docked = _send(client, {"id": "u2", "type": "accepted", "slip": other.serial})
    illegal = _send(client, {"id": "i1", "type": "completed", "slip": slip.serial, "result": "已处理"})
    missing = _send(client, {"id": "m1", "type": "returned", "slip": slip.serial})
    malformed = _send(client, {}, raw=b"{not json")
    oversized = _send(client, {"id": "o1", "type": "completed", "slip": slip.serial, "result": "长" * 1500})
    no_platform = _send(client, {"id": "n1", "type": "accepted", "slip": slip.serial}, code="nowhere")

    assert unknown.status_code == 404 and not_docked.status_code == 404
    assert illegal.status_code == 409 and illegal.json()["code"] == "transition_not_allowed"
    assert missing.status_code == 400 and "reason" in missing.json()
    assert malformed.status_code == 400 and malformed.json()["code"] == "bad_json"
    assert oversized.status_code == 413
    assert no_platform.status_code == 404
    slip.refresh_from_db()
    assert slip.status == SlipStatus.ISSUED and not PlatformEvent.objects.exists()
    # The refused event is not remembered: sent again once valid (after acceptance), it is applied.
    _send(client, {"id": "a1", "type": "accepted", "slip": slip.serial})
    assert _send(client, {"id": "i1", "type": "completed", "slip": slip.serial,
                          "result": "已处理"}).json()["slip_status"] == "completed"


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_a_receiver_that_fails_or_never_answers_gets_bounded_retries_then_a_dead_letter(make_slip, platform_at,
                                                                                       settings, mode):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_HTTP_TIMEOUT_SECONDS = 1  # the hanging platform answers after 3 s: each attempt times out
    with Receiver(mode=mode) as receiver:
        _platform, slip = _docked_slip(make_slip, receiver, platform_at)
        for _ in range(5):
            _due_now()
            outbox.relay_run()

        if mode == "fail":  # a hanging receiver counts a request only once it answers, after the sender gave up
            assert receiver.requests == 3
    docking = SlipDocking.objects.get(slip=slip)
    assert OutboxMessage.objects.get(key=docking.key).status == "dead"
    state = docking_state(HandoffSlip.objects.get(pk=slip.pk))
    assert state["state"] == "failed" and docking.attempts == 3
    assert ("HTTP 500" if mode == "fail" else "timed out") in state["error"]


def test_the_platform_transfers_a_call_to_110_once(client, make_slip, platform_at, dispatcher):
    with Receiver() as receiver:
        platform_at(receiver)
    event = {"id": "t1", "type": "transfer", "call": {
        "call_id": "GX-2026-0815", "received_at": timezone.now().isoformat(), "caller_phone": "13912345678",
        "address": "珙县巡场镇人民路5号", "content": "群众来电称邻居家中传出呼救声，疑似家暴"}}

    first = _send(client, event)
    again = _send(client, {**event, "id": "t2"})  # the platform sent the same case twice under two ids

    assert first.status_code == 200 and first.json()["created"] is True
    assert again.status_code == 200 and again.json()["created"] is False
    call = Call.objects.get(call_id="12345-gx12345-GX-2026-0815")
    assert call.channel == "transfer" and call.status == CallStatus.NEW and call.suggested_police is True
    assert Call.objects.filter(call_id__startswith="12345-").count() == 1


def test_an_event_id_reused_for_another_type_is_a_conflict(client, make_slip, platform_at):
    with Receiver() as receiver:
        _platform, slip = _docked_slip(make_slip, receiver, platform_at)
    _send(client, {"id": "dup", "type": "accepted", "slip": slip.serial})

    response = _send(client, {"id": "dup", "type": "completed", "slip": slip.serial, "result": "x"})

    assert response.status_code == 409 and response.json()["code"] == "event_id_conflict"
    assert HandoffSlip.objects.get(pk=slip.pk).status == SlipStatus.ACCEPTED


def test_the_platform_account_cannot_touch_a_slip_it_was_not_sent(make_slip, platform_at, dept_b):
    from django.core.exceptions import PermissionDenied

    from diversion.services import slip_accept

    with Receiver() as receiver:
        platform = platform_at(receiver)
    other = make_slip(department=dept_b, code="C05")

    with pytest.raises(PermissionDenied):
        slip_accept(actor=platform.user, slip_pk=other.pk)


def test_the_payload_is_plain_json_with_a_version(make_slip, platform_at):
    with Receiver() as receiver:
        _platform, slip = _docked_slip(make_slip, receiver, platform_at)
        body = next(iter(receiver.bodies.values()))
    assert body["version"] == 1 and body["event"] == "slip.issued"
    assert json.loads(json.dumps(body)) == body


def test_the_slip_and_the_call_pages_show_the_docking_state(client, make_slip, platform_at, staff_a, dispatcher,
                                                            settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    with Receiver(mode="fail") as receiver:
        _platform, slip = _docked_slip(make_slip, receiver, platform_at)

    client.force_login(staff_a)
    page = client.get(reverse("slip-detail", args=[slip.pk])).content.decode()
    assert f'id="docking-{slip.pk}" data-state="failed"' in page and "HTTP 500" in page
    client.force_login(dispatcher)
    page = client.get(reverse("call-page", args=[slip.call_id])).content.decode()
    assert f'id="docking-{slip.pk}" data-state="failed"' in page
