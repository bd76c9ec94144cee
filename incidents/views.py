from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.keyset import keyset_page, position
from core.models import Role
from core.roles import role_required
from diversion.models import Category, CategoryGroup, HandoffSlip
from grids.selectors import map_data

from . import services
from .forms import CallForm, ClassifyForm, GridForm, PoliceFinishForm
from .models import CONTENT_MAX_CHARS, Call, PoliceAssignment
from .presenters import call_panel_context, decision_summaries
from .selectors import call_queue, call_timeline_for, calls_visible_to, department_holds_call, wallboard_figures

CENTRE = (Role.DISPATCHER, Role.SUPERVISOR)
QUEUE_PAGE = 30  # the calls a screen shows, and a little more to scroll: the rest come on demand
QUEUE_LIMIT = 200  # as far down as the queue is drawn to keep the selected call in view
QUEUE_ORDER = ("-received_at", "-id")  # call_queue()'s order
CALL_LIST_PAGE = 50


def _queue_context(selected_pk=None) -> dict:
    """The queue as the screen shows it (issue 42): its first QUEUE_PAGE calls, the rest on demand
    (queue_partial with `after`), and down to the selected call if it waits further on (at most QUEUE_LIMIT),
    so it stays in view. `selected_gone`: the selected call no longer waits (decided elsewhere)."""
    queue = call_queue()
    count = queue.count()
    page = keyset_page(queue, QUEUE_ORDER, None, QUEUE_PAGE)
    selected_gone = False
    if selected_pk is not None and not any(c.pk == selected_pk for c in page.rows):
        selected = queue.filter(pk=selected_pk).first()
        selected_gone = selected is None
        if selected is not None:
            through = queue.filter(Q(received_at__gt=selected.received_at)
                                   | Q(received_at=selected.received_at, pk__gte=selected.pk))
            page = keyset_page(through, QUEUE_ORDER, None, QUEUE_LIMIT)
            page.after = position(page.rows[-1], QUEUE_ORDER) if len(page.rows) < count else None
    return {"queue": page.rows, "queue_after": page.after, "queue_count": count, "selected_pk": selected_pk,
            "selected_gone": selected_gone}


@role_required(Role.DISPATCHER)
def workbench(request):
    wanted = request.GET.get("call")
    queue_ctx = _queue_context(int(wanted) if wanted and wanted.isdigit() else None)
    queue = queue_ctx["queue"]
    selected = next((c for c in queue if c.pk == queue_ctx["selected_pk"]), None)
    if selected is None and queue:  # the first call nobody else is working on
        selected = next((c for c in queue if c.claim_state(request.user) != "other"), queue[0])
    queue_ctx.update(selected_pk=selected.pk if selected else None, selected_gone=False)
    groups = CategoryGroup.objects.prefetch_related(
        Prefetch("categories", Category.objects.filter(active=True).select_related("default_department")))
    context = {"nav": "workbench", "groups": groups, **queue_ctx}
    if selected:
        context.update(call_panel_context(request.user, selected))
    return render(request, "dispatcher/workbench.html", context)


@role_required(Role.DISPATCHER)
def queue_partial(request):
    """The queue for its live refresh, or with `after` the calls that follow a position (its rows only)."""
    after = request.GET.get("after")
    if after:
        page = keyset_page(call_queue(), QUEUE_ORDER, after, QUEUE_PAGE)
        return render(request, "partials/queue_rows.html", {"queue": page.rows, "queue_after": page.after,
                                                            "selected_pk": None})
    selected = request.GET.get("selected")
    return render(request, "partials/queue.html", _queue_context(int(selected) if selected and selected.isdigit()
                                                                 else None))


@role_required(Role.DISPATCHER)
def call_panel(request, pk):
    call = get_object_or_404(Call.objects.select_related("micro_grid", "suggested_category"), pk=pk)
    return render(request, "partials/call_panel.html", call_panel_context(request.user, call))


def _claim_bar(request, call, message=""):
    state = call.claim_state(request.user)
    return render(request, "partials/claim_bar.html", {
        "call": call, "holder": call.claim_holder(), "state": state, "message": message,
        "can_take_over": state == "other" and request.user.has_role(Role.SUPERVISOR)})


