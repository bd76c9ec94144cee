"""The daily incident review (警情日研判): built per day for the city and for every large grid, stored as
DailyReview rows; a re-run for the same day replaces them and, with the same calls, gives the same figures.

Each figure family is one grouped query in incidents.review.selectors (grouped by large grid); this module
adds up the grouped rows for the city, looks up names in the small catalog and grid tables, and stores one
JSON document per scope. Nothing here iterates over calls: the widest loops are over grouped rows (at most
a few thousand) and over the calls of repeat callers and clusters, which are listed in full anyway."""

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.audit import audit_write
from core.phones import phone_mask
from core.times import day_start

from ..models import Call, DailyReview
from . import selectors as sel
from .rollups import Rollups
from .rollups import grid_windows as rollup_grid_windows
from .rollups import heat_by_hour as rollup_heat_by_hour

VERSION = 1
CITY = DailyReview.CITY


def _rate(part, whole):
    return round(part / whole, 4) if whole else None


def _change(now, before):
    return None if not before else round((now - before) / before, 4)


def same_day_last_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


class _Scopes:
    """Per-scope accumulators: every grouped row goes to its large grid and to the city."""

    def __init__(self, large_ids):
        self.keys = [CITY, *large_ids]
        self.known = set(large_ids)

    def targets(self, large):
        return (CITY, large) if large in self.known else (CITY,)


def _catalog():
    from diversion.models import Category, CategoryGroup, Department

    cats = {c["id"]: c for c in Category.objects.values("id", "code", "name_zh", "name_en", "group_id")}
    groups = {g["id"]: g for g in CategoryGroup.objects.values("id", "code", "name_zh", "name_en")}
    depts = {d["id"]: d for d in Department.objects.values("id", "code", "name_zh", "name_en")}
    return cats, groups, depts


def _grids():
    from grids.models import Grid

    rows = Grid.objects.order_by("code").values("id", "code", "name", "level", "parent_id")
    return {g["id"]: g for g in rows}


def _named(d: dict | None, **extra) -> dict:
    if d is None:
        return {"id": None, "code": "", "name_zh": "未分类", "name_en": "Unclassified", **extra}
    return {"id": d["id"], "code": d["code"], "name_zh": d["name_zh"], "name_en": d["name_en"], **extra}


