"""Daily rollups for the review's long windows (issue 43).

The hotspot windows reach back 60 days (30 and the 30 before) and the heat map REVIEW_HEAT_DAYS; counting
them from the calls cost each day's build a scan of two months, and a year's rebuild 365 of them. A day's
calls are counted once into a ReviewRollup row (by micro grid: its large grid, calls, non-police calls; by
large grid and hour: calls), and a build adds up the rows of its window.

Freshness: a rollup counts the calls as they were when it was built. Building a day's review counts that day
and the day before again (decisions made after midnight on the evening's calls), the backfill counts again
every day it rebuilds (imported or changed calls), and a `Rollups` object keeps what it counted for the
days after it in the same run, so a year's rebuild counts each day once."""

from datetime import date, timedelta

from django.db.models import Count
from django.db.models.functions import ExtractHour
from django.utils import timezone

from ..models import NON_POLICE, ReviewRollup
from . import selectors as sel

NO_GRID = "none"


def day_rollup(day: date) -> dict:
    """{"grids": {micro: [large, calls, non_police]}, "hours": {large or "none": [24 counts]}} for the day's
    calls: two grouped queries over one day."""
    w = sel.Window(day)
    calls = sel._calls_between(w.start, w.end)
    grids = {str(r["micro_grid_id"]): [r["large"], r["calls"], r["non_police"]]
             for r in calls.filter(micro_grid__isnull=False)
             .values("micro_grid_id", large=sel.large_of())
             .annotate(calls=Count("id"), non_police=Count("id", filter=NON_POLICE))}
    hours: dict[str, list[int]] = {}
    for r in calls.values(large=sel.large_of(), hour=ExtractHour("received_at")).annotate(calls=Count("id")):
        hours.setdefault(NO_GRID if r["large"] is None else str(r["large"]), [0] * 24)[r["hour"]] += r["calls"]
    return {"grids": grids, "hours": hours}


def rollup_store(day: date) -> dict:
    """Count the day and store its row (replacing an older one)."""
    data = day_rollup(day)
    ReviewRollup.objects.update_or_create(date=day, defaults={**data, "built_at": timezone.now()})
    return data


class Rollups:
    """The rollups one run reads. `fresh`: days to count again before their first use in this run (the
    stored row may predate changes to their calls). Days counted or read are kept for the rest of the run."""

    def __init__(self, fresh=()):
        self.fresh = set(fresh)
        self.known: dict[date, dict] = {}

    def days(self, last: date, count: int) -> list[dict]:
        """The rollups of the `count` days ending with `last`, oldest first."""
        wanted = [last - timedelta(days=k) for k in range(count - 1, -1, -1)]
        missing = [d for d in wanted if d not in self.known]
        if missing:
            stored = {r.date: {"grids": r.grids, "hours": r.hours}
                      for r in ReviewRollup.objects.filter(date__in=[d for d in missing if d not in self.fresh])}
            for d in missing:
                self.known[d] = stored[d] if d in stored else rollup_store(d)
        return [self.known[d] for d in wanted]


def grid_windows(w: sel.Window, rollups: Rollups) -> list[dict]:
    """As selectors.grid_windows, from the rollups: (large, micro) → the day's calls, and non-police calls in
    each hotspot window and the window before it, for micro grids with any call in the last 60 days."""
    longest = max(sel.HOTSPOT_WINDOWS.values())
    days = rollups.days(w.day, 2 * longest)  # oldest first: the day itself is the last
    rows: dict[str, dict] = {}
    for age, rollup in enumerate(reversed(days)):  # age 0: the day itself
        for micro, (large, calls, non_police) in rollup["grids"].items():
            row = rows.get(micro)
            if row is None:
                row = rows[micro] = {"micro_grid_id": int(micro), "large": large, "today": 0,
                                     **{f"{n}{s}": 0 for n in sel.HOTSPOT_WINDOWS for s in ("", "_before")}}
            if age == 0:
                row["today"] = calls
            for name, length in sel.HOTSPOT_WINDOWS.items():
                if age < length:
                    row[name] += non_police
                elif age < 2 * length:
                    row[f"{name}_before"] += non_police
    return list(rows.values())


def heat_by_hour(w: sel.Window, rollups: Rollups) -> list[dict]:
    """As selectors.heat_by_hour, from the rollups: (large, ISO weekday, hour) → calls in the heat window, and
    on the day itself."""
    from django.conf import settings

    cells: dict[tuple, list[int]] = {}
    days = rollups.days(w.day, settings.REVIEW_HEAT_DAYS)
    for age, rollup in enumerate(reversed(days)):
        weekday = (w.day - timedelta(days=age)).isoweekday()
        for large, by_hour in rollup["hours"].items():
            key = None if large == NO_GRID else int(large)
            for hour, n in enumerate(by_hour):
                if n:
                    cell = cells.setdefault((key, weekday, hour), [0, 0])
                    cell[0] += n
                    if age == 0:
                        cell[1] += n
    return [{"large": large, "weekday": weekday, "hour": hour, "calls": n, "today": today}
            for (large, weekday, hour), (n, today) in cells.items()]
