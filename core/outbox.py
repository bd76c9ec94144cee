"""The transactional outbox: every side effect of a state change (an e-mail, a follow-up job, a message to
another system) is one `OutboxMessage` row written in the same transaction as the change, and delivered
after commit by one relay. A request therefore never fails because the broker, the mail server or a
receiver is down: the message waits, and is retried.

- `outbox_put(kind, payload, key=...)`: the one function services call, inside their transaction.
- `@handler(kind)`: registers the function that performs a kind of side effect, `fn(payload, key)`.
  Delivery is at least once, so a handler is idempotent by key (an e-mail carries a Message-ID made from
  the key; an HTTP receiver gets it as `Idempotency-Key`).
- `relay_run()`: claims due messages (`skip_locked`, so several workers share the work), delivers them,
  and records the outcome: delivered; retried later with bounded exponential backoff after a transient
  error; a dead letter after a permanent one (the object is gone, the receiver refused the payload) or
  after the last attempt. It runs as a Celery task woken on commit, from the beat sweep, and eagerly in
  the embedded setup and the tests.
- `outbox_retry` / `outbox_discard`: the administrator's two actions on the outbox page, audited.
- `outbox_figures()`: queue depth, the oldest waiting message, dead letters (the outbox page, /health/).
- `outbox_prune()`: deletes delivered and discarded messages after OUTBOX_KEEP_DAYS (a nightly beat job).
"""

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from importlib import import_module

import urllib3
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from .audit import audit_write
from .models import AuditAction, OutboxMessage, OutboxStatus
from .roles import is_administrator

log = logging.getLogger(__name__)

Handler = Callable[[dict, str], object]
_handlers: dict[str, Handler] = {}


class TransientError(Exception):
    """Raised by a handler for a failure that may pass (the receiver answered 5xx): retried later."""


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help (the receiver refused the payload): a dead letter."""


def handler(kind: str, *, atomic: bool = True):
    """Register `fn(payload, key)` as the delivery of `kind`. With `atomic` (the default) it runs in a
    transaction, so a handler that fails leaves none of its own writes; a handler that writes nothing to the
    database (an HTTP call) passes atomic=False and saves the two round trips."""
    def register(fn: Handler) -> Handler:
        if _handlers.get(kind, fn) is not fn:
            raise ValueError(f"outbox kind {kind!r} already has a handler")
        fn.outbox_atomic = atomic
        _handlers[kind] = fn
        return fn
    return register


def handlers() -> dict[str, Handler]:
    """Every registered kind. Handlers live in the task modules that Celery's autodiscovery lists."""
    from config.celery import TASK_PACKAGES

    for package in TASK_PACKAGES:
        import_module(f"{package}.tasks")
    return dict(_handlers)


# --- Writing -------------------------------------------------------------------------------------

def outbox_put(kind: str, payload: dict, *, key: str) -> None:
    """Queue one side effect in the caller's transaction. A key already queued is left as it is, so a
    service that runs twice for the same change queues its side effect once."""
    outbox_put_many(kind, [(key, payload)])


def outbox_put_many(kind: str, messages: Iterable[tuple[str, dict]]) -> None:
    now = timezone.now()
    rows = [OutboxMessage(kind=kind, key=key, payload=payload, next_attempt_at=now) for key, payload in messages]
    if not rows:
        return
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(_wake, robust=True)


_broker_down_until = 0.0