def build_figures(day: date, *, now=None, rollups: Rollups | None = None) -> dict[str, dict]:
    """{scope: figures} for the day. `now` decides what counts as overdue (default: the time of the build).
    `rollups`: the run's daily rollups (incidents.review.rollups), shared by the days a backfill builds."""
    now = now or timezone.now()
    w = sel.Window(day)
    rollups = rollups if rollups is not None else Rollups()
    rollups.fresh.update(d for d in (day, day - timedelta(days=1)) if d not in rollups.known)
    cats, groups, depts = _catalog()
    grids = _grids()
    large_ids = [g["id"] for g in grids.values() if g["level"] == "large"]
    sc = _Scopes(large_ids)
    out = {k: {} for k in sc.keys}

    # Totals, groups, sub-categories.
    tot = defaultdict(lambda: {"calls": 0, "police": 0})
    by_cat = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in sel.counts_by_category(w):
        for k in sc.targets(r["large"]):
            tot[k]["calls"] += r["calls"]
            tot[k]["police"] += r["police"]
            by_cat[k][r["cat"]][0] += r["calls"]
            by_cat[k][r["cat"]][1] += r["police"]
    for k in sc.keys:
        t = tot[k]
        out[k]["totals"] = {"calls": t["calls"], "police": t["police"], "non_police": t["calls"] - t["police"],
                            "police_share": _rate(t["police"], t["calls"]),
                            "non_police_share": _rate(t["calls"] - t["police"], t["calls"])}
        cat_rows, grp = [], defaultdict(lambda: [0, 0])
        for cat_id, (n, p) in by_cat[k].items():
            c = cats.get(cat_id)
            gid = c["group_id"] if c else None
            cat_rows.append(_named(c, calls=n, police=p, group_id=gid))
            grp[gid][0] += n
            grp[gid][1] += p
        cat_rows.sort(key=lambda r: (-r["calls"], r["code"]))
        out[k]["categories"] = cat_rows
        out[k]["groups"] = sorted((_named(groups.get(g), calls=n, police=p) for g, (n, p) in grp.items()),
                                  key=lambda r: (-r["calls"], r["code"]))

    # Slips, departments' on-time rates, callbacks.
    slip_fields = ("slips", "accepted", "completed", "returned", "reopened", "overdue", "kept", "accept_due",
                   "accepted_on_time", "complete_due", "completed_on_time")
    cb_fields = ("rated", "resolved_yes", "satisfied", "scored", "score_sum")
    sl = defaultdict(lambda: dict.fromkeys(slip_fields + cb_fields, 0))
    dept = defaultdict(lambda: defaultdict(lambda: dict.fromkeys(slip_fields + cb_fields, 0)))
    for rows, fields in ((sel.slip_counts(w, now), slip_fields), (sel.callback_counts(w), cb_fields)):
        for r in rows:
            for k in sc.targets(r["large"]):
                for f in fields:
                    v = r[f] or 0
                    sl[k][f] += v
                    dept[k][r["department_id"]][f] += v
    for k in sc.keys:
        s = sl[k]
        out[k]["slips"] = {
            "diverted": s["slips"], "accepted": s["accepted"], "completed": s["completed"],
            "overdue": s["overdue"], "returned": s["returned"], "reopened": s["reopened"],
            "resolution_rate": _rate(s["completed"], s["kept"]),
            "callbacks_reached": s["rated"], "satisfaction": _rate(s["satisfied"], s["rated"]),
            "average_rating": round(s["score_sum"] / s["scored"], 2) if s["scored"] else None,
        }
        rows = []
        for dept_id, d in dept[k].items():
            rows.append(_named(depts.get(dept_id), slips=d["slips"], overdue=d["overdue"],
                               returned=d["returned"], reopened=d["reopened"],
                               on_time_accept=_rate(d["accepted_on_time"], d["accept_due"]),
                               on_time_complete=_rate(d["completed_on_time"], d["complete_due"]),
                               satisfaction=_rate(d["satisfied"], d["rated"])))
        rows.sort(key=lambda r: (-r["slips"], r["code"]))
        out[k]["departments"] = rows

    # Notices raised on the day.
    city_notices, grid_notices = sel.notice_counts(w)
    by_kind, by_dept = defaultdict(int), defaultdict(int)
    for r in city_notices:
        by_kind[r["kind"]] += r["n"]
        by_dept[r["department_id"]] += r["n"]
    out[CITY]["notices"] = {"total": sum(by_kind.values()), "by_kind": dict(sorted(by_kind.items())),
                            "by_department": sorted((_named(depts.get(d), n=n) for d, n in by_dept.items()),
                                                    key=lambda r: (-r["n"], r["code"]))}
    gk = defaultdict(lambda: defaultdict(int))
    for r in grid_notices:
        if r["large"] in sc.known:
            gk[r["large"]][r["notice__kind"]] += r["n"]
    for k in large_ids:
        out[k]["notices"] = {"total": sum(gk[k].values()), "by_kind": dict(sorted(gk[k].items())),
                             "by_department": []}

    _repeats(w, sc, out, cats)
    _clusters(w, sc, out, cats, grids)
    _grid_figures(w, sc, out, grids, groups, rollups)
    _hours(w, sc, out, rollups)
    _compare(day, sc, out)

    thresholds = {"repeat_day_calls": settings.REVIEW_REPEAT_DAY_CALLS,
                  "repeat_week_calls": settings.REVIEW_REPEAT_WEEK_CALLS,
                  "repeat_week_days": settings.REVIEW_REPEAT_WEEK_DAYS,
                  "cluster_calls": settings.REVIEW_CLUSTER_CALLS, "cluster_hours": settings.REVIEW_CLUSTER_HOURS,
                  "hotspot_calls": settings.REVIEW_HOTSPOT_CALLS, "heat_days": settings.REVIEW_HEAT_DAYS}
    for k in sc.keys:
        out[k].update(version=VERSION, date=day.isoformat(), thresholds=thresholds,
                      scope=CITY if k == CITY else DailyReview.scope_of(k),
                      grid=None if k == CITY else {"id": k, "code": grids[k]["code"], "name": grids[k]["name"]})
    return out


def _local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M")


