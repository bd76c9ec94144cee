"""Supervision writes: the warning → supervision → rectification ladder (预警单、督办单、整改通知单), notices
issued by hand and their replies, joint meetings (联席会议) and their actions, accountability (问责问效).

The ladder runs set-based: per level, one INSERT … SELECT makes one notice per department, one more
attaches the slips and actions it covers. A partial unique constraint on (slip or action, level) among
automatic items makes a second run insert nothing, whatever the timing."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import DateTimeField, Exists, FloatField, Func, OuterRef, Q, Value
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.audit import audit_write
from core.errors import Conflict, DomainError
from core.models import AuditLog, Role
from core.outbox import outbox_put, outbox_put_many

from ..models import (
    MEETING_TRANSITIONS,
    NOTICE_TRANSITIONS,
    AccountabilityRecord,
    HandoffSlip,
    JointMeeting,
    JointMeetingAction,
    JointMeetingInvitation,
    MeetingStatus,
    Notice,
    NoticeItem,
    NoticeKind,
    NoticeStatus,
    SlipStatus,
    ladder_reason,
)

# A slip is on the ladder while the department still owes the work: not yet completed, not returned.
LADDER_STATUSES = [SlipStatus.ISSUED, SlipStatus.ACCEPTED, SlipStatus.REOPENED]
LADDER_LOCK_KEY = 3_110_110  # pg_advisory_xact_lock key: one ladder run at a time


class ElapsedShare(Func):
    """The share of [start, end] gone by at `now`, computed in the database (0.8 = 80 % used)."""

    output_field = FloatField()

    def __init__(self, start, end, now):
        super().__init__(start, end, Value(now, output_field=DateTimeField()))

    def _parts(self, compiler, connection):
        (start, p_start), (end, p_end), (now, p_now) = (compiler.compile(e) for e in self.source_expressions)
        return start, end, now, p_start, p_end, p_now

    def as_sql(self, compiler, connection, **extra):
        start, end, now, p_start, p_end, p_now = self._parts(compiler, connection)
        sql = (f"(EXTRACT(EPOCH FROM (CAST({now} AS timestamptz) - {start})) "
               f"/ NULLIF(EXTRACT(EPOCH FROM ({end} - {start})), 0))")
        return sql, (*p_now, *p_start, *p_end, *p_start)

    def as_sqlite(self, compiler, connection, **extra):
        start, end, now, p_start, p_end, p_now = self._parts(compiler, connection)
        sql = f"((julianday({now}) - julianday({start})) / NULLIF(julianday({end}) - julianday({start}), 0))"
        return sql, (*p_now, *p_start, *p_end, *p_start)


def _not_noticed(kind: str, field: str):
    return ~Exists(NoticeItem.objects.filter(**{field: OuterRef("pk")}, kind=kind, automatic=True))


def ladder_slips_due(kind: str, now):
    """Slips that should get a notice of this level and have not had one from the system yet."""
    warn_share = settings.SUPERVISION_WARN_PERCENT / 100
    grace = timedelta(hours=settings.SUPERVISION_RECTIFY_GRACE_HOURS)
    open_slips = HandoffSlip.objects.filter(status__in=LADDER_STATUSES)
    if kind == NoticeKind.WARNING:
        qs = (open_slips.filter(deadline__gt=now)
              .alias(share=ElapsedShare("issued_at", "deadline", now)).filter(share__gte=warn_share))
    elif kind == NoticeKind.SUPERVISION:
        qs = open_slips.filter(deadline__lte=now)
    else:
        qs = HandoffSlip.objects.exclude(status=SlipStatus.RETURNED).filter(
            Q(status__in=LADDER_STATUSES, deadline__lt=now - grace)
            | Q(reopen_count__gte=settings.SUPERVISION_RECTIFY_REOPENS))
    return qs.filter(_not_noticed(kind, "slip")).order_by()


def ladder_actions_due(kind: str, now):
    """Joint-meeting actions not done that should get a notice of this level."""
    warn_share = settings.SUPERVISION_WARN_PERCENT / 100
    grace = timedelta(hours=settings.SUPERVISION_RECTIFY_GRACE_HOURS)
    open_actions = JointMeetingAction.objects.filter(done_at__isnull=True).exclude(
        meeting__status=MeetingStatus.CLOSED)
    if kind == NoticeKind.WARNING:
        qs = (open_actions.filter(deadline__gt=now)
              .alias(share=ElapsedShare("created_at", "deadline", now)).filter(share__gte=warn_share))
    elif kind == NoticeKind.SUPERVISION:
        qs = open_actions.filter(deadline__lte=now)
    else:
        qs = open_actions.filter(deadline__lt=now - grace)
    return qs.filter(_not_noticed(kind, "action")).order_by()


def _ladder_reason(kind: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):  # stored in the centre's language, shown in the reader's
        return ladder_reason(kind)


def _raise_level(cursor, *, kind: str, now, batch: str) -> None:
    slips_sql, slips_params = ladder_slips_due(kind, now).values("id", "department_id").query.sql_with_params()
    actions_sql, actions_params = (ladder_actions_due(kind, now).values("id", "department_id")
                                   .query.sql_with_params())
    notice, item = Notice._meta.db_table, NoticeItem._meta.db_table
    reply_deadline = now + timedelta(hours=settings.SUPERVISION_REPLY_HOURS[kind])
    adapt = connection.ops.adapt_datetimefield_value
    kind = str(kind)
    # One notice per department that has anything due at this level …
    cursor.execute(
        f"INSERT INTO {notice} (kind, department_id, status, automatic, issued_at, reason, reply_deadline, "
        f"reply, batch) SELECT %s, c.department_id, %s, %s, %s, %s, %s, '', %s FROM ("
        f"SELECT s.department_id FROM ({slips_sql}) s UNION ALL SELECT a.department_id FROM ({actions_sql}) a"
        f") c GROUP BY c.department_id",
        [kind, str(NoticeStatus.ISSUED), True, adapt(now), _ladder_reason(kind), adapt(reply_deadline), batch,
         *slips_params, *actions_params],
    )
    # … and the slips and actions it covers. A row the unique constraint already holds is skipped.
    for fk, sql, params in (("slip_id", slips_sql, slips_params), ("action_id", actions_sql, actions_params)):
        cursor.execute(
            f"INSERT INTO {item} (notice_id, kind, automatic, {fk}) SELECT n.id, %s, %s, c.id FROM ({sql}) c "
            f"JOIN {notice} n ON n.batch = %s AND n.kind = %s AND n.department_id = c.department_id "
            f"WHERE 1 = 1 ON CONFLICT DO NOTHING",
            [kind, True, *params, batch, kind],
        )


def ladder_run(*, now=None) -> dict[str, int]:
    """Raise every notice due now, set-based. Safe to run twice or concurrently: the second run raises
    nothing new. Returns the number of notices raised per level."""
    now = now or timezone.now()
    batch = uuid.uuid4().hex
    notice, item = Notice._meta.db_table, NoticeItem._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Runs overlap when one is slow; the second waits and then finds nothing left to raise.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LADDER_LOCK_KEY])
        for kind in (NoticeKind.WARNING, NoticeKind.SUPERVISION, NoticeKind.RECTIFICATION):
            _raise_level(cursor, kind=kind, now=now, batch=batch)
        # A slip completed between the two statements of a level can leave a notice covering nothing.
        cursor.execute(f"DELETE FROM {notice} WHERE batch = %s AND NOT EXISTS "
                       f"(SELECT 1 FROM {item} i WHERE i.notice_id = {notice}.id)", [batch])
        raised = list(Notice.objects.filter(batch=batch).values_list("pk", "kind", "department_id"))
        AuditLog.objects.bulk_create([
            AuditLog(actor=None, action="notice_status", object_type="notice", object_id=pk,
                     to_state=NoticeStatus.ISSUED, data={"kind": kind, "department": dept, "automatic": True})
            for pk, kind, dept in raised
        ])
        outbox_put_many("supervision.notice_email", [(f"notice-email:{pk}", {"notice": pk}) for pk, _k, _d in raised])
    counts = {k: 0 for k in NoticeKind.values}
    for _pk, kind, _d in raised:
        counts[kind] += 1
    return counts


# --- Notices by hand, reading and replying ---------------------------------------------------------------

def _require_supervisor(actor) -> None:
    if not actor.has_role(Role.SUPERVISOR):
        raise PermissionDenied


def _require_own_department(actor, department_id: int) -> None:
    if actor.is_superuser:
        return
    if actor.role != Role.DEPARTMENT or actor.department_id != department_id:
        raise PermissionDenied


def notice_issue(*, actor, kind: str, department, reason: str, slips=(), actions=()) -> Notice:
    """A supervisor issues a notice by hand for slips and/or joint-meeting actions of one department."""
    _require_supervisor(actor)
    if kind not in NoticeKind.values:
        raise DomainError(_("Choose the type of notice."), code="bad_kind")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the notice is issued."), code="reason_required")
    slips, actions = list(slips), list(actions)
    if not slips and not actions:
        raise DomainError(_("A notice covers at least one slip or action."), code="nothing_covered")
    if any(s.department_id != department.pk for s in slips) or any(a.department_id != department.pk
                                                                    for a in actions):
        raise DomainError(_("Every slip and action must belong to %(d)s.") % {"d": department.name},
                          code="other_department")
    now = timezone.now()
    with transaction.atomic():
        notice = Notice.objects.create(
            kind=kind, department=department, automatic=False, issued_by=actor, issued_at=now, reason=reason,
            reply_deadline=now + timedelta(hours=settings.SUPERVISION_REPLY_HOURS[kind]),
        )
        NoticeItem.objects.bulk_create([NoticeItem(notice=notice, kind=kind, slip=s) for s in slips]
                                       + [NoticeItem(notice=notice, kind=kind, action=a) for a in actions])
        audit_write(actor=actor, action="notice_status", obj=notice, to_state=notice.status, reason=reason,
                    call=slips[0].call if len(slips) == 1 else None,
                    data={"kind": kind, "department": department.code, "slips": [s.pk for s in slips],
                          "actions": [a.pk for a in actions]})
        outbox_put("supervision.notice_email", {"notice": notice.pk}, key=f"notice-email:{notice.pk}")
    return notice


def notice_mark_read(*, actor, notice: Notice) -> bool:
    """The department has opened the notice: clears it from the unread badge. Others reading it change
    nothing."""
    if actor.role != Role.DEPARTMENT or actor.department_id != notice.department_id:
        return False
    with transaction.atomic():
        won = Notice.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=timezone.now())
        if won:
            audit_write(actor=actor, action="notice_read", obj=notice)
    return bool(won)


def _lock_notice(notice_pk: int) -> Notice:
    return Notice.objects.select_for_update().get(pk=notice_pk)


def _move_notice(*, actor, notice: Notice, to_state: str, fields: list[str], reason: str = "") -> None:
    from_state = notice.status
    NOTICE_TRANSITIONS.check(from_state, to_state)
    notice.status = to_state
    notice.save(update_fields=["status", *fields])
    audit_write(actor=actor, action="notice_status", obj=notice, from_state=from_state, to_state=to_state,
                reason=reason)


def notice_reply(*, actor, notice_pk: int, reply: str) -> Notice:
    """The department answers the notice: what it did and by when the work will be done."""
    reply = (reply or "").strip()
    if not reply:
        raise DomainError(_("Write the reply."), code="reply_required")
    with transaction.atomic():
        notice = _lock_notice(notice_pk)
        _require_own_department(actor, notice.department_id)
        now = timezone.now()
        notice.reply, notice.replied_by, notice.replied_at = reply, actor, now
        notice.read_at = notice.read_at or now
        _move_notice(actor=actor, notice=notice, to_state=NoticeStatus.REPLIED, reason=reply,
                     fields=["reply", "replied_by", "replied_at", "read_at"])
    return notice


def notice_review(*, actor, notice_pk: int, accept: bool, comment: str = "") -> Notice:
    """A supervisor accepts the reply (the notice closes) or sends it back for a better one."""
    _require_supervisor(actor)
    with transaction.atomic():
        notice = _lock_notice(notice_pk)
        if accept:
            notice.closed_by, notice.closed_at = actor, timezone.now()
            _move_notice(actor=actor, notice=notice, to_state=NoticeStatus.CLOSED, reason=comment,
                         fields=["closed_by", "closed_at"])
        else:
            if not (comment or "").strip():
                raise DomainError(_("Say what the reply lacks."), code="comment_required")
            notice.reply_deadline = timezone.now() + timedelta(hours=settings.SUPERVISION_REPLY_HOURS[notice.kind])
            notice.read_at = None
            _move_notice(actor=actor, notice=notice, to_state=NoticeStatus.ISSUED, reason=comment,
                         fields=["reply_deadline", "read_at"])
    return notice


# --- Joint meetings ----------------------------------------------------------------------------------------

def meeting_convene(*, actor, slip_pk: int, title: str, meeting_at, time_limit, departments) -> JointMeeting:
    """Escalate a complex slip to a joint meeting of the departments concerned, with a time limit."""
    _require_supervisor(actor)
    departments = list(departments)
    if not departments:
        raise DomainError(_("Invite at least one department."), code="no_departments")
    if time_limit <= meeting_at:
        raise DomainError(_("The time limit must be after the meeting."), code="bad_time_limit")
    now = timezone.now()
    with transaction.atomic():
        slip = HandoffSlip.objects.select_for_update().select_related("call").get(pk=slip_pk)
        if slip.status == SlipStatus.RETURNED:
            raise Conflict(_("A returned slip cannot go to a joint meeting."), code="slip_returned")
        meeting = JointMeeting.objects.create(slip=slip, title=(title or "").strip() or slip.call.content[:60],
                                              convened_by=actor, convened_at=now, meeting_at=meeting_at,
                                              time_limit=time_limit)
        JointMeetingInvitation.objects.bulk_create(
            [JointMeetingInvitation(meeting=meeting, department=d, invited_at=now) for d in departments])
        audit_write(actor=actor, action="meeting_status", obj=meeting, call=slip.call,
                    to_state=meeting.status, data={"slip": slip.pk, "departments": [d.code for d in departments]})
        outbox_put("supervision.meeting_invited", {"meeting": meeting.pk}, key=f"meeting-invited:{meeting.pk}")
    return meeting


def _lock_meeting(meeting_pk: int) -> JointMeeting:
    return JointMeeting.objects.select_for_update().select_related("slip__call").get(pk=meeting_pk)


def meeting_record(*, actor, meeting_pk: int, decisions: str) -> JointMeeting:
    """The meeting was held: record its decisions. Actions are added next, one department each."""
    _require_supervisor(actor)
    decisions = (decisions or "").strip()
    if not decisions:
        raise DomainError(_("Record the meeting's decisions."), code="decisions_required")
    with transaction.atomic():
        meeting = _lock_meeting(meeting_pk)
        from_state = meeting.status
        MEETING_TRANSITIONS.check(from_state, MeetingStatus.HELD)
        meeting.status, meeting.decisions, meeting.held_at = MeetingStatus.HELD, decisions, timezone.now()
        meeting.save(update_fields=["status", "decisions", "held_at"])
        audit_write(actor=actor, action="meeting_status", obj=meeting, call=meeting.slip.call,
                    from_state=from_state, to_state=meeting.status, reason=decisions)
    return meeting


def meeting_action_add(*, actor, meeting_pk: int, department, description: str, deadline) -> JointMeetingAction:
    """One action from the meeting: one responsible department (among those invited), one deadline."""
    _require_supervisor(actor)
    description = (description or "").strip()
    if not description:
        raise DomainError(_("Describe the action."), code="description_required")
    with transaction.atomic():
        meeting = _lock_meeting(meeting_pk)
        if meeting.status != MeetingStatus.HELD:
            raise Conflict(_("Actions are added once the meeting has been held."), code="meeting_not_held")
        if not meeting.invitations.filter(department=department).exists():
            raise DomainError(_("The responsible department must be invited to the meeting."),
                              code="not_invited")
        now = timezone.now()
        if deadline <= now:
            raise DomainError(_("The deadline must be in the future."), code="bad_deadline")
        action = JointMeetingAction.objects.create(meeting=meeting, department=department,
                                                   description=description, created_at=now, deadline=deadline)
        audit_write(actor=actor, action="meeting_action", obj=action, call=meeting.slip.call, to_state="open",
                    data={"meeting": meeting.pk, "department": department.code})
    return action


def meeting_action_done(*, actor, action_pk: int, note: str) -> JointMeetingAction:
    """The responsible department reports the action done. Compare-and-set: done once."""
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Say what was done."), code="note_required")
    action = JointMeetingAction.objects.select_related("meeting__slip__call").get(pk=action_pk)
    _require_own_department(actor, action.department_id)
    with transaction.atomic():
        won = JointMeetingAction.objects.filter(pk=action_pk, done_at__isnull=True).update(
            done_at=timezone.now(), done_by=actor, done_note=note)
        if won != 1:
            raise Conflict(_("This action was already reported done."), code="already_done")
        action.refresh_from_db()
        audit_write(actor=actor, action="meeting_action", obj=action, call=action.meeting.slip.call,
                    from_state="open", to_state="done", reason=note)
    return action


def meeting_close(*, actor, meeting_pk: int) -> JointMeeting:
    """Close a held meeting once every action is done."""
    _require_supervisor(actor)
    with transaction.atomic():
        meeting = _lock_meeting(meeting_pk)
        MEETING_TRANSITIONS.check(meeting.status, MeetingStatus.CLOSED)
        if meeting.actions.filter(done_at__isnull=True).exists():
            raise Conflict(_("Some actions are not done yet."), code="actions_open")
        from_state = meeting.status
        meeting.status, meeting.closed_at = MeetingStatus.CLOSED, timezone.now()
        meeting.save(update_fields=["status", "closed_at"])
        audit_write(actor=actor, action="meeting_status", obj=meeting, call=meeting.slip.call,
                    from_state=from_state, to_state=meeting.status)
    return meeting


# --- Accountability ----------------------------------------------------------------------------------------

def accountability_record(*, actor, kind: str, department, occurred_on, summary: str, person: str = "",
                          notices=()) -> AccountabilityRecord:
    """Record a reminder talk or a department held to account, linked to the notices behind it."""
    _require_supervisor(actor)
    if kind not in AccountabilityRecord.Kind.values:
        raise DomainError(_("Choose the kind of record."), code="bad_kind")
    summary = (summary or "").strip()
    if not summary:
        raise DomainError(_("Write a summary."), code="summary_required")
    notices = list(notices)
    if any(n.department_id != department.pk for n in notices):
        raise DomainError(_("The notices must be %(d)s's.") % {"d": department.name}, code="other_department")
    with transaction.atomic():
        record = AccountabilityRecord.objects.create(kind=kind, department=department, person=(person or "").strip(),
                                                     occurred_on=occurred_on, summary=summary, recorded_by=actor,
                                                     recorded_at=timezone.now())
        record.notices.set(notices)
        audit_write(actor=actor, action="accountability", obj=record, reason=summary,
                    data={"kind": kind, "department": department.code, "notices": [n.pk for n in notices]})
    return record
