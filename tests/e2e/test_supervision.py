"""Supervision in a real headless Chromium: the ladder raises notices, the department sees the unread badge
and replies, another department gets 404, the supervisor convenes a joint meeting with an action, and reads
the league table and a report."""

from datetime import timedelta

import pytest
from django.utils import timezone

from diversion.models import HandoffSlip, JointMeeting, Notice, NoticeStatus
from diversion.services import callback_record, slip_accept, slip_complete
from diversion.supervision.services import ladder_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def test_notices_joint_meeting_and_league_table_on_screen(page, live_server, login, shot, make_slip, dept_b,
                                                         staff_a, staff_b, supervisor):
    late = make_slip(content="KTV噪音扰民，多次投诉仍未解决")
    HandoffSlip.objects.filter(pk=late.pk).update(issued_at=timezone.now() - timedelta(hours=200),
                                                  deadline=timezone.now() - timedelta(hours=32))
    done = make_slip(department=dept_b, content="小区门口垃圾堆积无人清理")
    slip_accept(actor=staff_b, slip_pk=done.pk)
    slip_complete(actor=staff_b, slip_pk=done.pk, result="已清运")
    callback_record(actor=supervisor, slip_pk=done.pk, channel="phone", reached=True, resolved="yes",
                    satisfaction=5)
    assert ladder_run() == {"warning": 0, "supervision": 1, "rectification": 1}
    supervision = Notice.objects.get(kind="supervision")

    # The department sees the unread badge, opens the notice and replies.
    login(page, staff_a)
    page.goto(f"{live_server.url}/department/")
    assert page.locator("#unread-badge").inner_text() == "2"
    assert page.locator("#notices-banner").is_visible()
    page.click("#nav-notices")
    assert page.locator("#notice-table tbody tr").count() == 2
    shot(page, "supervision-01-department-notices")
    page.click(f"text={supervision.serial}")
    assert late.serial in page.locator("#notice-items").inner_text()
    page.fill("#id_reply", "已约谈KTV经营者，今晚起23点后停止营业，本周内办结")
    with page.expect_navigation():
        page.click("#reply-btn")
    assert page.locator("#notice-status").inner_text() == str(NoticeStatus.REPLIED.label)
    assert page.locator("#unread-badge").inner_text() == "1"
    shot(page, "supervision-02-notice-replied")

    # Another department cannot open it.
    login(page, staff_b)
    assert page.goto(f"{live_server.url}/notices/{supervision.pk}/").status == 404

    # The supervisor escalates the slip to a joint meeting and records an action.
    login(page, supervisor)
    page.goto(f"{live_server.url}/supervision/")
    assert page.locator("#open-slips").inner_text().count(late.serial) == 1
    shot(page, "supervision-03-open-slips")
    page.locator("#open-slips tr", has_text=late.serial).locator("a.meeting-link").click()
    page.fill("#id_title", "KTV噪音反复投诉联合整治")
    page.check(f"input[name=departments][value='{dept_b.pk}']")
    with page.expect_navigation():
        page.click("#convene-btn")
    page.wait_for_selector("#record-form")
    meeting = JointMeeting.objects.get()
    assert {d.code for d in meeting.departments.all()} == {"STJ", "CGJ"}
    page.fill("#id_decisions", "生态环境局牵头夜间执法，城管局配合查处占道经营")
    with page.expect_navigation():
        page.click("#record-btn")
    page.select_option("#id_department", str(dept_b.pk))
    page.fill("#id_description", "城管局三日内清理KTV门口占道经营")
    page.fill("#id_deadline", _local(timezone.now() + timedelta(days=3)))
    with page.expect_navigation():
        page.click("#add-action-btn")
    assert page.locator("#meeting-actions tbody tr").count() == 1
    assert "城管局三日内" in page.locator("#meeting-actions").inner_text()
    shot(page, "supervision-04-joint-meeting")

    # The league table ranks the department that finished on time above the one with notices.
    page.goto(f"{live_server.url}/supervision/league/?period=monthly")
    rows = page.locator("#league-table tbody tr")
    assert rows.nth(0).get_attribute("data-code") == "CGJ"
    assert rows.nth(1).get_attribute("data-code") == "STJ"
    # Every other department received nothing: listed below, not ranked.
    assert page.locator("#league-table tbody tr:not(.unranked)").count() == 2
    assert rows.count() == 2 + page.locator("#league-table tbody tr.unranked").count() > 2
    shot(page, "supervision-05-league-table")

    # A weekly bulletin on demand, printable and exportable.
    page.goto(f"{live_server.url}/supervision/reports/")
    page.select_option("#id_kind", "weekly")
    with page.expect_navigation():
        page.click("#generate-btn")
    assert page.locator("#league-table tbody tr:not(.unranked)").count() == 2
    with page.expect_download() as download:
        page.click("#export-link")
    assert download.value.suggested_filename.endswith(".xlsx")
    shot(page, "supervision-06-weekly-bulletin")
