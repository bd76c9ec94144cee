"""Department scorecard and league table (seed 002: 办理实效、群众评价、办理程序).

For the slips issued in [start, end):
- on-time acceptance = accepted within SUPERVISION_ON_TIME_ACCEPT_MINUTES of issue / slips kept (not
  returned) whose acceptance is due (accepted, or the window has passed);
- on-time completion = completed by the deadline / slips kept whose completion is due (completed, or past
  the deadline), plus the slips issued earlier still open and overdue at the period's end (or now): an
  overdue slip counts against the department in every period it stays open;
- return rate = returned / issued; reopen rate = reopened at least once / kept;
- satisfaction = callbacks reaching the caller with “resolved: yes” and satisfaction ≥ 3 / callbacks
  reaching the caller;
- notices = notices the department received in the period, by type.
Scores out of 100: results = (on-time completion + (1 − reopen rate)) / 2; rating = satisfaction;
process = (on-time acceptance + (1 − return rate)) / 2 minus SUPERVISION_NOTICE_PENALTY points per notice,
never below 0. Total = weighted mean with SUPERVISION_SCORE_WEIGHTS. A rate with nothing to measure
counts as full marks.

A department ranks only if it had slips to measure (issued in the period, or overdue ones carried into
it); every other active department is listed after the ranked ones with rank None ("no slips"), so a
department that received nothing cannot outrank those that worked. All counting happens in the database:
five grouped queries."""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q
from django.utils import timezone

from core.models import Role

from ..models import Callback, Department, HandoffSlip, Notice, SlipStatus


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _full(rate: float | None) -> float:
    return 1.0 if rate is None else rate


