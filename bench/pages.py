"""Benchmark: the list pages at a city's scale (issue 42), server time per page in PostgreSQL.

    python bench/pages.py            # 5,000,000 calls and 1,000,000 slips over a year (first 1,000,000 calls)
    python bench/pages.py --quick    # 500,000 calls and 100,000 slips (first 100,000 calls)

It works in its own database, fenliu_bench_pages (fenliu_bench_pages_quick for --quick), next to the
PostgreSQL database DATABASE_URL names: dropped, created and migrated on every run. A generator loads the
calls and slips with COPY, newest first: a live queue of 150 calls, a fifth of the calls diverted on slips
spread over the catalog's departments (issued and accepted in the last hours and days, completed awaiting
a callback this week, closed before that, a few returned), two fifths with the police, the rest closed.

The pages are timed twice: after the newest fifth of the history is loaded (1,000,000 calls at full size),
then after the rest (a year: 5,000,000). The present (queue, open slips) is the same in both, so any
difference is the cost of history. Each page is fetched in-process with Django's test client (server time:
middleware, queries, templates; no network) WARM times, then timed in RUNS rounds over all the pages.

Pages: the dispatcher's workbench and its queue partial, the call list (all, and one status), the
department inbox on each tab (as the busiest department's staff), the slips API's first page and a page
100 `next` links deep, for the department and for the centre. Besides them, the department's own figures
on the inbox as computed when their two-minute cache has lapsed (`inbox_figures`: part of one inbox
request in two minutes, not a page).

Prints name=value lines: `<page>_p50_ms` and `<page>_p95_ms` at the full size; `keyset_p50_ms` (the bare
keyset query of one page of a department's slips); `worst_page` and `worst_p95_ms`; `target_p95_ms=100`
and `within_target` (worst p95 over 100 ms: at most 1 meets the issue's target); `growth_ratio` (the
worst page's p95 at full size over its p95 at a fifth; target at most 1.5), `growth_ratio_max` and
`growth_p50_ratio_max` (the largest such ratio of p95s, and of p50s, over every page); `inbox_figures_p50_ms`
and `inbox_figures_p95_ms`."""

import argparse
import gc
import io
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from copyload import copy_calls_and_slips, set_sequences, vacuum_analyze
from owndb import use_own_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

DAYS = 365
QUEUE = 150
WARM, RUNS = 3, 40
N = "\\N"


