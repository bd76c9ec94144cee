"""Grids' demo data, two kinds:
- a generated grid layer (large → small → micro, quadrilaterals with jittered shared corners so the micro
  grids tile without gaps or overlaps), a gazetteer, "2+X" teams, units and patrol geography, for the
  `seed_grids` command and the benchmarks;
- the embedded demo's district (`seed_xiufeng`, run by seed_demo): Guilin Xiufeng's grids with Voronoi
  boundaries and its police units."""

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


# --- The embedded demo's district (seed_demo): 桂林市秀峰区, 3 large grids (警务区) → 2 small → 3 micro -----
# (code suffix, name, streets, residential estates (invented), centre lat, centre lon)
GRIDS = [
    ("L1", "丽君警务区", [
        ("S1", "丽君路片区", [
            ("M1", "丽君路北段", ["丽君路"], ["丽君小区", "丽泽苑"], 25.2705, 110.2838),
            ("M2", "翠竹路", ["翠竹路"], ["翠竹苑", "翠竹小区"], 25.2668, 110.2801),
            ("M3", "九岗岭", ["九岗岭路", "丽君路"], ["九岗岭新村"], 25.2635, 110.2862),
        ]),
        ("S2", "西城路片区", [
            ("M1", "西城路", ["西城路", "西城南路"], ["西城花园"], 25.2748, 110.2776),
            ("M2", "瓦窑", ["瓦窑路"], ["瓦窑小区"], 25.2790, 110.2700),
            ("M3", "骝马山", ["骝马山路"], ["骝马山小区"], 25.2722, 110.2745),
        ]),
    ]),
    ("L2", "秀峰警务区", [
        ("S1", "正阳东西巷片区", [
            ("M1", "正阳步行街", ["正阳路", "正阳步行街"], [], 25.2832, 110.2960),
            ("M2", "东西巷", ["东西巷", "江南巷", "兰井巷"], [], 25.2850, 110.2972),
            ("M3", "中心广场", ["中山中路", "解放西路"], ["中山公寓"], 25.2810, 110.2905),
        ]),
        ("S2", "榕杉湖片区", [
            ("M1", "榕湖北路", ["榕湖北路", "榕湖南路"], ["榕湖公寓"], 25.2770, 110.2880),
            ("M2", "依仁路", ["依仁路", "杉湖北路"], ["依仁小区"], 25.2765, 110.2935),
            ("M3", "西山路", ["西山路"], ["西山花园"], 25.2800, 110.2790),
        ]),
    ]),
    ("L3", "甲山警务区", [
        ("S1", "甲山片区", [
            ("M1", "甲山路", ["甲山路"], ["甲山新村"], 25.3000, 110.2720),
            ("M2", "鲁家村", ["鲁家村路"], ["鲁家村安置小区"], 25.2960, 110.2790),
            ("M3", "桃花江", ["桃花江路"], ["桃花江畔小区"], 25.2880, 110.2705),
        ]),
        ("S2", "芦笛片区", [
            ("M1", "芦笛路", ["芦笛路"], ["芦笛花园"], 25.3030, 110.2640),
            ("M2", "芦笛岩景区", ["芦笛路", "芳莲路"], [], 25.3070, 110.2600),
            ("M3", "环城北二路", ["环城北二路"], ["北二路小区"], 25.3010, 110.2840),
        ]),
    ]),
]
HOTSPOT = "XF-L2-S1-M1"  # 正阳步行街: bars, barbecue, vendors and tourists
# A text that names one of these places happens in its grid.
NAMED_PLACES = {"正阳步行街": HOTSPOT, "东西巷": "XF-L2-S1-M2", "桃花江": "XF-L3-S1-M3",
                "芦笛路": "XF-L3-S2-M1"}

# (code, name, kind, lat, lon, bound to stations)
UNITS = [
    ("XF-PS-LJ", "丽君派出所", "station", 25.2690, 110.2830, []),
    ("XF-PS-XF", "秀峰派出所", "station", 25.2815, 110.2920, []),
    ("XF-WS-ZY", "正阳步行街警务站", "workstation", 25.2835, 110.2962, ["XF-PS-LJ", "XF-PS-XF"]),
    ("XF-PT-1", "巡逻一组", "patrol", 25.2700, 110.2810, ["XF-PS-LJ"]),
    ("XF-PT-2", "巡逻二组", "patrol", 25.2800, 110.2930, ["XF-PS-XF"]),
    ("XF-PT-3", "巡逻三组", "patrol", 25.2990, 110.2730, ["XF-PS-XF"]),
]
# The units' own logins for their phone pages (issue 37): (username, unit code).
UNIT_LOGINS = [("unit_pt1", "XF-PT-1"), ("unit_pt2", "XF-PT-2"), ("unit_pt3", "XF-PT-3"), ("unit_zy", "XF-WS-ZY"),
               ("unit_lj", "XF-PS-LJ"), ("unit_xf", "XF-PS-XF")]
