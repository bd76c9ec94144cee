"""Writes on grids, hotspot cases, police units and patrols. Each service runs in one transaction, locks
what it changes, checks the rules, saves and writes an audit row."""

import json
import math
from dataclasses import dataclass
from datetime import timedelta

import shapely
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from shapely.geometry import shape
from shapely.validation import explain_validity

from core.audit import Reason, audit_write
from core.errors import Conflict, DomainError
from core.models import Role
from core.outbox import outbox_put
from core.roles import acts_for_unit, is_administrator
from core.times import day_start

from . import spatial
from .models import (
    HOTSPOT_TRANSITIONS,
    Grid,
    GridImport,
    GridStaff,
    HotspotAction,
    HotspotCase,
    HotspotStatus,
    PatrolCheckIn,
    PatrolPoint,
    Team,
    Unit,
)

LEVEL_ORDER = [Grid.Level.LARGE, Grid.Level.SMALL, Grid.Level.MICRO]
PARENT_LEVEL = {Grid.Level.SMALL: Grid.Level.LARGE, Grid.Level.MICRO: Grid.Level.SMALL}
MAX_REPORTED_ERRORS = 50


def _check_centre(actor):
    if not getattr(actor, "is_authenticated", False) or not actor.has_role(Role.DISPATCHER, Role.SUPERVISOR):
        raise PermissionDenied


def _check_admin(actor):
    if actor is None:
        return  # management command run by an operator on the server
    if not is_administrator(actor):
        raise PermissionDenied


# --- Geometry and GeoJSON import --------------------------------------------------------------------