class Generator:
    """Calls newest first, one every DAYS × 86400 / calls seconds; call i's slip (every fifth call) is as
    old as the call."""

    def __init__(self, *, calls: int, seed: int = 42):
        self.calls = calls
        self.step = DAYS * 86400 / calls
        self.rnd = random.Random(seed)
        self.slips = 0

    def load_reference(self):
        from django.utils import timezone

        from core.models import Role, User
        from diversion.models import Category
        from grids.demo import generate_collection
        from grids.models import Grid
        from grids.services import grids_import_geojson

        self.now = timezone.now()
        grids_import_geojson(actor=None, data=generate_collection(large=6), filename="bench")
        self.micros = list(Grid.objects.filter(level="micro").values_list("id", flat=True))
        self.cats = list(Category.objects.filter(default_department__isnull=False).order_by("code")
                         .values_list("id", "default_department_id", "time_limit_class__deadline_hours"))
        self.dispatcher = User.objects.create(username="bench-dispatcher", role=Role.DISPATCHER)
        self.supervisor = User.objects.create(username="bench-supervisor", role=Role.SUPERVISOR)
        # The busiest department: the one the most sub-categories default to.
        depts = [d for _c, d, _h in self.cats]
        busiest = max(set(depts), key=depts.count)
        self.department = User.objects.create(username="bench-department", role=Role.DEPARTMENT,
                                              department_id=busiest)

    def rows(self, first: int, last: int, calls, slips):
        """Calls first..last-1 (0 is the newest) and their slips, as COPY text."""
        rnd, now, tz_step = self.rnd, self.now, self.step
        for i in range(first, last):
            cid = i + 1
            when = now - timedelta(seconds=i * tz_step + rnd.random() * tz_step)
            ts = when.isoformat()
            cat_id, dept, hours = self.cats[rnd.randrange(len(self.cats))]
            micro = self.micros[rnd.randrange(len(self.micros))] if rnd.random() > 0.03 else N
            kind = i % 10
            phone = f"138{rnd.randrange(10 ** 8):08d}"
            if i < QUEUE:
                status, police, category, classified = ("returned" if i % 25 == 7 else "new"), N, N, N
            elif kind in (0, 5):
                status, police, category, classified = "diverted", "f", cat_id, ts
            elif kind in (1, 2, 3, 4):
                status, police, category, classified = "assigned", "t", N, ts
            else:
                status, police, category, classified = "closed", "f", cat_id, ts
            calls.write(f"{cid}\tP{cid:09d}\t{ts}\t{phone}\t\t某区某路{i % 997}号\t"
                        f"来电反映{i % 13}号楼噪音扰民，请求处理\tphone\t{micro}\t{status}\t{ts}\t{{}}\t"
                        f"{'t' if kind in (1, 2, 3, 4) else 'f'}\t{{}}\t{police}\t{category}\t0\t{cat_id}\t1\t"
                        f"k{phone}\t{classified}\n")
            if status != "diverted":
                continue
            self.slips += 1
            age = i * tz_step
            deadline = when + timedelta(hours=hours)
            accepted = completed = closed = returned = N
            if rnd.random() < 0.03:
                slip_status, returned = "returned", (when + timedelta(minutes=20)).isoformat()
            elif age < 6 * 3600 and rnd.random() < 0.5:
                slip_status = "issued"
            elif age < 2 * 86400:
                slip_status, accepted = "accepted", (when + timedelta(minutes=15)).isoformat()
            elif age < 5 * 86400:
                slip_status, accepted = "completed", (when + timedelta(minutes=15)).isoformat()
                completed = (when + timedelta(hours=hours / 2)).isoformat()
            else:
                slip_status, accepted = "closed", (when + timedelta(minutes=15)).isoformat()
                completed = (when + timedelta(hours=hours / 2)).isoformat()
                closed = (when + timedelta(hours=hours)).isoformat()
            slips.write(f"{self.slips}\t{when.year}\t{self.slips}\t{cid}\t{cat_id}\t{dept}\t{slip_status}\t\t"
                        f"{self.dispatcher.pk}\t{ts}\t{deadline.isoformat()}\t{ts}\t{accepted}\t\t{returned}\t"
                        f"\t\t{completed}\t{closed}\t{'satisfied' if closed != N else ''}\t0\n")

    def load(self, first: int, last: int):
        from django.db import connection

        connection.ensure_connection()
        raw = connection.connection
        chunk = 200_000
        for start in range(first, last, chunk):
            calls, slips = io.StringIO(), io.StringIO()
            self.rows(start, min(last, start + chunk), calls, slips)
            copy_calls_and_slips(raw, calls.getvalue(), slips.getvalue())
        set_sequences(raw, self.calls + 1, self.slips + 1)
        vacuum_analyze(raw)
        with raw.cursor() as c:
            c.execute("CHECKPOINT")  # the load's dirty pages written now, not during the timings
        settle()


def settle(limit_s: float = 180):
    """Wait until no autovacuum worker is at work in this database: the load's aftermath (an analyze the
    statistics counters ask for a moment after ours) is not what a page costs in a running city."""
    from django.db import connection

    deadline = time.monotonic() + limit_s
    time.sleep(3)
    with connection.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' "
                        "AND datname = current_database()")
            if not cur.fetchone()[0]:
                return
            time.sleep(1)


def time_pages(pages: dict) -> dict[str, list[float]]:
    """Each page WARM times, then RUNS rounds over all the pages, one GET of each per round: a passing
    disturbance (the database's background work, a collection) spreads over every page instead of landing
    on whichever page was being timed."""
    gc.collect()
    for client, url in pages.values():
        for _ in range(WARM):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
    times = {name: [] for name in pages}
    for _ in range(RUNS):
        for name, (client, url) in pages.items():
            t0 = time.perf_counter()
            client.get(url)
            times[name].append(1000 * (time.perf_counter() - t0))
    return times


def deep_url(client, url: str, depth: int) -> str:
    """The URL `depth` next links after `url` (the API's own links, whatever its pagination)."""
    for _ in range(depth):
        nxt = client.get(url).json().get("next")
        if not nxt:
            break
        url = nxt.replace("http://testserver", "")
    return url


