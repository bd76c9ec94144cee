"""The daily review pages: the dashboard (from the stored review), the drill-down to the calls behind a
figure, the grid map data, building on demand, and the exports. Supervisors and dispatchers."""

from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.models import Role
from core.replica import replica_view
from core.roles import role_required
from core.times import day_param

from ..models import DailyReview
from ..retention import export_audit
from .exports import review_pdf, review_xlsx
from .presenters import figure_title, review_context
from .selectors import UnknownFigure, review_calls
from .services import backfill_progress, daily_review_build

REVIEWERS = (Role.SUPERVISOR, Role.DISPATCHER)


def _day(request) -> date:
    return day_param(request, "date", timezone.localdate() - timedelta(days=1))


def _latest_built_day() -> date:
    """Where the dashboard opens without a date: the latest day whose review is stored (yesterday's once the
    nightly job or the backfill has built it), else yesterday."""
    today = timezone.localdate()
    latest = (DailyReview.objects.filter(scope=DailyReview.CITY, date__lte=today).order_by("-date")
              .values_list("date", flat=True).first())
    return latest or today - timedelta(days=1)


def _scope(request) -> str:
    scope = request.GET.get("scope") or request.POST.get("scope") or DailyReview.CITY
    if scope != DailyReview.CITY and not (scope.startswith("grid-") and scope[5:].isdigit()):
        raise Http404(_("Unknown scope."))
    return scope


def review_get(day: date, scope: str) -> DailyReview | None:
    return DailyReview.objects.select_related("grid").filter(date=day, scope=scope).first()


@role_required(*REVIEWERS)
@replica_view
def review_dashboard(request):
    day = _day(request) if request.GET.get("date") else _latest_built_day()
    scope = _scope(request)
    review = review_get(day, scope)
    scopes = (DailyReview.objects.filter(date=day, grid__isnull=False).select_related("grid")
              .order_by("grid__code").values_list("scope", "grid__code", "grid__name"))
    has_boundaries = False
    if review is not None:
        from grids.models import Grid

        has_boundaries = Grid.objects.filter(level=Grid.Level.MICRO, boundary__isnull=False).exists()
    ctx = {"nav": "review", "day": day, "scope": scope, "scopes": scopes, "has_boundaries": has_boundaries,
           "prev_day": day - timedelta(days=1), "next_day": day + timedelta(days=1), "review": review,
           "backfill": backfill_progress()}
    if review is not None:
        ctx.update(review_context(review))
    return render(request, "review/dashboard.html", ctx)


@role_required(*REVIEWERS)
def review_backfill_progress(request):
    """The dashboard's progress line while past days' reviews are being built; it polls itself until done."""
    return render(request, "review/_backfill.html", {"backfill": backfill_progress(), "polling": True})


@require_POST
@role_required(*REVIEWERS)
def review_build(request):
    day, scope = _day(request), _scope(request)
    daily_review_build(day=day, actor=request.user)
    messages.success(request, _("The review of %(day)s was built.") % {"day": day.isoformat()})
    return redirect(f"{reverse('review')}?{urlencode({'date': day.isoformat(), 'scope': scope})}")


@role_required(*REVIEWERS)
@replica_view
def review_calls_view(request):
    day, scope = _day(request), _scope(request)
    key = request.GET.get("key", "calls")
    review = review_get(day, scope)
    try:
        calls = review_calls(day, scope, key, review.data if review else None)
    except UnknownFigure:
        raise Http404(_("Unknown figure.")) from None
    calls = calls.select_related("micro_grid", "category", "suggested_category").order_by("received_at", "id")
    page = Paginator(calls, 50).get_page(request.GET.get("page"))
    back = f"{reverse('review')}?{urlencode({'date': day.isoformat(), 'scope': scope})}"
    return render(request, "review/calls.html",
                  {"nav": "review", "day": day, "scope": scope, "key": key, "page": page,
                   "figure": figure_title(key, review.data if review else None),
                   "count": page.paginator.count, "back": back, "review": review})


@role_required(*REVIEWERS)
@replica_view
def review_map_data(request):
    """The day's calls per micro grid, in the shape static/js/grid_map.js draws."""
    from grids.models import Grid

    day, scope = _day(request), _scope(request)
    review = review_get(day, scope)
    if review is None:
        raise Http404(_("No review for this day."))
    counts = {int(k): v for k, v in review.data["heat_micro"].items()}
    hot = {h["grid_id"] for h in review.data["hotspots"]["day"]}
    grids = Grid.objects.filter(level=Grid.Level.MICRO, boundary__isnull=False)
    if review.grid_id:
        grids = grids.filter(parent__parent_id=review.grid_id)
    features = [{"type": "Feature", "geometry": boundary,
                 "properties": {"id": pk, "code": code, "name": name, "calls": counts.get(pk, 0), "hot": pk in hot}}
                for pk, code, name, boundary in grids.order_by("code").values_list("id", "code", "name", "boundary")]
    return JsonResponse({"days": 1, "max_calls": max(counts.values(), default=0),
                         "grids": {"type": "FeatureCollection", "features": features},
                         "units": [], "points": [], "lines": [], "areas": []})


def _export_name(review: DailyReview, ext: str) -> str:
    scope = "city" if review.grid_id is None else review.grid.code
    return f"daily-review-{review.date.isoformat()}-{scope}.{ext}"


@role_required(*REVIEWERS)
@replica_view
def review_export_xlsx(request):
    review = review_get(_day(request), _scope(request))
    if review is None:
        raise Http404(_("No review for this day."))
    response = HttpResponse(review_xlsx(review),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{_export_name(review, "xlsx")}"'
    export_audit(actor=request.user, obj=review, what="daily_review", format="xlsx", day=review.date.isoformat(),
                 scope=review.scope)
    return response


@role_required(*REVIEWERS)
@replica_view
def review_export_pdf(request):
    review = review_get(_day(request), _scope(request))
    if review is None:
        raise Http404(_("No review for this day."))
    response = HttpResponse(review_pdf(review, request=request), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_export_name(review, "pdf")}"'
    export_audit(actor=request.user, obj=review, what="daily_review", format="pdf", day=review.date.isoformat(),
                 scope=review.scope)
    return response
