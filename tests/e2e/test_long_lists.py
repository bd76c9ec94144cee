"""The long lists in Chromium (issue 42): the dispatcher's queue draws a screenful and brings the rest as
the list is scrolled or walked with the keys; the department inbox pages its rows with links to the next and
the first page, at a desk and on a phone, and its tab counts stop at 999+."""

import pytest
from django.utils import timezone

from incidents import services
from tests.factories import call_data

from .conftest import bounded_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_queue_brings_more_calls_as_the_dispatcher_goes_down_it(page, live_server, login, shot, dispatcher):
    from incidents.views import QUEUE_PAGE

    now = timezone.now()
    calls = [services.call_intake(actor=dispatcher, data=call_data(
        received_at=now - timezone.timedelta(minutes=i), content=f"第{i + 1}号楼下噪音扰民，请求处理")).call
        for i in range(QUEUE_PAGE + 10)]
    login(page, dispatcher)
    page.goto(f"{live_server.url}/dispatch/")
    rows = page.locator("#queue-list > li[data-pk]")
    page.wait_for_selector(f'#call-panel[data-call="{calls[0].pk}"]')
    page.wait_for_timeout(300)  # a screenful is drawn; nothing more is fetched while the end is out of sight
    assert rows.count() == QUEUE_PAGE and page.locator("#queue-more").count() == 1
    shot(page, "long-lists-01-queue")

    # Down the queue with the keys: at the last call drawn the next ones come, and the walk goes on.
    for _ in range(QUEUE_PAGE - 1):
        page.keyboard.press("j")
    page.wait_for_selector(f'#call-panel[data-call="{calls[QUEUE_PAGE - 1].pk}"]')
    rows.nth(QUEUE_PAGE + 9).wait_for()  # (not wait_for_function: it evaluates a string, which the CSP forbids)
    page.keyboard.press("j")
    page.wait_for_selector(f'#call-panel[data-call="{calls[QUEUE_PAGE].pk}"]')
    assert [int(pk) for pk in rows.evaluate_all("els => els.map(e => e.dataset.pk)")] == [c.pk for c in calls]
    assert page.locator("#queue-more").count() == 0
    assert page.locator("#queue-list li.selected").get_attribute("data-pk") == str(calls[QUEUE_PAGE].pk)
    shot(page, "long-lists-02-queue-all")


@pytest.mark.parametrize("viewport", [{"width": 1400, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desk", "phone"])
def test_the_inbox_pages_its_slips(browser, live_server, login, shot, staff_a, make_slip, monkeypatch, viewport):
    from core import keyset
    from diversion import views

    monkeypatch.setattr(views, "INBOX_PAGE", 4)
    monkeypatch.setattr(keyset, "COUNT_CAP", 5)
    slips = sorted((make_slip() for _ in range(7)), key=lambda s: (s.deadline, s.pk))
    with bounded_page(browser, viewport, is_mobile=viewport["width"] < 500) as page:
        login(page, staff_a)
        page.goto(f"{live_server.url}/department/")
        table = page.locator("#slip-table tbody")
        assert "5+" in page.locator(".tabs a.active").inner_text()
        assert [s.serial for s in slips[:4]] == [t.strip() for t in table.locator("td.card-head a").all_inner_texts()]
        assert page.locator("#page-first").count() == 0
        shot(page, f"long-lists-03-inbox-{viewport['width']}")

        with page.expect_navigation():
            page.click("#page-next")
        assert [s.serial for s in slips[4:]] == [t.strip() for t in table.locator("td.card-head a").all_inner_texts()]
        assert page.locator("#page-next").count() == 0
        box = page.locator("#page-first").bounding_box()
        assert box and box["height"] >= 30
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        shot(page, f"long-lists-04-inbox-next-{viewport['width']}")
        with page.expect_navigation():
            page.click("#page-first")
        assert table.locator("td.card-head a").count() == 4
