"""Forms as the hand meets them (issue 39): the new-call form in the order a dispatcher types, Tab by Tab,
with a live character count; the callback form's radio buttons beside their words."""

import pytest

from diversion.services import slip_accept, slip_complete

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tab_goes_phone_name_address_content_and_the_time_stays_now(page, live_server, login, shot, dispatcher):
    login(page, dispatcher)
    page.goto(f"{live_server.url}/calls/new/")
    received = page.locator("#id_received_at").input_value()
    assert received  # now, prefilled
    assert page.evaluate("document.activeElement.id") == "id_caller_phone"
    page.keyboard.type("13807731234")
    steps = []
    for text in ("王先生", "秀峰区中山中路18号", "楼下KTV噪音扰民"):
        page.keyboard.press("Tab")
        steps.append(page.evaluate("document.activeElement.id"))
        page.keyboard.type(text)
    assert steps == ["id_caller_name", "id_address", "id_content"]
    assert page.locator("#id_received_at").input_value() == received  # typing an address left the year alone
    assert page.locator("#id_content-count .n").inner_text() == str(len("楼下KTV噪音扰民"))
    shot(page, "forms-01-new-call")


def test_the_callback_forms_radio_buttons_sit_beside_their_words(page, live_server, login, shot, make_slip, staff_a,
                                                                 supervisor):
    slip = make_slip()
    slip_accept(actor=staff_a, slip_pk=slip.pk)
    slip_complete(actor=staff_a, slip_pk=slip.pk, result="已处理")
    login(page, supervisor)
    page.goto(f"{live_server.url}/slips/{slip.pk}/")
    options = page.locator("#id_reached label")
    assert options.count() == 2
    boxes = [options.nth(i).bounding_box() for i in range(2)]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2  # one row
    for i in range(2):
        radio = options.nth(i).locator("input[type=radio]").bounding_box()
        label = boxes[i]
        assert radio["width"] < 30  # a radio button, not a stretched box
        assert abs((radio["y"] + radio["height"] / 2) - (label["y"] + label["height"] / 2)) < 4
    shot(page, "forms-02-callback")
