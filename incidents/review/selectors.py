"""The daily review's reads (警情日研判). Every figure is counted in the database: each query groups by the
large grid of the call (None: not placed on a grid) so one pass serves the city and every large grid; the
builder (incidents.review.services) only adds up those grouped rows for the city and shapes them.

The same definitions are used by the drill-down (`review_calls`), so a figure and the list of its calls
always agree."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, ExtractHour, ExtractIsoWeekDay
from django.utils import timezone

from core.times import day_start

from ..models import NON_POLICE, POLICE, Call


def large_of(prefix: str = ""):
    """The large grid of a call: micro → small → large; a micro grid hung straight under a large one too."""
    return Coalesce(F(f"{prefix}micro_grid__parent__parent_id"), F(f"{prefix}micro_grid__parent_id"))


def category_of(prefix: str = ""):
    """The sub-category: the dispatcher's choice, or the suggestion while undecided."""
    return Coalesce(F(f"{prefix}category_id"), F(f"{prefix}suggested_category_id"))


def group_of(prefix: str = ""):
    return Coalesce(F(f"{prefix}category__group_id"), F(f"{prefix}suggested_category__group_id"))


@dataclass(frozen=True)
class Window:
    """The day [start, end) and the windows that reach back from its end."""

    day: date

    @property
    def start(self) -> datetime:
        return day_start(self.day)

    @property
    def end(self) -> datetime:
        return day_start(self.day + timedelta(days=1))

    def back(self, days: int) -> datetime:
        return day_start(self.day + timedelta(days=1 - days))


HOTSPOT_WINDOWS = {"day": 1, "week": 7, "month": 30}


def _calls_between(start, end) -> QuerySet:
    return Call.objects.filter(received_at__gte=start, received_at__lt=end).order_by()


# --- Counts by sub-category ---------------------------------------------------------------------------

def counts_by_category(w: Window) -> list[dict]:
    """(large, cat) → calls, police. Groups, totals and the police share are sums of these rows."""
    return list(_calls_between(w.start, w.end).values(large=large_of(), cat=category_of())
                .annotate(calls=Count("id"), police=Count("id", filter=POLICE)))


def counts_compared(days: list[date]) -> list[dict]:
    """(day index, large) → calls, police for the comparison days (previous day, last week, last year)."""
    from django.db.models import Case, IntegerField, When

    cond = Q()
    whens = []
    for i, d in enumerate(days):
        q = Q(received_at__gte=day_start(d), received_at__lt=day_start(d + timedelta(days=1)))
        cond |= q
        whens.append(When(q, then=Value(i)))
    return list(Call.objects.filter(cond).order_by()
                .values(large=large_of(), k=Case(*whens, output_field=IntegerField()))
                .annotate(calls=Count("id"), police=Count("id", filter=POLICE)))


# --- Slips, callbacks, notices --------------------------------------------------------------------------

def slip_counts(w: Window, now) -> list[dict]:
    """(large, department) → the slips on the day's calls and what became of them (as of `now`)."""
    from diversion.models import HandoffSlip, SlipStatus

    accept_window = timedelta(minutes=settings.SUPERVISION_ON_TIME_ACCEPT_MINUTES)
    kept = ~Q(status=SlipStatus.RETURNED)
    return list(
        HandoffSlip.objects.filter(call__received_at__gte=w.start, call__received_at__lt=w.end).order_by()
        .values("department_id", large=large_of("call__"))
        .annotate(
            slips=Count("id"),
            accepted=Count("id", filter=Q(accepted_at__isnull=False)),
            completed=Count("id", filter=Q(completed_at__isnull=False)),
            returned=Count("id", filter=Q(status=SlipStatus.RETURNED)),
            reopened=Count("id", filter=Q(reopen_count__gt=0)),
            overdue=Count("id", filter=kept & (Q(completed_at__gt=F("deadline"))
                                               | Q(completed_at__isnull=True, deadline__lt=now))),
            kept=Count("id", filter=kept),
            accept_due=Count("id", filter=kept & (Q(accepted_at__isnull=False)
                                                  | Q(issued_at__lt=now - accept_window))),
            accepted_on_time=Count("id", filter=kept & Q(accepted_at__lte=F("issued_at") + accept_window)),
            complete_due=Count("id", filter=kept & (Q(completed_at__isnull=False) | Q(deadline__lt=now))),
            completed_on_time=Count("id", filter=kept & Q(completed_at__lte=F("deadline"))),
        )
    )