class GridImportError(DomainError):
    """A GeoJSON file that cannot be imported. `errors` lists every problem found; nothing was written."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        shown = errors[:MAX_REPORTED_ERRORS]
        more = len(errors) - len(shown)
        text = "; ".join(shown) + (_(" … and %(n)d more") % {"n": more} if more > 0 else "")
        super().__init__(_("The file was not imported: %(errors)s") % {"errors": text}, code="bad_geojson")


def geometry_problem(geometry, *, kinds=("Polygon", "MultiPolygon")) -> str | None:
    """Why a GeoJSON geometry cannot be a boundary (or a patrol line), or None if it can."""
    if not isinstance(geometry, dict) or "type" not in geometry:
        return _("geometry is not a GeoJSON object")
    if geometry["type"] not in kinds:
        return _("geometry type %(t)s is not one of %(kinds)s") % {"t": geometry["type"], "kinds": ", ".join(kinds)}
    try:
        geom = shape(geometry)
    except Exception as exc:  # noqa: BLE001 - shapely raises several types for malformed coordinates
        return _("coordinates cannot be read (%(e)s)") % {"e": exc}
    if geom.is_empty:
        return _("geometry is empty")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        return _("coordinates are not longitude/latitude")
    if not shapely.is_valid(geom):
        return _("invalid geometry: %(why)s") % {"why": explain_validity(geom)}
    return None


def _parse_geojson(data) -> dict:
    if isinstance(data, bytes | bytearray):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise GridImportError([_("the file is not UTF-8 text")]) from None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise GridImportError([_("the file is not JSON (%(e)s)") % {"e": exc}]) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(
            data.get("features"), list):
        raise GridImportError([_("the file is not a GeoJSON FeatureCollection")])
    return data


@dataclass
class _Row:
    code: str
    name: str
    level: str
    parent: str
    boundary: dict | None
    households: int | None
    officer: str
    auxiliaries: list
    grid_workers: list


def _read_features(features) -> tuple[list[_Row], list[str]]:
    rows, errors, seen = [], [], set()
    for i, feature in enumerate(features, start=1):
        where = _("feature %(i)d") % {"i": i}
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            errors.append(_("%(where)s: not a GeoJSON Feature") % {"where": where})
            continue
        props = feature.get("properties") or {}
        code = str(props.get("code") or "").strip()
        if not code or len(code) > 32:
            errors.append(_("%(where)s: a code of 1 to 32 characters is required") % {"where": where})
            continue
        where = _("feature %(i)d (%(code)s)") % {"i": i, "code": code}
        if code in seen:
            errors.append(_("%(where)s: the code appears twice in the file") % {"where": where})
        seen.add(code)
        level = str(props.get("level") or Grid.Level.MICRO)
        if level not in Grid.Level.values:
            errors.append(_("%(where)s: level must be large, small or micro") % {"where": where})
            continue
        geometry = feature.get("geometry")
        if geometry is None and level == Grid.Level.MICRO:
            errors.append(_("%(where)s: a micro grid needs a boundary") % {"where": where})
        elif geometry is not None and (problem := geometry_problem(geometry)):
            errors.append(f"{where}: {problem}")
        households = props.get("households")
        if households not in (None, "") and (not str(households).isdigit()):
            errors.append(_("%(where)s: households must be a whole number") % {"where": where})
            households = None
        name = str(props.get("name") or code).strip()[:64]
        rows.append(_Row(code=code, name=name, level=level, parent=str(props.get("parent") or "").strip(),
                         boundary=geometry, households=int(households) if households not in (None, "") else None,
                         officer=str(props.get("community_officer") or "").strip(),
                         auxiliaries=[str(x) for x in props.get("auxiliaries") or []],
                         grid_workers=[str(x) for x in props.get("grid_workers") or []]))
    return rows, errors


def grids_import_geojson(*, actor, data, filename: str = "") -> GridImport:
    """Create or update grids (by code) from a GeoJSON FeatureCollection. Each feature's properties:
    `code`, `name`, `level` (large/small/micro, default micro), `parent` (code of the grid one level up),
    `households`, `community_officer` (username), `auxiliaries` and `grid_workers` (lists of names).
    Every problem in the file is reported together and nothing is written unless the whole file is good."""
    _check_admin(actor)
    collection = _parse_geojson(data)
    rows, errors = _read_features(collection["features"])
    if not rows and not errors:
        errors.append(_("the file has no features"))

    existing = {g.code: g for g in Grid.objects.filter(code__in=[r.code for r in rows])}
    levels = {code: g.level for code, g in existing.items()}
    levels.update({r.code: r.level for r in rows})
    parents_known = {r.parent for r in rows if r.parent} - set(levels)
    levels.update(Grid.objects.filter(code__in=parents_known).values_list("code", "level"))
    User = get_user_model()
    officers = dict(User.objects.filter(username__in={r.officer for r in rows if r.officer})
                    .values_list("username", "id"))
    for r in rows:
        if r.level == Grid.Level.LARGE and r.parent:
            errors.append(_("grid %(code)s: a large grid has no parent") % {"code": r.code})
        elif r.level != Grid.Level.LARGE:
            if r.parent and r.parent not in levels:
                errors.append(_("grid %(code)s: parent %(p)s is neither in the file nor in the database")
                              % {"code": r.code, "p": r.parent})
            elif r.parent and levels[r.parent] != PARENT_LEVEL[r.level]:
                errors.append(_("grid %(code)s: the parent of a %(level)s grid must be a %(plevel)s grid")
                              % {"code": r.code, "level": r.level, "plevel": PARENT_LEVEL[r.level]})
        if r.code in existing and existing[r.code].level != r.level:
            errors.append(_("grid %(code)s: exists as a %(old)s grid, the file says %(new)s")
                          % {"code": r.code, "old": existing[r.code].level, "new": r.level})
        if r.officer and r.officer not in officers:
            errors.append(_("grid %(code)s: no user %(u)s") % {"code": r.code, "u": r.officer})
    if errors:
        raise GridImportError(errors)

    now = timezone.now()
    created = updated = 0
    with transaction.atomic():
        ids = dict(Grid.objects.filter(code__in=set(levels)).values_list("code", "id"))
        for level in LEVEL_ORDER:
            batch = [r for r in rows if r.level == level]
            new, changed = [], []
            locked = {g.code: g for g in Grid.objects.select_for_update().filter(code__in=[r.code for r in batch])}
            for r in batch:
                grid = locked.get(r.code) or Grid(code=r.code, level=r.level)
                grid.name, grid.boundary, grid.households = r.name, r.boundary, r.households
                grid.parent_id = ids.get(r.parent) if r.parent else None
                grid.community_officer_id = officers.get(r.officer)
                grid.updated_at = now
                (changed if grid.pk else new).append(grid)
            Grid.objects.bulk_create(new, batch_size=1000)
            Grid.objects.bulk_update(changed, ["name", "boundary", "households", "parent", "community_officer",
                                               "updated_at"], batch_size=500)
            created += len(new)
            updated += len(changed)
            ids.update(Grid.objects.filter(code__in=[r.code for r in batch]).values_list("code", "id"))
        staffed = [r for r in rows if r.auxiliaries or r.grid_workers]
        if staffed:
            GridStaff.objects.filter(grid_id__in=[ids[r.code] for r in staffed]).delete()
            GridStaff.objects.bulk_create(
                [GridStaff(grid_id=ids[r.code], role=GridStaff.Role.AUXILIARY, name=n[:32]) for r in staffed
                 for n in r.auxiliaries]
                + [GridStaff(grid_id=ids[r.code], role=GridStaff.Role.GRID_WORKER, name=n[:32]) for r in staffed
                   for n in r.grid_workers])
        record = GridImport.objects.create(actor=actor, filename=filename[:200], created=created, updated=updated)
        audit_write(actor=actor, action="grid_import", obj=record,
                    data={"filename": filename, "created": created, "updated": updated})
    return record


# --- Hotspot cases ----------------------------------------------------------------------------------

def hotspot_open(*, actor, grid: Grid, team: Team, plan: str, hour_from: int = 0, hour_to: int = 24,
                 source: str = HotspotCase.Source.MANUAL, opened_at=None) -> HotspotCase:
    """Open a case for a hotspot: one grid, one period of the day, one team, one plan. The calls in the
    quiet-period length before opening are stored as the “before” count."""
    from .selectors import hotspot_call_count

    _check_centre(actor)
    plan = (plan or "").strip()
    if not plan:
        raise DomainError(_("Write the plan for this hotspot."), code="plan_required")
    if not (0 <= hour_from < 24 and 0 < hour_to <= 24 and hour_from != hour_to):
        raise DomainError(_("The period must be whole hours within the day."), code="bad_period")
    opened_at = opened_at or timezone.now()
    quiet_days = settings.HOTSPOT_QUIET_DAYS
    with transaction.atomic():
        Grid.objects.select_for_update().get(pk=grid.pk)  # one open case per grid and period, even racing
        if HotspotCase.objects.filter(grid=grid, hour_from=hour_from, hour_to=hour_to,
                                      status=HotspotStatus.OPEN).exists():
            raise Conflict(_("This grid already has an open case for this period."), code="hotspot_open")
        case = HotspotCase(grid=grid, team=team, plan=plan, hour_from=hour_from, hour_to=hour_to, source=source,
                           threshold=settings.HOTSPOT_THRESHOLD, quiet_days=quiet_days, opened_at=opened_at,
                           opened_by=actor)
        case.before_count = hotspot_call_count(case, opened_at - timedelta(days=quiet_days), opened_at)
        case.save()
        audit_write(actor=actor, action="hotspot_status", obj=case, to_state=case.status,
                    data={"grid": grid.code, "team": team.pk, "period": case.period_label,
                          "before": case.before_count})
    return case


def hotspot_add_action(*, actor, case_pk: int, text: str) -> HotspotAction:
    _check_centre(actor)
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write what was done."), code="action_required")
    with transaction.atomic():
        case = HotspotCase.objects.select_for_update().get(pk=case_pk)
        if case.status != HotspotStatus.OPEN:
            raise Conflict(_("This case is closed."), code="hotspot_closed")
        action = HotspotAction.objects.create(case=case, actor=actor, text=text)
        audit_write(actor=actor, action="hotspot_action", obj=case, data={"action": action.pk})
    return action


def hotspot_review(*, case_pk: int, today=None, actor=None) -> HotspotCase:
    """Count the consecutive quiet days (under the threshold, complete days after opening, ending yesterday)
    and close the case when there are enough. Safe to run any number of times a day."""
    from .selectors import hotspot_call_count, hotspot_daily_counts

    today = today or timezone.localdate()
    with transaction.atomic():
        case = HotspotCase.objects.select_for_update().select_related("grid").get(pk=case_pk)
        if case.status != HotspotStatus.OPEN:
            return case
        opened_day = timezone.localtime(case.opened_at).date()
        first = max(opened_day + timedelta(days=1), today - timedelta(days=case.quiet_days))
        counts = hotspot_daily_counts(case, first, today) if first < today else {}
        streak, day = 0, today - timedelta(days=1)
        while day >= first and counts.get(day, 0) < case.threshold:
            streak += 1
            day -= timedelta(days=1)
        case.quiet_streak = streak
        if streak < case.quiet_days:
            case.save(update_fields=["quiet_streak"])
            return case
        HOTSPOT_TRANSITIONS.check(case.status, HotspotStatus.CLOSED)
        case.status = HotspotStatus.CLOSED
        case.closed_at = day_start(today)
        case.after_count = hotspot_call_count(case, case.closed_at - timedelta(days=case.quiet_days),
                                              case.closed_at)
        case.save(update_fields=["quiet_streak", "status", "closed_at", "after_count"])
        audit_write(actor=actor, action="hotspot_status", obj=case, from_state=HotspotStatus.OPEN,
                    to_state=HotspotStatus.CLOSED,
                    reason=Reason(gettext_noop("%(n)d quiet days"), n=streak),
                    data={"before": case.before_count, "after": case.after_count})
    return case


def hotspots_review(*, today=None) -> int:
    """Review every open case; returns how many closed."""
    closed = 0
    for pk in HotspotCase.objects.filter(status=HotspotStatus.OPEN).values_list("pk", flat=True):
        if hotspot_review(case_pk=pk, today=today).status == HotspotStatus.CLOSED:
            closed += 1
    return closed


# --- The gazetteer: a city's own address list (issue 37) -----------------------------------------------

@dataclass
class PlaceImportResult:
    """What an address import did: places created and updated, and each skipped row as (line, reason)."""

    created: int
    updated: int
    skipped: list[tuple[int, str]]


_PLACE_COLUMNS = {"address": ("address", "地址"), "lat": ("lat", "latitude", "纬度"),
                  "lon": ("lon", "lng", "longitude", "经度")}
MAX_PLACE_ROWS = 500_000


def _decode(data) -> str:
    if isinstance(data, str):
        return data
    for encoding in ("utf-8-sig", "gb18030"):  # what spreadsheets in Chinese offices save
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError(_("The file is neither UTF-8 nor GB18030 text."), code="bad_encoding")


def places_import(*, actor, data, filename: str = "") -> PlaceImportResult:
    """Load a city's address list into the gazetteer: a CSV with the columns address, lat, lon (or 地址, 纬度,
    经度; others ignored). Each address is placed on the micro grid its point falls in and is matched by its
    normalised spelling (grids.spatial.normalise_address): a known address is moved and updated, a new one
    created. A row that cannot be used (no address, a point that is not a position or lies in no micro grid, an
    address given twice with different points) is skipped and reported with its line and reason; the good rows
    are written in one transaction, so an import is never half-written."""
    import csv
    import io

    from .models import Place

    _check_admin(actor)
    reader = csv.reader(io.StringIO(_decode(data)))
    header = [h.strip().lower() for h in next(reader, [])]
    columns = {}
    for key, names in _PLACE_COLUMNS.items():
        columns[key] = next((i for i, h in enumerate(header) if h in names), None)
    missing = [key for key, index in columns.items() if index is None]
    if missing:
        raise DomainError(_("The first line must name the columns address, lat and lon; missing: %(cols)s.")
                          % {"cols": ", ".join(missing)}, code="bad_header")
    index = spatial.grid_index()
    rows: dict[str, tuple[int, str, float, float, int]] = {}
    skipped: list[tuple[int, str]] = []
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if line > MAX_PLACE_ROWS + 1:
            raise DomainError(_("The file has more than %(n)d rows; split it.") % {"n": MAX_PLACE_ROWS},
                              code="too_many_rows")
        cells = {key: row[i].strip() if i < len(row) else "" for key, i in columns.items()}
        address = cells["address"]
        if not address:
            skipped.append((line, _("no address")))
            continue
        if len(address) > 200:
            skipped.append((line, _("the address is longer than 200 characters")))
            continue
        try:
            lat, lon = float(cells["lat"]), float(cells["lon"])
        except ValueError:
            skipped.append((line, _("latitude and longitude must be numbers")))
            continue
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            skipped.append((line, _("%(lat)s, %(lon)s is not a position") % {"lat": cells["lat"], "lon": cells["lon"]}))
            continue
        grid_id = index.locate(lon, lat)
        if grid_id is None:
            skipped.append((line, _("the point is in no micro grid")))
            continue
        key = spatial.normalise_address(address)
        if not key:
            skipped.append((line, _("no address")))
            continue
        if key in rows:
            first = rows[key]
            if (first[2], first[3]) != (lat, lon):
                skipped.append((line, _("the same address as line %(line)d with another point")
                                % {"line": first[0]}))
            continue
        rows[key] = (line, address, lat, lon, grid_id)
    with transaction.atomic():
        known: dict[str, list] = {}
        for place in Place.objects.select_for_update():
            known.setdefault(spatial.normalise_address(place.name), []).append(place)
        new, changed = [], []
        for key, (_line, address, lat, lon, grid_id) in rows.items():
            same = known.get(key)
            if not same:
                new.append(Place(micro_grid_id=grid_id, name=address, lat=lat, lon=lon))
                continue
            place, *others = same
            if others:  # the old list spelt it several ways: keep one
                Place.objects.filter(pk__in=[p.pk for p in others]).delete()
            if (place.micro_grid_id, place.name, place.lat, place.lon) != (grid_id, address, lat, lon) or others:
                place.micro_grid_id, place.name, place.lat, place.lon = grid_id, address, lat, lon
                changed.append(place)
        Place.objects.bulk_create(new, batch_size=2000)
        for place in changed:  # save(): keeps updated_at, which tells the gazetteer to rebuild
            place.save(update_fields=["micro_grid", "name", "lat", "lon", "updated_at"])
        record = GridImport.objects.create(kind=GridImport.Kind.PLACES, actor=actor, filename=filename[:200],
                                           created=len(new), updated=len(changed), skipped=len(skipped))
        audit_write(actor=actor, action="places_import", obj=record,
                    data={"file": filename[:200], "created": record.created, "updated": record.updated,
                          "skipped": len(skipped)})
        # The calls that waited to be placed by hand get another try against the new list, after commit.
        outbox_put("grids.place_unplaced", {"import": record.pk}, key=f"place-unplaced:{record.pk}")
    return PlaceImportResult(record.created, record.updated, skipped)


# --- Police units -----------------------------------------------------------------------------------

def unit_set_position(*, actor, unit_pk: int, lat, lon, at=None) -> Unit:
    """A unit reports where it is (its handset, or the centre for it); nearest-unit choice uses it while it is
    fresh (UNIT_POSITION_FRESH_MINUTES). `at` is when the position was taken (default now): a report older
    than the last one kept, or from the future, is refused, so a late-delivered fix never moves a unit back.
    A position is a reading, not a decision: it is kept on the unit (the last one and its time), not in the
    audit log, so a patrol system's feed every few seconds does not flood it."""
    if not acts_for_unit(actor, unit_pk):
        raise PermissionDenied
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        raise DomainError(_("That is not a position."), code="bad_position") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise DomainError(_("That is not a position."), code="bad_position")
    now = timezone.now()
    at = at or now
    if at > now + timedelta(minutes=1):
        raise DomainError(_("The position's time is in the future."), code="position_in_future")
    with transaction.atomic():
        unit = Unit.objects.select_for_update().get(pk=unit_pk)
        if unit.last_seen_at is not None and at < unit.last_seen_at:
            raise Conflict(_("A newer position of this unit is already recorded (%(at)s); this one is older and "
                             "was not kept.") % {"at": timezone.localtime(unit.last_seen_at).strftime("%H:%M:%S")},
                           code="position_older")
        unit.last_lat, unit.last_lon, unit.last_seen_at = lat, lon, at
        unit.save(update_fields=["last_lat", "last_lon", "last_seen_at"])
    return unit


