"""The transactional outbox: queued with the change, delivered after commit, retried, dead-lettered, and
handled by an administrator; nothing lost, nothing doubled."""

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from core import outbox
from core.models import AuditLog, OutboxMessage
from tests.receiver import Receiver

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@outbox.handler("tests.write_then_fail")
def _write_then_fail(payload: dict, key: str) -> None:
    OutboxMessage.objects.filter(pk=payload["victim"]).update(last_error="written by a failing handler")
    raise RuntimeError("the handler broke halfway")


def _post(receiver, key="k-1", **body):
    outbox.outbox_put("core.http_post", {"url": receiver.url, "body": body}, key=key)
    return OutboxMessage.objects.get(key=key)


def _due_now(message):
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def test_a_side_effect_waits_for_the_commit_and_is_delivered_once(django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            with transaction.atomic():
                message = _post(receiver, slip=7)
        assert receiver.requests == 0  # nothing leaves before the commit
        for callback in callbacks:
            callback()

        assert receiver.requests == 1 and receiver.bodies == {"k-1": {"slip": 7}}
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("delivered", 1, "")
    assert message.delivered_at is not None
    assert outbox.relay_run() == 0  # a second run finds nothing to send


def test_the_same_key_is_queued_once(django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        _post(receiver, key="same", n=1)
        _post(receiver, key="same", n=2)
        assert OutboxMessage.objects.filter(key="same").count() == 1
        assert OutboxMessage.objects.get(key="same").payload["body"] == {"n": 1}


def test_a_failing_receiver_is_retried_with_growing_delays_then_becomes_a_dead_letter(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_RETRY_BASE_SECONDS = 10
    with Receiver(mode="fail") as receiver:
        message = _post(receiver)
        delays = []
        for _attempt in range(2):
            before = timezone.now()
            assert outbox.relay_run() == 0
            message.refresh_from_db()
            assert message.status == "pending" and "500" in message.last_error
            delays.append((message.next_attempt_at - before).total_seconds())
            assert outbox.relay_run() == 0  # not due yet: nothing is tried early
            _due_now(message)
        assert 8 <= delays[0] <= 12 and 17 <= delays[1] <= 23  # 10 s, then 20 s (with jitter)

        outbox.relay_run()
        message.refresh_from_db()
        assert (message.status, message.attempts) == ("dead", 3)
        assert message.last_error == "TransientError: the receiver answered HTTP 500"
        assert receiver.requests == 3 and receiver.unique == 0
        assert outbox.outbox_figures()["dead"] == 1


def test_a_receiver_that_never_answers_times_out_and_the_message_waits(settings):
    settings.OUTBOX_HTTP_TIMEOUT_SECONDS = 1
    with Receiver(mode="hang") as receiver:
        message = _post(receiver)
        started = time.monotonic()
        assert outbox.relay_run() == 0
        assert time.monotonic() - started < 2.5
    message.refresh_from_db()
    assert message.status == "pending" and "timed out" in message.last_error


def test_a_receiver_that_refuses_the_payload_makes_a_dead_letter_at_once():
    with Receiver(mode="refuse") as receiver:
        message = _post(receiver)
        outbox.relay_run()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("dead", 1)
    assert "HTTP 400" in message.last_error


def test_a_payload_whose_object_is_gone_is_a_dead_letter_with_its_reason():
    outbox.outbox_put("diversion.slip_issued", {"slip": 987654}, key="slip-issued:987654")
    outbox.relay_run()
    message = OutboxMessage.objects.get(key="slip-issued:987654")
    assert message.status == "dead" and "DoesNotExist" in message.last_error


def test_a_handler_that_raises_leaves_none_of_its_own_writes():
    victim = OutboxMessage.objects.create(kind="x", key="victim", next_attempt_at=timezone.now(), status="delivered")
    outbox.outbox_put("tests.write_then_fail", {"victim": victim.pk}, key="breaks")
    outbox.relay_run()
    victim.refresh_from_db()
    assert victim.last_error == ""
    broken = OutboxMessage.objects.get(key="breaks")
    assert broken.status == "pending" and "the handler broke halfway" in broken.last_error


def test_a_kind_without_a_handler_is_a_dead_letter():
    outbox.outbox_put("no.such_kind", {}, key="nobody")
    outbox.relay_run()
    assert OutboxMessage.objects.get(key="nobody").status == "dead"


def test_an_e_mail_carries_a_message_id_made_from_its_key(make_slip, dept_a, django_capture_on_commit_callbacks):
    dept_a.email = "stj@example.gov.cn"
    dept_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        slip = make_slip()
    assert len(mail.outbox) == 1
    message_id = mail.outbox[0].extra_headers["Message-ID"]
    mail.outbox.clear()
    outbox.mail_send(key=f"slip-issued:{slip.pk}", subject="s", body="b", to=["x@example.gov.cn"])
    assert mail.outbox[0].message()["Message-ID"] == message_id  # a repeat is recognisably the same mail


def test_an_administrator_retries_and_discards_dead_letters_and_both_are_audited(admin_user, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    with Receiver(mode="fail") as receiver:
        first = _post(receiver, key="a")
        second = _post(receiver, key="b")
        outbox.relay_run()
        assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"dead"}

        receiver.mode = "ok"
        assert outbox.outbox_retry(actor=admin_user, pks=[first.pk]) == 1
        assert outbox.outbox_discard(actor=admin_user, pks=[second.pk]) == 1
        outbox.relay_run()
        assert receiver.unique == 1 and "a" in receiver.first_seen

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempts) == ("delivered", 1)
    assert second.status == "discarded"
    rows = AuditLog.objects.filter(object_type="outboxmessage").order_by("id")
    assert [(r.action, r.object_id, r.from_state, r.to_state, r.actor) for r in rows] == [
        ("outbox_retry", first.pk, "dead", "pending", admin_user),
        ("outbox_discard", second.pk, "dead", "discarded", admin_user),
    ]
    assert "500" in rows[0].data["last_error"]
    assert outbox.outbox_discard(actor=admin_user, pks=[first.pk]) == 0  # a delivered message stays delivered


def test_only_an_administrator_may_touch_the_outbox(dispatcher, supervisor):
    message = OutboxMessage.objects.create(kind="x", key="k", next_attempt_at=timezone.now(), status="dead")
    for actor in (dispatcher, supervisor, None):
        with pytest.raises(PermissionDenied):
            outbox.outbox_retry(actor=actor, pks=[message.pk])
    assert OutboxMessage.objects.get(pk=message.pk).status == "dead"


def test_a_decision_succeeds_and_its_message_waits_when_the_broker_is_down(broker_down, make_slip,
                                                                           django_capture_on_commit_callbacks):
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        slip = make_slip()
    assert time.monotonic() - started < 2
    assert outbox._broker_down_until > time.monotonic()  # the wake really failed
    with django_capture_on_commit_callbacks(execute=True):
        make_slip()  # the next request does not even try the broker for a while
    message = OutboxMessage.objects.get(key=f"slip-issued:{slip.pk}")
    assert message.status == "pending" and message.attempts == 0
    assert outbox.relay_run() == 4  # the sweep delivers what waited: two links, two slip notices
    message.refresh_from_db()
    assert message.status == "delivered"


def test_no_side_effect_is_sent_with_a_bare_delay():
    """Every side effect goes through the outbox: only the relay's wake publishes a Celery task, and only the
    outbox's delivery helpers send mail or call another system."""
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "tests/", "bench/", "var/")) or rel == "core/outbox.py":
            continue
        if re.search(r"\.(delay|apply_async|send_task)\(|send_mail\(|EmailMessage\(|urlopen\(", path.read_text()):
            offenders.append(rel)
    assert offenders == []