def callback_counts(w: Window) -> list[dict]:
    """(large, department) → callbacks that reached the caller of one of the day's calls."""
    from diversion.models import Callback

    return list(
        Callback.objects.filter(slip__call__received_at__gte=w.start, slip__call__received_at__lt=w.end,
                                reached=True).order_by()
        .values(large=large_of("slip__call__"), department_id=F("slip__department_id"))
        .annotate(rated=Count("id"),
                  resolved_yes=Count("id", filter=Q(resolved="yes")),
                  satisfied=Count("id", filter=Q(resolved="yes", satisfaction__gte=3)),
                  scored=Count("satisfaction"), score_sum=Sum("satisfaction"))
    )


def notice_counts(w: Window) -> tuple[list[dict], list[dict]]:
    """Notices raised on the day: (kind, department) for the city; (large, kind) → notices covering a slip
    of a call in that large grid."""
    from diversion.models import Notice, NoticeItem

    city = list(Notice.objects.filter(issued_at__gte=w.start, issued_at__lt=w.end).order_by()
                .values("kind", "department_id").annotate(n=Count("id")))
    grids = list(NoticeItem.objects.filter(notice__issued_at__gte=w.start, notice__issued_at__lt=w.end,
                                           slip__isnull=False).order_by()
                 .values("notice__kind", large=large_of("slip__call__"))
                 .annotate(n=Count("notice_id", distinct=True)))
    return city, grids


# --- Repeat callers ----------------------------------------------------------------------------------

def _repeat_having():
    return (Q(today__gte=settings.REVIEW_REPEAT_DAY_CALLS)
            | Q(today__gte=1, week__gte=settings.REVIEW_REPEAT_WEEK_CALLS))


def repeat_phones(w: Window) -> tuple[list[dict], list[dict]]:
    """Callers with REVIEW_REPEAT_DAY_CALLS+ calls on the day, or a call on the day and
    REVIEW_REPEAT_WEEK_CALLS+ in the week to it: city-wide, and counting only a large grid's calls. A caller
    is their number's keyed hash (caller_key), which outlives the number itself."""
    calls = _calls_between(w.back(settings.REVIEW_REPEAT_WEEK_DAYS), w.end).exclude(caller_key="")
    counts = {"week": Count("id"), "today": Count("id", filter=Q(received_at__gte=w.start))}
    city = list(calls.values("caller_key").annotate(**counts).filter(_repeat_having()))
    grids = list(calls.filter(micro_grid__isnull=False).values("caller_key", large=large_of())
                 .annotate(**counts).filter(_repeat_having()))
    return city, grids


def repeat_calls(w: Window, keys: list[str]) -> list[dict]:
    """The calls of those callers (caller_key) in the week window, oldest first."""
    if not keys:
        return []
    return list(_calls_between(w.back(settings.REVIEW_REPEAT_WEEK_DAYS), w.end)
                .filter(caller_key__in=keys)
                .values("id", "call_id", "caller_key", "caller_phone", "received_at", large=large_of(),
                        cat=category_of())
                .order_by("caller_key", "received_at", "id"))


# --- Clusters ---------------------------------------------------------------------------------------

def _epoch_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"  # SQLite: the embedded demo


