"""Benchmark: place call points on micro grids with the spatial index, against a brute-force loop.

    python bench/grid_assign.py                 # 2,160 micro grids (30 police areas), 100,000 points
    python bench/grid_assign.py --quick         # 144 micro grids, 5,000 points (well under a minute)
    python bench/grid_assign.py --brute-sample N  # time brute force on N points only and extrapolate

It works in its own database: fenliu_bench_grid_assign next to the PostgreSQL database DATABASE_URL names
(created if missing), or var/bench_grid_assign.sqlite3 when DATABASE_URL is unset or SQLite. It generates
a grid layer (large → small → micro, quadrilaterals with jittered shared corners and edge midpoints),
imports it with the real import service (grids_import_geojson), loads the micro grids back from the
database into the production index (grids.spatial: shapely STRtree), and assigns the points with it.
The brute force, written here, loops over every micro grid for every point (a bounding-box test, then
ray casting), first grid in code order wins, as in the index. Both answers are compared point by point.

Prints name=value lines: micro_grids, points, seconds (index build + assignment), bruteforce_seconds,
ratio (bruteforce_seconds / seconds), then import_seconds, index_seconds, agree, outside, and
bruteforce_points / bruteforce_extrapolated when the brute force ran on a sample."""

import argparse
import os
import sys
import time
from pathlib import Path

from owndb import use_own_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
BENCH_DB = "fenliu_bench_grid_assign"


def _inside(x: float, y: float, ring) -> bool:
    """Ray casting: is (x, y) inside the closed ring [(x0, y0), …, (x0, y0)]?"""
    inside = False
    x1, y1 = ring[0]
    for x2, y2 in ring[1:]:
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
        x1, y1 = x2, y2
    return inside


def _polygons_for_brute_force(rows):
    """(minx, miny, maxx, maxy, [(shell, holes), …], id) per micro grid, in code order."""
    out = []
    for pk, geometry in rows:
        parts = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        rings = [([tuple(p) for p in poly[0]], [[tuple(p) for p in hole] for hole in poly[1:]]) for poly in parts]
        xs = [p[0] for shell, _ in rings for p in shell]
        ys = [p[1] for shell, _ in rings for p in shell]
        out.append((min(xs), min(ys), max(xs), max(ys), rings, pk))
    return out


def brute_force(xs, ys, polygons) -> list[int]:
    found = []
    for x, y in zip(xs, ys, strict=True):
        hit = -1
        for minx, miny, maxx, maxy, rings, pk in polygons:
            if minx <= x <= maxx and miny <= y <= maxy and any(
                    _inside(x, y, shell) and not any(_inside(x, y, h) for h in holes) for shell, holes in rings):
                hit = pk
                break
        found.append(hit)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small version: 144 micro grids, 5,000 points")
    parser.add_argument("--large", type=int, help="police areas to generate (72 micro grids each)")
    parser.add_argument("--points", type=int, help="call points to assign")
    parser.add_argument("--brute-sample", type=int, default=0,
                        help="time the brute force on this many points and extrapolate (0: all points)")
    args = parser.parse_args()
    large = args.large or (2 if args.quick else 30)
    n_points = args.points or (5_000 if args.quick else 100_000)

    use_own_database(BENCH_DB, sqlite_ok=True, fresh=True)
    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command

    from grids import spatial
    from grids.demo import generate_collection
    from grids.models import Grid
    from grids.services import grids_import_geojson

    call_command("migrate", verbosity=0, interactive=False)
    for level in ("micro", "small", "large"):  # children first: parents are protected
        Grid.objects.filter(level=level).delete()

    collection = generate_collection(large=large)
    t = time.perf_counter()
    grids_import_geojson(actor=None, data=collection, filename="bench")
    import_seconds = time.perf_counter() - t
    micro = Grid.objects.filter(level="micro")
    n_micro = micro.count()

    # Points over the layer's bounding box and a margin around it, so some fall outside every grid.
    rows = list(micro.order_by("code").values_list("id", "boundary"))
    polygons = _polygons_for_brute_force(rows)
    minx = min(p[0] for p in polygons)
    miny = min(p[1] for p in polygons)
    maxx = max(p[2] for p in polygons)
    maxy = max(p[3] for p in polygons)
    rng = np.random.default_rng(2026)
    margin = 0.02 * max(maxx - minx, maxy - miny)
    xs = rng.uniform(minx - margin, maxx + margin, n_points)
    ys = rng.uniform(miny - margin, maxy + margin, n_points)

    spatial.reset()
    t = time.perf_counter()
    index = spatial.grid_index()  # loads the micro grids from the database and builds the STRtree
    index_seconds = time.perf_counter() - t
    assigned = index.locate_many(xs, ys)
    seconds = time.perf_counter() - t
    assert len(index) == n_micro

    sample = n_points if not args.brute_sample or args.brute_sample >= n_points else args.brute_sample
    t = time.perf_counter()
    brute = brute_force(xs[:sample].tolist(), ys[:sample].tolist(), polygons)
    brute_measured = time.perf_counter() - t
    bruteforce_seconds = brute_measured * n_points / sample
    agree = int(np.sum(assigned[:sample] == np.asarray(brute, dtype=np.int64)))

    print(f"micro_grids={n_micro}")
    print(f"points={n_points}")
    print(f"seconds={seconds:.3f}")
    print(f"bruteforce_seconds={bruteforce_seconds:.3f}")
    print(f"ratio={bruteforce_seconds / seconds:.1f}")
    print(f"import_seconds={import_seconds:.3f}")
    print(f"index_seconds={index_seconds:.3f}")
    print(f"agree={agree}/{sample}")
    print(f"outside={int(np.sum(assigned == -1))}")
    if sample != n_points:
        print(f"bruteforce_points={sample}")
        print(f"bruteforce_extrapolated=true  # measured {brute_measured:.3f} s on {sample} points, "
              f"scaled to {n_points}")


if __name__ == "__main__":
    main()
