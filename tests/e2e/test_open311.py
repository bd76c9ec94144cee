"""Issue 41 end to end: a partner's system posts a report to Open311 over real HTTP (urllib, as any client),
the dispatcher finds it in the workbench at a desk, sees which partner sent it and diverts it; the
department's staff accept it on a phone; the partner reads the new status in XML."""

import json
import urllib.parse
import urllib.request
from xml.etree import ElementTree

import pytest

from diversion.models import HandoffSlip, Open311Client, SlipStatus
from diversion.open311.services import open311_key_issue
from incidents.models import Call, CallStatus

from .conftest import bounded_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _http(url: str, data: dict | None = None) -> tuple[int, bytes]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=15) as response:  # noqa: S310
        return response.status, response.read()


def _fits(page) -> None:
    width, scroll = page.evaluate("window.innerWidth"), page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url}: the page scrolls sideways ({scroll} > {width})"


def test_a_partners_report_goes_to_the_department_and_the_partner_reads_it(browser, page, live_server, login, shot,
                                                                            dispatcher, staff_a):
    partner = Open311Client.objects.create(code="cityapp", name="城市随手拍App", kind="partner")
    key = open311_key_issue(actor=None, client=partner)
    base = f"{live_server.url}/open311/v2"

    status, body = _http(f"{base}/requests.json", {
        "api_key": key, "service_code": "C01", "attribute[partner_request_id]": "APP-20261206-1",
        "description": "楼上邻居装修噪音扰民，晚上十一点还在砸墙", "address_string": "秀峰区中山中路18号",
        "media_url": "https://img.example.cn/app/1.jpg"})
    [created] = json.loads(body)
    assert status == 201 and created["service_request_id"] == "open311-cityapp-APP-20261206-1"
    call = Call.objects.get(call_id=created["service_request_id"])

    # The dispatcher at a desk: the call waits in the workbench with its source; diverted with the suggestion.
    login(page, dispatcher)
    page.goto(f"{live_server.url}/dispatch/?call={call.pk}")
    page.wait_for_selector(f'#call-panel[data-call="{call.pk}"]')
    assert "城市随手拍App" in page.locator("#open311-source").inner_text()
    shot(page, "41-open311-workbench")
    page.keyboard.press("1")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert Call.objects.get(pk=call.pk).status == CallStatus.DIVERTED
    page.goto(f"{live_server.url}/calls/{call.pk}/")
    source = page.locator("#open311-source")
    assert "APP-20261206-1" in source.inner_text()
    assert source.get_by_role("link").get_attribute("href") == "https://img.example.cn/app/1.jpg"
    slip = HandoffSlip.objects.get(call=call)

    # The department's staff on a phone accept it.
    with bounded_page(browser, {"width": 390, "height": 844}, is_mobile=True, has_touch=True) as phone:
        login(phone, staff_a)
        phone.goto(f"{live_server.url}/slips/{slip.pk}/")
        _fits(phone)
        phone.fill("#id_handler_name", "黄志刚")
        with phone.expect_navigation():
            phone.click("#accept-btn")
    assert HandoffSlip.objects.get(pk=slip.pk).status == SlipStatus.ACCEPTED

    # The partner reads it in XML, as a GeoReport v2 client would.
    status, body = _http(f"{base}/requests/{created['service_request_id']}.xml?api_key={key}")
    tree = ElementTree.fromstring(body)
    assert status == 200 and tree.tag == "service_requests"
    [request] = tree.findall("request")
    assert request.findtext("status") == "in_progress"
    assert request.findtext("agency_responsible") == staff_a.department.name_zh
