"""Benchmark: the daily review (警情日研判) over a year of synthetic calls in PostgreSQL.

    python bench/daily_review.py            # 365 days × 10,000 calls (3.65 million), 30/180/2160 grids
    python bench/daily_review.py --quick    # 30 days × 2,000 calls, 6/36/432 grids (under a minute)

It works in its own database, fenliu_bench_review (fenliu_bench_review_quick for --quick), next to the
PostgreSQL database DATABASE_URL names: dropped, created and migrated on every run. A generator loads the
calls with COPY: a realistic hour-of-day profile, background calls spread over the micro grids with a
skew, about half the non-police calls diverted on slips (a few returned, reopened or late), and planted
items on one target day whose exact figures the generator knows: repeat callers (2 calls on the day; 1 on
the day + 2 in the six days before), clusters (3 or 4 calls of one sub-category in one micro grid within
90 minutes) and hotspots (5–9 non-police calls in one micro grid, spread out, with a known count the day
before). Background calls never touch the planted grids or phones, so those counts are exact.

Then it builds the target day's review (incidents.review.services.daily_review_build, the production builder;
best of 3), computes the same figures with plain SQL written here (best of 3) and prints the ratio, checks
the planted items were found with their exact counts, rebuilds every day of the year, and times the
dashboard for the target day rendered from the stored review (Django test client, mean of 5 after one
warm-up). Prints name=value lines: calls, review_seconds, sql_seconds, ratio, planted_found,
year_rebuild_seconds, dashboard_ms (and a few more: slips, days, planted, generate_seconds)."""

import argparse
import io
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from copyload import copy_calls_and_slips, set_sequences, vacuum_analyze
from owndb import use_own_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

HOURS = [1.2, 0.8, 0.6, 0.4, 0.4, 0.6, 1.5, 3.0, 4.8, 5.6, 6.0, 5.8, 5.2, 5.0, 5.4, 5.6, 5.8, 6.0,
         6.4, 6.6, 6.2, 5.2, 3.8, 2.2]  # calls by hour of day (relative): quiet nights, busy evenings


