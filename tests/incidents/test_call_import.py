"""Bulk import of historical 110 calls (issue 43): a centre's own columns mapped, bad rows reported by line
and reason and skipped, the good ones in whole or not at all, a re-run adding nothing, then grids,
suggestions and the days' reviews."""

import csv
import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from core.errors import DomainError
from core.models import AuditLog
from incidents.imports.columns import guess_mapping, parse_time
from incidents.imports.services import import_follow_up, import_preview, import_run, import_set_mapping, import_upload
from incidents.models import Call, CallImport, DailyReview

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The reasons are asserted in English (the default language is Chinese)."""
    from django.utils import translation

    with translation.override("en"):
        yield

HEADER = ["接警编号", "报警时间", "报警电话", "报警人", "案发地址", "报警内容", "是否警情"]
GOOD = [
    ["J2024-0001", "2024-04-11 23:35:59", "138-0013-8000", "王女士", "中山路1号", "楼下KTV噪音扰民", "否"],
    ["J2024-0002", "2024年4月12日 08时05分", "", "", "", "有人在小区门口打架", "是"],
    ["J2024-0003", "2024/4/12 9:30", "0773-2821234", "李先生", "榕湖小区", "邻居家漏水到我家", ""],
]


def write_csv(tmp_path, rows, *, header=HEADER, encoding="utf-8", name="export.csv"):
    path = tmp_path / name
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def run(supervisor, path, **mapping):
    record = import_upload(actor=supervisor, upload=path, filename=path.name)
    if mapping:
        record = import_set_mapping(actor=supervisor, record=record, mapping={**record.mapping, **mapping})
    return import_run(actor=supervisor, record=record)


def test_the_columns_are_guessed_from_the_usual_names():
    assert guess_mapping(HEADER) == {"call_id": "接警编号", "received_at": "报警时间", "caller_phone": "报警电话",
                                     "caller_name": "报警人", "address": "案发地址", "content": "报警内容",
                                     "is_police": "是否警情"}


@pytest.mark.parametrize("raw", ["2024-04-11 23:35:59", "2024-04-11T23:35:59+08:00", "2024/4/11 23:35:59",
                                 "2024年4月11日 23时35分59秒", "2024.04.11 23:35:59"])
def test_times_in_the_usual_forms_are_local_time(raw):
    assert parse_time(raw).isoformat() == "2024-04-11T23:35:59+08:00"


def test_a_gb18030_export_is_imported_with_its_calls_as_history(supervisor, tmp_path):
    record = run(supervisor, write_csv(tmp_path, GOOD, encoding="gb18030"))

    assert (record.status, record.rows, record.imported, record.existing, record.bad) == ("done", 3, 3, 0, 0)
    assert record.encoding == "gb18030"
    first = Call.objects.get(call_id="J2024-0001")
    assert (first.caller_phone, first.caller_name, first.address, first.status) == ("13800138000", "王女士",
                                                                                   "中山路1号", "closed")
    assert first.caller_key and first.is_police is False and first.received_at.isoformat().startswith("2024-04-11T15")
    assert Call.objects.get(call_id="J2024-0002").is_police is True
    assert Call.objects.get(call_id="J2024-0003").is_police is None
    assert AuditLog.objects.filter(action="calls_import", object_id=record.pk).exists()


def test_bad_rows_are_listed_with_line_and_reason_and_the_good_ones_go_in(supervisor, tmp_path):
    rows = [
        GOOD[0],
        ["", "2024-04-11 10:00", "", "", "", "无编号", ""],  # line 3
        ["J2024-0004", "昨天晚上", "", "", "", "时间坏了", ""],  # line 4
        ["J2024-0005", "1999-12-31 23:00", "", "", "", "太早了", ""],  # line 5
        ["J2024-0006", "2099-01-01 00:00", "", "", "", "将来的", ""],  # line 6
        ["J2024-0007", "2024-04-11 10:00", "12", "", "", "号码不对", ""],  # line 7
        ["J2024-0008", "2024-04-11 10:00", "", "", "", "", ""],  # line 8
        ["J2024-0001", "2024-04-11 23:35:59", "", "", "", "同一编号", ""],  # line 9: the id of line 2
        ["J2024-0009", "2024-04-11 10:00", "", "", "", "是不是警情", "也许"],  # line 10
        GOOD[1],  # line 11
    ]
    record = run(supervisor, write_csv(tmp_path, rows))

    assert (record.rows, record.imported, record.bad) == (10, 2, 8)
    reasons = dict(record.errors)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "call id" in reasons[3] and "time" in reasons[4] and "out of range" in reasons[5]
    assert "out of range" in reasons[6] and "phone" in reasons[7] and "content" in reasons[8]
    assert reasons[9] == "the same 110 call id as line 2"
    assert sorted(Call.objects.values_list("call_id", flat=True)) == ["J2024-0001", "J2024-0002"]
    assert Call.objects.get(call_id="J2024-0001").content == "楼下KTV噪音扰民"  # the first row wins


def test_a_rerun_adds_nothing(supervisor, tmp_path):
    path = write_csv(tmp_path, GOOD)
    run(supervisor, path)
    again = run(supervisor, path)

    assert (again.status, again.imported, again.existing) == ("done", 0, 3)
    assert Call.objects.count() == 3


def test_a_centres_own_columns_are_mapped_and_an_xlsx_is_read(supervisor, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["单号", "时刻", "来电", "描述", "经度", "纬度"])
    sheet.append(["X-1", "2024-05-01 08:00", "13900000001", "电动车被偷了", 110.3, 25.28])
    path = tmp_path / "export.xlsx"
    book.save(path)

    record = import_upload(actor=supervisor, upload=path, filename="export.xlsx")
    assert record.mapping.get("call_id") is None  # 单号 is nobody's usual name: the user maps it
    with pytest.raises(DomainError, match="110 call id"):
        import_set_mapping(actor=supervisor, record=record, mapping=record.mapping)
    record = import_set_mapping(actor=supervisor, record=record, mapping={
        "call_id": "单号", "received_at": "时刻", "caller_phone": "来电", "content": "描述", "lat": "纬度",
        "lon": "经度"})
    assert import_preview(record).rows[0]["values"]["call_id"] == "X-1"
    record = import_run(actor=supervisor, record=record)

    call = Call.objects.get(call_id="X-1")
    assert record.imported == 1 and (call.lat, call.lon) == (25.28, 110.3)


def test_missing_mapped_columns_or_a_broken_file_write_nothing(supervisor, tmp_path):
    path = write_csv(tmp_path, GOOD, header=["编号", "时间", "电话", "姓名", "地址", "其他", "警情"])
    record = import_upload(actor=supervisor, upload=path, filename=path.name)
    assert record.mapping.get("content") is None
    with pytest.raises(DomainError, match="no column “报警内容”"):
        import_set_mapping(actor=supervisor, record=record, mapping={**record.mapping, "content": "报警内容"})

    garbled = tmp_path / "garbled.csv"
    garbled.write_bytes(b"\xff\xfe\x00\x01" * 100)
    with pytest.raises(DomainError, match="UTF-8"):
        import_upload(actor=supervisor, upload=garbled, filename="garbled.csv")

    # Good for the first megabyte (what the encoding is judged by), then bytes no encoding reads: the whole
    # import fails, nothing of it stays.
    noise = "楼下KTV噪音扰民，已经持续了两个小时"
    rows = [[f"J{n:06d}", "2024-04-11 10:00", "", "", "中山路1号", noise, ""] for n in range(12000)]
    late = write_csv(tmp_path, rows, name="late.csv")
    late.write_bytes(late.read_bytes() + b"J9,2024-04-11 10:00,,,,\xff\xff\xff\xff,\n" * 3)
    assert late.stat().st_size > 1 << 20
    record = import_upload(actor=supervisor, upload=late, filename="late.csv")
    record = import_run(actor=supervisor, record=record)
    assert record.status == "failed" and "nothing was imported" in record.failure
    assert Call.objects.count() == 0


def test_the_follow_up_places_suggests_and_asks_for_the_reviews(supervisor, tmp_path):
    record = run(supervisor, write_csv(tmp_path, GOOD))

    assert import_follow_up(record.pk) == 3
    noise = Call.objects.get(call_id="J2024-0001")
    assert noise.suggestions["candidates"][0]["code"] == noise.suggested_category.code
    assert Call.objects.get(call_id="J2024-0002").suggested_police is True
    assert import_follow_up(record.pk) == 0  # done: nothing left
    from incidents.review.services import daily_reviews_backfill

    daily_reviews_backfill(today=date(2024, 4, 13))
    assert DailyReview.objects.get(date=date(2024, 4, 12), scope="city").data["totals"]["calls"] == 2


def test_only_a_supervisor_imports(dispatcher, tmp_path):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        import_upload(actor=dispatcher, upload=write_csv(tmp_path, GOOD), filename="x.csv")


def test_the_command_imports_and_reports(tmp_path, capsys):
    path = write_csv(tmp_path, [*GOOD, ["J2024-0009", "不是时间", "", "", "", "坏行", ""]])
    call_command("import_calls", str(path), "--no-follow-up")
    out, err = capsys.readouterr()
    assert "3 calls imported" in out and "1 bad rows" in out and "line 5" in err
    call_command("import_calls", str(path), "--no-follow-up")
    assert "0 calls imported, 3 already there" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no column"):
        call_command("import_calls", str(path), "--map", "content=描述")
    assert CallImport.objects.filter(status="done").count() == 2