@role_required(*CENTRE)
def call_claim(request, pk):
    """GET: who holds the call (the bar on the workbench panel and the call page). POST: claim it, keep one's
    claim fresh, or (a supervisor, `take_over`) take it over. Refusals are said on the bar; nothing changes."""
    call = get_object_or_404(Call.objects.select_related("claimed_by"), pk=pk)
    message = ""
    if request.method == "POST":
        try:
            call = services.call_claim(actor=request.user, call_pk=call.pk,
                                       take_over=request.POST.get("take_over") == "1")
        except DomainError as exc:
            message = exc.message
            call.refresh_from_db()
        if not request.htmx:
            if message:
                messages.error(request, message)
            return redirect("call-page", pk=call.pk)
    return _claim_bar(request, call, message)


@require_POST
@role_required(*CENTRE)
def call_release(request, pk):
    call = get_object_or_404(Call, pk=pk)
    message = ""
    try:
        call = services.call_release(actor=request.user, call_pk=call.pk)
    except DomainError as exc:
        message = exc.message
        call.refresh_from_db()
    return _claim_bar(request, call, message)


@require_POST
@role_required(Role.DISPATCHER)
def call_classify(request, pk):
    call = get_object_or_404(Call, pk=pk)
    form = ClassifyForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("__all__", []) + [e for f, errs in form.errors.items() if f != "__all__"
                                                          for e in errs]:
            messages.error(request, error)
        return redirect(f"{reverse('dispatch-workbench')}?call={call.pk}")
    data = form.cleaned_data
    police = data["decision"] == "police"
    try:
        result = services.call_classify(
            actor=request.user, call_pk=call.pk, version=data["version"], police=police,
            category=None if police else data["category"], department=data["department"],
            instructions=data["instructions"], override_reason=data["override_reason"], unit=data["unit"],
            note=data["note"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('dispatch-workbench')}?call={call.pk}")
    if result.repeated:
        messages.info(request, _("Call %(id)s was already classified; nothing more was done.") % {"id": call.call_id})
    elif result.review is not None:
        first = result.review.steps.select_related("layer").filter(opened_at__isnull=False).first()
        messages.success(request, _("Call %(id)s waits for review before its slip is issued (%(layer)s).") % {
            "id": call.call_id, "layer": first.layer.name if first else "—"})
    elif result.assignment:
        messages.success(request, _("Call %(id)s sent to %(unit)s.") % {"id": call.call_id,
                                                                       "unit": result.assignment.unit.name})
    else:
        messages.success(request, format_html(
            _("Slip {serial} issued to {dept}. <a href=\"{url}\">Print</a>"),
            serial=result.slip.serial, dept=result.slip.department.name,
            url=reverse("slip-print", args=[result.slip.pk])))
    return redirect("dispatch-workbench")


@role_required(Role.DISPATCHER)
def call_new(request):
    form = CallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.call_intake(actor=request.user, data=form.intake_data())
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if result.created:
                messages.success(request, _("Call %(id)s registered.") % {"id": result.call.call_id})
            else:
                messages.info(request, _("Call %(id)s was already registered.") % {"id": result.call.call_id})
            return redirect(f"{reverse('dispatch-workbench')}?call={result.call.pk}")
    return render(request, "dispatcher/call_form.html", {"form": form, "nav": "new",
                                                          "content_max": CONTENT_MAX_CHARS})


@role_required(*CENTRE, Role.DEPARTMENT)
def call_page(request, pk):
    call = get_object_or_404(calls_visible_to(request.user), pk=pk)
    slips = HandoffSlip.objects.filter(call=call).select_related("department", "category").prefetch_related(
        "callbacks")
    if request.user.role == Role.DEPARTMENT and not request.user.is_superuser:
        slips = slips.filter(department_id=request.user.department_id)
    is_centre = request.user.has_role(*CENTRE)
    timeline = call_timeline_for(request.user, call)
    decision_record = decision_summaries(timeline) if is_centre else None
    context = {
        "call": call,
        "nav": "calls",
        "slips": slips,
        "assignments": call.assignments.select_related("unit", "assigned_by"),
        "timeline": timeline,
        "decision_record": decision_record,
        "can_reveal": services.can_reveal_phone(request.user, call),
        "grid_form": GridForm(initial={"micro_grid": call.micro_grid}),
        "finish_form": PoliceFinishForm(),
        "is_centre": is_centre,
        # The review layers the call passed or waits in (issue 40): the centre's business only.
        "reviews": call.reviews.select_related("category", "department").prefetch_related(
            "steps__layer", "steps__decided_by") if is_centre else [],
        # A department whose slips on the call were all returned sees what it handled, not the caller.
        "holds_call": is_centre or department_holds_call(request.user, call),
    }
    context.update(call_panel_context(request.user, call))
    return render(request, "dispatcher/call_page.html", context)


@role_required(*CENTRE)
def call_list(request):
    calls = calls_visible_to(request.user).select_related(None).select_related("category")  # what the rows show
    status = request.GET.get("status")
    if status:
        calls = calls.filter(status=status)
    page = keyset_page(calls, ("-received_at", "-id"), request.GET.get("after"), CALL_LIST_PAGE)
    return render(request, "dispatcher/call_list.html", {"calls": page.rows, "page": page, "nav": "calls",
                                                         "status": status, "statuses": Call._meta.get_field(
                                                             "status").choices})


@require_POST
@role_required(*CENTRE, Role.DEPARTMENT)
def call_reveal_phone(request, pk):
    """The full number for a reason (audited). A refusal re-renders the form with the message: 200 to htmx,
    which swaps it in place, 400 to anything else."""
    call = get_object_or_404(calls_visible_to(request.user), pk=pk)
    reason = request.POST.get("reason", "")
    ctx = {"call": call, "can_reveal": True, "reason": reason}
    try:
        ctx["phone"] = services.call_reveal_phone(actor=request.user, call=call, reason=reason)
    except PermissionDenied:
        return HttpResponse(_("Not allowed"), status=403)
    except DomainError as error:
        ctx["error"] = error.message
        return render(request, "partials/reveal_phone.html", ctx, status=200 if request.htmx else 400)
    return render(request, "partials/reveal_phone.html", ctx)


@require_POST
@role_required(Role.DISPATCHER)
def call_set_grid(request, pk):
    call = get_object_or_404(Call, pk=pk)
    form = GridForm(request.POST)
    if form.is_valid():
        try:
            services.call_set_grid(actor=request.user, call_pk=call.pk, grid=form.cleaned_data["micro_grid"])
            messages.success(request, _("Grid saved."))
        except DomainError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("Choose a micro grid."))
    return redirect(request.POST.get("next") or reverse("call-page", args=[call.pk]))


