"""Writes on dispute files (一事一档). Each state change: transaction → row lock on the file → check
FILE_TRANSITIONS → save(update_fields) → audit row; follow-up visits are rows written in the same
transaction. Only the station's own mediators work a file; the command centre may open one from a call."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.audit import Reason, audit_write
from core.errors import Conflict, DomainError
from core.models import AuditAction, Role
from core.phones import caller_key, phone_normalise
from grids.models import Unit
from incidents.models import Call

from . import selectors
from .models import (
    FILE_ACTIVE_STATUSES,
    FILE_TRANSITIONS,
    DisputeFile,
    FileCall,
    FileSerialCounter,
    FileStatus,
    FollowUpVisit,
    MediationSession,
    Mediator,
    Party,
)
from .triage import complexity_suggest

A_STATUS = AuditAction.DISPUTE_STATUS
A_ASSIGN = AuditAction.DISPUTE_ASSIGN
A_PARTY = AuditAction.DISPUTE_PARTY
A_TRIAGE = AuditAction.DISPUTE_TRIAGE
A_PLAN = AuditAction.DISPUTE_PLAN
A_SESSION = AuditAction.DISPUTE_SESSION
A_FOLLOWUP = AuditAction.DISPUTE_FOLLOWUP
A_LINK = AuditAction.DISPUTE_CALL_LINK


# --- checks and helpers -------------------------------------------------------------------------

def _check_station_mediator(actor, file: DisputeFile) -> Mediator | None:
    """Only a mediator of the file's own station (or a superuser) works the file."""
    if getattr(actor, "is_superuser", False) and actor.is_active:
        return None
    profile = selectors.mediator_of(actor)
    if profile is None or profile.station_id != file.station_id:
        raise PermissionDenied
    return profile


def _lock_file(file_pk: int) -> DisputeFile:
    return DisputeFile.objects.select_for_update().get(pk=file_pk)


def _check_active(file: DisputeFile) -> None:
    if file.status not in FILE_ACTIVE_STATUSES:
        raise Conflict(_("File %(serial)s is closed. Reopen it first.") % {"serial": file.serial},
                       code="file_closed")


def _move(*, actor, file: DisputeFile, to_state: str, fields: list[str], reason: "str | Reason" = "",
          data: dict | None = None) -> None:
    from_state = file.status
    FILE_TRANSITIONS.check(from_state, to_state)
    file.status = to_state
    file.save(update_fields=["status", *fields])
    audit_write(actor=actor, action=A_STATUS, obj=file, from_state=from_state, to_state=to_state, reason=reason,
                data=data)


def _next_serial(now) -> str:
    # The counter row stays locked until the file's transaction commits: two files opened at the same
    # moment get consecutive numbers, never the same one.
    year = timezone.localtime(now).year
    FileSerialCounter.objects.get_or_create(year=year)
    counter = FileSerialCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"TJ{year}-{counter.last_number:05d}"


def _clean_party(raw: dict) -> dict:
    name = (raw.get("name") or "").strip()
    if not name:
        raise DomainError(_("Every party needs a name."), code="party_name_required")
    phone = (raw.get("phone") or "").strip()
    if phone:
        try:
            phone = phone_normalise(phone)
        except ValidationError as exc:
            raise DomainError(exc.messages[0], code="invalid_phone") from None
    role = raw.get("role") or Party.Role.APPLICANT
    if role not in Party.Role.values:
        raise DomainError(_("Choose the party's role."), code="bad_role")
    return {"name": name, "phone": phone, "role": role, "address": (raw.get("address") or "").strip()}


def _refresh_suggestion(file: DisputeFile) -> None:
    facts = selectors.file_triage_facts(file)
    suggested, fired = complexity_suggest(facts)
    file.suggested_complexity = suggested
    file.triage_facts = {**facts.as_dict(), "rules": fired}
    file.save(update_fields=["suggested_complexity", "triage_facts"])


def _link_earlier_calls(file: DisputeFile, now) -> int:
    """The calls that led to the dispute: a party's phone or a dispute call at the address, in the
    MEDIATION_LINK_DAYS before the file was opened."""
    since = file.opened_at - timedelta(days=settings.MEDIATION_LINK_DAYS)
    linked = set(file.file_calls.values_list("call_id", flat=True))
    keys = {caller_key(p) for p in file.parties.exclude(phone="").values_list("phone", flat=True)}
    new = [FileCall(file=file, call_id=pk, reason=FileCall.Reason.PHONE if key in keys else
                    FileCall.Reason.ADDRESS)
           for pk, key in selectors.calls_matching_file(file, since=since, until=now)
           .values_list("pk", "caller_key") if pk not in linked]
    FileCall.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


