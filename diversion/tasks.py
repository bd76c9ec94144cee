"""Background jobs for slips. Each takes ids, loads, acts, and is safe to run twice."""

from collections import Counter
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Department, HandoffSlip, SlipStatus


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def slip_notify_issued(slip_pk: int) -> bool:
    """E-mail the department that a slip is waiting for it. notified_at is set only after the mail went
    out, so a failed send is retried (a rare duplicate beats a lost notice)."""
    slip = HandoffSlip.objects.select_related("department", "category").get(pk=slip_pk)
    if slip.notified_at is not None:
        return False
    if slip.department.email:
        send_mail(
            subject=_("New handoff slip %(serial)s: %(category)s") % {"serial": slip.serial,
                                                                     "category": slip.category.name_zh},
            message=_("A call has been diverted to your department. Deadline: %(deadline)s.") % {
                "deadline": timezone.localtime(slip.deadline).strftime("%Y-%m-%d %H:%M")},
            from_email=None, recipient_list=[slip.department.email], fail_silently=False,
        )
    return bool(HandoffSlip.objects.filter(pk=slip_pk, notified_at__isnull=True).update(notified_at=timezone.now()))


@shared_task
def slip_notify_reopened(slip_pk: int) -> None:
    slip = HandoffSlip.objects.select_related("department").get(pk=slip_pk)
    if slip.department.email:
        send_mail(_("Slip %(serial)s reopened after callback") % {"serial": slip.serial},
                  _("The caller was not satisfied. Please act again."), None, [slip.department.email])


@shared_task
def slips_remind_unaccepted() -> int:
    """Periodic: one reminder per slip still not accepted SLIP_ACCEPT_REMINDER_MINUTES after issue,
    one e-mail per department. Set-based, and a second run finds nothing new."""
    cutoff = timezone.now() - timedelta(minutes=settings.SLIP_ACCEPT_REMINDER_MINUTES)
    with transaction.atomic():
        # Rows locked by a concurrent run are skipped, so each slip is counted in exactly one reminder.
        due = list(HandoffSlip.objects.select_for_update(skip_locked=True)
                   .filter(status=SlipStatus.ISSUED, reminded_at__isnull=True, issued_at__lt=cutoff)
                   .values_list("pk", "department"))
        HandoffSlip.objects.filter(pk__in=[pk for pk, _d in due]).update(reminded_at=timezone.now())
    per_department = Counter(dept for _pk, dept in due)
    for department in Department.objects.filter(pk__in=per_department, email__gt=""):
        n = per_department[department.pk]
        send_mail(ngettext("%(n)s handoff slip waiting for acceptance", "%(n)s handoff slips waiting for acceptance",
                           n) % {"n": n},
                  _("Please accept or return them in Fenliu."), None, [department.email])
    return len(due)


# --- Supervision (issue 3) -------------------------------------------------------------------------------

@shared_task
def supervision_ladder_run() -> dict:
    """Periodic: raise the warning / supervision / rectification notices due now (set-based, idempotent)."""
    from .supervision import ladder_run

    return ladder_run()


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def notices_send_email(notice_pks: list[int]) -> int:
    """E-mail each department its new notices. emailed_at is set per notice after its mail went out, so a
    retry sends only what is still unsent."""
    from .models import Notice

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
    from .models import JointMeeting

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


@shared_task
def routing_model_train(activate: bool = True) -> int | None:
    """Routing engine (issue 7): train a model from the confirmed calls and store it as the next version.
    Running it twice stores two versions from the same data (harmless; the newest is active). Returns the
    version, or None when there are not yet enough confirmed calls."""
    from core.errors import DomainError

    from .learning import routing_model_train as train

    try:
        return train(actor=None, activate=activate).version
    except DomainError:
        return None
