"""Map, police dispatch board, KPIs, unplaced calls, hotspot cases and patrol check-ins. Views parse,
authorise, call one service and render or redirect."""

from datetime import UTC, datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.models import Role
from core.roles import role_required
from core.times import day_param
from diversion.models import Category, Department
from incidents.forms import VersionField
from incidents.models import Call, PoliceAssignment
from incidents.services import call_set_grid

from . import selectors, services, spatial
from .models import Grid, HotspotCase, HotspotStatus, PatrolCheckIn, PatrolPoint, Team, Unit

CENTRE = (Role.DISPATCHER, Role.SUPERVISOR)


# --- Forms --------------------------------------------------------------------------------------------

class DispatchForm(forms.Form):
    unit = forms.ModelChoiceField(Unit.objects.filter(available=True), required=False, label=gettext_lazy("unit"))
    note = forms.CharField(required=False, max_length=500, label=gettext_lazy("note"))
    version = VersionField()


class HandOverForm(forms.Form):
    category = forms.ModelChoiceField(Category.objects.filter(active=True), to_field_name="code",
                                      label=gettext_lazy("sub-category"))
    department = forms.ModelChoiceField(Department.objects.filter(active=True), to_field_name="code",
                                        required=False, label=gettext_lazy("department"))
    note = forms.CharField(required=False, max_length=500, label=gettext_lazy("note"))


class PlaceForm(forms.Form):
    code = forms.CharField(max_length=32, label=gettext_lazy("micro grid code"))

    def clean_code(self):
        grid = Grid.objects.filter(code=self.cleaned_data["code"].strip(), level=Grid.Level.MICRO).first()
        if grid is None:
            raise forms.ValidationError(_("No micro grid has this code."))
        return grid


class HotspotForm(forms.Form):
    grid = forms.CharField(max_length=32, label=gettext_lazy("grid code"))
    hour_from = forms.IntegerField(min_value=0, max_value=23, initial=0, label=gettext_lazy("from hour"))
    hour_to = forms.IntegerField(min_value=1, max_value=24, initial=24, label=gettext_lazy("to hour"))
    team = forms.ModelChoiceField(Team.objects.select_related("grid"), label=gettext_lazy("team"))
    plan = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=gettext_lazy("plan"))
    source = forms.ChoiceField(choices=HotspotCase.Source.choices, initial=HotspotCase.Source.MANUAL,
                               widget=forms.HiddenInput)

    def clean_grid(self):
        grid = Grid.objects.filter(code=self.cleaned_data["grid"].strip()).first()
        if grid is None:
            raise forms.ValidationError(_("No grid has this code."))
        return grid


def _errors(request, form):
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _back(request, default):
    nxt = request.POST.get("next", "")
    return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else default)


# --- Map ----------------------------------------------------------------------------------------------