def _lock_assignment(actor, assignment_pk: int):
    """The assignment, locked, after checking `actor` acts for its unit and it is not finished."""
    from incidents.models import PoliceAssignment

    assignment = PoliceAssignment.objects.select_for_update(of=("self",)).select_related(
        "call__micro_grid", "unit").get(pk=assignment_pk)
    if not acts_for_unit(actor, assignment.unit_id):
        raise PermissionDenied
    if assignment.finished_at is not None:
        raise Conflict(_("This assignment is already finished."), code="already_finished")
    return assignment


def police_en_route(*, actor, assignment_pk: int):
    """The unit taps “on the way”: the server stamps the time (issue 37)."""
    with transaction.atomic():
        assignment = _lock_assignment(actor, assignment_pk)
        if assignment.arrived_at is not None:
            raise Conflict(_("The arrival is already recorded."), code="already_arrived")
        if assignment.en_route_at is not None:
            raise Conflict(_("“On the way” is already recorded."), code="already_en_route")
        assignment.en_route_at = timezone.now()
        assignment.save(update_fields=["en_route_at"])
        audit_write(actor=actor, action="police_en_route", obj=assignment, call=assignment.call,
                    data={"unit": assignment.unit_id,
                          "seconds": round((assignment.en_route_at - assignment.dispatched_at).total_seconds())})
    return assignment


