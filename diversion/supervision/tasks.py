"""Background jobs of supervision: the notice ladder, the periodic reports, and the outbox handlers of notice
and meeting e-mails. Each takes ids or plain values, loads, acts, and is safe to run twice."""

from celery import shared_task
from django.utils import timezone
from django.utils.translation import gettext as _

from core import outbox

from ..models import JointMeeting, Notice


@shared_task
def supervision_ladder_run() -> dict:
    """Periodic: raise the warning / supervision / rectification notices due now (set-based, idempotent)."""
    from .services import ladder_run

    return ladder_run()


@outbox.handler("supervision.notice_email")
def notice_send_email(payload: dict, key: str) -> int:
    """E-mail the department its new notice. emailed_at is set after the mail went out, so a repeated
    delivery sends nothing (and a crash in between repeats the same Message-ID)."""
    notice = Notice.objects.select_related("department").get(pk=payload["notice"])
    if notice.emailed_at is not None or not notice.department.email:
        return 0
    outbox.mail_send(
        key=key,
        subject=_("%(kind)s %(serial)s") % {"kind": notice.get_kind_display(), "serial": notice.serial},
        body=_("%(reason)s\nPlease reply in Fenliu by %(deadline)s.") % {
            "reason": notice.reason,
            "deadline": timezone.localtime(notice.reply_deadline).strftime("%Y-%m-%d %H:%M")},
        to=[notice.department.email],
    )
    return Notice.objects.filter(pk=notice.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())


@outbox.handler("supervision.meeting_invited")
def meeting_notify_invited(payload: dict, key: str) -> int:
    meeting = JointMeeting.objects.get(pk=payload["meeting"])
    emails = list(meeting.departments.filter(email__gt="").values_list("email", flat=True))
    if emails:
        outbox.mail_send(key=key, subject=_("Joint meeting: %(t)s") % {"t": meeting.title},
                         body=_("Your department is invited to a joint meeting on %(at)s.") % {
                             "at": timezone.localtime(meeting.meeting_at).strftime("%Y-%m-%d %H:%M")},
                         to=emails)
    return len(emails)


@shared_task
def report_generate_due(kind: str) -> int:
    """Periodic: store the report of this kind for the period just ended. A re-run replaces it."""
    from .reports import report_generate_due as generate

    return generate(kind).pk