@role_required(*CENTRE)
def grid_map(request):
    return render(request, "grids/map.html", {
        "nav": "grids", "sub": "map", "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION, "days": settings.MAP_DENSITY_DAYS})


@role_required(*CENTRE)
def grid_map_data(request):
    return JsonResponse(selectors.map_data())


# --- Police dispatch board ------------------------------------------------------------------------------

@role_required(*CENTRE)
def dispatch_board(request):
    waiting = []
    for call in selectors.waiting_police_calls()[:50]:
        position = selectors.call_position(call)
        ranked = selectors.units_by_distance(*position)[:3] if position else []
        waiting.append({"call": call, "ranked": ranked})
    busy = selectors.busy_unit_ids()
    units = [{"unit": u, "busy": u.pk in busy, "position": selectors.unit_position(u)}
             for u in Unit.objects.prefetch_related("stations")]
    return render(request, "grids/dispatch.html", {
        "nav": "grids", "sub": "dispatch", "waiting": waiting, "assignments": selectors.open_assignments(),
        "units": units, "dispatch_form": DispatchForm(), "hand_over_form": HandOverForm(),
        "results": PoliceAssignment.Result.choices[:2]})


@require_POST
@role_required(Role.DISPATCHER)
def dispatch_call(request, pk):
    call = get_object_or_404(Call, pk=pk)
    form = DispatchForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return redirect("grids-dispatch")
    unit = None if request.POST.get("nearest") else form.cleaned_data["unit"]
    try:
        assignment = services.unit_dispatch(actor=request.user, call_pk=call.pk, unit_pk=unit.pk if unit else None,
                                            note=form.cleaned_data["note"], version=form.cleaned_data["version"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        distance = (_(" (%(m)d m away)") % {"m": assignment.distance_m}) if assignment.distance_m is not None else ""
        messages.success(request, _("Call %(id)s sent to %(unit)s%(distance)s.")
                         % {"id": call.call_id, "unit": assignment.unit.name, "distance": distance})
    return redirect("grids-dispatch")


@require_POST
@role_required(Role.DISPATCHER)
def assignment_arrive(request, pk):
    assignment = get_object_or_404(PoliceAssignment, pk=pk)
    try:
        services.police_arrive(actor=request.user, assignment_pk=assignment.pk)
        messages.success(request, _("Arrival recorded."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back(request, reverse("grids-dispatch"))


@require_POST
@role_required(Role.DISPATCHER)
def assignment_hand_over(request, pk):
    assignment = get_object_or_404(PoliceAssignment, pk=pk)
    form = HandOverForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return redirect("grids-dispatch")
    try:
        slip = services.police_hand_over(actor=request.user, assignment_pk=assignment.pk, **form.cleaned_data)
        messages.success(request, _("Slip %(serial)s issued to %(dept)s.") % {"serial": slip.serial,
                                                                              "dept": slip.department.name})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("grids-dispatch")


@role_required(*CENTRE)
def police_kpis(request):
    today = timezone.localdate()
    start = day_param(request, "from", today - timedelta(days=6))
    end = day_param(request, "to", today)
    if end < start:
        start, end = end, start
    kpis = selectors.police_kpis(selectors.day_start(start), selectors.day_start(end + timedelta(days=1)))
    return render(request, "grids/kpis.html", {"nav": "grids", "sub": "kpis", "kpis": kpis, "start": start,
                                               "end": end})


# --- Unplaced calls --------------------------------------------------------------------------------------

@role_required(*CENTRE)
def unplaced(request):
    calls = list(selectors.unplaced_calls()[:100])
    rows = [{"call": c, "suggestions": selectors.placement_suggestions(c.address) if c.address else []}
            for c in calls]
    return render(request, "grids/unplaced.html", {"nav": "grids", "sub": "unplaced", "rows": rows,
                                                   "total": selectors.unplaced_calls().count()})


@require_POST
@role_required(Role.DISPATCHER)
def place_call(request, pk):
    call = get_object_or_404(Call, pk=pk)
    form = PlaceForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return redirect("grids-unplaced")
    try:
        call_set_grid(actor=request.user, call_pk=call.pk, grid=form.cleaned_data["code"])
        messages.success(request, _("Call %(id)s placed on %(grid)s.") % {"id": call.call_id,
                                                                          "grid": form.cleaned_data["code"]})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("grids-unplaced")


@role_required(*CENTRE)
def place_preview(request):
    """Where a typed address lands, as the dispatcher types it on the new-call form (issue 37): the micro
    grid the gazetteer puts it on, or the nearest known places when it is not sure."""
    address = (request.GET.get("address") or "").strip()[:200]
    grid, place = spatial.place(address=address) if address else (None, None)  # as intake will place it
    return render(request, "grids/_place_preview.html", {
        "address": address, "grid": grid, "matched": place.name if place else "",
        "suggestions": [] if grid or not address else selectors.placement_suggestions(address)})


# --- Hotspot cases ---------------------------------------------------------------------------------------

@role_required(*CENTRE)
def hotspot_list(request):
    yesterday = timezone.localdate() - timedelta(days=1)
    cases = HotspotCase.objects.select_related("grid", "team").order_by("status", "-opened_at")
    return render(request, "grids/hotspots.html", {
        "nav": "grids", "sub": "hotspots", "open_cases": [c for c in cases if c.status == HotspotStatus.OPEN],
        "closed_cases": [c for c in cases if c.status == HotspotStatus.CLOSED][:50],
        "candidates": selectors.hotspot_candidates(yesterday), "candidate_day": yesterday,
        "history": selectors.hotspots_open_history(60), "form": HotspotForm(),
        "threshold": settings.HOTSPOT_THRESHOLD, "quiet_days": settings.HOTSPOT_QUIET_DAYS})


@require_POST
@role_required(*CENTRE)
def hotspot_new(request):
    form = HotspotForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return redirect("grids-hotspots")
    data = form.cleaned_data
    try:
        case = services.hotspot_open(actor=request.user, grid=data["grid"], team=data["team"], plan=data["plan"],
                                     hour_from=data["hour_from"], hour_to=data["hour_to"], source=data["source"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("grids-hotspots")
    return redirect("grids-hotspot", pk=case.pk)


@role_required(*CENTRE)
def hotspot_detail(request, pk):
    case = get_object_or_404(HotspotCase.objects.select_related("grid", "team", "opened_by"), pk=pk)
    today = timezone.localdate()
    first = max(timezone.localtime(case.opened_at).date() - timedelta(days=case.quiet_days),
                today - timedelta(days=60))
    daily = selectors.hotspot_daily_counts(case, first, today + timedelta(days=1))
    days = [(first + timedelta(days=i)) for i in range((today - first).days + 1)]
    current = selectors.hotspot_call_count(case, timezone.now() - timedelta(days=case.quiet_days), timezone.now())
    return render(request, "grids/hotspot.html", {
        "nav": "grids", "sub": "hotspots", "case": case, "actions": case.actions.select_related("actor"),
        "daily": [(d, daily.get(d, 0)) for d in days], "current": current})


@require_POST
@role_required(*CENTRE)
def hotspot_action(request, pk):
    case = get_object_or_404(HotspotCase, pk=pk)
    try:
        services.hotspot_add_action(actor=request.user, case_pk=case.pk, text=request.POST.get("text", ""))
        messages.success(request, _("Action recorded."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("grids-hotspot", pk=case.pk)


# --- Patrol -------------------------------------------------------------------------------------------------

@role_required(*CENTRE)
def patrol(request):
    points = PatrolPoint.objects.select_related("unit").order_by("unit__code", "name")
    since = timezone.now() - timedelta(hours=24)
    recent = {}
    for check_in in (PatrolCheckIn.objects.filter(at__gte=since)
                     .select_related("unit").order_by("at")):
        recent[check_in.point_id] = check_in
    return render(request, "grids/patrol.html", {"nav": "grids", "sub": "patrol",
                                                 "rows": [(p, recent.get(p.pk)) for p in points]})


@require_POST
@role_required(*CENTRE)
def patrol_check_in(request, pk):
    point = get_object_or_404(PatrolPoint, pk=pk)
    unit_pk = request.POST.get("unit") or point.unit_id
    if not unit_pk or not str(unit_pk).isdigit():
        messages.error(request, _("Choose a unit."))
        return redirect("grids-patrol")
    unit = get_object_or_404(Unit, pk=unit_pk)
    try:
        services.patrol_check_in(actor=request.user, point_pk=point.pk, unit_pk=unit.pk,
                                 note=request.POST.get("note", ""))
        messages.success(request, _("%(unit)s checked in at %(point)s.") % {"unit": unit.name, "point": point.name})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("grids-patrol")


# --- The unit's phone page (issue 37) ------------------------------------------------------------------

class PositionForm(forms.Form):
    lat = forms.FloatField(label=gettext_lazy("latitude"))
    lon = forms.FloatField(label=gettext_lazy("longitude"))
    # When the handset took the fix (milliseconds since the epoch, as the browser gives it); empty: now.
    taken = forms.IntegerField(required=False, min_value=0)


class StampForm(forms.Form):
    step = forms.ChoiceField(choices=[(s, s) for s in services.UNIT_TAPS])
    note = forms.CharField(required=False, max_length=500)
    workstation = forms.IntegerField(required=False)


def _unit_of(request) -> Unit:
    """The unit whose page this is: the login's own unit. The centre may look at any (?unit=<code>)."""
    if request.user.role == Role.UNIT and not request.user.is_superuser:
        return request.user.unit
    code = request.GET.get("unit") or request.POST.get("unit")
    if not code:
        raise Http404
    return get_object_or_404(Unit, code=code)


@role_required(Role.UNIT, *CENTRE)
def unit_page(request):
    if request.user.role != Role.UNIT and not (request.GET.get("unit") or ""):
        # The centre opens a unit's page from the list of units (to see what its phone shows).
        return render(request, "grids/unit_list.html", {"nav": "grids", "units": Unit.objects.all()})
    unit = _unit_of(request)
    return render(request, "grids/unit.html", {"nav": "unit", **selectors.unit_page_context(unit)})


@require_POST
@role_required(Role.UNIT, *CENTRE)
def unit_stamp(request, pk):
    """One tap on the unit's page: on the way, arrived, finished on scene, transferred or pushed on. The
    server stamps the time. Another unit's call is not found, whatever id is typed."""
    unit = _unit_of(request)
    assignment = get_object_or_404(PoliceAssignment, pk=pk, unit=unit)
    form = StampForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return redirect(_unit_url(request, unit))
    step, note = form.cleaned_data["step"], form.cleaned_data["note"]
    done = {"en_route": _("On the way: %(time)s."), "arrive": _("Arrival recorded: %(time)s."),
            "on_scene": _("Finished on scene: %(time)s."), "transfer": _("Transferred to the station: %(time)s."),
            "push": _("Pushed to the workstation: %(time)s.")}[step]
    try:
        services.unit_tap(actor=request.user, assignment_pk=assignment.pk, step=step, note=note,
                          workstation_pk=form.cleaned_data["workstation"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"time": timezone.localtime().strftime("%H:%M:%S")})
    return redirect(_unit_url(request, unit))


@require_POST
@role_required(Role.UNIT, *CENTRE)
def unit_position(request):
    """The handset reports where the unit is (the page's button, or any client posting lat/lon). Answers JSON
    to a script, else back to the page."""
    unit = _unit_of(request)
    form = PositionForm(request.POST)
    wants_json = "application/json" in request.headers.get("Accept", "")
    error = None
    if not form.is_valid():
        error = _("That is not a position.")
    else:
        taken = form.cleaned_data["taken"]
        at = None
        if taken:
            try:
                at = datetime.fromtimestamp(taken / 1000, tz=UTC)
            except (OverflowError, OSError, ValueError):
                error = _("The position's time is not a time.")
        if error is None:
            try:
                services.unit_set_position(actor=request.user, unit_pk=unit.pk, lat=form.cleaned_data["lat"],
                                           lon=form.cleaned_data["lon"], at=at)
            except DomainError as exc:
                error = exc.message
    if wants_json:
        if error:
            return JsonResponse({"ok": False, "error": str(error)}, status=400)
        return JsonResponse({"ok": True})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Position reported."))
    return redirect(_unit_url(request, unit))


def _unit_url(request, unit: Unit) -> str:
    url = reverse("unit-page")
    return url if request.user.role == Role.UNIT else f"{url}?unit={unit.code}"