def _wake() -> None:
    """After commit: ask a worker to run the relay now. If the broker cannot be reached the message still
    waits in the table; the beat sweep (or the next wake) delivers it. After a failed wake, requests stop
    trying for OUTBOX_BROKER_RETRY_SECONDS so a broker that is down costs them nothing."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return
    from .tasks import outbox_relay

    try:
        outbox_relay.apply_async(retry=False)
    except Exception as exc:  # noqa: BLE001 - whatever the broker raises, the request has succeeded
        if getattr(outbox_relay.app.conf, "task_always_eager", False):
            log.exception("outbox relay failed")
            return
        _broker_down_until = time.monotonic() + settings.OUTBOX_BROKER_RETRY_SECONDS
        log.warning("outbox: broker unreachable, messages wait for the sweep: %s", exc)


def wake_reset() -> None:
    """Forget a broker failure (tests, and after the broker's address changed)."""
    global _broker_down_until
    _broker_down_until = 0.0


# --- Delivering ----------------------------------------------------------------------------------

def relay_run(*, batch: int | None = None, budget_seconds: float | None = None) -> int:
    """Deliver due messages until none is due or the time budget is spent. Returns how many were delivered.
    Safe to run in several processes at once."""
    batch = batch or settings.OUTBOX_BATCH
    budget = settings.OUTBOX_RELAY_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    registry = handlers()
    deadline = time.monotonic() + budget
    delivered = 0
    while time.monotonic() < deadline:
        claimed = _claim(batch)
        if not claimed:
            break
        # Stop well before the lease ends (slow receivers): past it, another relay may claim the same
        # messages and send them a second time. What is left is handed back, due now, its attempt uncounted.
        hand_back_at = time.monotonic() + settings.OUTBOX_LEASE_SECONDS / 2
        for n, message in enumerate(claimed):
            if time.monotonic() > hand_back_at:
                _hand_back(claimed[n:])
                return delivered
            delivered += _deliver(message, registry)
    return delivered


def _hand_back(messages: list[OutboxMessage]) -> None:
    OutboxMessage.objects.filter(pk__in=[m.pk for m in messages], status=OutboxStatus.PENDING).update(
        next_attempt_at=timezone.now(), attempts=F("attempts") - 1)


def _claim(limit: int) -> list[OutboxMessage]:
    """Take up to `limit` due messages. A claimed message becomes due again only after the lease, so a
    relay killed mid-batch loses nothing: its unfinished messages are delivered by the next run."""
    now = timezone.now()
    with transaction.atomic():
        claimed = list(OutboxMessage.objects.select_for_update(skip_locked=True)
                       .filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
                       .order_by("next_attempt_at", "id")[:limit])
        if claimed:
            OutboxMessage.objects.filter(pk__in=[m.pk for m in claimed]).update(
                next_attempt_at=now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS), attempts=F("attempts") + 1)
    for message in claimed:
        message.attempts += 1
    return claimed


def _deliver(message: OutboxMessage, registry: dict[str, Handler]) -> int:
    fn = registry.get(message.kind)
    try:
        if fn is None:
            raise PermanentError(f"no handler for kind {message.kind!r}")
        if fn.outbox_atomic:
            # The handler's writes and the delivered mark commit together: a database-only side effect
            # (linking a call to its files) is then done exactly once, and a failing handler leaves nothing.
            with transaction.atomic():
                fn(message.payload, message.key)
                return _mark_delivered(message)
        fn(message.payload, message.key)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the message
        _record_failure(message, exc)
        return 0
    return _mark_delivered(message)


def _mark_delivered(message: OutboxMessage) -> int:
    # Only a message still waiting is marked: an administrator may have discarded it meanwhile.
    return OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.PENDING).update(
        status=OutboxStatus.DELIVERED, delivered_at=timezone.now(), last_error="")


def _record_failure(message: OutboxMessage, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    waiting = OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.PENDING)
    if isinstance(exc, PermanentError | ObjectDoesNotExist) or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        waiting.update(status=OutboxStatus.DEAD, last_error=error)
        log.error("outbox: %s %s is a dead letter after %s attempt(s): %s", message.kind, message.key,
                  message.attempts, error)
        return
    delay = min(settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** (message.attempts - 1), settings.OUTBOX_RETRY_MAX_SECONDS)
    delay *= random.uniform(0.9, 1.1)  # noqa: S311 - jitter, so failed messages do not retry in lockstep
    waiting.update(next_attempt_at=timezone.now() + timedelta(seconds=delay), last_error=error)
    log.warning("outbox: %s %s failed (attempt %s), retry in %.0fs: %s", message.kind, message.key,
                message.attempts, delay, error)


# --- The administrator's actions and figures ------------------------------------------------------

def outbox_retry(*, actor, pks: Iterable[int]) -> int:
    """Give dead letters (or waiting messages) a fresh set of attempts, due now. Audited per message."""
    return _admin_move(actor, pks, AuditAction.OUTBOX_RETRY, (OutboxStatus.DEAD, OutboxStatus.PENDING),
                       status=OutboxStatus.PENDING, attempts=0, next_attempt_at=timezone.now())


def outbox_discard(*, actor, pks: Iterable[int]) -> int:
    """Give up on dead letters (or waiting messages): they are kept, never delivered. Audited per message."""
    return _admin_move(actor, pks, AuditAction.OUTBOX_DISCARD, (OutboxStatus.DEAD, OutboxStatus.PENDING),
                       status=OutboxStatus.DISCARDED)


def _admin_move(actor, pks, action, allowed, **changes) -> int:
    if not is_administrator(actor):
        raise PermissionDenied
    with transaction.atomic():
        messages = list(OutboxMessage.objects.select_for_update().filter(pk__in=list(pks), status__in=allowed))
        for message in messages:
            from_state = message.status
            for field, value in changes.items():
                setattr(message, field, value)
            message.save(update_fields=list(changes))
            audit_write(actor=actor, action=action, obj=message, from_state=from_state, to_state=message.status,
                        data={"kind": message.kind, "key": message.key, "last_error": message.last_error[:500]})
    if messages and changes.get("status") == OutboxStatus.PENDING:
        transaction.on_commit(_wake, robust=True)
    return len(messages)


