from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from core.models import OutboxMessage
from core.outbox import _wake, relay_run
from diversion.models import HandoffSlip
from diversion.services import callback_record, slip_accept, slip_complete
from diversion.tasks import slip_notify_issued, slip_notify_reopened, slips_remind_unaccepted
from tests.factories import department

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailboxes(dept_a, dept_b):
    dept_a.email = "stj@example.gov.cn"
    dept_a.save()
    dept_b.email = "cgj@example.gov.cn"
    dept_b.save()


@pytest.fixture
def remind(django_capture_on_commit_callbacks):
    """Run the reminder sweep as in production: its e-mails leave through the outbox after its commit. The
    slips' own notices, still waiting in the test's transaction, are delivered (and forgotten) first."""
    def run():
        relay_run()
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            return slips_remind_unaccepted()
    return run


def _issued_ago(slip, minutes):
    HandoffSlip.objects.filter(pk=slip.pk).update(issued_at=timezone.now() - timedelta(minutes=minutes))


# --- Reminders for slips nobody accepted -----------------------------------------------------------------

def test_it_reminds_each_department_once_about_slips_waiting_too_long(make_slip, staff_a, dept_b, mailboxes,
                                                                      settings, remind):
    settings.SLIP_ACCEPT_REMINDER_MINUTES = 30
    a1, a2 = make_slip(), make_slip()
    b1 = make_slip("B05", department=dept_b)
    no_mail = make_slip("A01", department=department("SFJ"))  # 司法局 has no e-mail address
    fresh = make_slip()
    accepted = make_slip()
    slip_accept(actor=staff_a, slip_pk=accepted.pk)
    for slip in (a1, a2, b1, no_mail, accepted):
        _issued_ago(slip, 45)
    _issued_ago(fresh, 10)

    reminded = remind()

    assert reminded == 4
    assert sorted(m.to[0] for m in mail.outbox) == ["cgj@example.gov.cn", "stj@example.gov.cn"]
    to_a = next(m for m in mail.outbox if m.to == ["stj@example.gov.cn"])
    assert "2" in to_a.subject
    for slip in (a1, a2, b1, no_mail):
        slip.refresh_from_db()
        assert slip.reminded_at is not None
    for slip in (fresh, accepted):
        slip.refresh_from_db()
        assert slip.reminded_at is None


def test_a_second_sweep_sends_nothing(make_slip, mailboxes, remind):
    slip = make_slip()
    _issued_ago(slip, 120)
    assert remind() == 1
    assert len(mail.outbox) == 1
    reminded_at = HandoffSlip.objects.get(pk=slip.pk).reminded_at

    assert remind() == 0

    assert mail.outbox == []
    assert HandoffSlip.objects.get(pk=slip.pk).reminded_at == reminded_at


def test_a_slip_that_becomes_due_later_is_reminded_on_a_later_sweep(make_slip, mailboxes, remind):
    early, late = make_slip(), make_slip()
    _issued_ago(early, 60)
    remind()

    _issued_ago(late, 60)
    assert remind() == 1

    assert len(mail.outbox) == 1
    assert "1" in mail.outbox[0].subject


def test_nothing_due_sends_nothing(make_slip, mailboxes, remind):
    make_slip()

    assert remind() == 0
    assert mail.outbox == []


def test_the_sweep_runs_as_a_celery_task(make_slip, mailboxes, django_capture_on_commit_callbacks):
    _issued_ago(make_slip(), 60)
    relay_run()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert slips_remind_unaccepted.apply().get() == 1  # as a worker runs it
    assert len(mail.outbox) == 1


def test_the_sweep_is_in_the_beat_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "diversion.tasks.slips_remind_unaccepted" in tasks


# --- Notice of a new slip --------------------------------------------------------------------------------

def test_the_department_is_notified_when_the_slip_is_committed(make_slip, mailboxes,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        slip = make_slip()

    # The relay is woken after the intake (mediation links) and the slip notice (besides the live channel's).
    assert callbacks.count(_wake) == 2
    assert dict(OutboxMessage.objects.values_list("kind", "status")) == {
        "mediation.calls_link": "delivered", "diversion.slip_issued": "delivered"}
    slip.refresh_from_db()
    assert slip.notified_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["stj@example.gov.cn"]
    assert slip.serial in mail.outbox[0].subject


def test_nothing_is_sent_before_the_transaction_commits(make_slip, mailboxes):
    slip = make_slip()  # the test's transaction never commits, so on_commit never fires

    slip.refresh_from_db()
    assert slip.notified_at is None
    assert mail.outbox == []


def test_the_notice_is_sent_once_however_often_the_task_runs(make_slip, mailboxes,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        slip = make_slip()
    notified_at = HandoffSlip.objects.get(pk=slip.pk).notified_at

    assert slip_notify_issued({"slip": slip.pk}, f"slip-issued:{slip.pk}") is False
    assert slip_notify_issued({"slip": slip.pk}, f"slip-issued:{slip.pk}") is False

    assert len(mail.outbox) == 1
    assert HandoffSlip.objects.get(pk=slip.pk).notified_at == notified_at


def test_a_department_without_e_mail_is_marked_notified_without_mail(make_slip):
    slip = make_slip()

    assert slip_notify_issued({"slip": slip.pk}, "k") is True

    assert HandoffSlip.objects.get(pk=slip.pk).notified_at is not None
    assert mail.outbox == []


def test_the_department_is_told_when_a_callback_reopens_its_slip(make_slip, dispatcher, staff_a, mailboxes,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        slip = make_slip()
    slip_accept(actor=staff_a, slip_pk=slip.pk)
    slip_complete(actor=staff_a, slip_pk=slip.pk, result="已处理")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        callback_record(actor=dispatcher, slip_pk=slip.pk, channel="phone", reached=True, resolved="no",
                        satisfaction=1)

    assert callbacks.count(_wake) == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["stj@example.gov.cn"]
    assert slip.serial in mail.outbox[0].subject and "重新" in mail.outbox[0].subject


def test_a_satisfied_callback_sends_no_reopen_notice(make_slip, dispatcher, staff_a, mailboxes,
                                                     django_capture_on_commit_callbacks):
    slip = make_slip()
    slip_accept(actor=staff_a, slip_pk=slip.pk)
    slip_complete(actor=staff_a, slip_pk=slip.pk, result="已处理")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        callback_record(actor=dispatcher, slip_pk=slip.pk, channel="phone", reached=True, resolved="yes",
                        satisfaction=5)

    assert _wake not in callbacks  # nothing for the outbox (the live channel still tells the screens)
    assert mail.outbox == []


def test_the_reopen_notice_skips_a_department_without_e_mail(make_slip):
    slip = make_slip()
    slip_notify_reopened({"slip": slip.pk}, "k")
    assert mail.outbox == []
