"""Issue 33: the holes an attacker's and a careless client's testing found, one test (or more) per finding."""

import pytest
from django.urls import reverse

from diversion import services as slip_services
from incidents import services as call_services
from tests.factories import category

pytestmark = pytest.mark.django_db


# --- Cross-department read: a call's timeline in the department's scope ------------------------------------

@pytest.fixture
def returned_then_rediverted(make_slip, dispatcher, staff_a, dept_b):
    """A call diverted to department A, returned by A with a reason, then diverted to department B, whose
    staff member 王五 accepts it."""
    first = make_slip(caller_name="张三")
    slip_services.slip_return(actor=staff_a, slip_pk=first.pk, reason="不属于本局职责，A局内部理由")
    second = call_services.call_divert(actor=dispatcher, call_pk=first.call_id, category=category("C05"),
                                       department=dept_b)
    from tests.factories import UserFactory

    wang = UserFactory(username="wangwu", first_name="王五", role="department", department=dept_b)
    slip_services.slip_accept(actor=wang, slip_pk=second.pk, handler_name="王五")
    return first, second


def test_a_department_sees_only_its_own_slips_history_on_a_call_page(client, returned_then_rediverted, staff_b):
    first, second = returned_then_rediverted
    client.force_login(staff_b)
    page = client.get(reverse("call-page", args=[second.call_id])).content.decode()
    assert second.serial in page
    assert "王五" in page  # its own staff, on its own slip
    assert "A局内部理由" not in page  # the other department's return reason
    assert first.serial not in page
    assert "staff_a" not in page


def test_a_returned_slip_leaves_only_read_only_facts_of_what_was_handled(client, returned_then_rediverted, staff_a):
    first, second = returned_then_rediverted
    client.force_login(staff_a)
    page = client.get(reverse("call-page", args=[first.call_id])).content.decode()
    assert first.serial in page and "A局内部理由" in page  # what it handled, with its own reason
    assert second.serial not in page and "王五" not in page  # nothing of the department that holds it now
    assert "张三" not in page  # no caller details once it no longer holds the call
    assert client.post(reverse("call-reveal-phone", args=[first.call_id])).status_code == 403
    # Its own slip stays readable but cannot be acted on.
    assert client.get(reverse("slip-detail", args=[first.pk])).status_code == 200
    client.post(reverse("slip-accept", args=[first.pk]), {})
    first.refresh_from_db()
    assert first.status == "returned"


# --- Spreadsheet formula injection -------------------------------------------------------------------------

FORMULA = '=HYPERLINK("http://x","点此查看")'


def test_a_call_content_that_is_a_formula_is_text_in_the_daily_callbacks_export(client, make_slip, staff_a,
                                                                                 supervisor):
    from datetime import date
    from io import BytesIO

    from openpyxl import load_workbook

    from diversion.supervision.reports import report_generate

    slip = make_slip(content=FORMULA)
    slip_services.slip_accept(actor=staff_a, slip_pk=slip.pk)
    slip_services.slip_complete(actor=staff_a, slip_pk=slip.pk, result="已处理")
    report = report_generate(actor=supervisor, kind="daily", day=date.today())
    client.force_login(supervisor)
    export = client.get(reverse("report-export", args=[report.pk]))
    due = load_workbook(BytesIO(export.content))["待回访"]
    cells = [c for row in due.iter_rows(min_row=2) for c in row if c.value == FORMULA]
    assert cells, "the call content is in the sheet"
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    assert not [c for row in due.iter_rows() for c in row if c.data_type == "f"]


def test_csv_cells_that_would_be_formulas_are_prefixed_and_numbers_are_left_alone():
    from core.exports import csv_row

    assert csv_row({"a": FORMULA, "b": "+1", "c": "@SUM(A1)", "d": "-2", "e": 3, "f": "正常文字"}) == {
        "a": "'" + FORMULA, "b": "'+1", "c": "'@SUM(A1)", "d": "'-2", "e": 3, "f": "正常文字"}