def unit_dispatch(*, actor, call_pk: int, unit_pk: int | None = None, note: str = "", category=None,
                  version: int | None = None):
    """Send a police unit to a call: the one chosen by hand, or the nearest available one to the call's
    point (or its micro grid). Records how the unit was chosen and how far it was. `version`: the call's
    version the board showed, as for incidents.services.call_classify (a repeat returns the first
    assignment unchanged; a call changed meanwhile is refused)."""
    from incidents.models import Call
    from incidents.services import call_classify

    from .selectors import call_position, unit_choices

    _check_centre(actor)
    call = Call.objects.select_related("micro_grid").get(pk=call_pk)
    if unit_pk is None:
        unit = unit_choices(call)[1]
        if unit is None:
            if call_position(call) is None:
                raise DomainError(_("The call has no place on the map: choose a unit by hand."),
                                  code="no_position")
            raise DomainError(_("No police unit is available."), code="no_unit")
    else:
        unit = Unit.objects.get(pk=unit_pk)
    return call_classify(actor=actor, call_pk=call.pk, version=version, police=True, unit=unit, note=note,
                         category=category).assignment


def police_arrive(*, actor, assignment_pk: int, at=None):
    """The unit reports it is on scene. The first report counts; the unit's position becomes the call's."""
    from .selectors import call_position

    with transaction.atomic():
        assignment = _lock_assignment(actor, assignment_pk)
        if assignment.arrived_at is not None:
            raise Conflict(_("The arrival is already recorded."), code="already_arrived")
        at = at or timezone.now()
        if at < assignment.dispatched_at:
            raise DomainError(_("A unit cannot arrive before it was sent."), code="bad_arrival")
        if assignment.en_route_at is not None and at < assignment.en_route_at:
            raise DomainError(_("A unit cannot arrive before it set off."), code="bad_arrival")
        assignment.arrived_at = at
        assignment.save(update_fields=["arrived_at"])
        position = call_position(assignment.call)
        if position is not None:
            Unit.objects.filter(pk=assignment.unit_id).update(last_lat=position[0], last_lon=position[1],
                                                              last_seen_at=at)
        audit_write(actor=actor, action="police_arrive", obj=assignment, call=assignment.call,
                    data={"unit": assignment.unit_id,
                          "seconds": round((at - assignment.dispatched_at).total_seconds())})
    return assignment


