"""Department staff on a phone (issue 39): the inbox, a slip, accept, return, complete and the notices at
360–414 px wide. Rows are cards, tap targets are at least 40 px, nothing scrolls sideways; at a desk the
inbox is still a table."""

import pytest

from diversion.models import HandoffSlip, NoticeKind, SlipStatus
from diversion.supervision.services import notice_issue

from .conftest import bounded_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG = ("报警人反映甲山路143号附近空地夜间有人乱倒建筑垃圾，已持续一周，堆放物挡住了人行道，"
        "老人和孩子出门很不方便，请有关部门尽快清理")


def _fits(page) -> None:
    width = page.evaluate("window.innerWidth")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url}: the page scrolls sideways ({scroll} > {width})"


def _tap_target(locator) -> None:
    box = locator.bounding_box()
    assert box and box["height"] >= 40 and box["width"] >= 40, box


def _cards(page, table: str) -> None:
    """The table's rows are cards: no header row, each cell as wide as the card (not a sliver)."""
    assert not page.locator(f"{table} thead").is_visible()
    row = page.locator(f"{table} tbody tr").first
    card = row.bounding_box()
    for cell in row.locator("td").all():
        assert cell.bounding_box()["width"] >= card["width"] * 0.8
    _tap_target(row.locator("td").first.locator("a"))


@pytest.fixture
def slips(make_slip, supervisor, staff_a):
    made = [make_slip(content=LONG), make_slip(content="楼上装修电钻噪音，周日早上七点就开始"),
            make_slip(content="楼下KTV噪音扰民，每晚唱到凌晨两点")]
    notice_issue(actor=supervisor, kind=NoticeKind.WARNING, department=staff_a.department, slips=made[:1],
                 reason="请加快签收")
    return made


def test_department_staff_work_slips_on_a_390_phone(browser, live_server, login, shot, staff_a, slips):
    first, second, third = slips
    with bounded_page(browser, {"width": 390, "height": 844}, is_mobile=True, has_touch=True) as page:
        login(page, staff_a)
        page.goto(f"{live_server.url}/department/")
        _fits(page)
        _cards(page, "#slip-table")
        assert LONG[:20] in page.locator("#slip-table tbody").inner_text()
        shot(page, "department-phone-01-inbox")

        # Accept the first slip from its card.
        with page.expect_navigation():
            page.locator(f"#slip-table a:text('{first.serial}')").click()
        _fits(page)
        _tap_target(page.locator("#accept-btn"))
        _no_overlap(page)
        shot(page, "department-phone-02-slip")
        page.fill("#id_handler_name", "黄志刚")
        with page.expect_navigation():
            page.click("#accept-btn")
        assert HandoffSlip.objects.get(pk=first.pk).status == SlipStatus.ACCEPTED
        _fits(page)

        # Complete it.
        page.fill("#id_result", "已联系城管中队清运垃圾，并在空地设置禁倒警示牌")
        _tap_target(page.locator("#complete-btn"))
        with page.expect_navigation():
            page.click("#complete-btn")
        assert HandoffSlip.objects.get(pk=first.pk).status == SlipStatus.COMPLETED
        _fits(page)
        shot(page, "department-phone-03-completed")

        # Return the second: not ours.
        page.goto(f"{live_server.url}/slips/{second.pk}/")
        page.fill("#id_reason", "装修噪音属住建部门职责")
        returned = page.locator("button.btn.danger")
        _tap_target(returned)
        with page.expect_navigation():
            returned.click()
        assert HandoffSlip.objects.get(pk=second.pk).status == SlipStatus.RETURNED
        _fits(page)

        # The notices: cards too.
        page.goto(f"{live_server.url}/notices/")
        _fits(page)
        _cards(page, "#notice-table")
        shot(page, "department-phone-04-notices")

    # At a desk the inbox is the table it was.
    with bounded_page(browser, {"width": 1400, "height": 900}) as page:
        login(page, staff_a)
        page.goto(f"{live_server.url}/department/")
        assert page.locator("#slip-table thead").is_visible()
        cells = page.locator("#slip-table tbody tr").first.locator("td")
        tops = {round(cell.bounding_box()["y"]) for cell in cells.all()}
        assert len(tops) == 1  # one row, side by side
        assert third.serial in page.locator("#slip-table").inner_text()


def _no_overlap(page) -> None:
    """On the slip page the action cards and the slip sheet do not cover each other."""
    actions = page.locator(".slip-layout > div").nth(1).bounding_box()
    sheet = page.locator(".slip-layout > div").nth(0).bounding_box()
    apart = (actions["y"] + actions["height"] <= sheet["y"] + 1 or sheet["y"] + sheet["height"] <= actions["y"] + 1
             or actions["x"] + actions["width"] <= sheet["x"] + 1 or sheet["x"] + sheet["width"] <= actions["x"] + 1)
    assert apart, (actions, sheet)


@pytest.mark.parametrize("width,language", [(360, "zh-hans"), (414, "en")])
def test_department_pages_fit_phones_in_both_languages(browser, live_server, login, shot, staff_a, slips, width,
                                                       language):
    with bounded_page(browser, {"width": width, "height": 800}, is_mobile=True, has_touch=True) as page:
        login(page, staff_a)
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        pages = [("/department/", "#slip-table"), (f"/slips/{slips[0].pk}/", None), ("/notices/", "#notice-table")]
        for n, (path, table) in enumerate(pages):
            page.goto(f"{live_server.url}{path}")
            _fits(page)
            if table:
                _cards(page, table)
            else:
                _no_overlap(page)
            shot(page, f"department-phone-{width}-{language}-{n}")
