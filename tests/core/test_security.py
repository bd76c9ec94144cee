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


# --- Server errors: implausible times, deep JSON, dates in page URLs ---------------------------------------

def _intake(**overrides):
    from tests.incidents.test_api_intake import payload

    return payload(**overrides)


@pytest.mark.parametrize("received_at, code", [
    ("0001-01-01T00:00:00Z", "too_early"),
    ("0018-05-01T10:00:00+08:00", "too_early"),
    ("1999-12-31T23:59:00+08:00", "too_early"),
])
def test_the_api_refuses_a_call_received_before_the_plausible_range(dispatcher, received_at, code):
    from rest_framework.test import APIClient

    from incidents.models import Call

    client = APIClient()
    client.force_authenticate(dispatcher)
    response = client.post("/api/v1/calls/", _intake(received_at=received_at), format="json")
    assert response.status_code == 400
    assert response.data["received_at"][0].code == code
    assert Call.objects.count() == 0


def test_the_api_refuses_a_call_more_than_ten_minutes_ahead(dispatcher):
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(dispatcher)
    ahead = (timezone.now() + timedelta(minutes=15)).isoformat()
    response = client.post("/api/v1/calls/", _intake(received_at=ahead), format="json")
    assert response.status_code == 400 and response.data["received_at"][0].code == "future"


def test_the_service_refuses_a_year_18_call_whoever_calls_it(dispatcher):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from core.errors import DomainError
    from tests.factories import call_data

    with pytest.raises(DomainError) as refused:
        call_services.call_intake(actor=dispatcher, data=call_data(
            received_at=datetime(18, 5, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))))
    assert refused.value.code == "too_early"


def test_the_typed_call_form_refuses_year_18(client, dispatcher):
    from incidents.models import Call

    client.force_login(dispatcher)
    response = client.post(reverse("call-new"), {
        "call_id": "T-0018", "received_at": "0018-05-01T10:00", "caller_phone": "13800138000",
        "content": "楼上噪音扰民", "channel": "phone", "idempotency_key": "k-0018"})
    assert response.status_code == 200
    assert "2000-01-01" in response.content.decode()
    assert Call.objects.count() == 0


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("url", ["/api/v1/calls/", "/api/v1/calls/{call}/classify/", "/api/v1/slips/{slip}/return/",
                                 "/api/v1/slips/{slip}/callbacks/"])
def test_json_nested_5000_deep_is_a_400_with_the_reason_on_every_json_endpoint(make_slip, supervisor, url):
    from rest_framework.test import APIClient

    slip = make_slip()
    client = APIClient()
    client.force_authenticate(supervisor)
    response = client.post(url.format(call=slip.call_id, slip=slip.pk), _nested(5000),
                           content_type="application/json")
    assert response.status_code == 400
    assert "32" in response.data["detail"]


def test_json_depth_counts_brackets_outside_strings_only():
    from core.parsers import json_depth

    assert json_depth('{"a": "[[[[[[", "b": [1, {"c": "\\"]]]"}]}', 10) == 3
    assert json_depth(_nested(100), 32) == 33  # counting stops past the limit


def test_an_oversized_json_body_is_refused_before_parsing(dispatcher, settings):
    from rest_framework.test import APIClient

    settings.API_JSON_MAX_BYTES = 2048
    client = APIClient()
    client.force_authenticate(dispatcher)
    response = client.post("/api/v1/calls/", '{"content": "' + "噪" * 2000 + '"}', content_type="application/json")
    assert response.status_code == 400 and "2048" in response.data["detail"]


@pytest.mark.parametrize("url", ["/review/?date=0001-01-01", "/review/?date=2025-02-30", "/review/?date=9999-12-31",
                                 "/review/calls/?date=0001-01-01&key=calls", "/grids/kpis/?from=0001-01-01",
                                 "/grids/kpis/?to=2025-02-30"])
def test_a_date_parameter_out_of_range_is_a_400_that_says_why(client, supervisor, url):
    client.force_login(supervisor)
    response = client.get(url)
    assert response.status_code == 400
    assert 'id="bad-request-reason"' in response.content.decode()


@pytest.mark.parametrize("url", ["/supervision/league/?period=monthly&day=0001-01-01",
                                 "/mediation/figures/?since=0001-01-01"])
def test_a_date_field_out_of_range_is_a_form_error_not_a_server_error(client, supervisor, url):
    client.force_login(supervisor)
    assert client.get(url).status_code == 200
