"""Writes on handoff slips and callbacks. Each service: transaction → lock (or compare-and-set) →
check the transition table → save → audit → side effects on commit.

The one deliberate import pair between apps: this module and incidents.services call each other (a call
diverted issues a slip here; a slip returned, closed or reopened moves its call there, in the same
transaction). Each imports the other inside the function that needs it; no other cross-app cycle is allowed
(tests/core/test_layout.py)."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.audit import Reason, audit_write
from core.errors import Conflict, DomainError
from core.models import Role
from core.outbox import outbox_put, outbox_put_many

from .models import (
    REVIEW_TRANSITIONS,
    SLIP_TRANSITIONS,
    Callback,
    Category,
    HandoffSlip,
    ReviewStatus,
    ReviewStep,
    SlipDocking,
    SlipReview,
    SlipSerialCounter,
    SlipStatus,
    TimeLimitClass,
)
from .selectors import platform_for, review_layers_active, review_layers_of
from .supervision.deadlines import deadline_for


def _next_serial_number(year: int) -> int:
    # The counter row is locked until the slip's transaction commits, so two dispatchers issuing at
    # the same moment get consecutive numbers, never the same one.
    SlipSerialCounter.objects.get_or_create(year=year)
    counter = SlipSerialCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _check_active(department) -> None:
    if not department.active:
        raise DomainError(_("Department %(d)s is not active.") % {"d": department.name}, code="inactive_department")


def slip_issue(*, actor, call, category, department, instructions: str = "", issued_by=None) -> HandoffSlip:
    """Create the three-part slip for a diverted call. Runs inside the caller's transaction. `issued_by`: the
    dispatcher who diverted the call, when the slip leaves later, on the last review layer's approval."""
    _check_active(department)
    now = timezone.now()
    year = timezone.localtime(now).year
    slip = HandoffSlip.objects.create(
        year=year, number=_next_serial_number(year), call=call, category=category, department=department,
        instructions=instructions, issued_by=issued_by or actor, issued_at=now,
        deadline=deadline_for(now, category.time_limit_class),
    )
    platform = platform_for(department)
    audit_write(actor=actor, action="slip_status", obj=slip, call=call, to_state=slip.status,
                data={"serial": slip.serial, "department": department.code, "category": category.code,
                      **({"platform": platform.code} if platform else {})})
    outbox_put("diversion.slip_issued", {"slip": slip.pk}, key=f"slip-issued:{slip.pk}")
    if platform is not None:  # issue 40: the slip goes on to the 12345 platform, signed, through the outbox
        docking = SlipDocking.objects.create(slip=slip, platform=platform, key=f"fenliu-slip-{slip.serial}",
                                             queued_at=now)
        outbox_put("docking.slip_send", {"docking": docking.pk}, key=docking.key)
    return slip


def _lock_slip(slip_pk: int) -> HandoffSlip:
    return HandoffSlip.objects.select_for_update().select_related("call", "department").get(pk=slip_pk)


def _acts_for_platform(actor, slip_pk: int) -> bool:
    """The 12345 platform's account acts on the slips sent to it (issue 40), as the department (and, for the
    callback, the centre) would."""
    return (actor.role == Role.PLATFORM and actor.is_active
            and SlipDocking.objects.filter(slip_id=slip_pk, platform__user=actor).exists())


def _check_own_department(actor, slip: HandoffSlip) -> None:
    if actor.is_superuser or _acts_for_platform(actor, slip.pk):
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

    if not actor.has_role(Role.DISPATCHER, Role.SUPERVISOR) and not _acts_for_platform(actor, slip_pk):
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


# --- Review layers before a slip leaves (issue 40) --------------------------------------------------------

def review_plan(category: Category) -> tuple[str, list]:
    """How a diversion of this sub-category is reviewed: (mode, layers), or ("skip", []) when the slip leaves
    at once: no layer active, a major-urgent time-limit class, or a sub-category set to skip the review."""
    if (category.review == Category.Review.SKIP
            or category.time_limit_class.code == TimeLimitClass.Code.MAJOR_URGENT):
        return Category.Review.SKIP, []
    layers = review_layers_active()
    return (category.review, layers) if layers else (Category.Review.SKIP, [])


