"""Notices and joint meetings in the browser views: a department reads and replies to its own notices, and
gets 404 for another department's, whatever id it types."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from diversion.models import Notice, NoticeKind, NoticeStatus
from diversion.supervision.services import (
    ladder_run,
    meeting_action_add,
    meeting_convene,
    meeting_record,
    notice_issue,
    notice_reply,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def notice_a(make_slip, supervisor, dept_a):
    slip = make_slip()
    return notice_issue(actor=supervisor, kind=NoticeKind.WARNING, department=dept_a, slips=[slip],
                        reason="临近办理时限")


def test_a_department_cannot_read_or_reply_to_another_departments_notice(client, notice_a, staff_b):
    client.force_login(staff_b)

    assert client.get(f"/notices/{notice_a.pk}/").status_code == 404
    assert client.get(f"/notices/{notice_a.pk}/print/").status_code == 404
    assert client.post(f"/notices/{notice_a.pk}/reply/", {"reply": "已处理"}).status_code == 404
    assert notice_a.serial not in client.get("/notices/").content.decode()
    notice_a.refresh_from_db()
    assert notice_a.status == NoticeStatus.ISSUED and notice_a.read_at is None and notice_a.reply == ""


def test_the_reply_service_refuses_another_department_too(notice_a, staff_b):
    with pytest.raises(PermissionDenied):
        notice_reply(actor=staff_b, notice_pk=notice_a.pk, reply="不是我们的")


def test_the_department_sees_an_unread_badge_reads_and_replies(client, notice_a, staff_a):
    client.force_login(staff_a)
    inbox = client.get("/department/").content.decode()
    assert 'id="unread-badge"' in inbox and 'id="notices-banner"' in inbox

    page = client.get(f"/notices/{notice_a.pk}/")
    assert page.status_code == 200 and notice_a.serial in page.content.decode()
    notice_a.refresh_from_db()
    assert notice_a.read_at is not None
    assert 'id="unread-badge"' not in client.get("/department/").content.decode()

    response = client.post(f"/notices/{notice_a.pk}/reply/", {"reply": "已安排执法人员今晚到场"})
    assert response.status_code == 302
    notice_a.refresh_from_db()
    assert notice_a.status == NoticeStatus.REPLIED and notice_a.replied_by == staff_a


def test_the_supervisor_closes_the_notice_or_sends_it_back(client, notice_a, staff_a, supervisor):
    notice_reply(actor=staff_a, notice_pk=notice_a.pk, reply="已处理")
    client.force_login(supervisor)
    assert client.post(f"/notices/{notice_a.pk}/review/", {"accept": "0", "comment": ""}).status_code == 400
    client.post(f"/notices/{notice_a.pk}/review/", {"accept": "0", "comment": "请说明具体措施"})
    notice_a.refresh_from_db()
    assert notice_a.status == NoticeStatus.ISSUED
    notice_reply(actor=staff_a, notice_pk=notice_a.pk, reply="已约谈KTV经营者并处罚款")
    client.post(f"/notices/{notice_a.pk}/review/", {"accept": "1", "comment": ""})
    notice_a.refresh_from_db()
    assert notice_a.status == NoticeStatus.CLOSED and notice_a.closed_by == supervisor


def test_department_staff_cannot_issue_or_review_notices(client, notice_a, staff_a, outsider):
    client.force_login(staff_a)
    assert client.get("/notices/new/").status_code == 403
    assert client.post(f"/notices/{notice_a.pk}/review/", {"accept": "1"}).status_code == 403
    client.force_login(outsider)
    assert client.get("/notices/").status_code == 403


def test_a_supervisor_issues_a_notice_by_hand_from_slip_numbers(client, make_slip, supervisor, dept_a):
    slip = make_slip()
    client.force_login(supervisor)
    response = client.post("/notices/new/", {"kind": "rectification", "department": dept_a.pk,
                                             "slips": slip.serial, "reason": "多次回访不满意"})
    notice = Notice.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/notices/{notice.pk}/"
    assert notice.kind == "rectification" and notice.issued_by == supervisor
    assert list(notice.items.values_list("slip", flat=True)) == [slip.pk]


def test_joint_meetings_are_404_to_departments_not_invited(client, make_slip, supervisor, dept_a, dept_b,
                                                          staff_a, staff_b):
    slip = make_slip()
    now = timezone.now()
    meeting = meeting_convene(actor=supervisor, slip_pk=slip.pk, title="联合整治", meeting_at=now,
                              time_limit=now + timedelta(days=5), departments=[dept_a])
    meeting_record(actor=supervisor, meeting_pk=meeting.pk, decisions="环保局牵头")
    action = meeting_action_add(actor=supervisor, meeting_pk=meeting.pk, department=dept_a,
                                description="查封噪音设备", deadline=now + timedelta(days=2))

    client.force_login(staff_b)
    assert client.get(f"/meetings/{meeting.pk}/").status_code == 404
    assert client.post(f"/meeting-actions/{action.pk}/done/", {"note": "x"}).status_code == 404

    client.force_login(staff_a)
    assert client.get(f"/meetings/{meeting.pk}/").status_code == 200
    client.post(f"/meeting-actions/{action.pk}/done/", {"note": "已查封音响设备"})
    action.refresh_from_db()
    assert action.done_by == staff_a
    assert dept_b  # invited list did not include B


def test_ladder_notices_show_only_in_their_departments_list(client, make_slip, dept_b, staff_a, staff_b):
    a, b = make_slip(), make_slip(department=dept_b)
    ladder_run(now=max(a.deadline, b.deadline) + timedelta(minutes=1))
    client.force_login(staff_b)
    notices = client.get("/notices/").context["notices"]
    assert {n.department_id for n in notices} == {dept_b.pk}
    other = Notice.objects.exclude(department=dept_b).get()
    assert client.get(f"/notices/{other.pk}/").status_code == 404