@require_POST
@role_required(Role.DISPATCHER)
def police_finish(request, pk):
    assignment = get_object_or_404(PoliceAssignment, pk=pk)
    form = PoliceFinishForm(request.POST)
    if form.is_valid():
        try:
            services.police_finish(actor=request.user, assignment_pk=assignment.pk, **form.cleaned_data)
            messages.success(request, _("Police assignment finished."))
        except DomainError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("Choose finished on scene or transferred."))
    return redirect("call-page", pk=assignment.call_id)


# --- The wall screen (指挥中心大屏, issue 36) --------------------------------------------------------------

WALLBOARD = (Role.WALLBOARD, Role.SUPERVISOR)


@role_required(*WALLBOARD)
def wallboard(request):
    """Today's figures and the map at 1920 x 1080, readable across the room, refreshed by the live channel.
    A wall screen's login sees this page and nothing else."""
    return render(request, "wallboard/board.html", {
        "figures": wallboard_figures(), "nav": "wallboard", "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION})


@role_required(*WALLBOARD)
def wallboard_figures_partial(request):
    return render(request, "wallboard/figures.html", {"figures": wallboard_figures()})


@role_required(*WALLBOARD)
def wallboard_map(request):
    """The map's data as the grid map draws it, shaded by the last day's calls (no unit or call details
    beyond positions and counts)."""
    return JsonResponse(map_data(days=1))
