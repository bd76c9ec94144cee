"""Reads on grids, hotspots, units and the map. Counts run in the database."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.times import day_start

from . import spatial
from .models import Grid, HotspotCase, HotspotStatus, PatrolArea, PatrolLine, PatrolPoint, Unit

# --- GeoJSON export ---------------------------------------------------------------------------------

def grids_geojson(grids: QuerySet[Grid] | None = None) -> dict:
    """A FeatureCollection that `grids_import_geojson` reads back unchanged."""
    grids = (grids if grids is not None else Grid.objects.all()).select_related(
        "parent", "community_officer").prefetch_related("staff").order_by("level", "code")
    features = []
    for g in grids:
        staff = list(g.staff.all())
        props = {"code": g.code, "name": g.name, "level": g.level, "parent": g.parent.code if g.parent else None,
                 "households": g.households}
        if g.community_officer:
            props["community_officer"] = g.community_officer.username
        if staff:
            props["auxiliaries"] = [s.name for s in staff if s.role == "auxiliary"]
            props["grid_workers"] = [s.name for s in staff if s.role == "grid_worker"]
        features.append({"type": "Feature", "geometry": g.boundary, "properties": props})
    return {"type": "FeatureCollection", "features": features}


# --- Placing calls ----------------------------------------------------------------------------------

def unplaced_calls():
    """Calls that neither their point nor their address put on a micro grid, newest first."""
    from incidents.models import Call

    return Call.objects.filter(micro_grid__isnull=True).order_by("-received_at", "-id")


def placement_suggestions(address: str, limit: int = 3) -> list[tuple[Grid, str, float]]:
    """Gazetteer places close to an address, a little below the automatic threshold, for the dispatcher."""
    cutoff = max(50, settings.GAZETTEER_MIN_SCORE - 25)
    found = spatial.gazetteer().candidates(address, cutoff=cutoff, limit=limit)
    grids = Grid.objects.in_bulk([m.grid_id for m in found])
    return [(grids[m.grid_id], m.name, round(m.score)) for m in found if m.grid_id in grids]


def call_position(call) -> tuple[float, float] | None:
    """(lat, lon) of a call: its own point, else the point of the address-list entry its address matched, else a
    point inside its micro grid."""
    if call.lat is not None and call.lon is not None:
        return call.lat, call.lon
    if call.place_id is not None and call.place.lat is not None and call.place.lon is not None:
        return call.place.lat, call.place.lon
    if call.micro_grid_id and call.micro_grid.boundary:
        return spatial.grid_centre(call.micro_grid.boundary)
    return None


# --- Police units -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RankedUnit:
    unit: Unit
    distance_m: float | None  # None: the unit or the call has no known position
    source: str  # "last" (reported position), "base", or "" (no position)
    busy: bool

    @property
    def distance_label(self) -> str:
        if self.distance_m is None:
            return ""
        return f"{self.distance_m:.0f} m" if self.distance_m < 1000 else f"{self.distance_m / 1000:.1f} km"


def busy_unit_ids() -> set[int]:
    """Patrol groups out on a call (dispatched, not finished). Stations and workstations take several calls
    at once and are never busy."""
    from incidents.models import PoliceAssignment

    return set(PoliceAssignment.objects.filter(finished_at__isnull=True, unit__kind=Unit.Kind.PATROL)
               .values_list("unit_id", flat=True))


def unit_position(unit: Unit, now=None) -> tuple[float, float, str] | None:
    now = now or timezone.now()
    fresh = now - timedelta(minutes=settings.UNIT_POSITION_FRESH_MINUTES)
    if unit.last_lat is not None and unit.last_lon is not None and unit.last_seen_at and unit.last_seen_at >= fresh:
        return unit.last_lat, unit.last_lon, "last"
    if unit.base_lat is not None and unit.base_lon is not None:
        return unit.base_lat, unit.base_lon, "base"
    return None


def units_by_distance(lat: float, lon: float, *, only_available: bool = True) -> list[RankedUnit]:
    """Units nearest first, measured from their fresh reported position or else their base. Available means
    switched on as available and, for a patrol group, not out on another call."""
    busy = busy_unit_ids()
    now = timezone.now()
    units = Unit.objects.all()
    if only_available:
        units = units.filter(available=True)
    ranked = []
    for unit in units:
        is_busy = unit.pk in busy
        if only_available and is_busy:
            continue
        pos = unit_position(unit, now)
        if pos is None:
            continue
        ranked.append(RankedUnit(unit, spatial.distance_m(lat, lon, pos[0], pos[1]), pos[2], is_busy))
    ranked.sort(key=lambda r: (r.distance_m, r.unit.code))
    return ranked


def unit_choices(call) -> tuple[list[RankedUnit], Unit | None]:
    """The units a dispatcher may send to `call`, in the order the workbench lists them, and the one it
    preselects. Free units (switched on, not out on a call) come first, nearest first, then free units with no
    known position, then patrol groups out on another call, kept choosable but marked. The preselected unit
    is the nearest free one (以就近派警为原则, seed 003); None when the call has no place on the map or no
    unit is free, so the dispatcher chooses."""
    busy = busy_unit_ids()
    position = call_position(call)
    now = timezone.now()
    rows = []
    for unit in Unit.objects.filter(available=True):
        pos = unit_position(unit, now) if position is not None else None
        distance = spatial.distance_m(*position, pos[0], pos[1]) if pos else None
        rows.append(RankedUnit(unit, distance, pos[2] if pos else "", unit.pk in busy))
    rows.sort(key=lambda r: (r.busy, r.distance_m is None, r.distance_m or 0.0, r.unit.code))
    first = rows[0] if rows else None
    nearest = first.unit if first is not None and not first.busy and first.distance_m is not None else None
    return rows, nearest


def dispatch_choice(call, unit: Unit) -> tuple[str, float | None]:
    """How `unit` was chosen for `call` ("nearest" when it is the nearest free unit, else "manual") and how far
    it was, for the assignment's record."""
    rows, nearest = unit_choices(call)
    distance = next((r.distance_m for r in rows if r.unit.pk == unit.pk), None)
    return ("nearest" if nearest is not None and nearest.pk == unit.pk else "manual"), distance