def cluster_calls(w: Window) -> list[dict]:
    """The day's calls that are part of a cluster: REVIEW_CLUSTER_CALLS+ calls of one sub-category in one
    micro grid within REVIEW_CLUSTER_HOURS. A call is in one when a window of that length starting at one
    of the calls of its (micro grid, sub-category) holds enough calls and covers it; clusters less than the
    window apart chain into one. Returned with their cluster number inside their (grid, sub-category)."""
    span = settings.REVIEW_CLUSTER_HOURS * 3600
    t = _epoch_sql("c.received_at")
    sql = f"""
    WITH day AS (
        SELECT c.id, c.micro_grid_id AS micro, COALESCE(c.category_id, c.suggested_category_id) AS cat,
               c.received_at, {t} AS t
        FROM incidents_call c
        WHERE c.received_at >= %s AND c.received_at < %s AND c.micro_grid_id IS NOT NULL
          AND COALESCE(c.category_id, c.suggested_category_id) IS NOT NULL
    ), candidates AS (
        SELECT * FROM day WHERE (micro, cat) IN (
            SELECT micro, cat FROM day GROUP BY micro, cat HAVING COUNT(*) >= %s)
    ), ahead AS (
        SELECT *, COUNT(*) OVER (PARTITION BY micro, cat ORDER BY t
                                 RANGE BETWEEN CURRENT ROW AND {span} FOLLOWING) AS n_ahead
        FROM candidates
    ), covered AS (
        SELECT *, MAX(CASE WHEN n_ahead >= %s THEN 1 ELSE 0 END)
                  OVER (PARTITION BY micro, cat ORDER BY t RANGE BETWEEN {span} PRECEDING AND CURRENT ROW) AS hit
        FROM ahead
    ), members AS (
        SELECT id, micro, cat, received_at, t,
               CASE WHEN t - LAG(t) OVER (PARTITION BY micro, cat ORDER BY t, id) <= {span} THEN 0 ELSE 1 END
               AS starts
        FROM covered WHERE hit = 1
    )
    SELECT m.id, m.micro, m.cat, m.received_at,
           SUM(m.starts) OVER (PARTITION BY m.micro, m.cat ORDER BY m.t, m.id ROWS UNBOUNDED PRECEDING) AS no,
           COALESCE(s.parent_id, g.parent_id) AS large
    FROM members m JOIN grids_grid g ON g.id = m.micro LEFT JOIN grids_grid s ON s.id = g.parent_id
    ORDER BY m.micro, m.cat, m.t, m.id
    """
    n = settings.REVIEW_CLUSTER_CALLS
    with connection.cursor() as cur:
        cur.execute(sql, [w.start, w.end, n, n])
        cols = [c[0] for c in cur.description]
        rows = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
    for row in rows:
        row["received_at"] = _aware(row["received_at"])
    return rows


def _aware(value) -> datetime:
    """A time read by raw SQL: PostgreSQL gives it aware; SQLite gives the stored UTC time naive (or as text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return timezone.make_aware(value, UTC) if timezone.is_naive(value) else value


# --- Grids: hotspots and the map ---------------------------------------------------------------------

def grid_windows(w: Window) -> list[dict]:
    """(large, micro) → the day's calls, and non-police calls in each hotspot window and the window before
    it, for micro grids that had any call in the last 60 days. Counted from the calls: the definition the
    build's rollups (incidents.review.rollups.grid_windows) are tested against; the build reads those."""
    longest = max(HOTSPOT_WINDOWS.values())
    calls = _calls_between(w.back(2 * longest), w.end).filter(micro_grid__isnull=False)
    counts = {"today": Count("id", filter=Q(received_at__gte=w.start))}
    for name, days in HOTSPOT_WINDOWS.items():
        counts[name] = Count("id", filter=NON_POLICE & Q(received_at__gte=w.back(days)))
        counts[f"{name}_before"] = Count("id", filter=NON_POLICE & Q(received_at__gte=w.back(2 * days),
                                                                     received_at__lt=w.back(days)))
    return list(calls.values("micro_grid_id", large=large_of()).annotate(**counts))


def heat_by_grid_group(w: Window) -> list[dict]:
    """(large, small, group) → the day's calls."""
    return list(_calls_between(w.start, w.end).values(large=large_of(), small=F("micro_grid__parent_id"),
                                                       group=group_of()).annotate(calls=Count("id")))


def heat_by_hour(w: Window) -> list[dict]:
    """(large, ISO weekday, hour) → calls in the REVIEW_HEAT_DAYS to the day, and on the day itself. Counted from
    the calls: the definition rollups.heat_by_hour is tested against; the build reads the rollups."""
    return list(_calls_between(w.back(settings.REVIEW_HEAT_DAYS), w.end)
                .values(large=large_of(), weekday=ExtractIsoWeekDay("received_at"), hour=ExtractHour("received_at"))
                .annotate(calls=Count("id"), today=Count("id", filter=Q(received_at__gte=w.start))))


