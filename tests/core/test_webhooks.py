"""Issue 40: webhooks to the 110 system. A real small HTTP server subscribes; call and slip status changes reach
it through the outbox, signed, once each; a receiver that fails is retried, bounded, then a dead letter; each
subscriber's delivery log says what happened."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import outbox
from core.models import OutboxMessage, WebhookDelivery, WebhookSubscriber
from core.signing import signature
from diversion.services import slip_accept
from tests.receiver import Receiver

pytestmark = pytest.mark.django_db

SECRET = "the-110-system-webhook-secret"


def _subscribe(receiver, events=("call.status", "slip.status"), **extra):
    return WebhookSubscriber.objects.create(name="110系统", url=receiver.url, secret=SECRET, events=list(events),
                                            **extra)


def _deliver_all():
    for _ in range(3):
        OutboxMessage.objects.filter(status="pending").update(next_attempt_at=timezone.now())
        outbox.relay_run()


def test_status_changes_reach_the_subscriber_signed_and_once(make_slip, staff_a):
    with Receiver() as receiver:
        _subscribe(receiver)
        slip = make_slip()
        slip_accept(actor=staff_a, slip_pk=slip.pk)
        _deliver_all()
        _deliver_all()  # a second sweep sends nothing again

        bodies = sorted(receiver.bodies.values(), key=lambda b: b["id"])
        assert receiver.requests == receiver.unique == len(bodies) == 3
        key = next(iter(receiver.raw))
        raw, headers = receiver.raw[key], receiver.headers[key]
    assert headers["X-Fenliu-Signature"] == signature(SECRET, headers["X-Fenliu-Timestamp"], raw)
    assert {(b["type"], b["from"], b["to"]) for b in bodies} == {
        ("slip.status", "", "issued"), ("call.status", "new", "diverted"), ("slip.status", "issued", "accepted")}
    accepted = next(b for b in bodies if b["to"] == "accepted")
    assert accepted["slip"]["serial"] == slip.serial and accepted["call"]["call_id"] == slip.call.call_id
    # No caller's details travel in a webhook.
    assert all(slip.call.caller_phone not in str(b) and slip.call.content not in str(b) for b in bodies)
    assert WebhookDelivery.objects.filter(delivered_at__isnull=False).count() == 3


def test_a_subscriber_hears_only_the_types_it_asked_for_and_an_inactive_one_nothing(make_slip):
    with Receiver() as calls_only, Receiver() as paused:
        _subscribe(calls_only, events=["call.status"])
        _subscribe(paused, active=False)
        make_slip()
        _deliver_all()

        assert [b["type"] for b in calls_only.bodies.values()] == ["call.status"]
        assert paused.requests == 0


def test_a_change_rolled_back_sends_nothing(make_call, dispatcher):
    from incidents.services import call_divert
    from tests.factories import category

    with Receiver() as receiver:
        _subscribe(receiver)
        call = make_call()
        with pytest.raises(RuntimeError), transaction.atomic():
            call_divert(actor=dispatcher, call_pk=call.pk, category=category("C01"))
            raise RuntimeError("the request failed after the divert")
        _deliver_all()

        assert receiver.requests == 0 and not WebhookDelivery.objects.exists()


def test_a_failing_subscriber_is_retried_then_dead_lettered_and_its_log_says_so(make_slip, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    with Receiver(fail_first=2) as flaky, Receiver(mode="fail") as down:
        _subscribe(flaky, events=["call.status"])
        broken = _subscribe(down, events=["call.status"])
        make_slip()
        for _ in range(5):
            _deliver_all()

        assert flaky.unique == 1 and flaky.requests == 3
        assert down.requests == 3
    delivery = WebhookDelivery.objects.get(subscriber=broken)
    assert delivery.attempts == 3 and delivery.delivered_at is None and "HTTP 500" in delivery.last_error
    assert OutboxMessage.objects.get(key=delivery.key).status == "dead"


def test_a_subscriber_needs_known_event_types_and_a_long_secret():
    with pytest.raises(ValidationError):
        WebhookSubscriber(name="x", url="http://127.0.0.1:9/", secret=SECRET, events=["call.deleted"]).full_clean()
    with pytest.raises(ValidationError):
        WebhookSubscriber(name="x", url="http://127.0.0.1:9/", secret="short", events=["call.status"]).full_clean()


def test_an_administrator_adds_a_subscriber_by_ticking_event_types(admin_client):
    response = admin_client.post("/admin/core/webhooksubscriber/add/", {
        "name": "110系统", "url": "https://110.example.gov.cn/hooks", "secret": SECRET, "events": ["slip.status"],
        "active": "on"})

    assert response.status_code == 302, response.content.decode()[:2000]
    assert WebhookSubscriber.objects.get().events == ["slip.status"]
    short = admin_client.post("/admin/core/webhooksubscriber/add/", {
        "name": "x", "url": "https://110.example.gov.cn/hooks", "secret": "short", "events": ["call.status"]})
    assert short.status_code == 200 and WebhookSubscriber.objects.count() == 1
