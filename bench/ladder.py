"""Benchmark: one run of the supervision ladder job over many open slips.

    python bench/ladder.py            # 100,000 open slips, PostgreSQL (DATABASE_URL)
    python bench/ladder.py --quick    # 2,000 slips; also runs on the embedded SQLite default
    python bench/ladder.py --slips N  # any size, to see that the query count does not change

It works in its own database (fenliu_bench_ladder next to the one DATABASE_URL names, created if missing;
var/bench_ladder.sqlite3 for SQLite with --quick), empties its slip and notice tables, writes the slips with
COPY (PostgreSQL) or bulk_create, then times one ladder_run() with every query captured. A quarter of the
slips are fresh, a quarter due a warning, a quarter overdue, a quarter overdue beyond the grace period.
Prints name=value lines: open_slips, seconds, queries, then notices and notice_items, then the same
figures for a second run straight after (which must raise nothing)."""

import argparse
import os
import sys
import time
from pathlib import Path

from owndb import use_own_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# The notice e-mails are sent in-process, so their queries are counted as part of the job.
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
BENCH_DB = "fenliu_bench_ladder"


def _prepare(n: int, vendor: str):
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from core.models import Role, User
    from diversion.models import Category, HandoffSlip, Notice, NoticeItem, SlipStatus
    from incidents.models import Call

    call_command("migrate", verbosity=0, interactive=False)
    if vendor == "postgresql":
        tables = [NoticeItem, Notice, HandoffSlip, Call]
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE " + ", ".join(m._meta.db_table for m in tables) + " CASCADE")
    user, _created = User.objects.get_or_create(username="bench-dispatcher", defaults={"role": Role.DISPATCHER})
    now = timezone.now()
    calls_wanted = max(1, n // 100)
    Call.objects.bulk_create([
        Call(call_id=f"BENCH{i:08d}", received_at=now, caller_phone=f"139{i:08d}", content="基准测试",
             status="diverted")
        for i in range(calls_wanted)
    ], batch_size=5000)
    call_ids = list(Call.objects.values_list("pk", flat=True))
    categories = list(Category.objects.select_related("default_department", "time_limit_class")
                      .exclude(time_limit_class__code="major_urgent"))
    ages = [timedelta(hours=50), timedelta(hours=150), timedelta(hours=180), timedelta(hours=220)]
    statuses = [SlipStatus.ISSUED, SlipStatus.ACCEPTED]

    def slip(i):
        cat = categories[i % len(categories)]
        issued = now - ages[i % 4]
        return HandoffSlip(year=1999, number=i + 1, call_id=call_ids[i % len(call_ids)], category=cat,
                           department_id=cat.default_department_id, status=statuses[i % 2], issued_by=user,
                           issued_at=issued, deadline=issued + timedelta(hours=168))

    if vendor != "postgresql":
        HandoffSlip.objects.bulk_create((slip(i) for i in range(n)), batch_size=2000)
        return
    fields = [f for f in HandoffSlip._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {HandoffSlip._meta.db_table} ({columns}) FROM STDIN") as copy:
            for i in range(n):
                obj = slip(i)
                copy.write_row([f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields])
        cursor.execute(f"ANALYZE {HandoffSlip._meta.db_table}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 slips, in well under a minute")
    parser.add_argument("--slips", type=int, help="how many open slips (default 100,000, or 2,000 with --quick)")
    args = parser.parse_args()
    n = args.slips or (2_000 if args.quick else 100_000)
    vendor = use_own_database(BENCH_DB, sqlite_ok=args.quick, fresh=True)

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from diversion.models import HandoffSlip, Notice, NoticeItem
    from diversion.supervision.services import LADDER_STATUSES, ladder_run

    _prepare(n, vendor)
    open_slips = HandoffSlip.objects.filter(status__in=LADDER_STATUSES).count()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        ladder_run()
        seconds = time.perf_counter() - started
    print(f"open_slips={open_slips}")
    print(f"seconds={seconds:.3f}")
    print(f"queries={len(queries)}")
    print(f"notices={Notice.objects.count()}")
    print(f"notice_items={NoticeItem.objects.count()}")
    # Steady state: the next run (a few minutes later in production) finds everything already raised.
    with CaptureQueriesContext(connection) as again:
        started = time.perf_counter()
        raised = ladder_run()
        seconds = time.perf_counter() - started
    print(f"second_run_seconds={seconds:.3f}")
    print(f"second_run_queries={len(again)}")
    print(f"second_run_notices={sum(raised.values())}")


if __name__ == "__main__":
    main()
