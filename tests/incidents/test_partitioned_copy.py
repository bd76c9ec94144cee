"""The calls and audit tables partitioned by month (issue 43, README "Partitioning the calls and the audit"):
on a partitioned copy in a schema of its own, put first on the search path, the daily review gives the same
figures, a day's reads touch only its month, and intake writes there. It proves the migration path before
anyone runs it on a centre's database."""

from datetime import date, timedelta

import pytest
from django.db import connection

from incidents.models import Call
from incidents.review.services import build_figures
from incidents.services import call_intake

from .review_fixture import DAY, build_fixture_day

pytestmark = pytest.mark.django_db

SCHEMA = "fenliu_partitioned"
MONTHS = [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)]


def partition(cursor, table: str, column: str, key: str) -> None:
    """The table as the migration path makes it: the same columns, PARTITION BY RANGE on its time, the
    primary key and the call id's uniqueness widened by that time, one partition per month and a default."""
    cursor.execute(f"CREATE TABLE {SCHEMA}.{table} (LIKE public.{table} INCLUDING DEFAULTS) "
                   f"PARTITION BY RANGE ({column})")
    # PostgreSQL 15 has no identity column on a partitioned table: the id comes from the old column's sequence.
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [f"public.{table}"])
    cursor.execute(f"ALTER TABLE {SCHEMA}.{table} ALTER COLUMN id SET DEFAULT nextval('{cursor.fetchone()[0]}')")
    cursor.execute(f"ALTER TABLE {SCHEMA}.{table} ADD PRIMARY KEY (id, {column})")
    if key:
        cursor.execute(f"CREATE UNIQUE INDEX ON {SCHEMA}.{table} ({key}, {column})")
    cursor.execute(f"CREATE INDEX ON {SCHEMA}.{table} ({column})")
    for first, following in zip(MONTHS, MONTHS[1:], strict=False):
        cursor.execute(f"CREATE TABLE {SCHEMA}.{table}_{first:%Y_%m} PARTITION OF {SCHEMA}.{table} "
                       f"FOR VALUES FROM ('{first}') TO ('{following}')")
    cursor.execute(f"CREATE TABLE {SCHEMA}.{table}_default PARTITION OF {SCHEMA}.{table} DEFAULT")
    cursor.execute(f"INSERT INTO {SCHEMA}.{table} SELECT * FROM public.{table}")


@pytest.fixture
def partitioned(require_postgres, make_slip):
    build_fixture_day(make_slip)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {SCHEMA}")
        partition(cursor, "incidents_call", "received_at", "call_id")
        partition(cursor, "core_auditlog", "at", "")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET search_path TO public")


def use_partitioned():
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {SCHEMA}, public")


def test_the_review_gives_the_same_figures_on_the_partitioned_copy(partitioned):
    from django.utils import timezone

    from incidents.models import ReviewRollup

    now = timezone.now()
    plain = build_figures(DAY, now=now)
    ReviewRollup.objects.all().delete()  # every window counted again, from the partitions
    use_partitioned()
    assert build_figures(DAY, now=now) == plain


def test_a_days_reads_touch_only_its_month(partitioned):
    use_partitioned()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN SELECT count(*) FROM incidents_call WHERE received_at >= %s AND received_at < %s",
                       [DAY, DAY + timedelta(days=1)])
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "incidents_call_2025_03" in plan
    assert "incidents_call_2025_02" not in plan and "incidents_call_default" not in plan


def test_intake_writes_the_call_and_its_audit_into_the_partitions(partitioned, dispatcher):
    from datetime import datetime

    from django.utils import timezone

    use_partitioned()
    result = call_intake(actor=dispatcher, data={
        "call_id": "P-1", "received_at": timezone.make_aware(datetime(2025, 3, 12, 21, 0)),
        "caller_phone": "13800138000", "caller_name": "", "address": "", "lat": None, "lon": None,
        "content": "楼下KTV噪音扰民", "channel": "phone"})
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {SCHEMA}.incidents_call_2025_03 WHERE call_id = 'P-1'")
        assert cursor.fetchone()[0] == 1
        cursor.execute(f"SELECT count(*) FROM {SCHEMA}.core_auditlog WHERE object_id = %s AND action = 'call_intake'",
                       [result.call.pk])
        assert cursor.fetchone()[0] == 1
        cursor.execute("SET search_path TO public")
    assert not Call.objects.filter(call_id="P-1").exists()  # the plain table never saw it
