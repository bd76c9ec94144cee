"""Writes on calls. Every change of a call's status goes through `call_move`, inside a transaction
that holds the call's row lock.

The one deliberate import pair between apps: this module and diversion.services call each other (a call
diverted issues its slip there; a slip returned, closed or reopened moves its call here, in the same
transaction). Each imports the other inside the function that needs it; no other cross-app cycle is allowed
(tests/core/test_layout.py)."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.audit import Reason, audit_write
from core.errors import Conflict, DomainError
from core.models import Role
from core.outbox import outbox_put
from core.phones import caller_key
from core.roles import acts_for_unit
from core.times import validate_event_time
from diversion import routing
from diversion.models import Category, Department
from grids import spatial
from grids.selectors import dispatch_choice

from .models import CALL_QUEUE_STATUSES, CALL_TRANSITIONS, Call, CallStatus, PoliceAssignment
from .selectors import call_repeats

# Fields that identify a call's content: the same 110 call id with any of these different is a conflict.
FINGERPRINT_FIELDS = ("received_at", "caller_phone", "content")


@dataclass
class IntakeResult:
    call: Call
    created: bool


def call_move(*, actor, call: Call, to_state: str, reason: "str | Reason" = "", data: dict | None = None) -> None:
    """Move a locked call to `to_state` if the transition table allows it, and audit it."""
    from_state = call.status
    CALL_TRANSITIONS.check(from_state, to_state)
    call.status = to_state
    call.version += 1
    if to_state not in CALL_QUEUE_STATUSES:  # decided: nobody holds it any more
        call.claimed_by, call.claimed_at = None, None
    call.save(update_fields=["status", "version", "claimed_by", "claimed_at"])
    audit_write(actor=actor, action="call_status", obj=call, call=call, from_state=from_state,
                to_state=to_state, reason=reason, data=data)


def _same_content(call: Call, data: dict) -> bool:
    if call.anonymised_at is not None:  # the number is gone: its keyed hash stands for it
        return (call.received_at == data["received_at"] and call.content == data["content"]
                and call.caller_key in ("", caller_key(data["caller_phone"])))
    return all(getattr(call, f) == data[f] for f in FINGERPRINT_FIELDS)


def call_intake(*, actor, data: dict) -> IntakeResult:
    """Register a call from the 110 system or a dispatcher. Idempotent on `call_id`: the same call again
    returns the stored one; the same id with different content raises Conflict. `data` is validated
    (normalised phone, aware received_at). The 12345 platform's account transfers calls here too (issue 40).

    Few round trips (issue 43): the suggested category and the micro grid come from this process's cached
    catalog and grid index, the repeat checks are one query, and a new call is inserted without asking first
    whether its id is known: the unique call id answers that, and only a resent call pays for the lookup."""
    if getattr(actor, "role", None) != Role.PLATFORM or not actor.is_active:
        _check_dispatcher(actor)
    try:
        validate_event_time(data["received_at"])
    except ValidationError as exc:
        raise DomainError(exc.messages[0], code=exc.code) from None

    suggestion = routing.suggest(data["content"], {"address": data.get("address", "")})
    top = suggestion.top
    repeats = call_repeats(phone=data["caller_phone"], address=data.get("address", ""),
                           received_at=data["received_at"], category_code=top.code if top else None)
    fields = {**data, "suggestions": suggestion.as_dict(), "suggested_police": suggestion.suggested_police,
              "repeats": repeats, "suggested_category_id": suggested_category_pk(top.code) if top else None,
              "created_by": actor if getattr(actor, "is_authenticated", False) else None}
    placed = not data.get("micro_grid")
    if placed:  # place it on its micro grid by point, else by address (grids.spatial)
        fields["micro_grid"], fields["place"] = spatial.place(data.get("lat"), data.get("lon"), data.get("address", ""))
    try:
        call = _intake_write(actor, fields, suggestion)
    except IntegrityError:
        existing = Call.objects.filter(call_id=data["call_id"]).first()
        if existing is None:
            if not placed:
                raise
            # Not the call id: the grid or address entry it was placed in went away in another process
            # since this one cached them. Place it again from fresh rows.
            spatial.reset()
            fields["micro_grid"], fields["place"] = spatial.place(data.get("lat"), data.get("lon"),
                                                                  data.get("address", ""))
            return IntakeResult(_intake_write(actor, fields, suggestion), True)
        if not _same_content(existing, data):
            raise Conflict(_("Call %(id)s was already received with different content.") % {"id": data["call_id"]},
                           code="call_id_conflict") from None
        return IntakeResult(existing, False)
    return IntakeResult(call, True)


def suggested_category_pk(code: str) -> int | None:
    """The Category row of a suggested code: from the compiled catalog (no query), else the database (a code
    the active catalog no longer holds, which a learned model may still name)."""
    compiled = routing.current_rules().by_code.get(code)
    if compiled is not None and compiled.pk is not None:
        return compiled.pk
    return Category.objects.filter(code=code).values_list("pk", flat=True).first()


def _intake_write(actor, fields: dict, suggestion) -> Call:
    """The call, its audit row and its outbox message, all or nothing."""
    top = suggestion.top
    with transaction.atomic():
        call = Call.objects.create(**fields)
        audit_write(actor=actor, action="call_intake", obj=call, call=call, to_state=call.status,
                    data={"channel": call.channel, "suggested": top.code if top else None,
                          "suggested_police": suggestion.suggested_police, "decision": suggestion.decision})
        # Mediation: a later call joins the dispute files that watch its caller or place.
        outbox_put("mediation.calls_link", {"call": call.pk}, key=f"calls-link:{call.pk}")
    return call


def _lock_call(call_pk: int) -> Call:
    return Call.objects.select_for_update().get(pk=call_pk)


def _check_dispatcher(actor):
    if not getattr(actor, "is_authenticated", False) or not actor.has_role(Role.DISPATCHER, Role.SUPERVISOR):
        raise PermissionDenied


@dataclass
class Decision:
    """What came of a dispatcher's decision on a call: the slip it was diverted on, or the police unit sent.
    `repeated`: the same dispatcher sent the decision again for the version it was already made on (a
    double key press, a retry after a network error); nothing was done the second time."""

    call: Call
    slip: object = None
    assignment: PoliceAssignment | None = None
    repeated: bool = False
    review: object = None  # the review layers the slip waits for (issue 40), instead of a slip


def call_classify(*, actor, call_pk: int, version: int | None, police: bool, category: Category | None = None,
                  department: Department | None = None, instructions: str = "", override_reason: str = "",
                  unit=None, note: str = "") -> Decision:
    """The dispatcher's decision on one call: keep it with the police and send a unit, or divert it to a
    department on a new handoff slip.

    `version` is the call's version the dispatcher's page showed. The decision compares and sets on it under
    the call's row lock: the same dispatcher sending it again for that version is a no-op (`repeated`); a
    call that changed meanwhile (another dispatcher decided, a slip came back) is refused with Conflict.
    A decision only ever acts on `call_pk`. None skips the comparison (the demo and internal callers)."""
    from diversion.services import review_request, slip_issue

    _check_dispatcher(actor)
    override_reason = (override_reason or "").strip()
    if police and unit is None:
        raise DomainError(_("Choose a police unit."), code="unit_required")
    if not police and category is None:
        raise DomainError(_("Choose a sub-category."), code="category_required")
    with transaction.atomic():
        call = _lock_call(call_pk)
        first = _already_decided(actor, call, version)
        if first is not None:  # sent again: answer with what the first one did
            if first.data.get("chosen_police"):
                return Decision(call, assignment=call.assignments.order_by("-pk").first(), repeated=True)
            review = call.reviews.order_by("-pk").first()
            return Decision(call, slip=review.slip if review else call.slips.order_by("-pk").first(),
                            review=review, repeated=True)
        if call.status not in CALL_QUEUE_STATUSES:
            raise Conflict(_("This call was already handled."), code="already_handled")
        holder = call.claim_holder()
        if holder is not None and holder.pk != actor.pk:
            raise Conflict(_claimed_message(call, holder), code="claimed")
        if not police and call.suggested_police and not override_reason:
            raise DomainError(_("The rules keep this call with the police. Give a reason to divert it anyway."),
                              code="police_override_reason_required")
        shown = call.version
        _record_choice(actor, call, category=category, police=police, override_reason=override_reason,
                       version=shown)
        if police:
            selection, distance = dispatch_choice(call, unit)
            assignment = PoliceAssignment.objects.create(call=call, unit=unit, note=note, assigned_by=actor,
                                                         dispatched_at=timezone.now(), selection=selection,
                                                         distance_m=distance)
            call_move(actor=actor, call=call, to_state=CallStatus.ASSIGNED,
                      reason=Reason(gettext_noop("Police unit %(unit)s"), unit=unit.name),
                      data={"unit": unit.pk, "assignment": assignment.pk, "note": note})
            return Decision(call, assignment=assignment)
        department = department or routing.department_for(category=category, grid=call.micro_grid)
        review = review_request(actor=actor, call=call, category=category, department=department,
                                instructions=instructions)
        if review is not None:  # the centre's review layers decide whether the slip leaves
            return Decision(call, review=review)
        slip = slip_issue(actor=actor, call=call, category=category, department=department,
                          instructions=instructions)
        call_move(actor=actor, call=call, to_state=CallStatus.DIVERTED,
                  reason=Reason(gettext_noop("Diverted on slip %(serial)s"), serial=slip.serial),
                  data={"slip": slip.pk, "category": category.code})
        return Decision(call, slip=slip)


def _already_decided(actor, call: Call, version: int | None):
    """Compare the version the dispatcher's page showed with the locked call's. Returns the audit row of
    this dispatcher's decision on that very version if there is one (the decision is sent again), else None.
    Raises Conflict when the call moved on since the page was drawn."""
    if version is None or version == call.version:
        return None
    decided = call.audit_rows.filter(action="call_classify").order_by("-pk").first()
    if decided is not None and decided.actor_id == actor.pk and decided.data.get("version") == version:
        return decided
    moved = call.audit_rows.filter(action="call_status").select_related("actor").order_by("-pk").first()
    who = (moved.actor.get_full_name() or moved.actor.username) if moved is not None and moved.actor_id else ""
    raise Conflict(
        _("Call %(id)s changed after your page showed it: it is now “%(status)s”%(by)s. Nothing was done; "
          "look at it again.") % {"id": call.call_id, "status": call.get_status_display(),
                                  "by": _(" (by %(who)s)") % {"who": who} if who else ""},
        code="stale")


def _who(user) -> str:
    return user.get_full_name() or user.username


def _claimed_message(call: Call, holder) -> str:
    return _("Call %(id)s is being handled by %(who)s. Nothing was done; choose another call, or ask a supervisor "
             "to take it over.") % {"id": call.call_id, "who": _who(holder)}


def call_claim(*, actor, call_pk: int, take_over: bool = False) -> Call:
    """The dispatcher opens a call: it is theirs until they decide it, release it, or leave it idle for
    settings.CALL_CLAIM_IDLE_SECONDS. Claiming one's own call again keeps the claim fresh (not audited).
    A call someone else holds is refused with Conflict, unless a supervisor takes it over. A dispatcher holds
    one call at a time: claiming another releases the one they held."""
    _check_dispatcher(actor)
    if take_over and not actor.has_role(Role.SUPERVISOR):
        raise PermissionDenied
    with transaction.atomic():
        call = _lock_call(call_pk)
        if not call.in_queue:
            raise Conflict(_("Call %(id)s is no longer waiting: it was already handled.") % {"id": call.call_id},
                           code="already_handled")
        now = timezone.now()
        holder = call.claim_holder(now)
        if holder is not None and holder.pk == actor.pk:
            call.claimed_at = now
            call.save(update_fields=["claimed_at"])
            return call
        if holder is not None and not take_over:
            raise Conflict(_claimed_message(call, holder), code="claimed")
        held = (Call.objects.select_for_update(skip_locked=True)
                .filter(claimed_by=actor, status__in=CALL_QUEUE_STATUSES).exclude(pk=call.pk))
        for other in held:
            _claim_clear(actor, other, reason=Reason(gettext_noop("Opened call %(id)s"), id=call.call_id))
        call.claimed_by, call.claimed_at = actor, now
        call.save(update_fields=["claimed_by", "claimed_at"])
        action = "call_take_over" if holder is not None else "call_claim"
        taken = Reason(gettext_noop("Taken over from %(who)s"), who=_who(holder)) if holder is not None else ""
        audit_write(actor=actor, action=action, obj=call, call=call, reason=taken,
                    data={"from": holder.pk} if holder is not None else None)
        return call


def _claim_clear(actor, call: Call, *, reason: "str | Reason" = "") -> None:
    call.claimed_by, call.claimed_at = None, None
    call.save(update_fields=["claimed_by", "claimed_at"])
    audit_write(actor=actor, action="call_release", obj=call, call=call, reason=reason)


def call_release(*, actor, call_pk: int) -> Call:
    """The dispatcher lets go of a call they hold. Releasing a call nobody holds does nothing; a call someone
    else holds is refused with Conflict (only its holder releases it; a supervisor takes it over)."""
    _check_dispatcher(actor)
    with transaction.atomic():
        call = _lock_call(call_pk)
        if call.claimed_by_id is None:
            return call
        if call.claimed_by_id != actor.pk:
            holder = call.claim_holder()
            if holder is not None:
                raise Conflict(_("Call %(id)s is held by %(who)s, not by you: nothing was released.")
                               % {"id": call.call_id, "who": _who(holder)}, code="claimed")
            return call  # someone else's lapsed claim: nothing to release
        _claim_clear(actor, call)
        return call


def call_divert(*, actor, call_pk: int, category: Category, department: Department | None = None,
                instructions: str = "", override_reason: str = "", version: int | None = None):
    """The dispatcher confirms a non-police sub-category: the call is diverted on a new handoff slip.
    A call the rules keep with the police is diverted only with a stated reason for overriding them."""
    return call_classify(actor=actor, call_pk=call_pk, version=version, police=False, category=category,
                         department=department, instructions=instructions, override_reason=override_reason).slip


def call_assign_police(*, actor, call_pk: int, unit, note: str = "", category: Category | None = None,
                       version: int | None = None):
    """The dispatcher keeps the call with the police and sends a unit."""
    return call_classify(actor=actor, call_pk=call_pk, version=version, police=True, category=category,
                         unit=unit, note=note).assignment


def _record_choice(actor, call: Call, *, category: Category | None, police: bool, override_reason: str = "",
                   version: int) -> None:
    """Keep what was suggested, what the page offered and what was chosen: training data and audit record.
    `outcome`: accepted (the choice Enter confirmed on the page), overridden (something else), or own (the
    suggestion was undecided, so nothing was offered)."""
    suggested_code = call.suggested_category.code if call.suggested_category_id else None
    decision = call.suggested_decision
    offered = {"police": "police", "non_police": suggested_code}.get(decision)
    chosen = "police" if police else (category.code if category else None)
    call.is_police = police
    call.category = category
    call.classified_by = actor
    call.classified_at = timezone.now()
    call.save(update_fields=["is_police", "category", "classified_by", "classified_at"])
    audit_write(
        actor=actor, action="call_classify", obj=call, call=call, reason=override_reason,
        data={
            "version": version,
            "suggested_decision": decision,
            "suggested_category": suggested_code,
            "suggested_police": call.suggested_police,
            "chosen_category": category.code if category else None,
            "chosen_police": police,
            "outcome": "own" if offered is None else ("accepted" if offered == chosen else "overridden"),
        },
    )


def police_finish(*, actor, assignment_pk: int, result: str, note: str = "") -> PoliceAssignment:
    """The unit reports back: finished on scene or transferred to the station. The call closes. Reported by
    the centre for the unit, or by the unit's own login on its phone page (issue 37)."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied
    if result not in (PoliceAssignment.Result.ON_SCENE, PoliceAssignment.Result.TRANSFERRED):
        raise DomainError(_("Choose finished on scene or transferred."), code="bad_result")
    if result == PoliceAssignment.Result.TRANSFERRED and not note.strip():
        raise DomainError(_("Say why the call is transferred to the station."), code="transfer_note_required")
    with transaction.atomic():
        assignment = PoliceAssignment.objects.select_for_update().get(pk=assignment_pk)
        if not acts_for_unit(actor, assignment.unit_id):
            raise PermissionDenied
        if assignment.finished_at is not None:
            raise Conflict(_("This assignment is already finished."), code="already_finished")
        call = _lock_call(assignment.call_id)
        now = timezone.now()
        assignment.arrived_at = assignment.arrived_at or now
        assignment.finished_at = now
        assignment.result = result
        assignment.result_note = note
        assignment.save(update_fields=["arrived_at", "finished_at", "result", "result_note"])
        call_move(actor=actor, call=call, to_state=CallStatus.CLOSED,
                  reason=Reason.choice(assignment, "result"),
                  data={"assignment": assignment.pk, "note": note, "unit": assignment.unit_id})
    return assignment


