"""The core loop in a real headless Chromium: a dispatcher classifies calls with the keyboard, the
department accepts and completes the slip, the caller is called back and the call closes."""

import pytest
from django.utils import timezone

from diversion.models import HandoffSlip, SlipStatus
from incidents.models import Call, CallStatus
from incidents.services import call_intake
from tests.factories import call_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _intake(dispatcher, content, minutes_ago, **extra):
    data = call_data(content=content, received_at=timezone.now() - timezone.timedelta(minutes=minutes_ago),
                     **extra)
    return call_intake(actor=dispatcher, data=data).call


def test_a_call_goes_from_keyboard_to_closed_callback(page, live_server, login, shot, dispatcher, staff_a,
                                                      supervisor, unit):
    noise = _intake(dispatcher, "报警人称楼下KTV噪音扰民，凌晨一点还在唱歌", 9, address="秀峰区中山中路18号")
    fumes = _intake(dispatcher, "小区门口烧烤摊油烟很大，熏得家里没法开窗", 6)
    fight = _intake(dispatcher, "两个人在夜市门口打架，有人受伤流血", 3)

    # The dispatcher works the queue without the mouse.
    login(page, dispatcher)
    page.goto(f"{live_server.url}/dispatch/")
    queue = page.locator("#queue-list li[data-pk]")
    assert queue.count() == 3
    # Newest first, and the first is selected with police preselected and the reason shown.
    assert page.locator("#queue-list li.selected").get_attribute("data-pk") == str(fight.pk)
    assert page.locator("#police-banner").is_visible()
    assert "受伤" in page.locator("#police-banner").inner_text()
    shot(page, "01-workbench-police-call")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert Call.objects.get(pk=fight.pk).status == CallStatus.ASSIGNED

    # The noise call: move down to it, its first suggestion is C01 with the matched words highlighted.
    page.keyboard.press("ArrowDown")
    page.wait_for_selector(f'#call-panel[data-call="{noise.pk}"]')
    assert page.locator("#call-panel .call-text mark").first.inner_text() == "KTV噪音扰民"
    assert page.locator('#suggestions li[data-index="1"]').get_attribute("data-choice") == "C01"
    page.keyboard.press("1")
    assert "chosen" in page.locator('#suggestions li[data-index="1"]').get_attribute("class")
    shot(page, "02-workbench-suggestion-chosen")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    slip = HandoffSlip.objects.get(call=noise)
    assert slip.category.code == "C01" and slip.department == staff_a.department
    assert page.locator(".messages").inner_text().count(slip.serial) == 1

    # The fumes call: correct the choice through the picker, typing to search.
    page.wait_for_selector(f'#call-panel[data-call="{fumes.pk}"]')
    page.keyboard.press("c")
    page.locator("#picker-input").type("违法建设")
    assert page.locator("#picker-list li:not([hidden])").count() == 1
    shot(page, "03-category-picker")
    page.keyboard.press("Enter")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    fumes.refresh_from_db()
    assert fumes.category.code == "B01" and fumes.suggested_category.code == "C05"
    assert fumes.status == CallStatus.DIVERTED

    # The three-part slip prints on one page.
    page.goto(f"{live_server.url}/slips/{slip.pk}/print/")
    assert page.locator(".slip-part").count() == 3
    assert page.locator(".cut").count() == 2
    shot(page, "04-slip-print")

    # The department accepts and completes it.
    login(page, staff_a)
    page.goto(f"{live_server.url}/department/")
    page.click(f"text={slip.serial}")
    page.click("#accept-btn")
    assert page.locator("#slip-status").inner_text() == str(SlipStatus.ACCEPTED.label)
    page.fill("#id_result", "执法人员已到场，责令KTV降低音量并于23点后停止营业，报警人表示认可")
    page.click("#complete-btn")
    shot(page, "05-department-completed")
    slip.refresh_from_db()
    assert slip.status == SlipStatus.COMPLETED and slip.accepted_by == staff_a

    # The callback desk reaches the caller, who is satisfied: slip and call close.
    login(page, supervisor)
    page.goto(f"{live_server.url}/callbacks/")
    page.click(f"text={slip.serial}")
    page.select_option("#id_channel", "phone")
    page.check("input[name=reached][value='1']")
    page.select_option("#id_resolved", "yes")
    page.select_option("#id_satisfaction", "5")
    page.fill("#id_comment", "噪音已停止，很满意")
    page.click("#callback-btn")
    slip.refresh_from_db()
    assert slip.status == SlipStatus.CLOSED
    assert Call.objects.get(pk=noise.pk).status == CallStatus.CLOSED

    page.goto(f"{live_server.url}/calls/{noise.pk}/")
    steps = page.locator("#timeline li")
    assert steps.count() >= 7
    shot(page, "06-call-timeline")


def test_another_departments_slip_is_not_found_in_the_browser(page, live_server, login, make_slip, staff_b):
    slip = make_slip()
    login(page, staff_b)
    response = page.goto(f"{live_server.url}/slips/{slip.pk}/")
    assert response.status == 404
    page.goto(f"{live_server.url}/department/")
    assert slip.serial not in page.content()
