"""Issue 40 in a real headless Chromium: a diverted call passes the centre's two review layers (a shift leader,
then a supervisor) before its slip leaves; another is sent back by the first layer with a reason, and the
dispatcher sees it back in the queue with that reason. The review page at phone width too."""

import pytest
from django.utils import timezone

from diversion.models import HandoffSlip, ReviewStatus, SlipReview
from incidents.models import Call, CallStatus
from incidents.services import call_intake
from tests.e2e.conftest import bounded_page
from tests.factories import call_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _intake(dispatcher, content):
    data = call_data(content=content, received_at=timezone.now() - timezone.timedelta(minutes=2))
    return call_intake(actor=dispatcher, data=data).call


def _divert_from_the_workbench(page, live_server, call):
    page.goto(f"{live_server.url}/dispatch/?call={call.pk}")
    page.wait_for_selector(f'#call-panel[data-call="{call.pk}"]')
    page.keyboard.press("1")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_a_diverted_call_passes_two_review_layers(page, live_server, login, shot, dispatcher, leader, supervisor,
                                                  two_layers, dept_a):
    call = _intake(dispatcher, "报警人称楼下KTV噪音扰民，凌晨一点还在唱歌")

    login(page, dispatcher)
    _divert_from_the_workbench(page, live_server, call)
    assert "值班长" in page.locator(".messages").inner_text()
    assert Call.objects.get(pk=call.pk).status == CallStatus.REVIEWING
    assert not HandoffSlip.objects.exists()

    # Layer 1: the shift leader finds it in the navigation's review queue and approves it.
    login(page, leader)
    page.goto(f"{live_server.url}/calls/")
    assert page.locator("#nav-reviews .badge").inner_text() == "1"
    page.click("#nav-reviews")
    page.locator("#review-waiting").get_by_role("link", name=call.call_id).click()
    shot(page, "40-review-layer-1")
    with page.expect_navigation():
        page.click("#approve-btn")
    assert "下一" in page.locator(".messages").inner_text() or "next" in page.locator(".messages").inner_text()
    assert page.locator("#review-waiting").get_by_role("link", name=call.call_id).count() == 0
    assert not HandoffSlip.objects.exists()

    # Layer 2: a supervisor approves; the slip leaves for the department.
    login(page, supervisor)
    page.goto(f"{live_server.url}/reviews/")
    page.locator("#review-waiting").get_by_role("link", name=call.call_id).click()
    assert page.locator('#review-steps li[data-outcome="approved"]').count() == 1
    with page.expect_navigation():
        page.click("#approve-btn")
    slip = HandoffSlip.objects.get(call=call)
    assert slip.serial in page.locator(".messages").inner_text()
    assert SlipReview.objects.get(call=call).status == ReviewStatus.APPROVED
    assert Call.objects.get(pk=call.pk).status == CallStatus.DIVERTED
    assert slip.department == dept_a and slip.issued_by == dispatcher

    # The call's page tells the story: both layers, who approved, the slip.
    page.goto(f"{live_server.url}/calls/{call.pk}/")
    review_card = page.locator(f"#call-review-{slip.review.pk}")
    assert "值班长" in review_card.inner_text() and "值班指挥长" in review_card.inner_text()
    shot(page, "40-review-call-page")


def test_a_review_layer_sends_a_call_back_to_the_dispatcher(page, live_server, login, shot, dispatcher, leader,
                                                            two_layers):
    call = _intake(dispatcher, "小区门口烧烤摊油烟很大，熏得家里没法开窗")

    login(page, dispatcher)
    _divert_from_the_workbench(page, live_server, call)

    login(page, leader)
    page.goto(f"{live_server.url}/reviews/")
    page.locator("#review-waiting").get_by_role("link", name=call.call_id).click()
    # Without a reason the send-back is refused with a message and nothing changes.
    with page.expect_navigation():
        page.click("#send-back-btn")
    page.locator(".errorlist, .error").first.wait_for(state="visible")
    assert Call.objects.get(pk=call.pk).status == CallStatus.REVIEWING
    page.fill("#id_reason", "报警人称摊主持刀威胁，应派警处置")
    with page.expect_navigation():
        page.click("#send-back-btn")
    assert Call.objects.get(pk=call.pk).status == CallStatus.RETURNED
    assert not HandoffSlip.objects.exists()

    # The dispatcher finds it back in the queue, with the layer's reason on the panel.
    login(page, dispatcher)
    page.goto(f"{live_server.url}/dispatch/?call={call.pk}")
    page.wait_for_selector(f'#call-panel[data-call="{call.pk}"]')
    because = page.locator("#returned-because").inner_text()
    assert "应派警处置" in because and "值班长" in because
    shot(page, "40-review-sent-back-panel")


def test_the_review_page_works_on_a_phone(browser, live_server, login, shot, dispatcher, leader, two_layers):
    call = _intake(dispatcher, "路灯坏了一个星期了，晚上走路很黑")
    from diversion.models import Category
    from incidents.services import call_classify

    call_classify(actor=dispatcher, call_pk=call.pk, version=call.version, police=False,
                  category=Category.objects.get(code="C01"))

    with bounded_page(browser, {"width": 390, "height": 844}, is_mobile=True, has_touch=True) as page:
        login(page, leader)
        page.goto(f"{live_server.url}/reviews/")
        link = page.locator("#review-waiting").get_by_role("link", name=call.call_id)
        assert link.is_visible()
        link.click()
        box = page.locator("#approve-btn").bounding_box()
        assert box["height"] >= 36 and box["x"] + box["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "40-review-phone")
        with page.expect_navigation():
            page.click("#approve-btn")
        assert SlipReview.objects.get(call=call).steps.get(position=1).outcome == "approved"