# --- opening and keeping the file ---------------------------------------------------------------

def file_open(*, actor, station: Unit, title: str, parties: list[dict], summary: str = "", dispute_type=None,
              grid=None, address: str = "", amount: Decimal | None = None, call: Call | None = None) -> DisputeFile:
    """Open a dispute file (一事一档) at a station, from a call or for a walk-in. A mediator opens files for
    their own station only and becomes the file's mediator; the command centre opens them from a call for
    any station. Earlier calls of the parties are linked, and a complexity is suggested."""
    profile = selectors.mediator_of(actor)
    if profile is not None:
        if profile.station_id != station.pk:
            raise PermissionDenied
    elif not (getattr(actor, "is_authenticated", False) and actor.has_role(Role.DISPATCHER, Role.SUPERVISOR)
              and call is not None):
        raise PermissionDenied
    if station.kind != Unit.Kind.STATION:
        raise DomainError(_("Dispute files are kept at a police station."), code="not_a_station")
    title = (title or "").strip()
    if not title:
        raise DomainError(_("Give the file a title."), code="title_required")
    cleaned = [_clean_party(p) for p in parties if (p.get("name") or p.get("phone"))]
    if not cleaned:
        raise DomainError(_("Name at least one party."), code="party_required")
    now = timezone.now()
    with transaction.atomic():
        if call is not None:
            # Lock the call so two clicks on “open a file” make one file.
            call = Call.objects.select_for_update().get(pk=call.pk)
            existing = FileCall.objects.filter(call=call).select_related("file").first()
            if existing is not None:
                raise Conflict(_("This call is already in file %(serial)s.") % {"serial": existing.file.serial},
                               code="call_has_file")
        file = DisputeFile.objects.create(
            serial=_next_serial(now), station=station, title=title, summary=(summary or "").strip(),
            source=DisputeFile.Source.CALL if call is not None else DisputeFile.Source.WALK_IN,
            dispute_type=dispute_type, grid=grid, address=(address or "").strip(), amount=amount,
            mediator=actor if profile is not None else None, opened_by=actor, opened_at=now,
        )
        Party.objects.bulk_create([Party(file=file, **p) for p in cleaned])
        if call is not None:
            FileCall.objects.create(file=file, call=call, reason=FileCall.Reason.ORIGIN)
        earlier = _link_earlier_calls(file, now)
        _refresh_suggestion(file)
        audit_write(actor=actor, action=A_STATUS, obj=file, to_state=file.status,
                    data={"serial": file.serial, "station": station.code, "call": call.pk if call else None,
                          "earlier_calls": earlier, "suggested": file.suggested_complexity})
    return file


def file_take(*, actor, file_pk: int) -> DisputeFile:
    """A mediator of the station takes the file as its mediator."""
    with transaction.atomic():
        file = _lock_file(file_pk)
        _check_station_mediator(actor, file)
        _check_active(file)
        before = file.mediator_id
        file.mediator = actor
        file.save(update_fields=["mediator"])
        audit_write(actor=actor, action=A_ASSIGN, obj=file, data={"from": before, "to": actor.pk})
    return file


def party_add(*, actor, file_pk: int, name: str, phone: str = "", role: str = "", address: str = "") -> Party:
    """Add a party; their earlier calls join the file and the complexity suggestion is refreshed."""
    data = _clean_party({"name": name, "phone": phone, "role": role, "address": address})
    with transaction.atomic():
        file = _lock_file(file_pk)
        _check_station_mediator(actor, file)
        _check_active(file)
        party = Party.objects.create(file=file, **data)
        _link_earlier_calls(file, timezone.now())
        _refresh_suggestion(file)
        audit_write(actor=actor, action=A_PARTY, obj=file, data={"party": party.pk, "role": party.role})
    return party