def call_set_grid(*, actor, call_pk: int, grid) -> Call:
    _check_dispatcher(actor)
    if grid is not None and grid.level != "micro":
        raise DomainError(_("Choose a micro grid."), code="not_micro_grid")
    with transaction.atomic():
        call = _lock_call(call_pk)
        before = call.micro_grid.code if call.micro_grid_id else ""
        call.micro_grid = grid
        if call.place_id is not None and (grid is None or call.place.micro_grid_id != grid.pk):
            call.place = None  # the matched address was not where the call is: its point no longer stands
        call.save(update_fields=["micro_grid", "place"])
        audit_write(actor=actor, action="call_grid", obj=call, call=call, from_state=before,
                    to_state=grid.code if grid else "")
    return call


def calls_place_unplaced() -> int:
    """Place again, by their address, the calls no grid holds (after a city's address list is imported, issue
    37): each one the gazetteer now places gets its micro grid and matched entry, with an audit row by the
    system. Returns how many were placed. Idempotent: a placed call is no longer unplaced."""
    placed = 0
    pks = list(Call.objects.filter(micro_grid__isnull=True).exclude(address="").values_list("pk", flat=True))
    for pk in pks:
        with transaction.atomic():
            call = _lock_call(pk)
            if call.micro_grid_id is not None:
                continue
            grid, place = spatial.place(call.lat, call.lon, call.address)
            if grid is None:
                continue
            call.micro_grid, call.place = grid, place
            call.save(update_fields=["micro_grid", "place"])
            audit_write(actor=None, action="call_grid", obj=call, call=call, from_state="", to_state=grid.code,
                        reason=Reason(gettext_noop("Placed by the address list")))
            placed += 1
    return placed


def can_reveal_phone(user, call: Call) -> bool:
    """The dispatcher handling the call, the department holding its slip, and supervisors."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or user.role == Role.SUPERVISOR:
        return True
    if user.role == Role.DISPATCHER:
        return call.classified_by_id in (None, user.pk)
    if user.role == Role.DEPARTMENT and user.department_id:
        return call.slips.filter(department_id=user.department_id).exclude(status="returned").exists()
    return False


def call_reveal_phone(*, actor, call: Call, reason: "str | Reason") -> str:
    """Show a caller's full number to someone allowed to see it, for a reason they give (or the system's,
    a Reason: the department's printed part), and audit who, when and why (the supervisor's list of reveals,
    incidents.retention)."""
    if not can_reveal_phone(actor, call):
        raise PermissionDenied
    if not isinstance(reason, Reason):
        reason = (reason or "").strip()[:300]
    if not reason:
        raise DomainError(_("Say why you need the caller's number."), code="reason_required")
    if call.anonymised_at is not None or not call.caller_phone:
        raise DomainError(_("The caller's number was anonymised after the retention period."), code="anonymised")
    audit_write(actor=actor, action="phone_revealed", obj=call, call=call, reason=reason)
    return call.caller_phone
