"""A generated grid layer (large → small → micro, quadrilaterals with jittered shared corners so the micro
grids tile without gaps or overlaps), a gazetteer, "2+X" teams, units and patrol geography. Used by the
`seed_grids` command (and by seed_demo if it wants a map) and by the grid_assign benchmark."""

import random

from shapely import union_all
from shapely.geometry import Polygon, mapping

STREETS = ["中山中路", "解放西路", "信义路", "榕湖北路", "依仁路", "翊武路", "凤北路", "西山路", "甲山路",
           "丽君路", "秀峰路", "桂湖路"]
ESTATES = ["桂花苑", "榕湖小区", "芦笛新村", "西城家园", "丽泽苑", "甲山花园", "秀水人家", "象山雅居"]


def _corner(i: int, j: int, *, lat0: float, lon0: float, cell: float, seed: int) -> tuple[float, float]:
    # Jitter is a function of the corner alone, so the four cells that share it agree exactly.
    rnd = random.Random(f"{seed}:c:{i}:{j}")
    jitter = cell * 0.2
    return (lon0 + i * cell + rnd.uniform(-jitter, jitter), lat0 + j * cell + rnd.uniform(-jitter, jitter))


def _mid(a, b, key, *, cell: float, seed: int) -> tuple[float, float]:
    rnd = random.Random(f"{seed}:m:{key}")
    jitter = cell * 0.08
    return ((a[0] + b[0]) / 2 + rnd.uniform(-jitter, jitter), (a[1] + b[1]) / 2 + rnd.uniform(-jitter, jitter))


def micro_polygon(i: int, j: int, *, lat0: float, lon0: float, cell: float, seed: int = 7) -> Polygon:
    """The micro grid in column i, row j: an octagon-ish quadrilateral (corners and edge midpoints)."""
    def c(a, b):
        return _corner(a, b, lat0=lat0, lon0=lon0, cell=cell, seed=seed)

    sw, se, ne, nw = c(i, j), c(i + 1, j), c(i + 1, j + 1), c(i, j + 1)
    s = _mid(sw, se, ("h", i, j), cell=cell, seed=seed)
    e = _mid(se, ne, ("v", i + 1, j), cell=cell, seed=seed)
    n = _mid(nw, ne, ("h", i, j + 1), cell=cell, seed=seed)
    w = _mid(sw, nw, ("v", i, j), cell=cell, seed=seed)
    return Polygon([sw, s, se, e, ne, n, nw, w, sw])


def generate_collection(*, large: int = 30, small_per_large: tuple[int, int] = (3, 2),
                        micro_per_small: tuple[int, int] = (4, 3), lat0: float = 25.25, lon0: float = 110.23,
                        cell: float = 0.0025, prefix: str = "G") -> dict:
    """A FeatureCollection for `grids_import_geojson`: `large` police areas laid out in rows of 6, each of
    sx×sy small grids of mx×my micro grids (defaults: 30 / 180 / 2160, as Xiufeng's 30 / 180 / 2000+)."""
    sx, sy = small_per_large
    mx, my = micro_per_small
    cols = min(large, 6)
    features = []
    households = random.Random(11)
    for L in range(large):
        lx, ly = L % cols, L // cols
        l_code = f"{prefix}{L + 1:02d}"
        small_shapes = []
        for S in range(sx * sy):
            sxi, syi = S % sx, S // sx
            s_code = f"{l_code}-{S + 1:02d}"
            micro_shapes = []
            for M in range(mx * my):
                i = (lx * sx + sxi) * mx + M % mx
                j = (ly * sy + syi) * my + M // mx
                poly = micro_polygon(i, j, lat0=lat0, lon0=lon0, cell=cell)
                micro_shapes.append(poly)
                features.append(_feature(f"{s_code}-{M + 1:02d}", f"微网格{s_code}-{M + 1:02d}", "micro", s_code,
                                         poly, households.randint(300, 500)))
            small = union_all(micro_shapes)
            small_shapes.append(small)
            features.append(_feature(s_code, f"小网格{s_code}", "small", l_code, small, None))
        features.append(_feature(l_code, f"警务区{L + 1:02d}", "large", None, union_all(small_shapes), None))
    order = {"large": 0, "small": 1, "micro": 2}
    features.sort(key=lambda f: (order[f["properties"]["level"]], f["properties"]["code"]))
    return {"type": "FeatureCollection", "features": features}


def _feature(code, name, level, parent, geom, households):
    return {"type": "Feature", "geometry": mapping(geom),
            "properties": {"code": code, "name": name, "level": level, "parent": parent, "households": households}}


def place_name(k: int) -> str:
    """A street address unique to the k-th micro grid."""
    return f"{STREETS[k % len(STREETS)]}{(k // len(STREETS)) * 2 + 1}号"


