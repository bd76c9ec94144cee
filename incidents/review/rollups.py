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

from django.conf import settings
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
        self.windows: _Windows | None = None  # the hotspot windows of the last day built

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


def _membership(age: int) -> tuple:
    """Which counts a day at `age` (0: the day itself) feeds: (any call in the span, today, then each hotspot
    window and the window before it)."""
    span = 2 * max(sel.HOTSPOT_WINDOWS.values())
    feeds = [0 <= age < span, age == 0]
    for length in sel.HOTSPOT_WINDOWS.values():
        feeds += [0 <= age < length, length <= age < 2 * length]
    return tuple(feeds)


class _Windows:
    """Per micro grid, the counts of the windows ending on `day`: [large, any, today, then each window and
    the one before it]. Moving it by a day touches only the few days that enter or leave a window."""

    def __init__(self, day: date, rollups: "Rollups"):
        self.day = day
        self.counts: dict[str, list] = {}
        span = 2 * max(sel.HOTSPOT_WINDOWS.values())
        for age, rollup in enumerate(reversed(rollups.days(day, span))):
            self._apply(rollup, _membership(age), 1)

    def _apply(self, rollup: dict, feeds: tuple, sign: int) -> None:
        if not any(feeds):
            return
        slots = [(i, i >= 2) for i, on in enumerate(feeds) if on]  # (slot, counts non-police calls)
        width = len(feeds)
        for micro, (large, calls, non_police) in rollup["grids"].items():
            row = self.counts.get(micro)
            if row is None:
                row = self.counts[micro] = [large, *([0] * width)]
            for i, non in slots:
                row[1 + i] += sign * (non_police if non else calls)

    def move(self, day: date, rollups: "Rollups") -> None:
        span = 2 * max(sel.HOTSPOT_WINDOWS.values())
        first = min(day, self.day) - timedelta(days=span)
        for k in range(abs((day - self.day).days) + span + 1):
            d = first + timedelta(days=k)
            before, after = _membership((self.day - d).days), _membership((day - d).days)
            if before != after:
                rollup = rollups.days(d, 1)[0]
                self._apply(rollup, before, -1)
                self._apply(rollup, after, 1)
        self.day = day

    def rows(self) -> list[dict]:
        names = [f"{n}{s}" for n in sel.HOTSPOT_WINDOWS for s in ("", "_before")]
        return [{"micro_grid_id": int(micro), "large": row[0], "today": row[2],
                 **dict(zip(names, row[3:], strict=True))} for micro, row in self.counts.items() if row[1] > 0]


def grid_windows(w: sel.Window, rollups: "Rollups") -> list[dict]:
    """As selectors.grid_windows, from the rollups: (large, micro) → the day's calls, and non-police calls in
    each hotspot window and the window before it, for micro grids with any call in the last 60 days. A run
    that builds consecutive days (the backfill, a year's rebuild) moves the windows by a day instead of adding
    up 60 days again."""
    state = rollups.windows
    if state is not None and abs((w.day - state.day).days) == 1:
        state.move(w.day, rollups)
    else:
        state = rollups.windows = _Windows(w.day, rollups)
    return state.rows()


def heat_by_hour(w: sel.Window, rollups: Rollups) -> list[dict]:
    """As selectors.heat_by_hour, from the rollups: (large, ISO weekday, hour) → calls in the heat window, and
    on the day itself."""
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
