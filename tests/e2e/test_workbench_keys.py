"""Issue 31 in a real headless Chromium: Enter confirms only what is on screen. Two Enters 150 ms apart
issue one slip, for the call on screen, and the next call waits; a decision on a call another dispatcher
decided meanwhile is refused with a message; an undecided call is not diverted by Enter; diverting a police
call without a reason shows the error in place; the call's page says the suggestion was overridden."""

import pytest
from django.utils import timezone

from diversion.models import HandoffSlip
from incidents import services
from incidents.models import Call, CallStatus
from tests.factories import call_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOISE = "报警人称楼下KTV噪音扰民，凌晨一点还在唱歌"
FUMES = "小区门口烧烤摊油烟很大，熏得家里没法开窗"
FIGHT = "两个人在夜市门口打架，有人受伤流血"
UNSURE = "有个事情想问一下，电话里说不清楚"


def _intake(dispatcher, content, minutes_ago):
    data = call_data(content=content, received_at=timezone.now() - timezone.timedelta(minutes=minutes_ago))
    return services.call_intake(actor=dispatcher, data=data).call


def _open(page, live_server, call):
    page.goto(f"{live_server.url}/dispatch/?call={call.pk}")
    page.wait_for_selector(f'#call-panel[data-call="{call.pk}"]')
    page.wait_for_selector('#claim-bar[data-state="mine"]')  # opening it made it this dispatcher's (issue 36)


def _taken_over_and_decided(supervisor, call, unit):
    """The supervisor, at another desk, takes the call over from the dispatcher and keeps it with the police."""
    services.call_claim(actor=supervisor, call_pk=call.pk, take_over=True)
    services.call_classify(actor=supervisor, call_pk=call.pk, version=0, police=True, unit=unit)


@pytest.mark.parametrize("gap_ms", [150, 20])
def test_two_enters_issue_one_slip_for_the_call_on_screen(page, live_server, login, shot, dispatcher, staff_a,
                                                         gap_ms):
    waiting = _intake(dispatcher, FUMES, 9)
    on_screen = _intake(dispatcher, NOISE, 1)
    login(page, dispatcher)
    _open(page, live_server, on_screen)
    assert page.locator("#call-panel").get_attribute("data-decision") == "non_police"
    assert "确认所选小类" in page.locator("#enter-rule").inner_text()

    page.keyboard.press("Enter")
    page.wait_for_timeout(gap_ms)
    page.keyboard.press("Enter")
    page.wait_for_selector(f'#call-panel[data-call="{waiting.pk}"]')
    page.wait_for_timeout(1500)  # whatever the second Enter could have done has landed by now
    shot(page, f"workbench-double-enter-{gap_ms}")

    assert list(HandoffSlip.objects.values_list("call_id", flat=True)) == [on_screen.pk]
    waiting.refresh_from_db()
    assert waiting.status == CallStatus.NEW and waiting.version == 0 and waiting.classified_by is None
    assert page.locator(f'#call-panel[data-call="{waiting.pk}"]').is_visible()


def test_the_call_drawn_after_a_decision_waits_before_it_takes_an_enter(page, live_server, login, dispatcher,
                                                                       staff_a):
    waiting = _intake(dispatcher, FUMES, 9)
    on_screen = _intake(dispatcher, NOISE, 1)
    login(page, dispatcher)
    _open(page, live_server, on_screen)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector(f'#call-panel[data-call="{waiting.pk}"]')
    page.keyboard.press("Enter")  # at once: not read yet
    assert "请先看清再按" in page.locator("#key-hint").inner_text()
    page.wait_for_timeout(400)
    assert Call.objects.get(pk=waiting.pk).status == CallStatus.NEW
    page.wait_for_timeout(600)  # on screen long enough now
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert Call.objects.get(pk=waiting.pk).status == CallStatus.DIVERTED


@pytest.mark.parametrize(("width", "height"), [(1400, 900), (390, 844)])
def test_a_decision_on_a_call_someone_else_decided_is_refused(page, live_server, login, shot, dispatcher, unit,
                                                             supervisor, width, height):
    page.set_viewport_size({"width": width, "height": height})
    call = _intake(dispatcher, NOISE, 1)
    login(page, dispatcher)
    _open(page, live_server, call)
    # Meanwhile the supervisor, at another desk, takes it over and keeps it with the police.
    _taken_over_and_decided(supervisor, call, unit)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    message = page.locator(".messages li.error").inner_text()
    assert call.call_id in message and "已变化" in message and "未做任何操作" in message
    shot(page, f"workbench-stale-refused-{width}")
    call.refresh_from_db()
    assert call.status == CallStatus.ASSIGNED and call.classified_by == supervisor
    assert not HandoffSlip.objects.exists()