def seed_grid_layer(*, large: int = 30, stdout=None) -> dict:
    """Load the generated layer into the database through the import service, with one gazetteer address
    per micro grid, a "2+X" team per police area, and patrol geography for the units (creating two
    stations, a workstation bound to both and three patrol groups if there are no units yet). Running it
    again updates the same rows. seed_demo can call this to give its demo a map."""
    from django.db import transaction
    from django.utils import timezone

    from .models import Area, Grid, PatrolArea, PatrolLine, PatrolPoint, Place, Team, Unit
    from .services import grids_import_geojson

    collection = generate_collection(large=large)
    record = grids_import_geojson(actor=None, data=collection, filename="seed_grids (generated)")
    with transaction.atomic():
        micros = list(Grid.objects.filter(level=Grid.Level.MICRO, code__startswith="G").order_by("code")
                      .values_list("id", flat=True))
        Place.objects.bulk_create([Place(micro_grid_id=pk, name=place_name(k)) for k, pk in enumerate(micros)],
                                  ignore_conflicts=True, batch_size=1000)
        for k, grid in enumerate(Grid.objects.filter(level=Grid.Level.LARGE, code__startswith="G").order_by("code")):
            Team.objects.get_or_create(grid=grid, name=f"{grid.name}“2+X”小分队", defaults={
                "officer": f"民警{k + 1:02d}", "auxiliary": f"辅警{k + 1:02d}",
                "grid_workers": [f"网格员{k + 1:02d}-{n}" for n in (1, 2, 3)]})
        if not Unit.objects.exists():
            lj = Unit.objects.create(code="G-PS-1", name="丽君派出所", kind=Unit.Kind.STATION,
                                     base_lat=25.262, base_lon=110.262)
            xf = Unit.objects.create(code="G-PS-2", name="秀峰派出所", kind=Unit.Kind.STATION,
                                     base_lat=25.285, base_lon=110.330)
            ws = Unit.objects.create(code="G-WS-1", name="正阳步行街警务站", kind=Unit.Kind.WORKSTATION,
                                     base_lat=25.274, base_lon=110.300)
            ws.stations.set([lj, xf])
            for n, (lat, lon, st, area) in enumerate([(25.258, 110.250, lj, Area.URBAN),
                                                      (25.280, 110.310, xf, Area.URBAN),
                                                      (25.300, 110.390, xf, Area.SUBURBAN)], start=1):
                Unit.objects.create(code=f"G-PT-{n}", name=f"巡逻{n}组", kind=Unit.Kind.PATROL, base_lat=lat,
                                    base_lon=lon, area=area).stations.set([st])
        patrols = list(Unit.objects.exclude(kind=Unit.Kind.STATION).order_by("code"))
        rnd = random.Random(5)
        lat0, lon0 = 25.25, 110.23
        for n in range(21):
            _area(PatrolArea, f"核心区域{n + 1:02d}", PatrolArea.Kind.CORE, patrols, n, rnd, lat0, lon0, 0.006)
        for n in range(12):
            _area(PatrolArea, f"重点区域{n + 1:02d}", PatrolArea.Kind.KEY, patrols, n, rnd, lat0, lon0, 0.01)
        for n in range(60):
            PatrolPoint.objects.get_or_create(name=f"必到点{n + 1:02d}", defaults={
                "unit": patrols[n % len(patrols)] if patrols else None,
                "lat": lat0 + rnd.uniform(0.005, 0.07), "lon": lon0 + rnd.uniform(0.005, 0.17)})
        for n in range(78):
            y, x = lat0 + rnd.uniform(0.005, 0.07), lon0 + rnd.uniform(0.005, 0.17)
            PatrolLine.objects.get_or_create(name=f"必巡线{n + 1:02d}", defaults={
                "unit": patrols[n % len(patrols)] if patrols else None,
                "path": {"type": "LineString", "coordinates": [[x, y], [x + rnd.uniform(-0.01, 0.01), y + 0.004],
                                                               [x + rnd.uniform(-0.01, 0.01), y + 0.009]]}})
        summary = {"import": record.pk, "created": record.created, "updated": record.updated,
                   "micro_grids": len(micros), "places": Place.objects.count(), "teams": Team.objects.count(),
                   "at": timezone.now().isoformat()}
    if stdout is not None:
        stdout.write(f"grids: {record.created} created, {record.updated} updated; "
                     f"micro grids: {len(micros)}; gazetteer places: {summary['places']}")
    return summary


def _area(model, name, kind, patrols, n, rnd, lat0, lon0, size):
    y, x = lat0 + rnd.uniform(0.005, 0.065), lon0 + rnd.uniform(0.005, 0.16)
    ring = [[x, y], [x + size, y], [x + size, y + size * 0.7], [x, y + size * 0.7], [x, y]]
    model.objects.get_or_create(name=name, defaults={"kind": kind, "unit": patrols[n % len(patrols)] if patrols
                                                     else None,
                                                     "boundary": {"type": "Polygon", "coordinates": [ring]}})