# --- Drill-down ---------------------------------------------------------------------------------------

def scope_filter(scope: str) -> Q:
    if scope == "city":
        return Q()
    if scope == "none":
        return Q(micro_grid__isnull=True)
    grid_id = int(scope.removeprefix("grid-"))
    return Q(micro_grid__parent__parent_id=grid_id) | Q(micro_grid__parent_id=grid_id,
                                                        micro_grid__parent__parent__isnull=True)


class UnknownFigure(ValueError):
    pass


def review_calls(day: date, scope: str, key: str, data: dict | None = None) -> QuerySet[Call]:
    """The calls behind one figure of a day's review. `key` is what the dashboard links with:
    calls | police | non_police | group:<id> | cat:<id|none> | hour:<h> | slips | slips:<field> |
    dept:<id> | heat:<small|large id>:<group id> | micro:<id> | hotspot:<window>:<micro id> |
    hotspot_before:<window>:<micro id> | repeat:<n> | cluster:<n> (the last two from the stored review).
    Raises UnknownFigure for anything else."""
    from diversion.models import SlipStatus

    w = Window(day)
    scoped = Call.objects.filter(scope_filter(scope))
    today = scoped.filter(received_at__gte=w.start, received_at__lt=w.end)
    kind, _, arg = key.partition(":")
    try:
        if key == "calls":
            return today
        if key == "police":
            return today.filter(POLICE)
        if key == "non_police":
            return today.filter(NON_POLICE)
        if kind == "group":
            return today.annotate(g=group_of()).filter(g=None if arg == "none" else int(arg))
        if kind == "cat":
            return today.annotate(c=category_of()).filter(c=None if arg == "none" else int(arg))
        if kind == "hour":
            return today.filter(received_at__hour=int(arg))
        if kind == "micro":
            return today.filter(micro_grid_id=int(arg))
        if kind == "heat":
            grid, _, group = arg.partition(":")
            level = "micro_grid__parent_id" if scope != "city" else None
            grid_q = Q(**{level: int(grid)}) if level else scope_filter(f"grid-{int(grid)}")
            return today.filter(grid_q).annotate(g=group_of()).filter(g=None if group == "none" else int(group))
        if kind in ("hotspot", "hotspot_before"):
            window, _, micro = arg.partition(":")
            days = HOTSPOT_WINDOWS[window]
            lo, hi = (w.back(days), w.end) if kind == "hotspot" else (w.back(2 * days), w.back(days))
            return scoped.filter(NON_POLICE, micro_grid_id=int(micro), received_at__gte=lo, received_at__lt=hi)
        if key == "slips" or kind in ("slips", "dept"):
            slips_q = Q(slips__isnull=False)
            field = arg if kind == "slips" else ""
            if kind == "dept":
                slips_q &= Q(slips__department_id=int(arg))
            elif field == "accepted":
                slips_q &= Q(slips__accepted_at__isnull=False)
            elif field == "completed":
                slips_q &= Q(slips__completed_at__isnull=False)
            elif field == "returned":
                slips_q &= Q(slips__status=SlipStatus.RETURNED)
            elif field == "reopened":
                slips_q &= Q(slips__reopen_count__gt=0)
            elif field == "overdue":
                slips_q &= ~Q(slips__status=SlipStatus.RETURNED) & (
                    Q(slips__completed_at__gt=F("slips__deadline"))
                    | Q(slips__completed_at__isnull=True, slips__deadline__lt=timezone.now()))
            elif field:
                raise UnknownFigure(key)
            return today.filter(pk__in=Call.objects.filter(slips_q).values("pk"))
        if kind in ("repeat", "cluster") and data is not None:
            items = data.get("repeats" if kind == "repeat" else "clusters", [])
            ids = items[int(arg)]["call_ids"]
            return Call.objects.filter(pk__in=ids)
    except (ValueError, KeyError, IndexError, TypeError):
        raise UnknownFigure(key) from None
    raise UnknownFigure(key)
