"""Writes on handoff slips and callbacks. Each service: transaction → lock (or compare-and-set) →
check the transition table → save → audit → side effects on commit.

The one deliberate import pair between apps: this module and incidents.services call each other (a call
diverted issues a slip here; a slip returned, closed or reopened moves its call there, in the same
transaction). Each imports the other inside the function that needs it; no other cross-app cycle is allowed
(tests/core/test_layout.py)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.audit import Reason, audit_write
from core.errors import Conflict, DomainError
from core.models import Role
from core.outbox import outbox_put

from .models import SLIP_TRANSITIONS, Callback, HandoffSlip, SlipSerialCounter, SlipStatus
from .supervision.deadlines import deadline_for


def _next_serial_number(year: int) -> int:
    # The counter row is locked until the slip's transaction commits, so two dispatchers issuing at
    # the same moment get consecutive numbers, never the same one.
    SlipSerialCounter.objects.get_or_create(year=year)
    counter = SlipSerialCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def slip_issue(*, actor, call, category, department, instructions: str = "") -> HandoffSlip:
    """Create the three-part slip for a diverted call. Runs inside the caller's transaction."""
    if not department.active:
        raise DomainError(_("Department %(d)s is not active.") % {"d": department.name}, code="inactive_department")
    now = timezone.now()
    year = timezone.localtime(now).year
    slip = HandoffSlip.objects.create(
        year=year, number=_next_serial_number(year), call=call, category=category, department=department,
        instructions=instructions, issued_by=actor, issued_at=now,
        deadline=deadline_for(now, category.time_limit_class),
    )
    audit_write(actor=actor, action="slip_status", obj=slip, call=call, to_state=slip.status,
                data={"serial": slip.serial, "department": department.code, "category": category.code})
    outbox_put("diversion.slip_issued", {"slip": slip.pk}, key=f"slip-issued:{slip.pk}")
    return slip


def _lock_slip(slip_pk: int) -> HandoffSlip:
    return HandoffSlip.objects.select_for_update().select_related("call", "department").get(pk=slip_pk)


def _check_own_department(actor, slip: HandoffSlip) -> None:
    if actor.is_superuser:
        return
    if actor.role != Role.DEPARTMENT or actor.department_id != slip.department_id:
        raise PermissionDenied


def _move(*, actor, slip: HandoffSlip, to_state: str, fields: list[str], reason: "str | Reason" = "",
          data: dict | None = None) -> None:
    from_state = slip.status
    SLIP_TRANSITIONS.check(from_state, to_state)
    slip.status = to_state
    slip.save(update_fields=["status", *fields])
    audit_write(actor=actor, action="slip_status", obj=slip, call=slip.call, from_state=from_state,
                to_state=to_state, reason=reason, data=data)


def slip_accept(*, actor, slip_pk: int, handler_name: str = "") -> HandoffSlip:
    """The department takes the slip. Compare-and-set on the status: of two people accepting at once,
    exactly one wins; the other gets a Conflict."""
    slip = HandoffSlip.objects.select_related("call").get(pk=slip_pk)
    _check_own_department(actor, slip)
    from_state = slip.status
    sources = SLIP_TRANSITIONS.sources_of(SlipStatus.ACCEPTED)
    if from_state not in sources:
        SLIP_TRANSITIONS.check(from_state, SlipStatus.ACCEPTED)
    now = timezone.now()
    with transaction.atomic():
        won = HandoffSlip.objects.filter(pk=slip.pk, status=from_state).update(
            status=SlipStatus.ACCEPTED, accepted_by=actor, accepted_at=now,
            handler_name=handler_name or actor.get_full_name() or actor.username,
        )
        if won != 1:
            raise Conflict(_("Slip %(serial)s was accepted by someone else.") % {"serial": slip.serial},
                           code="already_accepted")
        slip.refresh_from_db()
        audit_write(actor=actor, action="slip_status", obj=slip, call=slip.call, from_state=from_state,
                    to_state=SlipStatus.ACCEPTED)
    return slip


def slip_print_phone(*, actor, slip: HandoffSlip) -> str:
    """The caller's full number for the department's printed part, audited as a reveal (the supervisor's
    list of who saw callers' numbers); "" for someone who may not see it, or once it was anonymised."""
    from incidents.services import call_reveal_phone, can_reveal_phone

    call = slip.call
    if not can_reveal_phone(actor, call) or call.anonymised_at is not None or not call.caller_phone:
        return ""
    with transaction.atomic():
        return call_reveal_phone(actor=actor, call=call, reason=Reason(
            gettext_noop("Printed on the department's part of slip %(serial)s"), serial=slip.serial))


def slip_return(*, actor, slip_pk: int, reason: str, suggested_department=None) -> HandoffSlip:
    """The department sends the slip back: not theirs. The call returns to the dispatchers' queue."""
    from incidents.models import CallStatus
    from incidents.services import call_move

    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give a reason for returning the slip."), code="reason_required")
    with transaction.atomic():
        slip = _lock_slip(slip_pk)
        _check_own_department(actor, slip)
        if suggested_department is not None and suggested_department.pk == slip.department_id:
            raise DomainError(_("Suggest a department other than your own."), code="same_department")
        slip.returned_by, slip.returned_at = actor, timezone.now()
        slip.return_reason, slip.suggested_department = reason, suggested_department
        _move(actor=actor, slip=slip, to_state=SlipStatus.RETURNED, reason=reason,
              fields=["returned_by", "returned_at", "return_reason", "suggested_department"],
              data={"suggested_department": suggested_department.code if suggested_department else None})
        call = slip.call.__class__.objects.select_for_update().get(pk=slip.call_id)
        call.return_count += 1
        call.save(update_fields=["return_count"])
        call_move(actor=actor, call=call, to_state=CallStatus.RETURNED, reason=reason,
                  data={"slip": slip.pk, "department": slip.department.code})
    return slip


