"""Webhooks to the 110 system (issue 40): every change of a call's or a slip's status is, for each active
subscriber that asked for its type, one delivery row and one outbox message written in the change's own
transaction (`fan_out`, called by core.audit), then POSTed signed (core.signing) by the relay (`deliver`),
retried with backoff, a dead letter after OUTBOX_MAX_ATTEMPTS.

The body names the record and its states, never a caller's name, number or words: the subscriber reads the
record through the API with its own token if it needs more."""

from django.utils import timezone

from . import outbox
from .models import WebhookDelivery, WebhookEvent, WebhookSubscriber
from .signing import body_bytes

ACTIONS = {"call_status": WebhookEvent.CALL_STATUS, "slip_status": WebhookEvent.SLIP_STATUS}


def _payload(row, obj, event: str, message_id: str) -> dict:
    body = {"id": message_id, "type": event, "occurred_at": timezone.localtime(row.at).isoformat(),
            "from": row.from_state, "to": row.to_state}
    if event == WebhookEvent.SLIP_STATUS:
        body["slip"] = {"id": obj.pk, "serial": obj.serial, "department": obj.department.code,
                        "category": obj.category.code, "status": obj.status}
        body["call"] = {"id": obj.call_id, "call_id": obj.call.call_id}
    else:
        body["call"] = {"id": obj.pk, "call_id": obj.call_id, "status": obj.status}
    return body


def fan_out(row, obj) -> int:
    """Queue the status change `row` (an audit row) for every subscriber of its type. Inside the caller's
    transaction: the change and its deliveries commit together or not at all."""
    event = ACTIONS.get(row.action)
    if event is None or row.from_state == row.to_state:
        return 0
    subscribers = [s for s in WebhookSubscriber.objects.filter(active=True) if event in (s.events or [])]
    if not subscribers:
        return 0
    deliveries = []
    for subscriber in subscribers:
        key = f"fenliu-hook-{subscriber.pk}-{row.pk}"
        deliveries.append(WebhookDelivery(subscriber=subscriber, event=event, key=key,
                                          payload=_payload(row, obj, event, key)))
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    outbox.outbox_put_many("core.webhook", [(d.key, {"key": d.key}) for d in deliveries])
    return len(deliveries)


@outbox.handler("core.webhook", atomic=False)
def deliver(payload: dict, key: str) -> None:
    """POST one delivery to its subscriber, signed; each attempt and its error go to the delivery log."""
    delivery = WebhookDelivery.objects.select_related("subscriber").get(key=payload["key"])
    if delivery.delivered_at is not None:
        return
    outbox.post_signed(WebhookDelivery.objects.filter(pk=delivery.pk), url=delivery.subscriber.url,
                       secret=delivery.subscriber.secret, body=body_bytes(delivery.payload), key=key,
                       event=delivery.event, done_field="delivered_at")