# Which units take police calls in which grids (first one most often).
UNITS_BY_GRID = {"XF-L1": ["XF-PS-LJ", "XF-PT-1"], "XF-L2-S1": ["XF-WS-ZY", "XF-PT-2"],
                 "XF-L2-S2": ["XF-PS-XF", "XF-PT-2"], "XF-L3": ["XF-PT-3", "XF-PS-XF"]}


def seed_xiufeng(rng) -> tuple[dict, dict]:
    """The embedded demo's grids (with Voronoi boundaries) and police units, created if missing. Micro grids
    come back with `streets`, `estates` and `centre` set, for the demo calls' addresses. Returns (grids by
    code, units by code)."""
    grids = _xiufeng_grids(rng)
    _xiufeng_boundaries(grids)
    _xiufeng_gazetteer(grids)
    return grids, _xiufeng_units()


def _xiufeng_grids(rng) -> dict:
    from .models import Grid

    grids = {}
    for l_code, l_name, smalls in GRIDS:
        large = _grid(f"XF-{l_code}", l_name, Grid.Level.LARGE, None)
        grids[large.code] = large
        large_households = 0
        for s_code, s_name, micros in smalls:
            small = _grid(f"{large.code}-{s_code}", s_name, Grid.Level.SMALL, large)
            grids[small.code] = small
            small_households = 0
            for m_code, m_name, streets, estates, lat, lon in micros:
                micro = _grid(f"{small.code}-{m_code}", m_name, Grid.Level.MICRO, small,
                                   households=rng.randint(300, 500))
                micro.streets, micro.estates, micro.centre = streets, estates, (lat, lon)
                grids[micro.code] = micro
                small_households += micro.households
            _set_households(small, small_households)
            large_households += small_households
        _set_households(large, large_households)
    return grids


def _xiufeng_boundaries(grids: dict) -> None:
    """Give the demo grids shapes for the map: Voronoi cells around the micro grids' centres, clipped
    to the district, with small and large grids as the union of their children. Loaded through the
    GeoJSON import service, like an administrator's upload."""
    import shapely
    from shapely.geometry import MultiPoint, Point, box, mapping

    from .models import Grid
    from .services import grids_import_geojson

    micros = [g for g in grids.values() if g.level == Grid.Level.MICRO]
    if all(g.boundary for g in micros):
        return
    centres = {g.code: Point(g.centre[1], g.centre[0]) for g in micros}
    area = box(110.2560, 25.2590, 110.3020, 25.3110)
    cells = list(shapely.voronoi_polygons(MultiPoint(list(centres.values())), extend_to=area).geoms)
    shapes = {code: next(c for c in cells if c.contains(pt)).intersection(area) for code, pt in centres.items()}
    for level in (Grid.Level.SMALL, Grid.Level.LARGE):
        for grid in (g for g in grids.values() if g.level == level):
            shapes[grid.code] = shapely.union_all([shapes[c.code] for c in grids.values()
                                                   if c.parent_id == grid.pk]).buffer(0)
    features = [
        {"type": "Feature", "geometry": mapping(shapes[g.code]),
         "properties": {"code": g.code, "name": g.name, "level": g.level,
                        "parent": g.parent.code if g.parent_id else "", "households": g.households}}
        for level in (Grid.Level.LARGE, Grid.Level.SMALL, Grid.Level.MICRO)
        for g in grids.values() if g.level == level
    ]
    grids_import_geojson(actor=None, data={"type": "FeatureCollection", "features": features},
                         filename="seed_demo (Voronoi cells)")


HOUSE_NUMBERS = 160  # the demo's streets run from 1号 to 160号


def _xiufeng_gazetteer(grids: dict) -> None:
    """The demo city's address list (issue 37): every house number of every street, and every estate, placed in
    its micro grid with a point inside it. A street through two grids is split between them by number (丽君路
    1-80号 in one, 81-160号 in the other), as a city's own list would be. Created once."""
    from shapely.geometry import Point, shape

    from .models import Grid, Place

    micros = sorted((g for g in grids.values() if g.level == Grid.Level.MICRO), key=lambda g: g.code)
    if Place.objects.filter(micro_grid__in=micros).exists():
        return
    along: dict[str, list] = {}
    for grid in micros:
        for street in grid.streets:
            along.setdefault(street, []).append(grid)
    places = []
    for street, owners in along.items():
        share = HOUSE_NUMBERS // len(owners)
        for k, grid in enumerate(owners):
            lo, hi = k * share + 1, HOUSE_NUMBERS if k == len(owners) - 1 else (k + 1) * share
            poly = shape(Grid.objects.get(pk=grid.pk).boundary)
            min_x, min_y, max_x, max_y = poly.bounds
            inside = poly.representative_point()
            for n in range(lo, hi + 1):
                # Numbers along the grid's east-west middle line, where it is inside the grid.
                x = min_x + (n - lo + 0.5) / (hi - lo + 1) * (max_x - min_x)
                point = Point(x, inside.y)
                point = point if poly.contains(point) else inside
                places.append(Place(micro_grid=grid, name=f"{street}{n}号", lat=round(point.y, 6),
                                    lon=round(point.x, 6)))
    for grid in micros:
        inside = shape(Grid.objects.get(pk=grid.pk).boundary).representative_point()
        for name in [*grid.estates, grid.name]:
            places.append(Place(micro_grid=grid, name=name, lat=round(inside.y, 6), lon=round(inside.x, 6)))
    Place.objects.bulk_create(places, ignore_conflicts=True, batch_size=1000)