def test_every_queued_kind_has_a_handler():
    kinds = set()
    for path in ROOT.glob("*/**/*.py"):
        if path.relative_to(ROOT).as_posix().startswith((".venv/", "tests/", "bench/")):
            continue
        kinds |= set(re.findall(r"outbox_put(?:_many)?\(\s*\"([\w.]+)\"", path.read_text()))
    assert kinds >= {"diversion.slip_issued", "mediation.calls_link", "supervision.notice_email"}
    assert kinds <= set(outbox.handlers())


def test_a_slow_receiver_makes_the_relay_hand_back_what_it_could_not_send_within_half_the_lease(settings):
    settings.OUTBOX_LEASE_SECONDS = 2
    with Receiver(delay=0.3) as receiver:
        outbox.outbox_put_many("core.http_post", [(f"slow-{n}", {"url": receiver.url}) for n in range(10)])
        delivered = outbox.relay_run()
        assert 3 <= delivered <= 5  # about one second's worth: half the lease
        rest = OutboxMessage.objects.filter(status="pending")
        assert rest.count() == 10 - delivered
        assert set(rest.values_list("attempts", flat=True)) == {0}  # handed back, the attempt not counted
        assert not rest.filter(next_attempt_at__gt=timezone.now()).exists()  # due again at once
        while outbox.relay_run():
            pass
        assert receiver.unique == receiver.requests == 10


def test_a_database_side_effect_and_its_delivered_mark_commit_together(dispatcher, monkeypatch):
    from incidents.services import call_intake
    from tests.factories import call_data

    call = call_intake(actor=dispatcher, data=call_data()).call
    monkeypatch.setattr(outbox, "_mark_delivered", lambda message: 1 / 0)  # the mark fails after the handler
    outbox.relay_run()
    message = OutboxMessage.objects.get(key=f"calls-link:{call.pk}")
    assert message.status == "pending" and "ZeroDivisionError" in message.last_error


def test_old_delivered_and_discarded_messages_are_pruned_and_dead_letters_stay(settings):
    settings.OUTBOX_KEEP_DAYS = 30
    now = timezone.now()
    for key, status, age in (("old-delivered", "delivered", 31), ("old-discarded", "discarded", 40),
                             ("old-dead", "dead", 90), ("old-waiting", "pending", 31), ("new", "delivered", 2)):
        message = OutboxMessage.objects.create(kind="x", key=key, status=status, next_attempt_at=now)
        OutboxMessage.objects.filter(pk=message.pk).update(created_at=now - timedelta(days=age))
    assert outbox.outbox_prune(chunk=1) == 2
    assert sorted(OutboxMessage.objects.values_list("key", flat=True)) == ["new", "old-dead", "old-waiting"]
    assert "outbox-prune" in settings.CELERY_BEAT_SCHEDULE
