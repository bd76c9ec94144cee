"""The warning → supervision → rectification ladder under a frozen clock: each level is raised once, a
second run of the job raises nothing new, and the unique constraint backs that up."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction

from core.models import AuditLog
from diversion.models import Notice, NoticeItem, NoticeKind, SlipStatus
from diversion.services import callback_record, slip_accept, slip_complete
from diversion.supervision.services import ladder_run, meeting_action_add, meeting_convene, meeting_record, notice_issue
from diversion.supervision.tasks import supervision_ladder_run

pytestmark = pytest.mark.django_db
run_ladder = ladder_run

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
NOTHING = {"warning": 0, "supervision": 0, "rectification": 0}


def _at(hours):
    return time_machine.travel(T0 + timedelta(hours=hours), tick=False)


def _levels(slip):
    return sorted(NoticeItem.objects.filter(slip=slip, automatic=True).values_list("kind", flat=True))


def test_one_slip_walks_up_the_ladder_and_a_second_run_raises_nothing_new(make_slip, dept_a, settings,
                                                                         django_capture_on_commit_callbacks):
    def ladder_run():
        with django_capture_on_commit_callbacks(execute=True):
            return run_ladder()

    settings.SUPERVISION_WARN_PERCENT = 80
    settings.SUPERVISION_RECTIFY_GRACE_HOURS = 24
    dept_a.email = "stj@example.gov.cn"
    dept_a.save()
    with _at(0), django_capture_on_commit_callbacks(execute=True):
        slip = make_slip()  # C01 noise: complaint class, 168 hours (its own e-mail is delivered here)
    assert slip.deadline == T0 + timedelta(hours=168)
    mail.outbox.clear()

    with _at(100):  # 60 % used
        assert ladder_run() == NOTHING

    with _at(135):  # 80.4 % used
        assert ladder_run() == {**NOTHING, "warning": 1}
        assert ladder_run() == NOTHING
        assert supervision_ladder_run.delay().get() == NOTHING
    assert _levels(slip) == ["warning"]
    warning = Notice.objects.get(kind=NoticeKind.WARNING)
    assert warning.department == dept_a and warning.automatic and warning.issued_by is None
    assert warning.issued_at == T0 + timedelta(hours=135)
    assert warning.reply_deadline == warning.issued_at + timedelta(hours=24)
    assert warning.serial == f"YJ-2025-{warning.pk:06d}"
    assert [m.to for m in mail.outbox] == [["stj@example.gov.cn"]]
    assert warning.serial in mail.outbox[0].subject

    with _at(168):  # exactly due: overdue now
        assert ladder_run() == {**NOTHING, "supervision": 1}
        assert ladder_run() == NOTHING
    assert _levels(slip) == ["supervision", "warning"]

    with _at(168 + 24):  # overdue by the grace period, not beyond it
        assert ladder_run() == NOTHING
    with _at(168 + 25):
        assert ladder_run() == {**NOTHING, "rectification": 1}
        assert ladder_run() == NOTHING
    with _at(400):
        assert ladder_run() == NOTHING
    assert _levels(slip) == ["rectification", "supervision", "warning"]
    assert Notice.objects.count() == 3
    assert AuditLog.objects.filter(action="notice_status", object_type="notice").count() == 3
    assert len(mail.outbox) == 3


def test_the_database_refuses_the_same_automatic_level_twice_for_a_slip(make_slip):
    slip = make_slip()
    ladder_run(now=slip.deadline + timedelta(minutes=1))
    notice = Notice.objects.get(kind=NoticeKind.SUPERVISION)
    with pytest.raises(IntegrityError), transaction.atomic():
        NoticeItem.objects.create(notice=notice, kind=NoticeKind.SUPERVISION, automatic=True, slip=slip)


def test_one_notice_per_department_covers_all_its_slips_due(make_slip, dept_a, dept_b):
    a1, a2, b1 = make_slip(), make_slip(), make_slip("B05", department=dept_b)
    make_slip()  # not due yet
    late = max(a1.deadline, a2.deadline, b1.deadline) + timedelta(minutes=1)
    for s in (a1, a2, b1):
        type(s).objects.filter(pk=s.pk).update(deadline=s.issued_at + timedelta(hours=1))

    assert ladder_run(now=a1.issued_at + timedelta(hours=2)) == {**NOTHING, "supervision": 2}

    by_dept = {n.department_id: sorted(n.items.values_list("slip_id", flat=True)) for n in Notice.objects.all()}
    assert by_dept == {dept_a.pk: sorted([a1.pk, a2.pk]), dept_b.pk: [b1.pk]}
    assert late  # the untouched slips kept their real deadlines


def test_completed_and_returned_slips_are_left_alone(make_slip, staff_a):
    done = make_slip()
    slip_accept(actor=staff_a, slip_pk=done.pk)
    slip_complete(actor=staff_a, slip_pk=done.pk, result="已处理")
    assert ladder_run(now=done.deadline + timedelta(days=3)) == NOTHING


def test_two_unsatisfied_callbacks_raise_a_rectification_notice(make_slip, staff_a, supervisor):
    slip = make_slip()
    for _round in range(2):
        slip_accept(actor=staff_a, slip_pk=slip.pk)
        slip_complete(actor=staff_a, slip_pk=slip.pk, result="已处理")
        callback_record(actor=supervisor, slip_pk=slip.pk, channel="phone", reached=True, resolved="no",
                        satisfaction=1)
    slip.refresh_from_db()
    assert slip.status == SlipStatus.REOPENED and slip.reopen_count == 2

    assert ladder_run(now=slip.issued_at + timedelta(hours=1)) == {**NOTHING, "rectification": 1}
    assert ladder_run(now=slip.issued_at + timedelta(hours=2)) == NOTHING


def test_a_notice_issued_by_hand_does_not_stop_the_automatic_one(make_slip, supervisor, dept_a):
    slip = make_slip()
    by_hand = notice_issue(actor=supervisor, kind=NoticeKind.SUPERVISION, department=dept_a, slips=[slip],
                           reason="群众反映强烈，请加快办理")
    assert by_hand.issued_by == supervisor and not by_hand.automatic

    assert ladder_run(now=slip.deadline + timedelta(minutes=1))["supervision"] == 1
    assert NoticeItem.objects.filter(slip=slip, kind=NoticeKind.SUPERVISION).count() == 2


def test_overdue_joint_meeting_actions_feed_the_same_ladder(make_slip, supervisor, dept_a, dept_b):
    slip = make_slip()
    with _at(0):
        meeting = meeting_convene(actor=supervisor, slip_pk=slip.pk, title="KTV噪音反复投诉",
                                  meeting_at=T0 + timedelta(days=1), time_limit=T0 + timedelta(days=10),
                                  departments=[dept_a, dept_b])
    with _at(24):
        meeting_record(actor=supervisor, meeting_pk=meeting.pk, decisions="城管与环保联合执法")
        action = meeting_action_add(actor=supervisor, meeting_pk=meeting.pk, department=dept_b,
                                    description="城管局负责查处占道经营", deadline=T0 + timedelta(hours=24 + 48))
    with _at(24 + 40):  # 83 % of the action's 48 hours
        ladder_run()
    with _at(24 + 49):
        ladder_run()
    with _at(24 + 48 + 25):
        ladder_run()
        assert ladder_run() == NOTHING

    kinds = sorted(NoticeItem.objects.filter(action=action, automatic=True).values_list("kind", flat=True))
    assert kinds == ["rectification", "supervision", "warning"]
    assert set(Notice.objects.filter(items__action=action).values_list("department", flat=True)) == {dept_b.pk}