def open_assignments():
    from incidents.models import PoliceAssignment

    return (PoliceAssignment.objects.filter(finished_at__isnull=True)
            .select_related("call", "call__micro_grid", "call__place", "unit").order_by("dispatched_at"))


def waiting_police_calls():
    """Calls in the queue that the rules keep with the police: the ones the dispatch board offers to send."""
    from incidents.models import CALL_QUEUE_STATUSES, Call

    return (Call.objects.filter(status__in=CALL_QUEUE_STATUSES, suggested_police=True)
            .select_related("micro_grid", "place").order_by("-received_at"))


def _kpi_aggregates() -> dict:
    from incidents.models import PoliceAssignment

    def within(minutes):
        return Q(arrived_at__lte=F("dispatched_at") + timedelta(minutes=minutes))

    urban = timedelta(minutes=settings.POLICE_ARRIVAL_TARGET_URBAN_MINUTES)
    suburban = timedelta(minutes=settings.POLICE_ARRIVAL_TARGET_SUBURBAN_MINUTES)
    result = PoliceAssignment.Result
    return {
        # A call a station pushed on to its workstation is counted once, where it was attended (“pushed”
        # says how many the station sent on).
        "dispatched": Count("id", filter=~Q(result=result.PUSHED), distinct=True),
        "arrived": Count("id", filter=Q(arrived_at__isnull=False), distinct=True),
        "within_1": Count("id", filter=within(1), distinct=True),
        "within_3": Count("id", filter=within(3), distinct=True),
        "within_5": Count("id", filter=within(5), distinct=True),
        "on_target": Count("id", distinct=True, filter=(
            Q(unit__area="urban", arrived_at__lte=F("dispatched_at") + urban)
            | Q(unit__area="suburban", arrived_at__lte=F("dispatched_at") + suburban))),
        "finished": Count("id", filter=Q(finished_at__isnull=False) & ~Q(result=result.PUSHED), distinct=True),
        "on_scene": Count("id", filter=Q(result=result.ON_SCENE), distinct=True),
        "transferred": Count("id", filter=Q(result=result.TRANSFERRED), distinct=True),
        "handed_over": Count("id", filter=Q(result=result.HANDED_OVER), distinct=True),
        "pushed": Count("id", filter=Q(result=result.PUSHED), distinct=True),
    }


def _rates(row: dict) -> dict:
    def share(n, d):
        return round(100.0 * n / d, 1) if d else None

    row.update({
        "pct_1": share(row["within_1"], row["arrived"]),
        "pct_3": share(row["within_3"], row["arrived"]),
        "pct_5": share(row["within_5"], row["arrived"]),
        "pct_target": share(row["on_target"], row["arrived"]),
        "pct_on_scene": share(row["on_scene"], row["finished"]),
    })
    return row


