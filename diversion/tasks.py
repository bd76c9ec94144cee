"""Background jobs for slips and the routing model (supervision's are in diversion.supervision.tasks), and the
outbox handlers of slips' side effects. Each takes ids, loads, acts, and is safe to run twice."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import outbox

from .models import Department, HandoffSlip, SlipStatus


@outbox.handler("diversion.slip_issued")
def slip_notify_issued(payload: dict, key: str) -> bool:
    """E-mail the department that a slip is waiting for it. notified_at is set only after the mail went
    out, so a failed send is retried (the repeat carries the same Message-ID)."""
    slip = HandoffSlip.objects.select_related("department", "category").get(pk=payload["slip"])
    if slip.notified_at is not None:
        return False
    if slip.department.email:
        outbox.mail_send(
            key=key,
            subject=_("New handoff slip %(serial)s: %(category)s") % {"serial": slip.serial,
                                                                     "category": slip.category.name_zh},
            body=_("A call has been diverted to your department. Deadline: %(deadline)s.") % {
                "deadline": timezone.localtime(slip.deadline).strftime("%Y-%m-%d %H:%M")},
            to=[slip.department.email],
        )
    return bool(HandoffSlip.objects.filter(pk=slip.pk, notified_at__isnull=True).update(notified_at=timezone.now()))


@outbox.handler("diversion.slip_reopened")
def slip_notify_reopened(payload: dict, key: str) -> None:
    slip = HandoffSlip.objects.select_related("department").get(pk=payload["slip"])
    if slip.department.email:
        outbox.mail_send(key=key, subject=_("Slip %(serial)s reopened after callback") % {"serial": slip.serial},
                         body=_("The caller was not satisfied. Please act again."), to=[slip.department.email])


@shared_task
def slips_remind_unaccepted() -> int:
    """Periodic: one reminder per slip still not accepted SLIP_ACCEPT_REMINDER_MINUTES after issue,
    one e-mail per department, queued in the outbox in the transaction that marks the slips reminded.
    Set-based, and a second run finds nothing new."""
    cutoff = timezone.now() - timedelta(minutes=settings.SLIP_ACCEPT_REMINDER_MINUTES)
    with transaction.atomic():
        # Rows locked by a concurrent run are skipped, so each slip is counted in exactly one reminder.
        due = list(HandoffSlip.objects.select_for_update(skip_locked=True)
                   .filter(status=SlipStatus.ISSUED, reminded_at__isnull=True, issued_at__lt=cutoff)
                   .values_list("pk", "department"))
        HandoffSlip.objects.filter(pk__in=[pk for pk, _d in due]).update(reminded_at=timezone.now())
        per_department: dict[int, list[int]] = {}
        for pk, department in due:
            per_department.setdefault(department, []).append(pk)
        outbox.outbox_put_many("diversion.slips_reminder", [
            (f"slips-reminder:{department}:{min(pks)}:{len(pks)}", {"department": department, "slips": pks})
            for department, pks in per_department.items()])
    return len(due)


@outbox.handler("diversion.slips_reminder")
def slips_reminder_send(payload: dict, key: str) -> int:
    """E-mail a department how many of its slips wait for acceptance."""
    department = Department.objects.get(pk=payload["department"])
    n = len(payload["slips"])
    if department.email:
        outbox.mail_send(key=key, subject=ngettext("%(n)s handoff slip waiting for acceptance",
                                                   "%(n)s handoff slips waiting for acceptance", n) % {"n": n},
                         body=_("Please accept or return them in Fenliu."), to=[department.email])
    return n


@shared_task
def routing_model_train(activate: bool = True) -> dict[str, int | None]:
    """Routing engine (issues 7 and 30): train the department model and the keep-or-divert model from the
    confirmed calls and store each as the next version (the older ones stay, for a rollback). Running it
    twice stores two versions of each from the same data (harmless; the newest is active). Returns each
    model's version, None for one without enough confirmed calls yet (its active model stays)."""
    from core.errors import DomainError

    from .routing.learning import keep_model_train
    from .routing.learning import routing_model_train as train

    versions: dict[str, int | None] = {}
    for name, trainer in (("department", train), ("keep", keep_model_train)):
        try:
            versions[name] = trainer(actor=None, activate=activate).version
        except DomainError:
            versions[name] = None
    return versions