def review_request(*, actor, call, category, department, instructions: str = "") -> SlipReview | None:
    """The dispatcher diverted the call: if review layers apply, the slip waits for them and the call moves to
    “in review”; None when they do not (the caller issues the slip at once). Runs inside the caller's
    transaction, with the call's row locked."""
    from incidents.models import CallStatus
    from incidents.services import call_move

    mode, layers = review_plan(category)
    if not layers:
        return None
    _check_active(department)
    now = timezone.now()
    review = SlipReview.objects.create(call=call, category=category, department=department,
                                       instructions=instructions, mode=mode, requested_by=actor, requested_at=now)
    ReviewStep.objects.bulk_create([
        ReviewStep(review=review, layer=layer, position=layer.position,
                   **_opened(layer, now) if mode == SlipReview.Mode.PARALLEL or i == 0 else {})
        for i, layer in enumerate(layers)])
    audit_write(actor=actor, action="review_status", obj=review, call=call, to_state=review.status,
                data={"mode": mode, "layers": [layer.pk for layer in layers], "category": category.code,
                      "department": department.code})
    call_move(actor=actor, call=call, to_state=CallStatus.REVIEWING,
              reason=Reason(gettext_noop("Waiting for %(n)s review layers before the slip is issued"),
                            n=len(layers)),
              data={"review": review.pk, "category": category.code, "department": department.code})
    return review


def _opened(layer, now) -> dict:
    return {"opened_at": now, "due_at": now + timedelta(minutes=layer.time_limit_minutes)}


def review_decide(*, actor, review_pk: int, approve: bool, reason: str = "") -> SlipReview:
    """One layer's decision on a call in review, by someone who decides that layer. Approved by the last
    layer: the slip is issued and the call is diverted. Sent back (a reason is required): the review ends,
    no slip is issued, and the call returns to the dispatchers' queue with the reason.

    Four eyes: the dispatcher who diverted the call decides none of its layers, and one person decides at
    most one layer of a review. The review's row lock orders two people deciding at once; the second finds
    the layer decided and gets a Conflict."""
    from incidents.models import Call, CallStatus
    from incidents.services import call_move

    reason = (reason or "").strip()
    if not approve and not reason:
        raise DomainError(_("Give a reason for sending the call back."), code="reason_required")
    with transaction.atomic():
        review = (SlipReview.objects.select_for_update(of=("self",))
                  .select_related("call", "category", "department").get(pk=review_pk))
        if review.status != ReviewStatus.PENDING:
            raise Conflict(_("The review of call %(id)s is over: %(status)s.") % {
                "id": review.call.call_id, "status": review.get_status_display()}, code="review_over")
        steps = list(review.steps.select_related("layer").order_by("position"))
        mine = set(review_layers_of(actor, include_inactive=True).values_list("pk", flat=True))
        step = next((s for s in steps if s.is_open and s.layer_id in mine), None)
        if step is None:
            if any(not s.outcome and s.layer_id in mine for s in steps):
                raise Conflict(_("An earlier layer has not decided yet; the call is not in your layer's queue."),
                               code="not_your_turn")
            if any(s.outcome and s.layer_id in mine for s in steps):
                raise Conflict(_("Your layer has already decided this call."), code="layer_decided")
            raise PermissionDenied
        if actor.pk == review.requested_by_id:
            raise DomainError(_("You diverted this call: someone else must review it."), code="own_diversion")
        if any(s.decided_by_id == actor.pk for s in steps):
            raise DomainError(_("You already decided another layer of this call: each layer is decided by a "
                                "different person."), code="one_layer_per_person")
        now = timezone.now()
        step.outcome = ReviewStep.Outcome.APPROVED if approve else ReviewStep.Outcome.SENT_BACK
        step.decided_by, step.decided_at, step.reason = actor, now, reason
        step.save(update_fields=["outcome", "decided_by", "decided_at", "reason"])
        said = (Reason(gettext_noop("Layer %(position)s (%(layer)s) approved"), position=step.position,
                       layer=step.layer.name) if approve else
                Reason(gettext_noop("Layer %(position)s (%(layer)s) sent it back: %(reason)s"),
                       position=step.position, layer=step.layer.name, reason=reason))
        audit_write(actor=actor, action="review_decision", obj=review, call=review.call, reason=said,
                    data={"layer": step.layer_id, "position": step.position, "outcome": step.outcome})
        call = Call.objects.select_for_update().get(pk=review.call_id)
        if not approve:
            _review_end(actor, review, ReviewStatus.SENT_BACK, now)
            call.return_count += 1
            call.save(update_fields=["return_count"])
            call_move(actor=actor, call=call, to_state=CallStatus.RETURNED,
                      reason=Reason(gettext_noop("Sent back by review layer %(position)s (%(layer)s): %(reason)s"),
                                    position=step.position, layer=step.layer.name, reason=reason),
                      data={"review": review.pk, "layer": step.layer_id})
            return review
        waiting = [s for s in steps if not s.outcome]
        if waiting:
            if review.mode == SlipReview.Mode.SERIES and not any(s.is_open for s in waiting):
                following = waiting[0]
                for field, value in _opened(following.layer, now).items():
                    setattr(following, field, value)
                following.save(update_fields=["opened_at", "due_at"])
            return review
        slip = slip_issue(actor=actor, call=call, category=review.category, department=review.department,
                          instructions=review.instructions, issued_by=review.requested_by)
        review.slip = slip
        _review_end(actor, review, ReviewStatus.APPROVED, now, fields=["slip"])
        call_move(actor=actor, call=call, to_state=CallStatus.DIVERTED,
                  reason=Reason(gettext_noop("Diverted on slip %(serial)s after %(n)s review layers"),
                                serial=slip.serial, n=len(steps)),
                  data={"slip": slip.pk, "category": review.category.code, "review": review.pk})
    return review


