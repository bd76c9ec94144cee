"""Callers' personal information, kept only as long as needed (PIPL).

A caller's number and name are blanked CALLER_RETENTION_DAYS after the call by a nightly job; the call's
facts, categories, decisions and every figure stay. Repeat checks and mediation match callers on the keyed
hash of the number (core.phones.caller_key), which lives CALLER_KEY_DAYS (the longest look-back of those
checks) and is blanked after that too. Every look at a full number is audited with the reason given
(incidents.services.call_reveal_phone), every export with what was exported; `disclosures` is the
supervisor's list of both.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.audit import audit_write
from core.models import AuditAction, AuditLog

from .models import Call
from .review.selectors import day_start

BATCH = 2000


def _blank_in_batches(queryset: QuerySet, **values) -> int:
    """Update the rows of `queryset` BATCH at a time, each batch its own short transaction (no long lock on
    a busy table); idempotent, so a job stopped midway finishes on its next run."""
    done = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.select_for_update(skip_locked=True).values_list("pk", flat=True)[:BATCH])
            if not ids:
                return done
            done += Call.objects.filter(pk__in=ids).update(**values)


def callers_anonymise(*, now=None) -> dict[str, int]:
    """Blank the number and name of calls received more than CALLER_RETENTION_DAYS ago, and the keyed hash
    of anonymised calls older than CALLER_KEY_DAYS. One audit row per run that changed anything."""
    now = now or timezone.now()
    cut = now - timedelta(days=settings.CALLER_RETENTION_DAYS)
    key_cut = now - timedelta(days=settings.CALLER_KEY_DAYS)
    calls = _blank_in_batches(Call.objects.filter(received_at__lt=cut, anonymised_at__isnull=True),
                              caller_phone="", caller_name="", anonymised_at=now)
    keys = _blank_in_batches(Call.objects.filter(received_at__lt=key_cut, anonymised_at__isnull=False)
                             .exclude(caller_key=""), caller_key="")
    if calls or keys:
        AuditLog.objects.create(action=AuditAction.CALLERS_ANONYMISED, object_type="call", object_id=0,
                                data={"calls": calls, "keys": keys, "received_before": cut.isoformat(),
                                      "keys_before": key_cut.isoformat()})
    return {"calls": calls, "keys": keys}


def export_audit(*, actor, obj, what: str, **data) -> None:
    """Write down that `actor` exported `what` (the daily review, a report, the day's callbacks)."""
    audit_write(actor=actor, action=AuditAction.EXPORTED, obj=obj, to_state=what[:24], data=data)


def disclosures(*, actor_id: int | None = None, since=None, until=None, kind: str = "") -> QuerySet[AuditLog]:
    """Reveals of callers' numbers and exports, newest first: who, when, which call, why."""
    actions = {"reveal": [AuditAction.PHONE_REVEALED], "export": [AuditAction.EXPORTED]}.get(
        kind, [AuditAction.PHONE_REVEALED, AuditAction.EXPORTED])
    rows = (AuditLog.objects.filter(action__in=actions).select_related("actor", "call")
            .order_by("-at", "-id"))
    if actor_id:
        rows = rows.filter(actor_id=actor_id)
    # Local days as a range on `at` (indexed with the action), not a date cast of every row.
    if since:
        rows = rows.filter(at__gte=day_start(since))
    if until:
        rows = rows.filter(at__lt=day_start(until + timedelta(days=1)))
    return rows