def unit_page_context(unit: Unit, now=None) -> dict:
    """What a unit's phone page shows (issue 37): its calls still open, oldest first, with what to tap next;
    today's finished ones; its last position and whether that is stale; today's 1-3-5 figures from its own
    stamps; for a station, the workstations it may push a street call to."""
    from incidents.models import PoliceAssignment

    now = now or timezone.now()
    today = day_start(timezone.localdate(now))
    mine = PoliceAssignment.objects.filter(unit=unit).select_related("call", "call__micro_grid")
    open_rows = list(mine.filter(finished_at__isnull=True).order_by("dispatched_at"))
    done = list(mine.filter(finished_at__gte=today).order_by("-finished_at")[:20])
    fresh = timedelta(minutes=settings.UNIT_POSITION_FRESH_MINUTES)
    position = None
    if unit.last_seen_at is not None:
        age = now - unit.last_seen_at
        position = {"lat": unit.last_lat, "lon": unit.last_lon, "at": unit.last_seen_at,
                    "minutes": max(0, int(age.total_seconds() // 60)), "stale": age > fresh}
    return {
        "unit": unit,
        "open_assignments": open_rows,
        "finished": done,
        "position": position,
        "fresh_minutes": settings.UNIT_POSITION_FRESH_MINUTES,
        "kpis": police_kpis(today, today + timedelta(days=1), unit=unit)["total"],
        "target_minutes": (settings.POLICE_ARRIVAL_TARGET_URBAN_MINUTES if unit.area == "urban"
                           else settings.POLICE_ARRIVAL_TARGET_SUBURBAN_MINUTES),
        "workstations": (list(unit.bound_units.filter(kind=Unit.Kind.WORKSTATION))
                         if unit.kind == Unit.Kind.STATION else []),
    }


def police_kpis(start, end, *, unit: Unit | None = None) -> dict:
    """1-3-5 minute arrival shares (of the assignments with an arrival), share on the unit's urban/suburban
    target, and the on-scene completion rate (on scene ÷ finished, where transferred and handed-over count
    as not on scene), for assignments dispatched in [start, end): overall, per unit and per station. A
    workstation or patrol bound to two stations counts for both of them."""
    from incidents.models import PoliceAssignment

    qs = PoliceAssignment.objects.filter(dispatched_at__gte=start, dispatched_at__lt=end)
    if unit is not None:
        qs = qs.filter(unit=unit)
    aggs = _kpi_aggregates()
    total = _rates(qs.aggregate(**aggs))
    units = Unit.objects.in_bulk()
    per_unit = [_rates({**row, "unit": units[row["unit_id"]]})
                for row in qs.values("unit_id").annotate(**aggs).order_by("unit_id")]
    per_station: dict[int, dict] = {}
    own = qs.filter(unit__kind=Unit.Kind.STATION).values(station=F("unit_id")).annotate(**aggs).order_by()
    bound = qs.filter(unit__stations__isnull=False).values(station=F("unit__stations")).annotate(
        **aggs).order_by()
    for row in [*own, *bound]:
        acc = per_station.setdefault(row["station"], {k: 0 for k in aggs})
        for k in aggs:
            acc[k] += row[k]
    stations = [_rates({**acc, "unit": units[pk]}) for pk, acc in sorted(per_station.items())]
    targets = {"urban": settings.POLICE_ARRIVAL_TARGET_URBAN_MINUTES,
               "suburban": settings.POLICE_ARRIVAL_TARGET_SUBURBAN_MINUTES}
    return {"total": total, "units": per_unit, "stations": stations, "targets": targets}


# --- Hotspots ---------------------------------------------------------------------------------------

def _grid_calls(grid: Grid):
    from incidents.models import Call

    return Call.objects.filter(Q(micro_grid=grid) | Q(micro_grid__parent=grid) | Q(micro_grid__parent__parent=grid))


def _period_filter(hour_from: int, hour_to: int) -> Q:
    if hour_from == 0 and hour_to == 24:
        return Q()
    if hour_from < hour_to:
        return Q(received_at__hour__gte=hour_from, received_at__hour__lt=hour_to)
    return Q(received_at__hour__gte=hour_from) | Q(received_at__hour__lt=hour_to)  # across midnight


def hotspot_call_count(case: HotspotCase, start, end) -> int:
    from incidents.models import NON_POLICE

    return (_grid_calls(case.grid).filter(NON_POLICE, _period_filter(case.hour_from, case.hour_to),
                                          received_at__gte=start, received_at__lt=end).count())


def hotspot_daily_counts(case: HotspotCase, first_day, end_day) -> dict:
    """{day: non-police calls in the case's grid and period} for days in [first_day, end_day)."""
    from incidents.models import NON_POLICE

    rows = (_grid_calls(case.grid).filter(NON_POLICE, _period_filter(case.hour_from, case.hour_to),
                                          received_at__gte=day_start(first_day),
                                          received_at__lt=day_start(end_day))
            .annotate(day=TruncDate("received_at")).values("day").annotate(n=Count("id")).order_by())
    return {r["day"]: r["n"] for r in rows}


def hotspot_candidates(day, threshold: int | None = None) -> list[dict]:
    """Micro grids with at least the threshold of non-police calls on a day, without an open case."""
    from incidents.models import NON_POLICE, Call

    threshold = threshold or settings.HOTSPOT_THRESHOLD
    open_grids = HotspotCase.objects.filter(status=HotspotStatus.OPEN).values("grid_id")
    rows = (Call.objects.filter(NON_POLICE, micro_grid__isnull=False, received_at__gte=day_start(day),
                                received_at__lt=day_start(day + timedelta(days=1)))
            .exclude(micro_grid_id__in=open_grids)
            .values("micro_grid_id").annotate(n=Count("id")).filter(n__gte=threshold).order_by("-n"))
    grids = Grid.objects.in_bulk([r["micro_grid_id"] for r in rows])
    return [{"grid": grids[r["micro_grid_id"]], "calls": r["n"]} for r in rows]


def hotspots_open_history(days: int = 60, today=None) -> list[tuple]:
    """(day, cases open at the end of that day) for the last `days` days, in one query."""
    today = today or timezone.localdate()
    span = [today - timedelta(days=i) for i in range(days - 1, -1, -1)]
    aggs = {}
    for i, day in enumerate(span):
        end = day_start(day + timedelta(days=1))
        aggs[f"d{i}"] = Count("id", filter=Q(opened_at__lt=end) & (Q(closed_at__isnull=True) | Q(closed_at__gte=end)))
    counts = HotspotCase.objects.aggregate(**aggs)
    return [(day, counts[f"d{i}"]) for i, day in enumerate(span)]


# --- Map --------------------------------------------------------------------------------------------

def map_data(days: int | None = None) -> dict:
    """Everything the map draws: micro grids with their call counts, units, patrol geography, open hotspots."""
    from incidents.models import Call

    days = days or settings.MAP_DENSITY_DAYS
    since = timezone.now() - timedelta(days=days)
    counts = dict(Call.objects.filter(received_at__gte=since, micro_grid__isnull=False)
                  .values("micro_grid_id").annotate(n=Count("id")).values_list("micro_grid_id", "n"))
    hot = set(HotspotCase.objects.filter(status=HotspotStatus.OPEN).values_list("grid_id", flat=True))
    grids = [{"type": "Feature", "geometry": boundary,
              "properties": {"id": pk, "code": code, "name": name, "calls": counts.get(pk, 0), "hot": pk in hot}}
             for pk, code, name, boundary in Grid.objects.filter(level=Grid.Level.MICRO, boundary__isnull=False)
             .order_by("code").values_list("id", "code", "name", "boundary")]
    busy = busy_unit_ids()
    now = timezone.now()
    units = []
    for unit in Unit.objects.all():
        pos = unit_position(unit, now)
        if pos:
            units.append({"id": unit.pk, "code": unit.code, "name": unit.name, "kind": unit.kind,
                          "lat": pos[0], "lon": pos[1], "from": pos[2], "available": unit.available,
                          "busy": unit.pk in busy})
    return {
        "days": days,
        "max_calls": max(counts.values(), default=0),
        "grids": {"type": "FeatureCollection", "features": grids},
        "units": units,
        "points": list(PatrolPoint.objects.values("id", "name", "lat", "lon", "unit_id")),
        "lines": [{"name": n, "geometry": p} for n, p in PatrolLine.objects.values_list("name", "path")],
        "areas": [{"name": n, "kind": k, "geometry": b}
                  for n, k, b in PatrolArea.objects.values_list("name", "kind", "boundary")],
    }