def file_triage(*, actor, file_pk: int, complexity: str) -> DisputeFile:
    """繁简分流: the mediator decides simple or complex. The rules' suggestion and its facts are kept beside
    the decision (training data and audit record, as for calls)."""
    if complexity not in DisputeFile.Complexity.values:
        raise DomainError(_("Choose simple or complex."), code="bad_complexity")
    with transaction.atomic():
        file = _lock_file(file_pk)
        _check_station_mediator(actor, file)
        _check_active(file)
        _refresh_suggestion(file)
        before = file.complexity
        file.complexity, file.triaged_by, file.triaged_at = complexity, actor, timezone.now()
        file.save(update_fields=["complexity", "triaged_by", "triaged_at"])
        audit_write(actor=actor, action=A_TRIAGE, obj=file, from_state=before, to_state=complexity,
                    data={"suggested": file.suggested_complexity, "agreed": complexity == file.suggested_complexity,
                          "facts": file.triage_facts})
    return file


def file_set_plan(*, actor, file_pk: int, plan: str) -> DisputeFile:
    """一事一策: the plan for this dispute."""
    plan = (plan or "").strip()
    if not plan:
        raise DomainError(_("Write the plan."), code="plan_required")
    with transaction.atomic():
        file = _lock_file(file_pk)
        _check_station_mediator(actor, file)
        _check_active(file)
        file.plan = plan
        file.save(update_fields=["plan"])
        audit_write(actor=actor, action=A_PLAN, obj=file, reason=plan)
    return file


def session_record(*, actor, file_pk: int, held_at, place: str, place_detail: str = "", attendees: str = "",
                   notes: str = "", members=()) -> MediationSession:
    """Record a mediation session. The first one moves a registered (or reopened) file to mediating."""
    if place not in MediationSession.Place.values:
        raise DomainError(_("Choose where the session was held."), code="bad_place")
    if held_at is None:
        raise DomainError(_("Give the date the session was held."), code="bad_held_at")
    if held_at > timezone.now() + timedelta(minutes=settings.EVENT_TIME_MAX_AHEAD_MINUTES):
        raise DomainError(_("A session is recorded after it was held: this time is in the future."),
                          code="session_in_future")
    with transaction.atomic():
        file = _lock_file(file_pk)
        _check_station_mediator(actor, file)
        _check_active(file)
        if held_at < file.opened_at - timedelta(days=1):
            raise DomainError(_("The session is dated before the file was opened (%(day)s); check the date.")
                              % {"day": timezone.localtime(file.opened_at).strftime("%Y-%m-%d")},
                              code="session_before_file")
        members = list(members)
        if any(m.station_id != file.station_id for m in members):
            raise DomainError(_("Only the station's own mediators can be recorded as present."),
                              code="member_of_other_station")
        session = MediationSession.objects.create(file=file, held_at=held_at, place=place,
                                                  place_detail=(place_detail or "").strip(),
                                                  attendees=(attendees or "").strip(), notes=(notes or "").strip(),
                                                  recorded_by=actor)
        session.members.set(members)
        audit_write(actor=actor, action=A_SESSION, obj=file,
                    data={"session": session.pk, "place": place, "members": [m.pk for m in members]})
        if file.status != FileStatus.MEDIATING:
            _move(actor=actor, file=file, to_state=FileStatus.MEDIATING, fields=[],
                  reason=Reason(gettext_noop("Session held")), data={"session": session.pk})
    return session


def file_close(*, actor, file_pk: int, outcome: str, agreement_text: str = "", note: str = "") -> DisputeFile:
    """Record the outcome and close the file. Follow-up visits are scheduled MEDIATION_FOLLOWUP_DAYS after
    today (7, 30 and 90 days by default)."""
    if outcome not in DisputeFile.Outcome.values:
        raise DomainError(_("Choose the outcome."), code="bad_outcome")
    agreement_text = (agreement_text or "").strip()
    if outcome in (DisputeFile.Outcome.AGREED, DisputeFile.Outcome.PARTIAL) and not agreement_text:
        raise DomainError(_("Write down what the parties agreed."), code="agreement_required")
    with transaction.atomic():
        file = _lock_file(file_pk)
        _check_station_mediator(actor, file)
        if not file.complexity:
            raise DomainError(_("Decide whether the dispute is simple or complex first."),
                              code="complexity_required")
        now = timezone.now()
        file.outcome, file.agreement_text, file.outcome_note, file.closed_at = outcome, agreement_text, \
            (note or "").strip(), now
        _move(actor=actor, file=file, to_state=FileStatus.CLOSED,
              fields=["outcome", "agreement_text", "outcome_note", "closed_at"],
              reason=Reason.choice(file, "outcome"), data={"outcome": outcome})
        today = timezone.localdate(now)
        for days in settings.MEDIATION_FOLLOWUP_DAYS:
            FollowUpVisit.objects.get_or_create(file=file, round=file.flare_count, days_after=days,
                                                defaults={"due_on": today + timedelta(days=days)})
    return file