def _grid(code, name, level, parent, households=None):
    from .models import Grid

    grid, _ = Grid.objects.get_or_create(
        code=code, defaults={"name": name, "level": level, "parent": parent, "households": households})
    return grid


def _set_households(grid, households: int) -> None:
    if grid.households is None:
        grid.households = households
        grid.save(update_fields=["households"])


def _xiufeng_units() -> dict:
    from .models import Unit

    units = {}
    for code, name, kind, lat, lon, stations in UNITS:
        unit, created = Unit.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "base_lat": lat, "base_lon": lon})
        if created and stations:
            unit.stations.set([units[s] for s in stations])
        units[code] = unit
    return units


def seed_unit_logins(make_user, units: dict) -> dict:
    """One login per demo unit for its phone page (core.demo.UserMaker makes them). Returns users by unit code."""
    from core.models import Role

    return {code: make_user(username, role=Role.UNIT, name=units[code].name, unit=units[code])
            for username, code in UNIT_LOGINS}


# --- Hotspot cases (issue 38): one that cooled down over the weeks, one still being worked on -------------------
HOTSPOT_CASES = [
    # (grid, days ago opened, hours, team, plan, actions as (days after opening, text))
    ("XF-L2-S1-M2", 27, (19, 24), ("东西巷“2+X”小分队", "李警官", "王辅警", ["网格员莫小燕", "商户代表唐师傅"]),
     "晚7时至12时民警、辅警与网格员联合巡查，约谈酒吧、烧烤经营户，规范外摆和音响，次日回访投诉居民",
     [(0, "约谈东西巷酒吧、烧烤店经营户12家，签订文明经营承诺书"),
      (3, "联合城管、生态环境部门夜间检查，责令2家烧烤店加装油烟净化设施"),
      (9, "巷口设置“夜间请降低音量”提示牌，网格员每晚巡查两次"),
      (16, "回访投诉居民6户，均反映噪音和油烟明显减少")]),
    (HOTSPOT, 5, (20, 24), ("正阳步行街“2+X”小分队", "周警官", "韦辅警", ["网格员覃海", "网格员卢婷"]),
     "晚8时至12时警务站民警带队巡查正阳步行街，重点整治酒吧噪音和占道经营，每晚向指挥中心报告",
     [(0, "警务站与街道召开商户会，通报近期噪音扰民警情"), (2, "对夜色酒吧低音炮噪音下达整改通知，已调整音响朝向")]),
]


def seed_hotspot_cases(*, users: dict, grids: dict, now) -> None:
    """Opens the cases through the service on the simulated clock, records the team's actions, then runs the
    nightly review (grids.services.hotspots_review) for every night since: the 东西巷 case closes itself
    after its fourteen quiet days, with its before and after counts; 正阳步行街's stays open."""
    from datetime import timedelta

    from django.utils import timezone

    from core.demo import clock
    from core.times import day_start

    from .models import HotspotCase, Team
    from .services import hotspot_add_action, hotspot_open, hotspots_review

    if HotspotCase.objects.exists():
        return
    supervisor = users["supervisor"]
    today = timezone.localdate(now)
    for code, days_ago, (hour_from, hour_to), (name, officer, auxiliary, workers), plan, actions in HOTSPOT_CASES:
        grid = grids[code]
        team, _ = Team.objects.get_or_create(grid=grid, name=name, defaults={
            "officer": officer, "auxiliary": auxiliary, "grid_workers": workers})
        opened = day_start(today - timedelta(days=days_ago)) \
            + timedelta(hours=10)
        with clock(opened):
            case = hotspot_open(actor=supervisor, grid=grid, team=team, plan=plan, hour_from=hour_from,
                                hour_to=hour_to, source=HotspotCase.Source.REVIEW)
        for after, text in actions:
            with clock(opened + timedelta(days=after, hours=1)):
                hotspot_add_action(actor=supervisor, case_pk=case.pk, text=text)
    first = today - timedelta(days=max(c[1] for c in HOTSPOT_CASES) - 1)
    for n in range((today - first).days + 1):
        day = first + timedelta(days=n)
        with clock(day_start(day) + timedelta(minutes=20)):
            hotspots_review(today=day)
