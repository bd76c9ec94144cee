"""Importing historical calls in a real headless Chromium (issue 43): a supervisor uploads a centre's export,
maps the column the guess missed, sees the first rows and their errors, imports, and reads the report with
the bad rows by line; at desk and phone widths."""

import csv
import io

import pytest

from incidents.models import Call, CallImport
from tests.e2e.conftest import bounded_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = [
    ["单号", "报警时间", "报警电话", "案发地址", "报警内容"],
    ["J-1", "2024-04-11 23:35:59", "13800138000", "中山路1号", "楼下KTV噪音扰民"],
    ["J-2", "昨天晚上", "", "", "时间坏了"],
    ["J-3", "2024年4月12日 08时05分", "", "榕湖小区", "有人在小区门口打架"],
    ["J-1", "2024-04-11 23:35:59", "", "", "同一编号"],
]


@pytest.mark.parametrize("viewport", [{"width": 1400, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desk", "phone"])
def test_a_supervisor_maps_previews_and_imports_an_export(browser, live_server, login, shot, supervisor, tmp_path,
                                                          viewport):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(ROWS)
    export = tmp_path / "110导出.csv"
    export.write_bytes(buffer.getvalue().encode("gb18030"))

    with bounded_page(browser, viewport, is_mobile=viewport["width"] < 500) as page:
        login(page, supervisor)
        page.goto(f"{live_server.url}/review/")
        with page.expect_navigation():
            page.locator("#review-import").click()
        page.locator("#import-upload input[type=file]").set_input_files(str(export))
        with page.expect_navigation():
            page.locator("#import-upload button[type=submit]").click()

        # The guess found the time, phone, address and content; the id column has a centre's own name.
        assert page.locator("#import-mapping select[name=received_at]").input_value() == "报警时间"
        assert page.locator("#import-mapping select[name=call_id]").input_value() == ""
        page.locator("#import-mapping select[name=call_id]").select_option("单号")
        with page.expect_navigation():
            page.locator("#import-mapping button[value=map]").click()
        preview = page.locator("#import-preview")
        assert "J-1" in preview.inner_text() and "J-3" in preview.inner_text()
        assert preview.locator("tr.bad").count() == 2  # 昨天晚上 is not a time; J-1 again
        shot(page, f"imports-01-preview-{viewport['width']}")

        with page.expect_navigation():
            page.locator("#import-start").click()
        page.locator("#import-report").wait_for()  # eager in the tests: done by the time the page loads
        assert page.locator("#import-imported").inner_text().strip() == "2"
        errors = page.locator("#import-errors").inner_text()
        assert "3" in errors and "5" in errors  # the lines of the bad time and of the repeated id
        shot(page, f"imports-02-report-{viewport['width']}")

    assert sorted(Call.objects.values_list("call_id", flat=True)) == ["J-1", "J-3"]
    assert CallImport.objects.get().status == "done"
