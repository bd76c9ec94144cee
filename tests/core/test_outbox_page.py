"""The outbox page for administrators and the health endpoint: queue depth, oldest waiting, dead letters."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import AuditLog, OutboxMessage

pytestmark = pytest.mark.django_db

URL = "/admin/core/outboxmessage/"


def _message(key, status="pending", age_minutes=0, error=""):
    message = OutboxMessage.objects.create(kind="diversion.slip_issued", key=key, payload={"slip": 1},
                                           status=status, next_attempt_at=timezone.now(), last_error=error)
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=age_minutes))
    return message


def test_the_health_endpoint_is_ok_with_an_empty_outbox(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok",
                               "outbox": {"pending": 0, "oldest_pending_seconds": 0, "dead": 0}}


def test_the_health_endpoint_is_degraded_by_a_dead_letter_or_a_message_waiting_too_long(client, settings):
    settings.OUTBOX_STALE_SECONDS = 300
    _message("fresh")
    assert client.get("/health/").json()["status"] == "ok"
    _message("old", age_minutes=6)
    body = client.get("/health/").json()
    assert body["status"] == "degraded" and body["outbox"]["pending"] == 2
    assert 355 <= body["outbox"]["oldest_pending_seconds"] <= 365
    OutboxMessage.objects.filter(key="old").update(status="delivered")
    _message("dead", status="dead", error="TransientError: the receiver answered HTTP 500")
    assert client.get("/health/").json() == {"status": "degraded", "database": "ok",
                                             "outbox": {"pending": 1, "oldest_pending_seconds": 0, "dead": 1}}


def test_the_health_endpoint_takes_no_writes(client):
    assert client.post("/health/").status_code == 405


def test_the_outbox_page_shows_the_figures_and_the_dead_letters_reason(client, admin_user):
    _message("waiting", age_minutes=12)
    _message("dead", status="dead", error="DoesNotExist: HandoffSlip matching query does not exist.")
    client.force_login(admin_user)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-figure="pending"' in page and "等待投递" in page
    assert "12" in page.split('data-figure="oldest"')[1].split("</div>")[0]  # 12 分钟
    assert 'href="?status__exact=dead">1</a>' in page
    assert "DoesNotExist: HandoffSlip matching query does not exist." in page


def test_retry_and_discard_from_the_page_are_audited(client, admin_user):
    first = _message("a", status="dead", error="boom")
    second = _message("b", status="dead", error="boom")
    client.force_login(admin_user)
    response = client.post(URL, {"action": "retry", "_selected_action": [first.pk]}, follow=True)
    assert "1 条消息将重新投递" in response.content.decode()
    client.post(URL, {"action": "discard", "_selected_action": [second.pk]})
    assert dict(OutboxMessage.objects.values_list("key", "status")) == {"a": "pending", "b": "discarded"}
    assert list(AuditLog.objects.filter(actor=admin_user).values_list("action", "object_id")) == [
        ("outbox_retry", first.pk), ("outbox_discard", second.pk)]


def test_the_outbox_page_is_for_administrators_only(client, dispatcher, supervisor):
    for user in (dispatcher, supervisor):
        client.force_login(user)
        assert client.get(URL).status_code in (302, 403)
        client.post(URL, {"action": "discard", "_selected_action": [_message(f"k{user.pk}", status="dead").pk]})
    assert not OutboxMessage.objects.exclude(status="dead").exists()


def test_messages_cannot_be_edited_or_deleted_on_the_page(client, admin_user):
    message = _message("k", status="dead")
    client.force_login(admin_user)
    client.post(f"{URL}{message.pk}/change/", {"status": "delivered"})
    client.post(f"{URL}{message.pk}/delete/", {"post": "yes"})
    message.refresh_from_db()
    assert message.status == "dead"