def test_enter_does_not_decide_an_undecided_call(page, live_server, login, shot, dispatcher, unit):
    call = _intake(dispatcher, UNSURE, 1)
    login(page, dispatcher)
    _open(page, live_server, call)
    assert page.locator("#call-panel").get_attribute("data-decision") == "undecided"
    assert "未选择前不起作用" in page.locator("#enter-rule").inner_text()
    page.keyboard.press("Enter")
    hint = page.locator("#key-hint")
    assert hint.is_visible() and "请先选择：P 留公安，1–9 或 C 分流至部门" in hint.inner_text()
    shot(page, "workbench-undecided-enter")
    page.wait_for_timeout(300)
    assert Call.objects.get(pk=call.pk).status == CallStatus.NEW
    page.keyboard.press("p")
    assert not hint.is_visible()
    assert "确认：警务类" in page.locator("#enter-rule").inner_text()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert Call.objects.get(pk=call.pk).status == CallStatus.ASSIGNED


@pytest.mark.parametrize(("width", "height"), [(1400, 900), (390, 844)])
def test_diverting_a_police_call_asks_for_a_reason_in_place(page, live_server, login, shot, dispatcher, staff_a,
                                                           supervisor, width, height):
    page.set_viewport_size({"width": width, "height": height})
    call = _intake(dispatcher, FIGHT, 1)
    login(page, dispatcher)
    _open(page, live_server, call)
    assert page.locator("#call-panel").get_attribute("data-decision") == "police"
    assert not page.locator("#override-field").is_visible()
    page.keyboard.press("c")
    page.locator("#picker-input").type("噪音扰民")
    page.keyboard.press("Enter")  # picks C01 in the picker
    assert page.locator("#override-field").is_visible()
    assert page.locator("#enter-rule").inner_text().startswith("Enter 确认：C01")  # the key bar follows the choice
    page.keyboard.press("Enter")  # no reason: refused in place
    error = page.locator("#override-error")
    assert error.is_visible() and "请填写理由" in error.inner_text()
    assert page.evaluate("document.activeElement.id") == "f-override"
    shot(page, f"workbench-override-reason-{width}")
    page.wait_for_timeout(300)
    assert Call.objects.get(pk=call.pk).status == CallStatus.NEW

    page.keyboard.type("民警已到场，双方愿意调解")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    call.refresh_from_db()
    assert call.status == CallStatus.DIVERTED and call.category.code == "C01"

    # The supervisor sees on the call's page that the suggestion was overridden, and why.
    login(page, supervisor)
    page.goto(f"{live_server.url}/calls/{call.pk}/")
    assert page.locator("#decision-record [data-outcome]").get_attribute("data-outcome") == "overridden"
    choice = page.locator('#timeline .choice[data-outcome="overridden"]').inner_text()
    assert "留公安处置" in choice and "C01" in choice and "改判" in choice
    assert "民警已到场，双方愿意调解" in page.locator("#timeline").inner_text()
    shot(page, f"call-page-overridden-{width}")


def test_the_panel_says_when_its_call_was_decided_elsewhere(page, live_server, login, shot, dispatcher, unit,
                                                          supervisor):
    call = _intake(dispatcher, NOISE, 1)
    login(page, dispatcher)
    _open(page, live_server, call)
    _taken_over_and_decided(supervisor, call, unit)
    page.evaluate("htmx.trigger(document.getElementById('queue'), 'refresh')")  # the poll's refresh, now
    banner = page.locator("#gone-banner")
    banner.wait_for()
    assert "已在其他席位处理" in banner.inner_text()
    page.keyboard.press("Enter")
    assert "已在其他席位处理" in page.locator("#key-hint").inner_text()
    shot(page, "workbench-call-gone")
    assert not HandoffSlip.objects.exists()


def test_the_queue_reloads_every_15_seconds_keeping_the_call_on_screen(page, live_server, login, dispatcher):
    """The live channel's fallback poll (app.js; no eval under the CSP): this test server has no WebSocket, so
    the page polls every LIVE_POLL_SECONDS (15), and the queue's request names the selected call."""
    older = _intake(dispatcher, NOISE, 5)
    _intake(dispatcher, FUMES, 1)
    login(page, dispatcher)
    page.clock.install()
    _open(page, live_server, older)
    with page.expect_request(lambda r: "/dispatch/queue/" in r.url) as reload:
        page.clock.run_for(16_000)
    assert f"selected={older.pk}" in reload.value.url
