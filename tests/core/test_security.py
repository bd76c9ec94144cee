"""Issue 33: the holes an attacker's and a careless client's testing found, one test (or more) per finding."""

import pytest
from django.urls import reverse

from diversion import services as slip_services
from incidents import services as call_services
from tests.factories import UserFactory, category

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
    for name in ("slip-detail", "slip-print"):
        response = client.get(reverse(name, args=[first.pk]))
        assert response.status_code == 200 and first.serial in response.content.decode()
        assert "张三" not in response.content.decode()
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
def test_json_nested_5000_deep_is_a_400_with_the_reason_on_every_json_endpoint(make_slip, supervisor, staff_a, url):
    from rest_framework.test import APIClient

    slip = make_slip()
    client = APIClient()
    # A slip's return is the department's (others are refused before the body is read).
    client.force_authenticate(staff_a if url.endswith("/return/") else supervisor)
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


# --- HTTPS deployment from the environment, sessions ----------------------------------------------------------

PRODUCTION = {
    "DEBUG": "0", "FENLIU_REQUIRE_SECRET_KEY": "1",
    "SECRET_KEY": "k8Vq2-production-secret-with-enough-length-and-variety-9xZ!pL3#wR7&mN4$",
    "ALLOWED_HOSTS": "fenliu.example.gov.cn", "CSRF_TRUSTED_ORIGINS": "https://fenliu.example.gov.cn",
    "SECURE_SSL_REDIRECT": "1", "SECURE_HSTS_SECONDS": "31536000", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SESSION_COOKIE_SECURE": "1", "CSRF_COOKIE_SECURE": "1", "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}


def _manage(tmp_path, *args, **env):
    import os
    import subprocess
    import sys

    from tests.core.test_settings_env import _SETTINGS_VARS, PROJECT_ROOT

    clean = {k: v for k, v in os.environ.items()
             if k not in _SETTINGS_VARS + tuple(PRODUCTION) + ("DJANGO_ALLOW_ASYNC_UNSAFE",)}
    clean.update(FENLIU_VAR_DIR=str(tmp_path / "var"), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=clean, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_with_the_documented_production_variables(tmp_path):
    proc = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "System check identified no issues" in proc.stdout
    # And without them it warns about exactly what the README tells production to set.
    bare = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=PRODUCTION["SECRET_KEY"])
    assert bare.returncode != 0
    for warning in ("W004", "W008", "W012", "W016"):
        assert f"security.{warning}" in bare.stdout + bare.stderr


@pytest.mark.parametrize("name, value", [("SECURE_HSTS_SECONDS", "a year"), ("SECURE_SSL_REDIRECT", "sure"),
                                         ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto"),
                                         ("SECURE_PROXY_SSL_HEADER", "X_FORWARDED_PROTO,https"),
                                         ("SESSION_COOKIE_AGE", "0"), ("CACHE_URL", "memcached://x"),
                                         ("API_THROTTLE_RATE", "lots"), ("EVENT_TIME_EARLIEST", "2000")])
def test_a_malformed_production_variable_stops_start_up_naming_it(tmp_path, name, value):
    proc = _manage(tmp_path, "check", **{name: value})
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr and name in proc.stderr


def test_the_session_ends_when_the_browser_closes(client, dispatcher):
    response = client.post(reverse("login"), {"username": "dispatcher", "password": "pw-for-tests-1"})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert not cookie["max-age"] and not cookie["expires"]  # a browser-session cookie
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_pages_send_a_content_security_policy_and_refuse_framing(client, dispatcher):
    client.force_login(dispatcher)
    response = client.get(reverse("dispatch-workbench"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "frame-ancestors 'none'" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.content.decode()
    assert response["X-Frame-Options"] == "DENY"


# --- Login throttling by address; API throttled per token ---------------------------------------------------

def test_password_spraying_from_one_address_is_stopped_whatever_the_usernames(client, dispatcher, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 5
    for n in range(5):  # one try each on five different users: no per-user lock is reached
        UserFactory(username=f"u{n}")
        assert client.post(reverse("login"), {"username": f"u{n}", "password": "guess"}).status_code == 200
    # The right password of a sixth user from the same address is refused now.
    response = client.post(reverse("login"), {"username": "dispatcher", "password": "pw-for-tests-1"})
    assert response.status_code == 429 and 'id="locked-by-address"' in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is not affected.
    other = client.post(reverse("login"), {"username": "dispatcher", "password": "pw-for-tests-1"},
                        REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 302


def test_the_api_is_throttled_per_token(dispatcher, supervisor, settings):
    from django.core.cache import cache
    from rest_framework.authtoken.models import Token
    from rest_framework.settings import api_settings
    from rest_framework.test import APIClient
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "token": "3/min"}
    old = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    cache.clear()
    try:
        first = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=dispatcher).key}")
        second = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=supervisor).key}")
        assert [first.get("/api/v1/slips/").status_code for _ in range(4)] == [200, 200, 200, 429]
        assert "Retry-After" in first.get("/api/v1/slips/")
        assert second.get("/api/v1/slips/").status_code == 200  # its own allowance
    finally:
        SimpleRateThrottle.THROTTLE_RATES = old


# --- The audit log is append-only in PostgreSQL ------------------------------------------------------------

@pytest.mark.parametrize("statement", ["UPDATE core_auditlog SET reason = 'rewritten' WHERE id = %s",
                                       "DELETE FROM core_auditlog WHERE id = %s"])
def test_postgresql_refuses_to_change_or_delete_an_audit_row(require_postgres, make_call, statement):
    from django.db import IntegrityError, connection, transaction

    from core.models import AuditLog

    row = AuditLog.objects.filter(call=make_call()).first()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [row.pk])
    row.refresh_from_db()
    assert row.reason != "rewritten"
    # Through the ORM too, whatever the caller.
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=row.pk).update(reason="rewritten")
    assert AuditLog.objects.filter(pk=row.pk, reason="rewritten").count() == 0


# --- Issue 34: a NUL character (0x00) is refused as bad input wherever it comes in ----------------------------

def test_a_nul_in_a_json_body_is_a_400_not_a_server_error(make_call, dispatcher):
    """Found by the schema fuzz: a sub-category code holding a NUL reached PostgreSQL (500)."""
    from rest_framework.test import APIClient

    call = make_call()
    client = APIClient()
    client.force_authenticate(dispatcher)
    response = client.post(f"/api/v1/calls/{call.pk}/classify/",
                           {"decision": "non_police", "version": call.version, "category": "C0\x001"}, format="json")
    assert response.status_code == 400 and "0x00" in response.json()["detail"]
    call.refresh_from_db()
    assert call.status == "new" and call.category_id is None


def test_a_nul_in_a_form_or_a_query_string_is_a_400_before_any_view(client, make_call, dispatcher):
    call = make_call()
    client.force_login(dispatcher)
    form = client.post(f"/dispatch/calls/{call.pk}/classify/", {"decision": "non_police", "category": "C\x0001"})
    assert form.status_code == 400 and "0x00" in form.content.decode()
    assert client.get("/calls/?status=new%00").status_code == 400
    api = client.post(f"/api/v1/calls/{call.pk}/classify/", {"decision": "police", "version": "0", "unit": "1\x00"})
    assert api.status_code == 400 and api.json()["code"] == "bad_request"
    call.refresh_from_db()
    assert call.status == "new"
