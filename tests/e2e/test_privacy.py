"""Issue 34 in a real headless Chromium: a caller's number is shown only for a reason (department staff on a
phone, a dispatcher at a desk), and the supervisor reads who looked at which number and why, filtered by person
(desk and phone widths). The retention rule itself is tested in tests/incidents/test_retention.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import AuditLog
from incidents import retention
from tests.e2e.conftest import bounded_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_VIEW = {"width": 390, "height": 844}
NUMBER = "13912345678"


@pytest.fixture
def phone_page(browser):
    with bounded_page(browser, PHONE_VIEW, is_mobile=True, has_touch=True) as page:
        yield page


def _reveal(page, call_pk: int, reason: str):
    form = page.locator(f"#reveal-{call_pk} form")
    form.locator("button").click()  # no reason: the browser asks for one, nothing is sent
    assert page.locator(f"#reveal-{call_pk} input[name=reason]").evaluate("e => !e.validity.valid")
    form.locator("input[name=reason]").fill(reason)
    form.locator("button").click()
    page.locator(f"#reveal-{call_pk} .phone-full").wait_for()
    return page.locator(f"#reveal-{call_pk} .phone-full").inner_text()


def test_numbers_are_shown_for_a_reason_and_the_supervisor_sees_who_looked(
        page, phone_page, live_server, login, shot, make_slip, make_call, staff_a, dispatcher, supervisor,
        settings):
    slip = make_slip(caller_phone=NUMBER, content="小区广场舞音响太大，每晚十点后仍不停")
    call = slip.call

    # Department staff on a phone: the slip page asks why before it shows the number.
    login(phone_page, staff_a)
    phone_page.goto(f"{live_server.url}/slips/{slip.pk}/")
    assert NUMBER not in phone_page.content()
    assert _reveal(phone_page, call.pk, "上门前联系报警人") == NUMBER
    shot(phone_page, "privacy-reveal-phone")

    # A dispatcher at a desk, on the call page.
    login(page, dispatcher)
    page.goto(f"{live_server.url}/calls/{call.pk}/")
    assert _reveal(page, call.pk, "核实地址") == NUMBER
    assert list(AuditLog.objects.filter(action="phone_revealed").order_by("at").values_list("actor", "reason")) == [
        (staff_a.pk, "上门前联系报警人"), (dispatcher.pk, "核实地址")]

    # An anonymised caller: no number, no button.
    settings.CALLER_RETENTION_DAYS = 30
    old = make_call(caller_phone="13700001111", received_at=timezone.now() - timedelta(days=40))
    retention.callers_anonymise()
    page.goto(f"{live_server.url}/calls/{old.pk}/")
    assert page.locator(f"#reveal-{old.pk} form").count() == 0
    assert page.locator(f"#phone-{old.pk}").inner_text() == "（已匿名）"

    # The supervisor's list, then only the department's reveals.
    login(page, supervisor)
    page.goto(f"{live_server.url}/supervision/disclosures/")
    rows = page.locator("#disclosure-table tbody tr")
    assert rows.count() == 2  # newest first
    assert "核实地址" in rows.nth(0).inner_text() and "上门前联系报警人" in rows.nth(1).inner_text()
    assert NUMBER not in page.content()
    page.select_option("#id_person", str(staff_a.pk))
    page.click("#disclosure-filter button[type=submit]")
    page.wait_for_load_state()
    assert rows.count() == 1 and call.call_id in rows.nth(0).inner_text()
    shot(page, "privacy-disclosures-desk")

    login(phone_page, supervisor)
    phone_page.goto(f"{live_server.url}/supervision/disclosures/")
    assert phone_page.locator("#disclosure-table tbody tr").count() == 2
    assert phone_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways page
    shot(phone_page, "privacy-disclosures-phone")