def police_push(*, actor, assignment_pk: int, workstation_pk: int, note: str = ""):
    """A station sends a street call on to a workstation bound to it, which dispatches from there (派出所可将
    警情推送到对应警务站, seed 003). The station's part ends as “pushed”; the workstation gets its own assignment,
    dispatched now. Returns the workstation's assignment."""
    from incidents.models import PoliceAssignment

    with transaction.atomic():
        assignment = _lock_assignment(actor, assignment_pk)
        station = assignment.unit
        if station.kind != Unit.Kind.STATION:
            raise DomainError(_("Only a police station pushes a call to a workstation."), code="not_station")
        workstation = station.bound_units.filter(pk=workstation_pk, kind=Unit.Kind.WORKSTATION).first()
        if workstation is None:
            raise DomainError(_("That workstation is not bound to %(station)s.") % {"station": station.name},
                              code="not_bound")
        now = timezone.now()
        assignment.finished_at = now
        assignment.result = PoliceAssignment.Result.PUSHED
        assignment.result_note = note
        assignment.save(update_fields=["finished_at", "result", "result_note"])
        pushed = PoliceAssignment.objects.create(
            call=assignment.call, unit=workstation, note=note or assignment.note, assigned_by=actor,
            dispatched_at=now, selection=PoliceAssignment.Selection.MANUAL)
        audit_write(actor=actor, action="police_push", obj=assignment, call=assignment.call,
                    data={"unit": station.pk, "to_unit": workstation.pk, "assignment": pushed.pk})
    return pushed


