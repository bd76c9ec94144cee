"""The keep-or-divert decision in a real headless Chromium, at desk and phone widths: an undecided call
preselects nothing (Enter does nothing until the dispatcher chooses), a robbery told the 110 way is kept
with the police with its reason, the queue says which is which, and where the keep-or-divert model moved
the decision the panel says so."""

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


@pytest.mark.parametrize(("width", "height"), [(1400, 900), (390, 844)])
def test_the_keep_or_divert_model_holds_back_a_diversion_and_keeps_an_undecided_call_with_its_reason(
        page, live_server, login, shot, dispatcher, unit, width, height, settings):
    from diversion.models import RoutingSettings
    from diversion.routing import learning
    from tests.diversion.test_keep_model import OTHER_NOTES, POLICE_NOTES

    page.set_viewport_size({"width": width, "height": height})
    settings.ROUTING_VERSION_CHECK_SECONDS = 0
    model = learning.fit(POLICE_NOTES + OTHER_NOTES, ["police"] * len(POLICE_NOTES) + ["non_police"] * len(OTHER_NOTES),
                         kind="keep", params={"calibration_folds": 2, "min_df": 1})
    learning.store_model(model)
    # Thresholds at their ends, so that the outcome does not hang on this small model's probabilities.
    RoutingSettings.objects.filter(pk=1).update(model_veto_min=0.0, model_police_min=0.0)
    RoutingSettings.current().save()  # bumps the catalog version
    noise = _intake(dispatcher, "楼下广场舞噪音扰民", 4)
    follow = _intake(dispatcher, "有个男的从地铁站一直跟着我到小区门口", 2)
    assert (noise.suggested_decision, follow.suggested_decision) == ("undecided", "police")

    login(page, dispatcher)
    page.goto(f"{live_server.url}/dispatch/?call={noise.pk}")
    page.wait_for_selector(f'#call-panel[data-call="{noise.pk}"]')
    banner = page.locator("#decision-banner")
    assert banner.get_attribute("data-veto") == "1"
    assert "模型认为这可能是警务事项" in banner.inner_text()
    assert page.locator("#suggestions li.chosen").count() == 0
    shot(page, f"keep-or-divert-veto-{width}")

    page.goto(f"{live_server.url}/dispatch/?call={follow.pk}")
    page.wait_for_selector(f'#call-panel[data-call="{follow.pk}"]')
    assert "模型判断为警务类警情" in page.locator("#model-kept").inner_text()
    assert "police" in page.locator("#suggestions li.chosen").get_attribute("class")
    shot(page, f"keep-or-divert-model-kept-{width}")