def slip_complete(*, actor, slip_pk: int, result: str, handler_name: str = "") -> HandoffSlip:
    """The department records what it did and completes the receipt. A callback is now due."""
    result = (result or "").strip()
    if not result:
        raise DomainError(_("Describe what was done."), code="result_required")
    with transaction.atomic():
        slip = _lock_slip(slip_pk)
        _check_own_department(actor, slip)
        slip.result, slip.completed_by, slip.completed_at = result, actor, timezone.now()
        if handler_name:
            slip.handler_name = handler_name
        _move(actor=actor, slip=slip, to_state=SlipStatus.COMPLETED, reason=result,
              fields=["result", "completed_by", "completed_at", "handler_name"])
    return slip


def callback_record(*, actor, slip_pk: int, channel: str, reached: bool, resolved: str = "",
                    satisfaction: int | None = None, comment: str = "") -> Callback:
    """Record one callback attempt. Satisfied → the slip and call close. “No”, “partly” or satisfaction
    ≤ 2 → the slip is reopened to its department. Not reached → after CALLBACK_MAX_ATTEMPTS failed
    attempts the slip closes as unreachable."""
    from incidents.models import CallStatus
    from incidents.services import call_move

    if not actor.has_role(Role.DISPATCHER, Role.SUPERVISOR):
        raise PermissionDenied
    if channel not in Callback.Channel.values:
        raise DomainError(_("Choose how the caller was contacted."), code="bad_channel")
    if reached:
        if resolved not in Callback.Resolved.values:
            raise DomainError(_("Say whether the matter was resolved."), code="resolved_required")
        if satisfaction is None or not 1 <= satisfaction <= 5:
            raise DomainError(_("Satisfaction must be from 1 to 5."), code="bad_satisfaction")
    else:
        resolved, satisfaction = "", None

    with transaction.atomic():
        slip = _lock_slip(slip_pk)
        if slip.status != SlipStatus.COMPLETED and not (slip.status == SlipStatus.CLOSED and reached):
            raise Conflict(_("Slip %(serial)s is not waiting for a callback.") % {"serial": slip.serial},
                           code="no_callback_due")
        callback = Callback.objects.create(
            slip=slip, channel=channel, reached=reached, resolved=resolved, satisfaction=satisfaction,
            comment=comment, recorded_by=actor, recorded_at=timezone.now(),
        )
        audit_write(actor=actor, action="callback", obj=callback, call=slip.call,
                    data={"slip": slip.pk, "channel": channel, "reached": reached, "resolved": resolved,
                          "satisfaction": satisfaction})
        call = slip.call.__class__.objects.select_for_update().get(pk=slip.call_id)
        if callback.unsatisfied:
            callback.reopened_slip = True
            callback.save(update_fields=["reopened_slip"])
            slip.reopen_count += 1
            slip.closed_at, slip.close_reason = None, ""
            _move(actor=actor, slip=slip, to_state=SlipStatus.REOPENED, fields=["reopen_count", "closed_at",
                                                                               "close_reason"],
                  reason=Reason(gettext_noop("Caller not satisfied: %(c)s"),
                         c=comment or Reason.choice(callback, "resolved").as_data()),
                  data={"callback": callback.pk})
            if call.status == CallStatus.CLOSED:
                call_move(actor=actor, call=call, to_state=CallStatus.DIVERTED,
                          reason=Reason(gettext_noop("Slip reopened")))
            outbox_put("diversion.slip_reopened", {"slip": slip.pk},
                       key=f"slip-reopened:{slip.pk}:{slip.reopen_count}")
        elif reached and slip.status == SlipStatus.COMPLETED:
            _close(actor, slip, call, "satisfied", callback)
        elif reached and slip.close_reason != "satisfied":
            # A caller reached after the slip closed as unreachable: the close now rests on a callback.
            slip.close_reason = "satisfied"
            slip.save(update_fields=["close_reason"])
            audit_write(actor=actor, action="slip_status", obj=slip, call=call, from_state=slip.status,
                        to_state=slip.status, reason=Reason.choice(slip, "close_reason"),
                        data={"callback": callback.pk})
        elif not reached:
            failed = slip.callbacks.filter(reached=False).count()
            if failed >= settings.CALLBACK_MAX_ATTEMPTS:
                _close(actor, slip, call, "unreachable", callback)
    return callback


def _close(actor, slip: HandoffSlip, call, reason: str, callback: Callback) -> None:
    from incidents.models import CallStatus
    from incidents.services import call_move

    slip.closed_at, slip.close_reason = timezone.now(), reason
    _move(actor=actor, slip=slip, to_state=SlipStatus.CLOSED, fields=["closed_at", "close_reason"],
          reason=Reason.choice(slip, "close_reason"), data={"callback": callback.pk})
    if call.status == CallStatus.DIVERTED:
        call_move(actor=actor, call=call, to_state=CallStatus.CLOSED, reason=Reason.choice(slip, "close_reason"))

