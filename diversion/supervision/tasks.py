"""Background jobs of supervision: the notice ladder, notice and meeting e-mails, the periodic reports. Each
takes ids or plain values, loads, acts, and is safe to run twice."""

from celery import shared_task
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import JointMeeting, Notice


@shared_task
def supervision_ladder_run() -> dict:
    """Periodic: raise the warning / supervision / rectification notices due now (set-based, idempotent)."""
    from .services import ladder_run

    return ladder_run()


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def notices_send_email(notice_pks: list[int]) -> int:
    """E-mail each department its new notices. emailed_at is set per notice after its mail went out, so a
    retry sends only what is still unsent."""
    sent = 0
    notices = (Notice.objects.filter(pk__in=notice_pks, emailed_at__isnull=True, department__email__gt="")
               .select_related("department"))
    for notice in notices:
        send_mail(
            subject=_("%(kind)s %(serial)s") % {"kind": notice.get_kind_display(), "serial": notice.serial},
            message=_("%(reason)s\nPlease reply in Fenliu by %(deadline)s.") % {
                "reason": notice.reason,
                "deadline": timezone.localtime(notice.reply_deadline).strftime("%Y-%m-%d %H:%M")},
            from_email=None, recipient_list=[notice.department.email], fail_silently=False,
        )
        sent += Notice.objects.filter(pk=notice.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())
    return sent


@shared_task
def meeting_notify_invited(meeting_pk: int) -> int:
    meeting = JointMeeting.objects.get(pk=meeting_pk)
    emails = list(meeting.departments.filter(email__gt="").values_list("email", flat=True))
    if emails:
        send_mail(_("Joint meeting: %(t)s") % {"t": meeting.title},
                  _("Your department is invited to a joint meeting on %(at)s.") % {
                      "at": timezone.localtime(meeting.meeting_at).strftime("%Y-%m-%d %H:%M")},
                  None, emails)
    return len(emails)


@shared_task
def report_generate_due(kind: str) -> int:
    """Periodic: store the report of this kind for the period just ended. A re-run replaces it."""
    from .reports import report_generate_due as generate

    return generate(kind).pk
