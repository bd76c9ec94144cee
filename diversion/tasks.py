"""Background jobs for slips and the routing model (supervision's are in diversion.supervision.tasks), and the
outbox handlers of slips' side effects. Each takes ids, loads, acts, and is safe to run twice."""

from datetime import date, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.urls import reverse
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


@outbox.handler("docking.slip_send", atomic=False)
def slip_send_to_platform(payload: dict, key: str) -> None:
    """Issue 40: POST the slip to its 12345 platform, signed (core.outbox.post_signed). Each attempt and its
    error are kept on the slip's docking row for its page; the outbox retries, bounded, then makes a dead
    letter (the docking then reads "failed")."""
    from core.signing import body_bytes

    from .docking.payloads import slip_payload
    from .models import SlipDocking

    docking = SlipDocking.objects.select_related(
        "platform", "slip__call__micro_grid", "slip__category__time_limit_class", "slip__department",
        "slip__issued_by").get(pk=payload["docking"])
    if docking.sent_at is not None:
        return
    outbox.post_signed(SlipDocking.objects.filter(pk=docking.pk), url=docking.platform.url,
                       secret=docking.platform.secret, body=body_bytes(slip_payload(docking.slip, key)), key=key,
                       event="slip.issued", done_field="sent_at")


@outbox.handler("diversion.review_overdue")
def review_overdue_send(payload: dict, key: str) -> int:
    """E-mail the people who decide a review layer (its role's or its group's, with an address) that a call
    has waited in it past the time limit (issue 40)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    from .models import ReviewStep

    step = ReviewStep.objects.select_related("layer", "review__call").get(pk=payload["step"])
    if step.outcome:  # decided meanwhile: nothing to warn of
        return 0
    layer = step.layer
    members = Q(role=layer.role) if layer.role else Q(pk__in=[])
    if layer.group_id:
        members |= Q(groups=layer.group_id)
    emails = sorted(set(get_user_model().objects.filter(members, is_active=True, email__gt="")
                        .values_list("email", flat=True)))
    if emails:
        outbox.mail_send(
            key=key,
            subject=_("Call %(id)s is overdue in review layer %(n)s (%(layer)s)") % {
                "id": step.review.call.call_id, "n": step.position, "layer": layer.name_zh},
            body=_("It has waited since %(since)s; the layer's time limit is %(limit)s minutes. Please approve or "
                   "send it back in Fenliu.") % {
                "since": timezone.localtime(step.opened_at).strftime("%H:%M"), "limit": layer.time_limit_minutes},
            to=emails)
    return len(emails)


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
def reviews_warn_overdue() -> int:
    """Periodic: warn of the review layers past their time limit (issue 40; set-based, idempotent)."""
    from .services import reviews_warn_overdue as warn

    return warn()


@shared_task
def routing_model_train(activate: bool = True, actor_id: int | None = None) -> dict[str, int | None]:
    """Routing engine (issues 7 and 30): train the department model and the keep-or-divert model from the
    confirmed calls and store each as the next version (the older ones stay, for a rollback). Running it
    twice stores two versions of each from the same data (harmless; the newest is active). Returns each
    model's version, None for one without enough confirmed calls yet (its active model stays). `actor_id`:
    the person who asked for it on the quality page (issue 35), named as the trainer; None for the beat."""
    from core.errors import DomainError
    from core.models import User

    from .routing.learning import keep_model_train
    from .routing.learning import routing_model_train as train

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    versions: dict[str, int | None] = {}
    for name, trainer in (("department", train), ("keep", keep_model_train)):
        try:
            versions[name] = trainer(actor=actor, activate=activate).version
        except DomainError:
            versions[name] = None
    return versions


@outbox.handler("routing.retrain", atomic=False)
def routing_retrain_queue(payload: dict, key: str) -> None:
    """A training asked for on the quality page: handed to a worker, so the relay never trains itself."""
    outbox.task_publish(routing_model_train, key=key, actor_id=payload.get("actor"))


# --- Routing quality (issue 35): the weekly digest to supervisors -----------------------------------------

@shared_task
def routing_digest_queue_due() -> str:
    """Periodic (Monday morning): queue the digest of the week that ended yesterday. Once per week: a second
    run queues nothing (the outbox key)."""
    from .routing.quality import digest_queue, week_of

    monday = week_of(timezone.localdate() - timedelta(days=7))
    digest_queue(monday)
    return monday.isoformat()


def digest_text(data: dict) -> tuple[str, str]:
    """The digest's subject and body (plain text) from quality.digest's values: figures, and per miss its
    time, call id, the sub-category it was suggested for, the words that matched and a link; never the text."""
    week, previous, trend = data["week"], data["previous"], data["override_trend"]
    monday = date.fromisoformat(week["monday"])

    def pct(value):
        return "—" if value is None else f"{value * 100:.1f}%"

    misses = data["misses"]
    subject = ngettext("Routing quality, week of %(monday)s: %(n)s miss that matters",
                       "Routing quality, week of %(monday)s: %(n)s misses that matter", len(misses)) % {
        "monday": monday.isoformat(), "n": len(misses)}
    lines = [
        _("Week %(start)s – %(end)s: %(decided)s calls decided by dispatchers.") % {
            "start": monday.isoformat(), "end": (monday + timedelta(days=6)).isoformat(), "decided": week["decided"]},
        _("Suggested decision kept: %(rate)s; overridden: %(override)s (the week before: %(before)s).") % {
            "rate": pct(week["decision_rate"]), "override": pct(week["override_rate"]),
            "before": pct(previous["override_rate"])},
    ]
    if trend is not None:
        lines.append(_("Override rate trend: %(trend)+.1f points against the week before.") % {"trend": trend * 100})
    lines.append(_("Sub-category kept: %(rate)s. Left undecided: %(undecided)s.") % {
        "rate": pct(week["category_rate"]), "undecided": pct(week["undecided_share"])})
    lines.append("")
    if misses:
        lines.append(_("Calls the suggestion would have diverted that a dispatcher kept with the police:"))
        # The call's text stays in Fenliu (it may name people and places); the e-mail links to it.
        for row in misses:
            words = "、".join(row["words"]) or "—"
            lines.append(f"- {row['received_at']} {row['call_id']} → {row['suggested_category'] or '—'}")
            lines.append("  " + _("matched words: %(words)s; link: %(link)s") % {
                "words": words, "link": settings.SITE_URL + reverse("call-page", args=[row["pk"]])})
    else:
        lines.append(_("No call the suggestion would have diverted was kept with the police this week."))
    lines.append("")
    lines.append(_("The quality page: %(link)s") % {
        "link": f"{settings.SITE_URL}{reverse('routing-quality')}?week={monday.isoformat()}"})
    return subject, "\n".join(lines)


@outbox.handler("routing.weekly_digest")
def routing_digest_send(payload: dict, key: str) -> int:
    """E-mail the week's digest to every active supervisor with an address. Returns how many got it."""
    from core.models import Role, User

    from .routing.quality import digest

    to = list(User.objects.filter(role=Role.SUPERVISOR, is_active=True, email__gt="")
              .order_by("pk").values_list("email", flat=True))
    if to:
        subject, body = digest_text(digest(date.fromisoformat(payload["monday"])))
        outbox.mail_send(key=key, subject=subject, body=body, to=to)
    return len(to)
