"""Benchmark: importing a historical 110 export (issue 43), against a bare COPY of the same file.

    python bench/import.py            # 1,000,000 rows
    python bench/import.py --quick    # 100,000 rows

It works in its own database, fenliu_bench_import (fenliu_bench_import_quick for --quick), next to the
PostgreSQL database DATABASE_URL names: dropped, created and migrated on every run. It writes a CSV export
in a 110 system's layout (接警编号, 报警时间, 报警电话, 报警人, 案发地址, 报警内容, 是否警情) of calls over a
year, their texts those of real 110 call notes (../shared/data/calls/police_110_dev.csv when it is beside the
repository), one row in a thousand bad (no time, a broken phone number) and one in a thousand repeating an
earlier call id. Then, in one run:

- bare COPY: `COPY … FROM STDIN (FORMAT csv, HEADER)` of the file into a table of text columns, no checks;
- the import as `manage.py import_calls` does it (incidents.imports.services: the upload, each row read and
  checked, COPY into staging, the file's own duplicates refused, INSERT … ON CONFLICT into the calls);
- the same import again, which must add nothing.

Prints name=value lines: `rows`, `rows_per_s` (the import), `copy_rows_per_s` (bare COPY), `ratio` (target at
least 0.33), `import_seconds`, `copy_seconds`, `read_check_stage_seconds` and `insert_seconds` (the run's two
phases: the file read, checked and COPYed to staging; then the one INSERT into the calls table, which keeps its
18 indexes up to date), `ratio_without_insert`, `imported`, `bad`, `rerun_imported` (0), `rerun_rows_per_s`.
The background follow-up (grids and suggestions) is not part of these figures."""

import argparse
import csv
import logging
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from owndb import use_own_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

NOTES = ROOT.parent / "shared" / "data" / "calls" / "police_110_dev.csv"
HEADER = ["接警编号", "报警时间", "报警电话", "报警人", "案发地址", "报警内容", "是否警情"]
FALLBACK = ["楼下KTV噪音扰民", "有人在小区门口打架", "邻居家漏水到我家", "电动车被偷了", "路口两车相撞有人受伤"]


def texts() -> list[str]:
    if not NOTES.exists():
        return FALLBACK
    with NOTES.open(encoding="utf-8") as f:
        return [row["text"][:2000] for row in csv.DictReader(f) if row.get("text")]


def write_export(path: Path, rows: int, seed: int = 43) -> int:
    """The export file; returns how many rows are bad or repeat an id (the import must refuse them)."""
    rnd = random.Random(seed)
    notes = texts()
    start = datetime(2025, 1, 1)
    step = 365 * 86400 / rows
    refused = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for n in range(rows):
            call_id = f"110-{n:08d}"
            when = (start + timedelta(seconds=n * step)).strftime("%Y-%m-%d %H:%M:%S")
            phone = f"1{rnd.randint(3, 9)}{rnd.randint(0, 999_999_999):09d}"
            if n % 1000 == 999:
                when, refused = "", refused + 1
            elif n % 1000 == 500:
                call_id, refused = f"110-{n - 1:08d}", refused + 1
            out.writerow([call_id, when, phone, "", f"中山路{rnd.randint(1, 400)}号", rnd.choice(notes),
                          rnd.choice(("是", "否", ""))])
    return refused


def bare_copy(path: Path) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_export")
        cursor.execute("CREATE TABLE bench_export (call_id text, received_at text, phone text, name text, "
                       "address text, content text, police text)")
        t0 = time.perf_counter()
        with cursor.cursor.copy("COPY bench_export FROM STDIN (FORMAT csv, HEADER true)") as copy, path.open("rb") as f:
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        return time.perf_counter() - t0


class Phases(logging.Handler):
    """The service's own split of a run: rows read, checked and staged; calls inserted (index upkeep)."""

    def __init__(self):
        super().__init__()
        self.last = None

    def emit(self, record):
        if record.msg.startswith("import:"):
            self.last = record.args  # rows, read seconds, inserted, insert seconds


PHASES = Phases()


def import_file(path: Path):
    from incidents.imports.services import import_run, import_upload

    t0 = time.perf_counter()
    record = import_upload(actor=None, upload=path, filename=path.name)
    record = import_run(actor=None, record=record)
    return record, time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows")
    args = parser.parse_args()
    rows = 100_000 if args.quick else 1_000_000
    use_own_database("fenliu_bench_import_quick" if args.quick else "fenliu_bench_import", sqlite_ok=False,
                     fresh=True)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    path = ROOT / "var" / f"bench-export-{rows}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    refused = write_export(path, rows)
    copy_seconds = bare_copy(path)
    logger = logging.getLogger("incidents.imports.services")
    logger.setLevel(logging.INFO)
    logger.addHandler(PHASES)
    record, seconds = import_file(path)
    _rows, read_seconds, _inserted, insert_seconds = PHASES.last
    assert record.status == "done", record.failure
    assert record.bad == refused, (record.bad, refused)
    again, rerun_seconds = import_file(path)
    path.unlink()

    print(f"rows={rows}")
    print(f"rows_per_s={rows / seconds:.0f}")
    print(f"copy_rows_per_s={rows / copy_seconds:.0f}")
    print(f"ratio={copy_seconds / seconds:.2f}")
    print("target_ratio=0.33")
    print(f"import_seconds={seconds:.1f}")
    print(f"copy_seconds={copy_seconds:.1f}")
    print(f"read_check_stage_seconds={read_seconds:.1f}")
    print(f"insert_seconds={insert_seconds:.1f}")
    print(f"ratio_without_insert={copy_seconds / read_seconds:.2f}")
    print(f"imported={record.imported}")
    print(f"bad={record.bad}")
    print(f"rerun_imported={again.imported}")
    print(f"rerun_rows_per_s={rows / rerun_seconds:.0f}")


if __name__ == "__main__":
    main()