def _repeats(w, sc, out, cats):
    city, grid_rows = sel.repeat_phones(w)
    keys = sorted({r["caller_key"] for r in city} | {r["caller_key"] for r in grid_rows})
    calls = defaultdict(list)
    for c in sel.repeat_calls(w, keys):
        calls[c["caller_key"]].append(c)

    def entry(key, today, week, large=None):
        mine = [c for c in calls[key] if large is None or c["large"] == large]
        # The masked number while one of the calls still has it; blank once all were anonymised.
        phone = next((c["caller_phone"] for c in reversed(calls[key]) if c["caller_phone"]), "")
        return {"phone": phone_mask(phone), "today": today, "week": week,
                "day_repeat": today >= settings.REVIEW_REPEAT_DAY_CALLS,
                "week_repeat": week >= settings.REVIEW_REPEAT_WEEK_CALLS,
                "call_ids": [c["id"] for c in mine],
                "calls": [{"id": c["id"], "call_id": c["call_id"], "at": _local(c["received_at"]),
                           "today": c["received_at"] >= w.start,
                           "category": (cats.get(c["cat"]) or {}).get("code", "")} for c in mine]}

    per = defaultdict(list)
    for r in city:
        per[CITY].append(entry(r["caller_key"], r["today"], r["week"]))
    for r in grid_rows:
        if r["large"] in sc.known:
            per[r["large"]].append(entry(r["caller_key"], r["today"], r["week"], r["large"]))
    for k in sc.keys:
        rows = sorted(per[k], key=lambda e: (-e["today"], -e["week"], e["call_ids"]))
        out[k]["repeats"] = rows
        out[k]["repeat_counts"] = {"day": sum(e["day_repeat"] for e in rows),
                                   "week": sum(e["week_repeat"] for e in rows), "callers": len(rows)}


def _clusters(w, sc, out, cats, grids):
    found = {}
    for r in sel.cluster_calls(w):
        key = (r["micro"], r["cat"], r["no"])
        c = found.setdefault(key, {"large": r["large"], "ids": [], "times": []})
        c["ids"].append(r["id"])
        c["times"].append(r["received_at"])
    per = defaultdict(list)
    for (micro, cat, _no), c in sorted(found.items(), key=lambda kv: (min(kv[1]["times"]), kv[0])):
        g = grids.get(micro, {})
        item = {"micro_id": micro, "micro_code": g.get("code", ""), "micro_name": g.get("name", ""),
                "category": _named(cats.get(cat)), "calls": len(c["ids"]), "first": _local(min(c["times"])),
                "last": _local(max(c["times"])), "call_ids": c["ids"]}
        for k in sc.targets(c["large"]):
            per[k].append(item)
    for k in sc.keys:
        out[k]["clusters"] = per[k]


def _trend(now, before):
    return "up" if now > before else "down" if now < before else "flat"


def _grid_figures(w, sc, out, grids, groups, rollups):
    threshold = settings.REVIEW_HOTSPOT_CALLS
    hot = defaultdict(lambda: {name: [] for name in sel.HOTSPOT_WINDOWS})
    micro = defaultdict(dict)
    for r in rollup_grid_windows(w, rollups):
        g = grids.get(r["micro_grid_id"], {})
        for k in sc.targets(r["large"]):
            if r["today"]:
                micro[k][r["micro_grid_id"]] = r["today"]
            for name in sel.HOTSPOT_WINDOWS:
                if r[name] >= threshold:
                    hot[k][name].append({"grid_id": r["micro_grid_id"], "code": g.get("code", ""),
                                         "name": g.get("name", ""), "calls": r[name],
                                         "before": r[f"{name}_before"], "change": _change(r[name], r[f"{name}_before"]),
                                         "trend": _trend(r[name], r[f"{name}_before"])})
    for k in sc.keys:
        for rows in hot[k].values():
            rows.sort(key=lambda h: (-h["calls"], h["code"]))
        # The counts are exact; the stored lists keep the hottest grids only (each one still drills down).
        out[k]["hotspot_counts"] = {name: len(rows) for name, rows in hot[k].items()}
        out[k]["hotspots"] = {name: rows[:settings.REVIEW_HOTSPOT_LIST_LIMIT] for name, rows in hot[k].items()}
        out[k]["heat_micro"] = {str(m): n for m, n in sorted(micro[k].items())}

    # Grid × group: the city by large grid, a large grid by its small grids.
    cells = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for r in sel.heat_by_grid_group(w):
        if r["large"] in sc.known:
            cells[CITY][r["large"]][r["group"]] += r["calls"]
            cells[r["large"]][r["small"]][r["group"]] += r["calls"]
        else:
            cells[CITY][None][r["group"]] += r["calls"]
    for k in sc.keys:
        used = sorted({gid for row in cells[k].values() for gid in row}, key=lambda g: (g is None, g or 0))
        rows = []
        for grid_id, row in cells[k].items():
            g = grids.get(grid_id) or {"code": "", "name": ""}
            rows.append({"grid_id": grid_id, "code": g["code"], "name": g["name"], "total": sum(row.values()),
                         "cells": [row.get(gid, 0) for gid in used]})
        rows.sort(key=lambda r: (-r["total"], r["code"]))
        out[k]["heat_grid"] = {"groups": [_named(groups.get(gid)) for gid in used], "rows": rows}


