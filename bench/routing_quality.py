"""Benchmark: the routing quality page (issue 35) over eight weeks of calls at a city's scale in PostgreSQL.

    python bench/routing_quality.py            # 56 days × 10,000 calls (560,000)
    python bench/routing_quality.py --quick    # 56 days × 1,000 calls (56,000; under a minute)

It works in its own database, fenliu_bench_quality (fenliu_bench_quality_quick for --quick), next to the one
DATABASE_URL names: dropped, created and migrated on every run. The daily review benchmark's generator loads
the calls with COPY (every call decided: kept with the police or diverted, as suggested); then a known set is
planted: misses that matter (every 331st call kept with the police gets a suggestion to divert) and
sub-category overrides (every 97th diverted call was suggested another sub-category).

It times the week-by-week figures of the eight weeks counted (diversion.routing.quality.week_figures with the
cache emptied, best of 3) against the same figures in plain SQL written here (best of 3) and prints the
ratio, then the same with the past weeks cached; checks the figures against the planted counts, times the
first page of misses, and the page itself for a supervisor (Django test client: once with the cache emptied,
then the mean of 5). Prints name=value lines: calls, weeks_ms, sql_ms, ratio, weeks_cached_ms, misses_ms,
page_cold_ms, page_ms, misses_found, overrides_found."""

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from daily_review import Generator, best_of, mean_get_seconds
from owndb import use_own_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

END = date(2025, 12, 31)
MISS_EVERY, OVERRIDE_EVERY = 331, 97


def plant(cur) -> None:
    cur.execute("UPDATE incidents_call SET suggested_police = false WHERE is_police AND id %% %s = 0",
                [MISS_EVERY])
    cur.execute("SELECT MIN(id), MAX(id) FROM diversion_category")
    low, high = cur.fetchone()
    cur.execute("UPDATE incidents_call SET suggested_category_id = CASE WHEN category_id = %s THEN %s ELSE %s END "
                "WHERE NOT is_police AND category_id IS NOT NULL AND id %% %s = 0",
                [low, high, low, OVERRIDE_EVERY])
    cur.execute("VACUUM ANALYZE incidents_call")


def planted(cur, start, end) -> tuple[int, int]:
    cur.execute("SELECT COUNT(*) FILTER (WHERE is_police AND NOT suggested_police), "
                "COUNT(*) FILTER (WHERE NOT is_police AND suggested_category_id <> category_id) "
                "FROM incidents_call WHERE received_at >= %s AND received_at < %s", [start, end])
    return cur.fetchone()


def plain_sql(start, end) -> dict:
    """The week-by-week figures written by hand: one pass, grouped by the local week."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT date_trunc('week', received_at AT TIME ZONE 'Asia/Shanghai')::date, COUNT(*), "
            "COUNT(*) FILTER (WHERE suggested_police IS NOT NULL), "
            "COUNT(*) FILTER (WHERE suggested_police = is_police), "
            "COUNT(*) FILTER (WHERE suggested_police IS NULL), "
            "COUNT(*) FILTER (WHERE NOT is_police AND suggested_category_id IS NOT NULL), "
            "COUNT(*) FILTER (WHERE NOT is_police AND category_id = suggested_category_id), "
            "COUNT(*) FILTER (WHERE is_police AND NOT suggested_police), "
            "COUNT(*) FILTER (WHERE suggested_police AND NOT is_police) "
            "FROM incidents_call WHERE is_police IS NOT NULL AND received_at >= %s AND received_at < %s GROUP BY 1",
            [start, end])
        return {row[0]: row[1:] for row in cur.fetchall()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="56 days × 1,000 calls")
    args = parser.parse_args()
    per_day, large = (1000, 6) if args.quick else (10000, 30)
    use_own_database("fenliu_bench_quality_quick" if args.quick else "fenliu_bench_quality", sqlite_ok=False,
                     fresh=True)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from diversion.routing import quality

    call_command("migrate", verbosity=0)
    gen = Generator(days=56, per_day=per_day, end=END, large=large)
    gen.load_reference()
    gen.load()
    with connection.cursor() as cur:
        plant(cur)
        cur.execute("SELECT COUNT(*) FROM incidents_call")
        calls = cur.fetchone()[0]
    mondays = [quality.week_of(END) - timedelta(weeks=n) for n in range(quality.WEEKS_SHOWN)]
    start, end = quality.week_bounds(mondays[-1])[0], quality.week_bounds(mondays[0])[1]
    with connection.cursor() as cur:
        misses_planted, overrides_planted = planted(cur, start, end)

    from django.core.cache import cache

    def counted():  # past weeks are cached: time them counted, with the cache emptied first
        cache.clear()
        return quality.week_figures(last=END)

    counted()  # warm up, as the SQL side gets too
    plain_sql(start, end)
    weeks_seconds, weeks = best_of(3, counted)
    cached_seconds, _weeks = best_of(3, lambda: quality.week_figures(last=END))
    sql_seconds, by_hand = best_of(3, lambda: plain_sql(start, end))
    assert sum(w.decided for w in weeks) == sum(row[0] for row in by_hand.values()), "the two disagree"
    misses_found = sum(w.misses for w in weeks)
    overrides_found = sum(w.diverted_suggested - w.category_kept for w in weeks)
    misses_seconds, first_page = best_of(3, lambda: list(quality.misses(start=start, end=end)[:50]))

    client = Client()
    client.force_login(gen.user)
    url = f"/supervision/routing/?week={END.isoformat()}"
    assert client.get(url).status_code == 200
    cache.clear()
    t0 = time.perf_counter()
    client.get(url)
    page_cold_seconds = time.perf_counter() - t0
    page_seconds = mean_get_seconds(client, url)

    print(f"calls={calls}")
    print(f"weeks_ms={1000 * weeks_seconds:.1f}")
    print(f"sql_ms={1000 * sql_seconds:.1f}")
    print(f"ratio={weeks_seconds / sql_seconds:.2f}")
    print(f"weeks_cached_ms={1000 * cached_seconds:.1f}")
    print(f"misses_ms={1000 * misses_seconds:.1f}")
    print(f"page_cold_ms={1000 * page_cold_seconds:.1f}")
    print(f"page_ms={1000 * page_seconds:.1f}")
    print(f"misses_found={misses_found}/{misses_planted}")
    print(f"overrides_found={overrides_found}/{overrides_planted}")
    print(f"misses_on_first_page={len(first_page)}")


if __name__ == "__main__":
    main()