def department_scores(start, end, *, now=None, weights: dict | None = None) -> list[dict]:
    """League table rows: the ranked departments best first, then the unranked ones (no slips) by code."""
    now = now or timezone.now()
    weights = weights or settings.SUPERVISION_SCORE_WEIGHTS
    penalty = settings.SUPERVISION_NOTICE_PENALTY
    accept_window = timedelta(minutes=settings.SUPERVISION_ON_TIME_ACCEPT_MINUTES)
    kept = ~Q(status=SlipStatus.RETURNED)
    slip_rows = (
        HandoffSlip.objects.filter(issued_at__gte=start, issued_at__lt=end).order_by().values("department_id")
        .annotate(
            issued=Count("id"),
            returned=Count("id", filter=Q(status=SlipStatus.RETURNED)),
            kept=Count("id", filter=kept),
            accept_due=Count("id", filter=kept & (Q(accepted_at__isnull=False)
                                                  | Q(issued_at__lt=now - accept_window))),
            accepted_on_time=Count("id", filter=kept & Q(accepted_at__lte=F("issued_at") + accept_window)),
            complete_due=Count("id", filter=kept & (Q(completed_at__isnull=False) | Q(deadline__lt=now))),
            completed_on_time=Count("id", filter=kept & Q(completed_at__lte=F("deadline"))),
            reopened=Count("id", filter=kept & Q(reopen_count__gt=0)),
        )
    )
    callback_rows = (
        Callback.objects.filter(slip__issued_at__gte=start, slip__issued_at__lt=end, reached=True).order_by()
        .values("slip__department_id")
        .annotate(rated=Count("id"), satisfied=Count("id", filter=Q(resolved=Callback.Resolved.YES,
                                                                    satisfaction__gte=3)))
    )
    cutoff = min(end, now)
    # Still open at the cutoff: never completed, or completed after it. Two counts, not one with an OR, so
    # each reads its own index (the open slips past their deadline; the completions after the cutoff) and
    # neither walks the history issued before the period (issue 42).
    carried = HandoffSlip.objects.filter(kept, issued_at__lt=start, deadline__lt=cutoff).order_by()
    carried_rows = [
        *carried.filter(completed_at__isnull=True).values("department_id").annotate(n=Count("id")),
        *carried.filter(completed_at__gte=cutoff).values("department_id").annotate(n=Count("id")),
    ]
    notice_rows = (Notice.objects.filter(issued_at__gte=start, issued_at__lt=end).order_by()
                   .values("department_id", "kind").annotate(n=Count("id")))

    figures: dict[int, dict] = {}

    def row(dept_id):
        return figures.setdefault(dept_id, {
            "issued": 0, "returned": 0, "kept": 0, "accept_due": 0, "accepted_on_time": 0, "complete_due": 0,
            "completed_on_time": 0, "reopened": 0, "carried_overdue": 0, "rated": 0, "satisfied": 0,
            "notices": {"warning": 0, "supervision": 0, "rectification": 0}})

    for r in slip_rows:
        row(r.pop("department_id")).update(r)
    for r in carried_rows:
        row(r["department_id"])["carried_overdue"] += r["n"]
    for r in callback_rows:
        row(r["slip__department_id"]).update(rated=r["rated"], satisfied=r["satisfied"])
    for r in notice_rows:
        row(r["department_id"])["notices"][r["kind"]] = r["n"]

    departments = Department.objects.in_bulk(list(figures))
    total_weight = sum(weights.values())
    rows, unranked = [], []
    for dept_id, f in figures.items():
        if not (f["issued"] or f["carried_overdue"]):
            continue
        on_time_accept = _rate(f["accepted_on_time"], f["accept_due"])
        on_time_complete = _rate(f["completed_on_time"], f["complete_due"] + f["carried_overdue"])
        return_rate = _rate(f["returned"], f["issued"])
        reopen_rate = _rate(f["reopened"], f["kept"])
        satisfaction = _rate(f["satisfied"], f["rated"])
        notice_points = sum(penalty[k] * n for k, n in f["notices"].items())
        results = 100 * (_full(on_time_complete) + 1 - (reopen_rate or 0.0)) / 2
        rating = 100 * _full(satisfaction)
        process = max(0.0, 100 * (_full(on_time_accept) + 1 - (return_rate or 0.0)) / 2
                      - notice_points)
        total = (weights["results"] * results + weights["rating"] * rating
                 + weights["process"] * process) / total_weight
        dept = departments[dept_id]
        rows.append({
            "department_id": dept_id, "code": dept.code, "name": dept.name, **f, "ranked": True,
            "notices_total": sum(f["notices"].values()),
            "on_time_accept": on_time_accept, "on_time_complete": on_time_complete, "return_rate": return_rate,
            "reopen_rate": reopen_rate, "satisfaction": satisfaction,
            "results": round(results, 2), "rating": round(rating, 2), "process": round(process, 2),
            "total": round(total, 2),
        })
    rows.sort(key=lambda r: (-r["total"], r["code"]))
    for rank, r in enumerate(rows, start=1):
        r["rank"] = rank
    measured = {r["department_id"] for r in rows}
    for dept in Department.objects.filter(Q(active=True) | Q(pk__in=list(figures))).exclude(
            pk__in=measured).order_by("code"):
        f = figures.get(dept.pk) or row(dept.pk)
        unranked.append({
            "department_id": dept.pk, "code": dept.code, "name": dept.name, **f, "ranked": False, "rank": None,
            "notices_total": sum(f["notices"].values()), "on_time_accept": None, "on_time_complete": None,
            "return_rate": None, "reopen_rate": None, "satisfaction": None, "results": None, "rating": None,
            "process": None, "total": None,
        })
    return rows + unranked


FIGURE_DAYS = 30
FIGURE_CACHE_KEY = "supervision:own-figures"
FIGURE_CACHE_SECONDS = 120


def _figure_rows(now) -> list[dict]:
    return department_scores(now - timedelta(days=FIGURE_DAYS), now, now=now)


def own_figures(user, *, now=None) -> dict | None:
    """A department's own row of the league table over the last FIGURE_DAYS days (the figures the centre
    ranks it by, shown on its inbox), with the number of departments ranked; None for anyone else. A
    department with no slips in those days has its row with rank None."""
    if user.role != Role.DEPARTMENT or not user.department_id:
        return None
    if now is None:
        # The live inbox: one league table for every department, a few minutes old at most, rather than
        # the whole month's slips aggregated on each page (issue 42).
        rows = cache.get_or_set(FIGURE_CACHE_KEY, lambda: _figure_rows(timezone.now()), FIGURE_CACHE_SECONDS)
    else:
        rows = _figure_rows(now)
    own = next((r for r in rows if r["department_id"] == user.department_id), None)
    return {"days": FIGURE_DAYS, "row": own, "of": sum(1 for r in rows if r["rank"] is not None)}
