"""Deadlines in working days, accountability records, and the periodic reports: stored, re-run in place,
printable, exported to Excel."""

from datetime import date, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from diversion.models import AccountabilityRecord, Holiday, NoticeKind, Report, ReportKind, TimeLimitClass
from diversion.services import slip_accept
from diversion.supervision.deadlines import add_working_days, deadline_for
from diversion.supervision.reports import period_of, report_generate
from diversion.supervision.services import accountability_record, notice_issue
from diversion.supervision.tasks import report_generate_due
from tests.factories import category

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


# --- Deadlines ---------------------------------------------------------------------------------------------

def test_hour_classes_add_clock_hours():
    urgent = TimeLimitClass.objects.get(code="major_urgent")
    issued = datetime(2025, 10, 1, 23, 30, tzinfo=TZ)
    assert deadline_for(issued, urgent) == issued + timedelta(hours=2)


def test_working_day_classes_skip_weekends_and_holidays_and_count_makeup_days():
    # National Day 2025: 1–8 October off; Sunday 28 September and Saturday 11 October worked.
    for d in range(1, 9):
        Holiday.objects.create(date=date(2025, 10, d), name="国庆节")
    Holiday.objects.create(date=date(2025, 9, 28), kind=Holiday.Kind.WORKDAY, name="国庆调休")
    Holiday.objects.create(date=date(2025, 10, 11), kind=Holiday.Kind.WORKDAY, name="国庆调休")

    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)  # Friday → the worked Sunday
    assert add_working_days(date(2025, 9, 29), 3) == date(2025, 10, 10)  # Mon → Tue 30, Thu 9, Fri 10
    assert add_working_days(date(2025, 10, 9), 3) == date(2025, 10, 13)  # Fri 10, Sat 11 worked, Mon 13

    request = TimeLimitClass.objects.get(code="request")
    request.unit, request.deadline_working_days = TimeLimitClass.Unit.WORKING_DAYS, 3
    request.save()
    issued = datetime(2025, 9, 29, 15, 0, tzinfo=TZ)
    assert deadline_for(issued, request) == datetime(2025, 10, 11, 0, 0, tzinfo=TZ)


def test_a_slip_of_a_working_day_class_gets_its_deadline_from_the_calendar(make_slip):
    c01 = category("C01")
    complaint = c01.time_limit_class
    complaint.unit, complaint.deadline_working_days = TimeLimitClass.Unit.WORKING_DAYS, 5
    complaint.save()
    with time_machine.travel(datetime(2025, 3, 7, 10, 0, tzinfo=TZ), tick=False):  # a Friday
        slip = make_slip()
    assert slip.deadline == datetime(2025, 3, 15, 0, 0, tzinfo=TZ)  # Mon 10 … Fri 14, to midnight


# --- Accountability ----------------------------------------------------------------------------------------

def test_a_reminder_talk_is_recorded_with_the_notices_behind_it(make_slip, supervisor, dept_a, dept_b, staff_a):
    notice = notice_issue(actor=supervisor, kind=NoticeKind.RECTIFICATION, department=dept_a,
                          slips=[make_slip()], reason="逾期未办结")
    record = accountability_record(actor=supervisor, kind=AccountabilityRecord.Kind.REMINDER_TALK,
                                   department=dept_a, person="李科长", occurred_on=date(2025, 3, 10),
                                   summary="就逾期办理进行提醒谈话", notices=[notice])
    assert list(record.notices.all()) == [notice]
    assert list(notice.accountability_records.all()) == [record]
    from core.errors import DomainError

    with pytest.raises(DomainError):
        accountability_record(actor=supervisor, kind="held_to_account", department=dept_b,
                              occurred_on=date(2025, 3, 10), summary="x", notices=[notice])
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        accountability_record(actor=staff_a, kind="reminder_talk", department=dept_a,
                              occurred_on=date(2025, 3, 10), summary="x")


# --- Reports -----------------------------------------------------------------------------------------------

def test_periods_are_calendar_weeks_months_and_quarters():
    assert period_of(ReportKind.WEEKLY, date(2025, 3, 5)) == (date(2025, 3, 3), date(2025, 3, 10))
    assert period_of(ReportKind.MONTHLY, date(2025, 12, 31)) == (date(2025, 12, 1), date(2026, 1, 1))
    assert period_of(ReportKind.QUARTERLY, date(2025, 5, 20)) == (date(2025, 4, 1), date(2025, 7, 1))
    assert period_of(ReportKind.DAILY_CALLBACKS, date(2025, 5, 20)) == (date(2025, 5, 20), date(2025, 5, 21))


def test_a_quarterly_listing_names_the_lowest_ranked_and_a_rerun_replaces_it(make_slip, staff_a, dept_b,
                                                                            settings, supervisor):
    settings.SUPERVISION_LISTED_DEPARTMENTS = 1
    with time_machine.travel(datetime(2025, 2, 3, 9, 0, tzinfo=TZ), tick=False):
        good = make_slip(department=dept_b)
        make_slip()  # department A never accepts
    with time_machine.travel(datetime(2025, 2, 3, 9, 5, tzinfo=TZ), tick=False):
        from tests.conftest import UserFactory

        slip_accept(actor=UserFactory(username="staff_b", role="department", department=dept_b), slip_pk=good.pk)
    with time_machine.travel(datetime(2025, 4, 1, 7, 30, tzinfo=TZ), tick=False):
        report_generate_due.delay("quarterly").get()
        first = Report.objects.get(kind=ReportKind.QUARTERLY)
        assert (first.period_start, first.period_end) == (date(2025, 1, 1), date(2025, 4, 1))
        assert first.generated_by is None
        assert [r["code"] for r in first.data["league"] if r["rank"] is not None] == ["CGJ", "STJ"]
        assert {r["rank"] for r in first.data["league"][2:]} == {None}  # the others: no slips, not ranked
        assert [r["code"] for r in first.data["listed"]] == ["STJ"]
        assert first.data["totals"]["issued"] == 2

        again = report_generate(actor=supervisor, kind=ReportKind.QUARTERLY, day=date(2025, 2, 1))
    assert Report.objects.filter(kind=ReportKind.QUARTERLY).count() == 1
    assert again.pk == first.pk and again.generated_by == supervisor


def test_reports_are_generated_on_demand_printed_and_exported_to_excel(client, make_slip, supervisor):
    make_slip()
    client.force_login(supervisor)
    today = date.today().isoformat()
    response = client.post("/supervision/reports/", {"kind": "weekly", "day": today})
    report = Report.objects.get(kind="weekly")
    assert response.status_code == 302 and response["Location"] == f"/supervision/reports/{report.pk}/"

    page = client.get(f"/supervision/reports/{report.pk}/")
    assert page.status_code == 200 and 'id="league-table"' in page.content.decode()

    export = client.get(f"/supervision/reports/{report.pk}/export.xlsx")
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(BytesIO(export.content))
    league = workbook.worksheets[1]
    assert [c.value for c in league[2]][1] == "STJ"

    client.post("/supervision/reports/", {"kind": "daily", "day": today})
    daily = Report.objects.get(kind="daily")
    assert "due" in daily.data and "done" in daily.data
    assert len(load_workbook(BytesIO(client.get(f"/supervision/reports/{daily.pk}/export.xlsx").content))
               .worksheets) == 3


def test_department_staff_cannot_see_reports_or_the_league_table(client, staff_a):
    client.force_login(staff_a)
    assert client.get("/supervision/reports/").status_code == 403
    assert client.get("/supervision/league/").status_code == 403
    assert client.get("/supervision/").status_code == 403
