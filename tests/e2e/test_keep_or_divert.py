"""The keep-or-divert decision in a real headless Chromium, at desk and phone widths: an undecided call
preselects nothing (Enter does nothing until the dispatcher chooses), a robbery told the 110 way is kept
with the police with its reason, and the queue says which is which."""

import pytest
from django.utils import timezone

from incidents.models import Call, CallStatus
from incidents.services import call_intake
from tests.factories import call_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _intake(dispatcher, content, minutes_ago):
    data = call_data(content=content, received_at=timezone.now() - timezone.timedelta(minutes=minutes_ago))
    return call_intake(actor=dispatcher, data=data).call


@pytest.mark.parametrize(("width", "height"), [(1400, 900), (390, 844)])
def test_an_undecided_call_waits_for_the_dispatcher_and_a_robbery_stays_with_the_police(
        page, live_server, login, shot, dispatcher, unit, width, height):
    page.set_viewport_size({"width": width, "height": height})
    robbery = _intake(dispatcher, "十分钟前在夜市门口，手机被两名骑摩托车的男子抢走", 5)
    unsure = _intake(dispatcher, "有个事情想问一下，电话里说不清楚", 2)

    login(page, dispatcher)
    page.goto(f"{live_server.url}/dispatch/?call={unsure.pk}")
    page.wait_for_selector(f'#call-panel[data-call="{unsure.pk}"]')
    banner = page.locator("#decision-banner")
    assert banner.get_attribute("data-decision") == "undecided"
    assert "待定" in banner.inner_text()
    assert page.locator("#suggestions li.chosen").count() == 0
    assert page.locator(f'#queue-list li[data-pk="{unsure.pk}"] .badge.undecided').inner_text() == "待定"
    shot(page, f"keep-or-divert-undecided-{width}")
    page.keyboard.press("Enter")  # nothing chosen: nothing happens
    page.wait_for_timeout(300)
    assert Call.objects.get(pk=unsure.pk).status == CallStatus.NEW

    page.goto(f"{live_server.url}/dispatch/?call={robbery.pk}")
    page.wait_for_selector(f'#call-panel[data-call="{robbery.pk}"]')
    assert "抢走" in page.locator("#police-banner").inner_text()
    assert "police" in page.locator("#suggestions li.chosen").get_attribute("class")
    shot(page, f"keep-or-divert-robbery-{width}")