class Generator:
    def __init__(self, *, days: int, per_day: int, end: date, large: int, seed: int = 4):
        self.days, self.per_day, self.end, self.large = days, per_day, end, large
        self.first = end - timedelta(days=days - 1)
        self.target = end - timedelta(days=min(40, days // 3))
        self.rnd = random.Random(seed)
        self.tz = ZoneInfo("Asia/Shanghai")
        self.planted = {"repeats": {}, "clusters": [], "hotspots": []}
        self.next_id = 1
        self.slips = 0

    # --- setup --------------------------------------------------------------------------------------
    def load_reference(self):
        from core.models import Role, User
        from core.phones import caller_key

        self.caller_key = caller_key  # repeat callers are matched on the number's keyed hash
        from diversion.models import Category
        from grids.demo import generate_collection
        from grids.models import Grid
        from grids.services import grids_import_geojson

        grids_import_geojson(actor=None, data=generate_collection(large=self.large), filename="bench")
        self.user = User.objects.create(username="bench", role=Role.SUPERVISOR, is_superuser=True)
        self.user.set_password("bench-pw-1")
        self.user.save()
        self.micros = list(Grid.objects.filter(level="micro").order_by("code").values_list("id", flat=True))
        cats = list(Category.objects.order_by("code").values_list("id", "default_department_id",
                                                                   "time_limit_class__deadline_hours"))
        self.cats = cats
        n_planted = 40
        self.planted_grids = self.micros[-n_planted:]
        self.background = self.micros[:-n_planted]
        # A skew: some grids get many more calls than others.
        self.weights = [1 / (1 + (i % 97)) ** 0.6 for i in range(len(self.background))]

    # --- COPY ---------------------------------------------------------------------------------------
    def _ts(self, day: date, seconds: float) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.tz) + timedelta(seconds=seconds)

    def _call(self, buf, sbuf, when, *, phone, micro, cat, police, divert=None):
        cid = self.next_id
        self.next_id += 1
        cat_id, dept, hours = cat
        ts = when.isoformat()
        buf.write(f"{cid}\tB{cid:09d}\t{ts}\t{phone}\t\t\tbench\tphone\t{micro if micro else chr(92) + 'N'}\t"
                  f"{'assigned' if police else 'diverted' if divert else 'closed'}\t{ts}\t{{}}\t"
                  f"{'t' if police else 'f'}\t{{}}\t{'t' if police else 'f'}\t"
                  f"{chr(92) + 'N' if police else cat_id}\t0\t{cat_id}\t1\t{self.caller_key(phone)}\t"
                  f"{(when + timedelta(minutes=2)).isoformat()}\n")
        if divert:
            self.slips += 1
            kind = divert
            deadline = when + timedelta(hours=hours)
            accepted = when + timedelta(minutes=self.rnd.randint(5, 90))
            status, completed, returned, reopen = "closed", deadline - timedelta(hours=hours / 2), None, 0
            if kind == "late":
                completed = deadline + timedelta(hours=5)
            elif kind == "returned":
                status, accepted, completed, returned = "returned", None, None, when + timedelta(minutes=30)
            elif kind == "reopened":
                reopen = 1
            n = chr(92) + "N"
            sbuf.write(f"{self.slips}\t{when.year}\t{self.slips}\t{cid}\t{cat_id}\t{dept}\t{status}\t\t"
                       f"{self.user.pk}\t{ts}\t{deadline.isoformat()}\t{ts}\t"
                       f"{accepted.isoformat() if accepted else n}\t\t{returned.isoformat() if returned else n}\t\t"
                       f"\t{completed.isoformat() if completed else n}\t"
                       f"{completed.isoformat() if completed and status == 'closed' else n}\t"
                       f"{'satisfied' if status == 'closed' else ''}\t{reopen}\n")

    def day_rows(self, day: date, buf, sbuf):
        rnd = self.rnd
        n = self.per_day
        micros = rnd.choices(self.background, weights=self.weights, k=n)
        hours = rnd.choices(range(24), weights=HOURS, k=n)
        for i in range(n):
            police = rnd.random() < 0.4
            cat = self.cats[rnd.randrange(len(self.cats))]
            divert = None
            if not police and rnd.random() < 0.5:
                r = rnd.random()
                divert = "late" if r < 0.05 else "returned" if r < 0.08 else "reopened" if r < 0.1 else "ok"
            phone = f"138{rnd.randrange(10 ** 8):08d}"
            self._call(buf, sbuf, self._ts(day, hours[i] * 3600 + rnd.randrange(3600)), phone=phone,
                       micro=micros[i] if rnd.random() > 0.02 else None, cat=cat, police=police, divert=divert)
        if day == self.target:
            self.plant(day, buf, sbuf)
        if day == self.target - timedelta(days=1):
            self.plant_before(day, buf, sbuf)
        if self.target - timedelta(days=6) <= day < self.target:
            self.plant_week(day, buf, sbuf)

    def plant(self, day, buf, sbuf):
        rnd = self.rnd
        # Repeat callers on the day: 20 phones × 2 calls; 10 phones × 1 call (plus 2 earlier in the week).
        for k in range(20):
            phone = f"1990000{k:04d}"
            self.planted["repeats"][phone] = (2, 2)
            for h in (9, 17):
                self._call(buf, sbuf, self._ts(day, h * 3600 + k * 60), phone=phone, micro=rnd.choice(self.background),
                           cat=self.cats[0], police=True)
        for k in range(10):
            phone = f"1991000{k + 100:04d}"  # masked phones (199****nnnn) differ from the group above
            self.planted["repeats"][phone] = (1, 3)
            self._call(buf, sbuf, self._ts(day, 11 * 3600 + k * 60), phone=phone, micro=rnd.choice(self.background),
                       cat=self.cats[0], police=True)
        # Clusters: 15 grids, 3 or 4 calls of one sub-category within 90 minutes.
        for k in range(15):
            micro, cat, size = self.planted_grids[k], self.cats[k % len(self.cats)], 3 + k % 2
            start = (8 + k % 10) * 3600
            self.planted["clusters"].append((micro, cat[0], size))
            for j in range(size):
                self._call(buf, sbuf, self._ts(day, start + j * 1800), phone=f"1992{k:03d}{j:04d}", micro=micro,
                           cat=cat, police=False)
        # Hotspots: 10 grids with 5–9 non-police calls, 2.5 hours apart in different sub-categories.
        for k in range(10):
            micro, size = self.planted_grids[20 + k], 5 + k % 5
            before = 1 + k % 3
            self.planted["hotspots"].append((micro, size, before))
            for j in range(size):
                self._call(buf, sbuf, self._ts(day, 30 * 60 + j * 9000), phone=f"1993{k:03d}{j:04d}", micro=micro,
                           cat=self.cats[j], police=False)

    def plant_before(self, day, buf, sbuf):
        for k in range(10):
            micro, before = self.planted_grids[20 + k], 1 + k % 3
            for j in range(before):
                self._call(buf, sbuf, self._ts(day, 3600 + j * 9000), phone=f"1994{k:03d}{j:04d}", micro=micro,
                           cat=self.cats[j], police=False)

    def plant_week(self, day, buf, sbuf):
        offset = (self.target - day).days
        if offset in (2, 5):
            for k in range(10):
                self._call(buf, sbuf, self._ts(day, 15 * 3600 + k * 60), phone=f"1991000{k + 100:04d}",
                           micro=self.rnd.choice(self.background), cat=self.cats[0], police=True)

    def load(self):
        from django.db import connection

        day = self.first
        connection.ensure_connection()
        raw = connection.connection
        while day <= self.end:
            chunk_end = min(self.end, day + timedelta(days=9))
            buf, sbuf = io.StringIO(), io.StringIO()
            d = day
            while d <= chunk_end:
                self.day_rows(d, buf, sbuf)
                d += timedelta(days=1)
            copy_calls_and_slips(raw, buf.getvalue(), sbuf.getvalue())
            day = chunk_end + timedelta(days=1)
        set_sequences(raw, self.next_id, self.slips + 1)
        vacuum_analyze(raw)


# --- The same figures in plain SQL --------------------------------------------------------------------

LARGE = "COALESCE(s.parent_id, g.parent_id)"
JOIN = "LEFT JOIN grids_grid g ON g.id = c.micro_grid_id LEFT JOIN grids_grid s ON s.id = g.parent_id"
POLICE = "(c.is_police OR (c.is_police IS NULL AND c.suggested_police))"
NONPOLICE = "(NOT c.is_police OR (c.is_police IS NULL AND NOT c.suggested_police))"


def plain_sql(day: date, now) -> dict:
    from django.db import connection

    tz = ZoneInfo("Asia/Shanghai")
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = start + timedelta(days=1)
    back = lambda n: end - timedelta(days=n)  # noqa: E731
    try:
        last_year = day.replace(year=day.year - 1)
    except ValueError:
        last_year = day.replace(year=day.year - 1, day=28)
    cmp_days = [day - timedelta(days=1), day - timedelta(days=7), last_year]
    queries = {
        "counts": (f"SELECT {LARGE}, COALESCE(c.category_id, c.suggested_category_id), COUNT(*), "
                   f"COUNT(*) FILTER (WHERE {POLICE}) FROM incidents_call c {JOIN} "
                   "WHERE c.received_at >= %s AND c.received_at < %s GROUP BY 1, 2", [start, end]),
        "slips": (f"SELECT {LARGE}, h.department_id, COUNT(*), COUNT(h.accepted_at), COUNT(h.completed_at), "
                  "COUNT(*) FILTER (WHERE h.status = 'returned'), COUNT(*) FILTER (WHERE h.reopen_count > 0), "
                  "COUNT(*) FILTER (WHERE h.status <> 'returned' AND (h.completed_at > h.deadline OR "
                  "(h.completed_at IS NULL AND h.deadline < %s))), COUNT(*) FILTER (WHERE h.status <> 'returned'), "
                  "COUNT(*) FILTER (WHERE h.status <> 'returned' AND (h.accepted_at IS NOT NULL OR h.issued_at < %s)), "
                  "COUNT(*) FILTER (WHERE h.status <> 'returned' "
                  "AND h.accepted_at <= h.issued_at + interval '60 min'), "
                  "COUNT(*) FILTER (WHERE h.status <> 'returned' AND (h.completed_at IS NOT NULL OR h.deadline < %s)), "
                  "COUNT(*) FILTER (WHERE h.status <> 'returned' AND h.completed_at <= h.deadline) "
                  f"FROM diversion_handoffslip h JOIN incidents_call c ON c.id = h.call_id {JOIN} "
                  "WHERE c.received_at >= %s AND c.received_at < %s GROUP BY 1, 2",
                  [now, now - timedelta(minutes=60), now, start, end]),
        "callbacks": (f"SELECT {LARGE}, h.department_id, COUNT(*), COUNT(*) FILTER (WHERE b.resolved = 'yes'), "
                      "COUNT(*) FILTER (WHERE b.resolved = 'yes' AND b.satisfaction >= 3), COUNT(b.satisfaction), "
                      "SUM(b.satisfaction) FROM diversion_callback b JOIN diversion_handoffslip h ON h.id = b.slip_id "
                      f"JOIN incidents_call c ON c.id = h.call_id {JOIN} WHERE b.reached AND c.received_at >= %s "
                      "AND c.received_at < %s GROUP BY 1, 2", [start, end]),
        "notices": ("SELECT kind, department_id, COUNT(*) FROM diversion_notice WHERE issued_at >= %s "
                    "AND issued_at < %s GROUP BY 1, 2", [start, end]),
        "notice_grids": (f"SELECT {LARGE}, n.kind, COUNT(DISTINCT n.id) FROM diversion_noticeitem i JOIN "
                         "diversion_notice n ON n.id = i.notice_id JOIN diversion_handoffslip h ON h.id = i.slip_id "
                         f"JOIN incidents_call c ON c.id = h.call_id {JOIN} WHERE n.issued_at >= %s "
                         "AND n.issued_at < %s GROUP BY 1, 2", [start, end]),
        "repeats_city": ("SELECT caller_phone, COUNT(*), COUNT(*) FILTER (WHERE received_at >= %s) FROM incidents_call "
                         "WHERE received_at >= %s AND received_at < %s AND caller_phone <> '' GROUP BY 1 HAVING "
                         "COUNT(*) FILTER (WHERE received_at >= %s) >= 2 OR (COUNT(*) FILTER (WHERE received_at >= %s)"
                         " >= 1 AND COUNT(*) >= 3)", [start, back(7), end, start, start]),
        "repeats_grid": (f"SELECT c.caller_phone, {LARGE}, COUNT(*) FROM incidents_call c {JOIN} WHERE "
                         "c.received_at >= %s AND c.received_at < %s AND c.caller_phone <> '' AND c.micro_grid_id IS "
                         "NOT NULL GROUP BY 1, 2 HAVING COUNT(*) FILTER (WHERE c.received_at >= %s) >= 2 OR "
                         "(COUNT(*) FILTER (WHERE c.received_at >= %s) >= 1 AND COUNT(*) >= 3)",
                         [back(7), end, start, start]),
        "clusters": ("""
            WITH day AS (SELECT id, micro_grid_id AS micro, COALESCE(category_id, suggested_category_id) AS cat,
                                received_at, EXTRACT(EPOCH FROM received_at) AS t FROM incidents_call
                         WHERE received_at >= %s AND received_at < %s AND micro_grid_id IS NOT NULL
                           AND COALESCE(category_id, suggested_category_id) IS NOT NULL),
                 cand AS (SELECT * FROM day WHERE (micro, cat) IN (SELECT micro, cat FROM day GROUP BY 1, 2
                                                                  HAVING COUNT(*) >= 3)),
                 a AS (SELECT *, COUNT(*) OVER (PARTITION BY micro, cat ORDER BY t
                                               RANGE BETWEEN CURRENT ROW AND 7200 FOLLOWING) AS n FROM cand),
                 b AS (SELECT *, MAX((n >= 3)::int) OVER (PARTITION BY micro, cat ORDER BY t
                                                           RANGE BETWEEN 7200 PRECEDING AND CURRENT ROW) AS hit FROM a),
                 m AS (SELECT *, CASE WHEN t - LAG(t) OVER (PARTITION BY micro, cat ORDER BY t, id) <= 7200
                                 THEN 0 ELSE 1 END AS st FROM b WHERE hit = 1)
            SELECT micro, cat, grp, COUNT(*), MIN(received_at), MAX(received_at), array_agg(id ORDER BY t, id)
            FROM (SELECT *, SUM(st) OVER (PARTITION BY micro, cat ORDER BY t, id) AS grp FROM m) x
            GROUP BY 1, 2, 3""", [start, end]),
        "grid_windows": (f"SELECT {LARGE}, c.micro_grid_id, COUNT(*) FILTER (WHERE c.received_at >= %s), "
                         + ", ".join(f"COUNT(*) FILTER (WHERE {NONPOLICE} AND c.received_at >= %s), "
                                     f"COUNT(*) FILTER (WHERE {NONPOLICE} AND c.received_at >= %s "
                                     "AND c.received_at < %s)" for _ in range(3))
                         + f" FROM incidents_call c {JOIN} WHERE c.received_at >= %s AND c.received_at < %s "
                           "AND c.micro_grid_id IS NOT NULL GROUP BY 1, 2",
                         [start, back(1), back(2), back(1), back(7), back(14), back(7), back(30), back(60), back(30),
                          back(60), end]),
        "heat_grid": (f"SELECT {LARGE}, g.parent_id, COALESCE(k.group_id, ks.group_id), COUNT(*) FROM incidents_call c "
                      f"{JOIN} LEFT JOIN diversion_category k ON k.id = c.category_id LEFT JOIN diversion_category ks "
                      "ON ks.id = c.suggested_category_id WHERE c.received_at >= %s AND c.received_at < %s "
                      "GROUP BY 1, 2, 3", [start, end]),
        "heat_hour": (f"SELECT {LARGE}, EXTRACT(ISODOW FROM c.received_at AT TIME ZONE 'Asia/Shanghai'), "
                      "EXTRACT(HOUR FROM c.received_at AT TIME ZONE 'Asia/Shanghai'), COUNT(*), "
                      f"COUNT(*) FILTER (WHERE c.received_at >= %s) FROM incidents_call c {JOIN} "
                      "WHERE c.received_at >= %s AND c.received_at < %s GROUP BY 1, 2, 3", [start, back(28), end]),
        "compare": (f"SELECT {LARGE}, CASE " + " ".join(
                    f"WHEN c.received_at >= %s AND c.received_at < %s THEN {i}" for i in range(3))
                    + f" END, COUNT(*), COUNT(*) FILTER (WHERE {POLICE}) FROM incidents_call c {JOIN} WHERE "
                    + " OR ".join("(c.received_at >= %s AND c.received_at < %s)" for _ in range(3))
                    + " GROUP BY 1, 2",
                    [x for d in cmp_days for x in (datetime(d.year, d.month, d.day, tzinfo=tz),
                                                   datetime(d.year, d.month, d.day, tzinfo=tz) + timedelta(days=1))]
                    * 2),
    }
    out = {}
    with connection.cursor() as cur:
        for name, (sql, params) in queries.items():
            cur.execute(sql, params)
            out[name] = cur.fetchall()
        phones = [r[0] for r in out["repeats_city"]] + [r[0] for r in out["repeats_grid"]]
        cur.execute(f"SELECT c.id, c.call_id, c.caller_phone, c.received_at, {LARGE} FROM incidents_call c {JOIN} "
                    "WHERE c.received_at >= %s AND c.received_at < %s AND c.caller_phone = ANY(%s) "
                    "ORDER BY 3, 4, 1", [back(7), end, phones])
        out["repeat_calls"] = cur.fetchall()
    return out


def best_of(n, fn):
    best = None
    for _ in range(n):
        t0 = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return best, result


def mean_get_seconds(client, url: str, n: int = 5) -> float:
    """A page's mean time over n GETs (the caller warms it up first)."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - t0)
    return sum(times) / len(times)


def check_planted(gen: Generator, data: dict) -> tuple[int, int, list[str]]:
    from core.phones import phone_mask

    found, total, missing = 0, 0, []
    repeats = {(r["phone"], r["today"], r["week"]) for r in data["repeats"]}
    for phone, (today, week) in gen.planted["repeats"].items():
        total += 1
        if (phone_mask(phone), today, week) in repeats:
            found += 1
        else:
            missing.append(f"repeat {phone}")
    clusters = {(c["micro_id"], c["category"]["id"], c["calls"]) for c in data["clusters"]}
    for item in gen.planted["clusters"]:
        total += 1
        if item in clusters:
            found += 1
        else:
            missing.append(f"cluster {item}")
    hot = {(h["grid_id"], h["calls"], h["before"]) for h in data["hotspots"]["day"]}
    for item in gen.planted["hotspots"]:
        total += 1
        if item in hot:
            found += 1
        else:
            missing.append(f"hotspot {item}")
    return found, total, missing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 days × 2,000 calls")
    args = parser.parse_args()
    days, per_day, large = (30, 2000, 6) if args.quick else (365, 10000, 30)
    use_own_database("fenliu_bench_review_quick" if args.quick else "fenliu_bench_review", sqlite_ok=False, fresh=True)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from incidents.models import DailyReview
    from incidents.review.rollups import Rollups
    from incidents.review.services import daily_review_build

    call_command("migrate", verbosity=0)
    gen = Generator(days=days, per_day=per_day, end=date(2025, 12, 31), large=large)
    t0 = time.perf_counter()
    gen.load_reference()
    gen.load()
    generate_seconds = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM incidents_call")
        calls = cur.fetchone()[0]

    now = timezone.now()
    daily_review_build(day=gen.target, now=now)  # warm the caches once, as the SQL side gets too
    plain_sql(gen.target, now)
    review_seconds, _ = best_of(3, lambda: daily_review_build(day=gen.target, now=now))
    sql_seconds, _ = best_of(3, lambda: plain_sql(gen.target, now))
    data = DailyReview.objects.get(date=gen.target, scope="city").data
    found, total, missing = check_planted(gen, data)

    t0 = time.perf_counter()
    d = gen.first
    rollups = Rollups(fresh=[gen.first + timedelta(days=k) for k in range((gen.end - gen.first).days + 1)])
    while d <= gen.end:  # as the backfill rebuilds: every day counted again once, then shared by the windows
        daily_review_build(day=d, now=now, rollups=rollups)
        d += timedelta(days=1)
    year_rebuild_seconds = time.perf_counter() - t0

    client = Client()
    client.force_login(gen.user)
    url = f"/review/?date={gen.target.isoformat()}&scope=city"
    assert client.get(url).status_code == 200
    dashboard_seconds = mean_get_seconds(client, url)

    print(f"calls={calls}")
    print(f"review_seconds={review_seconds:.3f}")
    print(f"sql_seconds={sql_seconds:.3f}")
    print(f"ratio={review_seconds / sql_seconds:.2f}")
    print(f"planted_found={found}/{total}")
    print(f"year_rebuild_seconds={year_rebuild_seconds:.1f}")
    print(f"dashboard_ms={1000 * dashboard_seconds:.1f}")
    print(f"slips={gen.slips}")
    print(f"days={days}")
    print(f"generate_seconds={generate_seconds:.1f}")
    if missing:
        print("missing=" + "; ".join(missing[:20]))


if __name__ == "__main__":
    main()