def outbox_prune(*, chunk: int = 10_000) -> int:
    """Delete delivered and discarded messages older than OUTBOX_KEEP_DAYS, a chunk at a time so no long
    lock is held. Dead letters and waiting messages stay. Returns how many were deleted."""
    cutoff = timezone.now() - timedelta(days=settings.OUTBOX_KEEP_DAYS)
    old = OutboxMessage.objects.filter(status__in=(OutboxStatus.DELIVERED, OutboxStatus.DISCARDED),
                                       created_at__lt=cutoff)
    deleted = 0
    while pks := list(old.values_list("pk", flat=True)[:chunk]):
        deleted += OutboxMessage.objects.filter(pk__in=pks).delete()[0]
    return deleted


def outbox_figures() -> dict:
    """Queue depth, age of the oldest waiting message (seconds), dead letters."""
    now = timezone.now()
    waiting = OutboxMessage.objects.filter(status=OutboxStatus.PENDING)
    oldest = waiting.aggregate(oldest=Min("created_at"))["oldest"]
    return {
        "pending": waiting.count(),
        "oldest_pending_seconds": round((now - oldest).total_seconds()) if oldest else 0,
        "dead": OutboxMessage.objects.filter(status=OutboxStatus.DEAD).count(),
    }


# --- Delivery helpers used by the handlers ------------------------------------------------------

def mail_send(*, key: str, subject: str, body: str, to: list[str]) -> None:
    """Send one e-mail whose Message-ID is made from the outbox key: a repeated delivery carries the same
    Message-ID, which mail servers and clients treat as the same message."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    EmailMessage(subject=subject, body=body, to=to,
                 headers={"Message-ID": f"<{digest}@outbox.fenliu>"}).send(fail_silently=False)


def task_publish(task, *, key: str, **kwargs) -> None:
    """Hand a long job to a worker (a training, say) instead of running it in the relay, which must finish
    within its lease. The Celery task id is made from the outbox key, so a repeated delivery is visible as
    the same job in the worker's logs; the task itself must be safe to run twice."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    try:
        task.apply_async(kwargs=kwargs, task_id=f"outbox-{digest}", retry=False)
    except Exception as exc:  # noqa: BLE001 - the broker is down: the message is retried later
        if getattr(task.app.conf, "task_always_eager", False):
            raise
        raise TransientError(f"the broker did not take the task: {exc}") from exc


_http: urllib3.PoolManager | None = None


def _http_pool() -> urllib3.PoolManager:
    # One pool per process: connections to a receiver are kept alive between messages.
    global _http
    if _http is None:
        _http = urllib3.PoolManager(num_pools=20, maxsize=4, retries=False)
    return _http


def post_json(url: str, body: bytes, *, key: str, headers: dict | None = None):
    """POST the body's bytes to `url` with the key as `Idempotency-Key`. A 4xx answer (other than 408 and 429)
    is permanent; 5xx, timeouts and refused connections are retried. Returns the response of a 2xx."""
    response = _http_pool().request("POST", url, body=body,
                                    headers={"Content-Type": "application/json", "Idempotency-Key": key,
                                             **(headers or {})},
                                    timeout=urllib3.Timeout(total=settings.OUTBOX_HTTP_TIMEOUT_SECONDS))
    if 400 <= response.status < 500 and response.status not in (408, 429):
        raise PermanentError(f"the receiver refused the message: HTTP {response.status}")
    if response.status >= 300:
        raise TransientError(f"the receiver answered HTTP {response.status}")
    return response


def post_signed(log, *, url: str, secret: str, body: bytes, key: str, event: str, done_field: str) -> None:
    """POST `body` signed with `secret` (core.signing, a fresh timestamp on every attempt, so a retry an hour
    later is not taken for a replay) and keep the trace on `log`, a queryset of the one row recording this
    delivery: `attempts` counted, `last_error` kept, `done_field` stamped once the receiver took it."""
    from .signing import signed_headers

    log.update(attempts=F("attempts") + 1)
    try:
        post_json(url, body, key=key, headers=signed_headers(secret, body, event=event))
    except Exception as exc:
        log.update(last_error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    log.filter(**{f"{done_field}__isnull": True}).update(**{done_field: timezone.now()}, last_error="")


@handler("core.http_post", atomic=False)
def http_post(payload: dict, key: str) -> None:
    """POST `payload["body"]` as JSON to `payload["url"]` (core.outbox.post_json)."""
    post_json(payload["url"], json.dumps(payload.get("body", {})).encode(), key=key)