def measure(gen: Generator) -> dict[str, list[float]]:
    from django.test import Client

    from core.heap import freeze_loaded

    freeze_loaded()  # as config.wsgi and config.asgi do once the application is loaded

    from incidents.models import Call

    clients = {}
    for name in ("dispatcher", "department", "supervisor"):
        clients[name] = Client()
        clients[name].force_login(getattr(gen, name))
    queued = Call.objects.filter(status="new").order_by("-received_at").values_list("pk", flat=True).first()
    pages = {
        "workbench": ("dispatcher", "/dispatch/"),
        "queue_partial": ("dispatcher", f"/dispatch/queue/?selected={queued}"),
        "call_list": ("dispatcher", "/calls/"),
        "call_list_closed": ("dispatcher", "/calls/?status=closed"),
    }
    for tab in ("todo", "doing", "done", "returned"):
        pages[f"inbox_{tab}"] = ("department", f"/department/?tab={tab}")
    pages["slips_api"] = ("department", "/api/v1/slips/")
    pages["slips_api_deep"] = ("department", deep_url(clients["department"], "/api/v1/slips/", 100))
    pages["slips_api_centre"] = ("supervisor", "/api/v1/slips/")
    pages["slips_api_centre_deep"] = ("supervisor", deep_url(clients["supervisor"], "/api/v1/slips/", 100))
    times = time_pages({name: (clients[who], url) for name, (who, url) in pages.items()})
    times["inbox_figures"] = figures_ms()
    return times


def figures_ms() -> list[float]:
    """The department's own figures on the inbox, computed as when their cache has lapsed (once every
    FIGURE_CACHE_SECONDS, for one of the department's users)."""
    from django.utils import timezone

    from diversion.supervision.scores import _figure_rows

    times = []
    for i in range(WARM + RUNS // 4):
        t0 = time.perf_counter()
        _figure_rows(timezone.now())
        if i >= WARM:
            times.append(1000 * (time.perf_counter() - t0))
    return times


def keyset_ms(gen: Generator) -> float:
    """The bare query of one page: a department's 50 newest slips after a given (issued_at, id)."""
    from django.db import connection

    times = []
    with connection.cursor() as cur:
        cur.execute("SELECT issued_at, id FROM diversion_handoffslip WHERE department_id = %s "
                    "ORDER BY issued_at DESC, id DESC OFFSET 5000 LIMIT 1", [gen.department.department_id])
        after = cur.fetchone()
        for _ in range(WARM + RUNS):
            t0 = time.perf_counter()
            cur.execute("SELECT * FROM diversion_handoffslip WHERE department_id = %s AND (issued_at, id) < (%s, %s) "
                        "ORDER BY issued_at DESC, id DESC LIMIT 50", [gen.department.department_id, *after])
            cur.fetchall()
            times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times[WARM:])


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500,000 calls and 100,000 slips")
    args = parser.parse_args()
    calls = 500_000 if args.quick else 5_000_000
    use_own_database("fenliu_bench_pages_quick" if args.quick else "fenliu_bench_pages", sqlite_ok=False, fresh=True)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    gen = Generator(calls=calls)
    gen.load_reference()
    t0 = time.perf_counter()
    gen.load(0, calls // 5)
    small = measure(gen)
    gen.load(calls // 5, calls)
    generate_seconds = time.perf_counter() - t0
    full = measure(gen)

    if os.environ.get("BENCH_TRACE"):
        for name, times in full.items():
            print(name, [round(t) for t in sorted(times)[-5:]], "slowest in round", times.index(max(times)),
                  file=sys.stderr)
    for name, times in full.items():
        print(f"{name}_p50_ms={statistics.median(times):.1f}")
        print(f"{name}_p95_ms={p95(times):.1f}")
    full.pop("inbox_figures")  # not a page: a part of the inbox's time once every two minutes
    worst = max(full, key=lambda name: p95(full[name]))
    print(f"keyset_p50_ms={keyset_ms(gen):.2f}")
    print(f"worst_page={worst}")
    print(f"worst_p95_ms={p95(full[worst]):.1f}")
    print("target_p95_ms=100")
    print(f"within_target={p95(full[worst]) / 100:.2f}")
    print(f"growth_ratio={p95(full[worst]) / p95(small[worst]):.2f}")
    print(f"growth_ratio_max={max(p95(full[n]) / p95(small[n]) for n in full):.2f}")
    print(f"growth_p50_ratio_max={max(statistics.median(full[n]) / statistics.median(small[n]) for n in full):.2f}")
    print(f"calls={calls}")
    print(f"slips={gen.slips}")
    print(f"generate_seconds={generate_seconds:.1f}")


if __name__ == "__main__":
    main()