def _review_end(actor, review: SlipReview, to_state: str, now, fields=()) -> None:
    REVIEW_TRANSITIONS.check(review.status, to_state)
    from_state, review.status, review.decided_at = review.status, to_state, now
    review.save(update_fields=["status", "decided_at", *fields])
    audit_write(actor=actor, action="review_status", obj=review, call=review.call, from_state=from_state,
                to_state=to_state, data={"slip": review.slip_id} if review.slip_id else None)


def reviews_warn_overdue(*, now=None) -> int:
    """Periodic: one warning per layer that kept a call past its time limit: audited, the centre's pages hear
    of it, and the layer's people get an e-mail. Set-based; rows a concurrent run holds are skipped, so a
    second run raises nothing new."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(ReviewStep.objects.select_for_update(of=("self",), skip_locked=True)
                   .filter(outcome="", due_at__lt=now, warned_at__isnull=True, review__status=ReviewStatus.PENDING)
                   .select_related("review", "layer"))
        ReviewStep.objects.filter(pk__in=[s.pk for s in due]).update(warned_at=now)
        # The layer's people are told by e-mail, as a department is of its slips waiting (diversion.tasks).
        outbox_put_many("diversion.review_overdue", [(f"review-overdue:{s.pk}", {"step": s.pk}) for s in due])
        for step in due:
            late = int((now - step.due_at).total_seconds() // 60)
            audit_write(actor=None, action="review_overdue", obj=step.review, call=step.review.call,
                        reason=Reason(gettext_noop("Review layer %(position)s (%(layer)s) is past its %(limit)s "
                                                   "minutes"), position=step.position, layer=step.layer.name,
                                      limit=step.layer.time_limit_minutes),
                        data={"layer": step.layer_id, "position": step.position, "late_minutes": late})
    return len(due)