UNIT_TAPS = ("en_route", "arrive", "on_scene", "transfer", "push")


def unit_tap(*, actor, assignment_pk: int, step: str, note: str = "", workstation_pk: int | None = None):
    """One tap on a unit's phone page (issue 37), each stamped by the server: on the way, arrived, finished on
    scene, transferred to the station, or (a station) pushed to a bound workstation."""
    from incidents.services import police_finish

    if step == "en_route":
        return police_en_route(actor=actor, assignment_pk=assignment_pk)
    if step == "arrive":
        return police_arrive(actor=actor, assignment_pk=assignment_pk)
    if step == "push":
        return police_push(actor=actor, assignment_pk=assignment_pk, workstation_pk=workstation_pk or 0, note=note)
    if step in ("on_scene", "transfer"):
        return police_finish(actor=actor, assignment_pk=assignment_pk,
                             result="on_scene" if step == "on_scene" else "transferred", note=note)
    raise DomainError(_("Unknown step."), code="bad_step")


def police_hand_over(*, actor, assignment_pk: int, category, department=None, note: str = ""):
    """A street call the patrol attended first (noise, help, a dispute) goes on to a department on a slip:
    the police part ends as “handed over” and the call moves to the diversion path."""
    from diversion.services import slip_issue
    from incidents.models import Call, CallStatus, PoliceAssignment
    from incidents.services import call_move

    _check_centre(actor)
    if category is None:
        raise DomainError(_("Choose a sub-category."), code="category_required")
    with transaction.atomic():
        assignment = PoliceAssignment.objects.select_for_update().get(pk=assignment_pk)
        if assignment.finished_at is not None:
            raise Conflict(_("This assignment is already finished."), code="already_finished")
        call = Call.objects.select_for_update().get(pk=assignment.call_id)
        now = timezone.now()
        assignment.arrived_at = assignment.arrived_at or now
        assignment.finished_at = now
        assignment.result = PoliceAssignment.Result.HANDED_OVER
        assignment.result_note = note
        assignment.save(update_fields=["arrived_at", "finished_at", "result", "result_note"])
        slip = slip_issue(actor=actor, call=call, category=category,
                          department=department or category.default_department,
                          instructions=note or _("Attended first by police unit %(unit)s.")
                          % {"unit": assignment.unit.name})
        call_move(actor=actor, call=call, to_state=CallStatus.DIVERTED,
                  reason=Reason(gettext_noop("Handed over on slip %(serial)s after police attended"),
                         serial=slip.serial),
                  data={"slip": slip.pk, "assignment": assignment.pk, "category": category.code})
    return slip


# --- Patrol geography -------------------------------------------------------------------------------

def patrol_check_in(*, actor, point_pk: int, unit_pk: int, note: str = "", at=None) -> PatrolCheckIn:
    """A unit reports it visited a must-visit point."""
    _check_centre(actor)
    with transaction.atomic():
        point = PatrolPoint.objects.get(pk=point_pk)
        unit = Unit.objects.select_for_update().get(pk=unit_pk)
        at = at or timezone.now()
        check_in = PatrolCheckIn.objects.create(point=point, unit=unit, at=at, actor=actor, note=note[:200])
        unit.last_lat, unit.last_lon, unit.last_seen_at = point.lat, point.lon, at
        unit.save(update_fields=["last_lat", "last_lon", "last_seen_at"])
        audit_write(actor=actor, action="patrol_check_in", obj=check_in, data={"point": point.pk, "unit": unit.pk})
    return check_in