def _hours(w, sc, out, rollups):
    heat = {k: [[0] * 24 for _ in range(7)] for k in sc.keys}
    today = {k: [0] * 24 for k in sc.keys}
    for r in rollup_heat_by_hour(w, rollups):
        for k in sc.targets(r["large"]):
            heat[k][r["weekday"] - 1][r["hour"]] += r["calls"]
            today[k][r["hour"]] += r["today"]
    for k in sc.keys:
        out[k]["heat_hour_weekday"] = heat[k]
        out[k]["by_hour"] = today[k]


def _compare(day, sc, out):
    days = {"previous_day": day - timedelta(days=1), "last_week": day - timedelta(days=7),
            "last_year": same_day_last_year(day)}
    names = list(days)
    got = defaultdict(lambda: defaultdict(lambda: {"calls": 0, "police": 0}))
    for r in sel.counts_compared(list(days.values())):
        for k in sc.targets(r["large"]):
            got[k][names[r["k"]]]["calls"] += r["calls"]
            got[k][names[r["k"]]]["police"] += r["police"]
    for k in sc.keys:
        now_t = out[k]["totals"]
        cmp = {}
        for name, d in days.items():
            c = got[k][name]
            non = c["calls"] - c["police"]
            cmp[name] = {"date": d.isoformat(), "calls": c["calls"], "police": c["police"], "non_police": non,
                         "change_calls": _change(now_t["calls"], c["calls"]),
                         "change_police": _change(now_t["police"], c["police"]),
                         "change_non_police": _change(now_t["non_police"], non)}
        out[k]["compare"] = cmp


def _upsert(rows: list[DailyReview]) -> None:
    """Insert or replace the rows on (date, scope). On PostgreSQL through the driver's server-side parameters:
    Django's client-side binding quotes the large JSON documents in Python, which costs more than the
    whole build."""
    if connection.vendor != "postgresql":
        DailyReview.objects.bulk_create(rows, update_conflicts=True, unique_fields=["date", "scope"],
                                        update_fields=["grid", "data", "built_at", "built_by", "version"])
        return
    from psycopg.types.json import Jsonb

    table = DailyReview._meta.db_table
    sql = (f"INSERT INTO {table} (date, scope, grid_id, data, built_at, built_by_id, version) "
           "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (date, scope) DO UPDATE SET grid_id = EXCLUDED.grid_id, "
           "data = EXCLUDED.data, built_at = EXCLUDED.built_at, built_by_id = EXCLUDED.built_by_id, "
           "version = EXCLUDED.version")
    connection.ensure_connection()
    with connection.connection.cursor() as cur:
        cur.executemany(sql, [(r.date, r.scope, r.grid_id, Jsonb(r.data), r.built_at, r.built_by_id, r.version)
                              for r in rows])


def daily_review_build(*, day: date, actor=None, now=None, rollups: Rollups | None = None) -> list[DailyReview]:
    """Build and store the day's review for the city and every large grid, replacing what was stored for
    that day. actor None = the nightly job. Returns the stored rows, the city first."""
    figures = build_figures(day, now=now, rollups=rollups)
    built_at = timezone.now()
    rows = [DailyReview(date=day, scope=DailyReview.scope_of(None if k == CITY else k),
                        grid_id=None if k == CITY else k, data=data, built_at=built_at,
                        built_by=actor if getattr(actor, "is_authenticated", False) else None, version=VERSION)
            for k, data in figures.items()]
    with transaction.atomic():
        existed = DailyReview.objects.filter(date=day, scope=CITY).exists()
        DailyReview.objects.filter(date=day).exclude(scope__in=[r.scope for r in rows]).delete()
        _upsert(rows)
        city = DailyReview.objects.get(date=day, scope=CITY)
        audit_write(actor=actor, action="report", obj=city, to_state="rebuilt" if existed else "built",
                    data={"daily_review": day.isoformat(), "scopes": len(rows)})
        _progress_changed()  # now, and again once committed (a page may have cached the state meanwhile)
        transaction.on_commit(_progress_changed)
    return [city, *(r for r in rows if r.scope != CITY)]