def _reopen(*, actor, file: DisputeFile, reason: "str | Reason", data: dict | None = None) -> None:
    file.flare_count += 1
    _move(actor=actor, file=file, to_state=FileStatus.REOPENED, fields=["flare_count"], reason=reason, data=data)
    file.follow_ups.filter(done_at__isnull=True, cancelled_at__isnull=True).update(cancelled_at=timezone.now())


def followup_record(*, actor, visit_pk: int, result: str, flared_up: bool = False, early: bool = False,
                    early_reason: str = "") -> FollowUpVisit:
    """Record a follow-up visit. A dispute that flared up again is marked and its file reopened. A visit is
    recorded on or after its day; before it only when marked early with a reason (a 90-day visit on day 0
    proves nothing about whether the agreement held)."""
    result = (result or "").strip()
    early_reason = (early_reason or "").strip()
    if not result:
        raise DomainError(_("Describe what the visit found."), code="result_required")
    with transaction.atomic():
        file_pk = FollowUpVisit.objects.values_list("file_id", flat=True).get(pk=visit_pk)
        # Lock order: file, then visit — the same order as _reopen, which updates the visits under the file lock.
        file = _lock_file(file_pk)
        visit = FollowUpVisit.objects.select_for_update().get(pk=visit_pk)
        _check_station_mediator(actor, file)
        if not visit.pending:
            raise Conflict(_("This visit was already recorded or cancelled."), code="visit_not_pending")
        if visit.due_on > timezone.localdate():
            if not early:
                raise DomainError(_("This visit is due on %(day)s. To record it before then, mark it early and "
                                    "say why.") % {"day": visit.due_on.isoformat()}, code="visit_not_due")
            if not early_reason:
                raise DomainError(_("Say why the visit is recorded before it is due."), code="early_reason_required")
        else:
            early_reason = ""
        visit.done_at, visit.done_by, visit.result, visit.flared_up = timezone.now(), actor, result, flared_up
        visit.early_reason = early_reason
        visit.save(update_fields=["done_at", "done_by", "result", "flared_up", "early_reason"])
        audit_write(actor=actor, action=A_FOLLOWUP, obj=file, reason=result,
                    data={"visit": visit.pk, "due_on": visit.due_on.isoformat(), "flared_up": flared_up,
                          **({"early_reason": early_reason} if early_reason else {})})
        if flared_up:
            _reopen(actor=actor, file=file, reason=Reason(gettext_noop("Flared up again: %(r)s"), r=result),
                    data={"visit": visit.pk})
    return visit


def file_reopen(*, actor, file_pk: int, reason: str) -> DisputeFile:
    """The dispute flared up again (a call, a visit, a party came back): mark it and reopen the file."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say what happened."), code="reason_required")
    with transaction.atomic():
        file = _lock_file(file_pk)
        _check_station_mediator(actor, file)
        _reopen(actor=actor, file=file, reason=reason)
    return file


# --- calls joining files ------------------------------------------------------------------------

def call_link_to_files(*, call_pk: int) -> int:
    """Link a newly received call to every file that watches it (a party's phone, or a dispute call at the
    file's address; files not closed, or closed within MEDIATION_LINK_DAYS). Safe to run twice: a call joins
    a file once. Returns the number of new links."""
    call = Call.objects.filter(pk=call_pk).first()
    if call is None:
        return 0
    made = 0
    for file, reason in selectors.files_watching_call(call):
        with transaction.atomic():
            file = _lock_file(file.pk)
            after = file.status == FileStatus.CLOSED and file.closed_at is not None \
                and call.received_at >= file.closed_at
            link, created = FileCall.objects.get_or_create(file=file, call=call,
                                                           defaults={"reason": reason, "after_outcome": after})
            if created:
                made += 1
                audit_write(actor=None, action=A_LINK, obj=file,
                            data={"call": call.pk, "call_id": call.call_id, "reason": reason,
                                  "after_outcome": after})
    return made