def _progress_changed() -> None:
    from django.core.cache import cache

    cache.delete(PROGRESS_KEY)


def daily_review_build_due(*, today: date | None = None) -> list[DailyReview]:
    """The beat's entry: yesterday's review."""
    today = today or timezone.localdate()
    return daily_review_build(day=today - timedelta(days=1))


# --- Backfill (issue 38): every past day with calls has its review, without anyone pressing a button ------

BACKFILL_LOCK_KEY = 3_110_038  # pg_try_advisory_lock key: one backfill at a time; a second run leaves


@dataclass(frozen=True)
class BackfillState:
    """Past days (before today, within REVIEW_BACKFILL_DAYS) that have calls: how many; which have no stored
    review yet; which have one built before some of their calls were entered (a late import, calls keyed
    in after the night). The backfill builds `due`, both kinds, newest first."""

    with_calls: int
    missing: list[date]
    stale: list[date]

    @property
    def due(self) -> list[date]:
        return sorted({*self.missing, *self.stale}, reverse=True)

    @property
    def built(self) -> int:
        return self.with_calls - len(self.due)


def backfill_state(*, today: date | None = None) -> BackfillState:
    """Two grouped queries: the local days that have calls (with when their last call was entered), and the
    city reviews of those days (with when each was built)."""
    today = today or timezone.localdate()
    first = today - timedelta(days=settings.REVIEW_BACKFILL_DAYS)
    entered = dict(Call.objects.filter(received_at__gte=day_start(first), received_at__lt=day_start(today))
                   .order_by().annotate(day=TruncDate("received_at")).values("day")
                   .annotate(last=Max("created_at")).values_list("day", "last"))
    built = dict(DailyReview.objects.filter(scope=CITY, date__in=list(entered)).values_list("date", "built_at"))
    return BackfillState(with_calls=len(entered), missing=sorted(set(entered) - set(built), reverse=True),
                         stale=sorted((d for d, at in built.items() if entered[d] > at), reverse=True))


def daily_reviews_backfill(*, today: date | None = None, budget_seconds: float | None = None) -> int:
    """Build the review of every past day that has calls and none stored, or one older than some of its
    calls (BackfillState.due), yesterday first, so the dashboard has its latest day soonest. Each day is its
    own transaction: an interrupted run keeps the days it built and the next run (the beat's, hourly) goes
    on from there. With `budget_seconds`, stops after the day that spends it. On PostgreSQL one run at a
    time (an advisory lock): a second run returns 0 at once. Returns the number of days built."""
    started = time.monotonic()
    locked = connection.vendor == "postgresql"
    if locked:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [BACKFILL_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return 0
    built = 0
    try:
        state = backfill_state(today=today)
        # Every day to rebuild is counted again before a window uses it (its calls changed); each once.
        rollups = Rollups(fresh=state.due)
        for day in state.due:
            if day in state.missing and DailyReview.objects.filter(date=day, scope=CITY).exists():
                continue  # built meanwhile (on demand)
            daily_review_build(day=day, rollups=rollups)
            built += 1
            if budget_seconds is not None and time.monotonic() - started >= budget_seconds:
                break
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [BACKFILL_LOCK_KEY])
    return built


PROGRESS_KEY = "review:backfill-state"
PROGRESS_SECONDS = 30


def backfill_progress() -> BackfillState:
    """backfill_state for the pages: kept in the cache for PROGRESS_SECONDS (its grouped query reads a year
    of calls), dropped whenever a day is built, so the dashboard and its polling line cost one such query
    a minute at most and still show each built day at once (where the worker shares the cache)."""
    from django.core.cache import cache

    return cache.get_or_set(PROGRESS_KEY, backfill_state, PROGRESS_SECONDS)


def review_backfill_queue(reason: str) -> bool:
    """Ask a worker for the backfill, through the outbox (in the caller's transaction if there is one), when
    some past day lacks its review or has calls entered after it: after `migrate`, `seed_demo`, an import
    of calls. Returns whether it was queued. The key carries the time, so each such event asks once."""
    from core.outbox import outbox_put

    if not backfill_state().due:
        return False
    outbox_put("review.backfill", {"reason": reason}, key=f"review.backfill:{reason}:{timezone.now().isoformat()}")
    return True
