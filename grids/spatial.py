"""Placing a call on its micro grid: by coordinates through a spatial index (shapely STRtree over the micro
grids' boundaries), or by address through a gazetteer of known places matched fuzzily (rapidfuzz).

Both are built once per process and rebuilt when their rows change: each lookup reads a cheap stamp
(row count and newest `updated_at`) so a grid imported in another process is seen by the next call here.
Works the same on SQLite and PostgreSQL: no PostGIS."""

import logging
import math
import threading
import unicodedata
from dataclasses import dataclass

import numpy as np
import shapely
from django.conf import settings
from django.db.models import Count, Max
from rapidfuzz import fuzz, process
from shapely.geometry import shape

logger = logging.getLogger(__name__)

_NOT_FOUND = np.iinfo(np.int64).max


class GridIndex:
    """Micro grid polygons in an STRtree. A point on a border shared by two grids goes to the grid that
    comes first in code order, so the answer never depends on the tree's internal order."""

    def __init__(self, ids: list[int], geoms: list):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.geoms = np.asarray(geoms, dtype=object)
        self.tree = shapely.STRtree(self.geoms)

    @classmethod
    def from_rows(cls, rows) -> "GridIndex":
        """`rows`: (id, GeoJSON geometry) in the order that breaks ties. Unreadable boundaries are skipped
        (imports refuse them; this guards against a hand edit in the database)."""
        ids, geoms = [], []
        for pk, boundary in rows:
            try:
                geom = shape(boundary)
            except Exception:  # noqa: BLE001 - any malformed JSON shape: skip it, say so
                logger.warning("grid %s has an unreadable boundary; it is left out of the index", pk)
                continue
            if geom.is_empty:
                continue
            ids.append(pk)
            geoms.append(geom)
        return cls(ids, geoms)

    def __len__(self):
        return len(self.ids)

    def locate(self, lon: float, lat: float) -> int | None:
        hits = self.tree.query(shapely.points(lon, lat), predicate="intersects")
        return int(self.ids[hits.min()]) if len(hits) else None

    def locate_many(self, lons, lats) -> np.ndarray:
        """Grid ids for many points at once; -1 where a point is in no grid."""
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        point_idx, geom_idx = self.tree.query(points, predicate="intersects")
        first = np.full(len(points), _NOT_FOUND, dtype=np.int64)
        np.minimum.at(first, point_idx, geom_idx)
        found = first != _NOT_FOUND
        out = np.full(len(points), -1, dtype=np.int64)
        out[found] = self.ids[first[found]]
        return out


def normalise_address(text: str) -> str:
    """Full-width digits and letters to half-width, no spaces: “中山中路１８号” matches “中山中路18号”."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())


@dataclass(frozen=True)
class GazetteerMatch:
    name: str
    grid_id: int
    score: float


class Gazetteer:
    """Known addresses and places per micro grid. An address longer than a place name matches when it
    contains the name almost exactly (partial ratio); a shorter one must match the whole name, so a bare
    “18号” does not land on “中山中路18号”. Two different grids tied at the top is no answer."""

    def __init__(self, rows):
        self.names: list[str] = []
        self.grid_ids: list[int] = []
        for name, grid_id in rows:
            self.names.append(normalise_address(name))
            self.grid_ids.append(grid_id)

    def __len__(self):
        return len(self.names)

    def candidates(self, address: str, *, cutoff: float, limit: int = 5) -> list[GazetteerMatch]:
        query = normalise_address(address)
        if not query or not self.names:
            return []
        found = process.extract(query, self.names, scorer=fuzz.partial_ratio, score_cutoff=cutoff,
                                limit=max(limit * 4, 20))
        matches = []
        for name, score, idx in found:
            if len(name) > len(query):
                score = fuzz.ratio(name, query)
                if score < cutoff:
                    continue
            matches.append(GazetteerMatch(name, self.grid_ids[idx], score))
        matches.sort(key=lambda m: (-m.score, -len(m.name), m.grid_id))
        return matches[:limit]

    def match(self, address: str, *, cutoff: float) -> GazetteerMatch | None:
        found = self.candidates(address, cutoff=cutoff, limit=5)
        if not found:
            return None
        best = found[0]
        rivals = [m for m in found[1:] if m.score == best.score and len(m.name) == len(best.name)
                  and m.grid_id != best.grid_id]
        return None if rivals else best


class _Cached:
    """One object per process, rebuilt when its stamp changes."""

    def __init__(self, stamp, build):
        self._stamp_fn, self._build = stamp, build
        self._lock = threading.Lock()
        self._value = None
        self._stamp = None

    def get(self):
        stamp = self._stamp_fn()
        with self._lock:
            if self._value is None or stamp != self._stamp:
                self._value = self._build()
                self._stamp = stamp
            return self._value

    def reset(self):
        with self._lock:
            self._value = None
            self._stamp = None


def _micro_grids():
    from .models import Grid

    return Grid.objects.filter(level=Grid.Level.MICRO, boundary__isnull=False)


def _grid_stamp():
    return tuple(_micro_grids().aggregate(n=Count("id"), last=Max("updated_at")).values())


def _build_index() -> GridIndex:
    return GridIndex.from_rows(_micro_grids().order_by("code").values_list("id", "boundary").iterator(2000))


def _place_stamp():
    from .models import Place

    return tuple(Place.objects.aggregate(n=Count("id"), last=Max("updated_at")).values())


def _build_gazetteer() -> Gazetteer:
    from .models import Place

    return Gazetteer(Place.objects.order_by("micro_grid__code", "name").values_list("name", "micro_grid_id"))


_index = _Cached(_grid_stamp, _build_index)
_gazetteer = _Cached(_place_stamp, _build_gazetteer)


def grid_index() -> GridIndex:
    return _index.get()


def gazetteer() -> Gazetteer:
    return _gazetteer.get()


def reset() -> None:
    """Forget the cached index and gazetteer (tests, after a bulk change made without `updated_at`)."""
    _index.reset()
    _gazetteer.reset()


@dataclass(frozen=True)
class Placement:
    grid_id: int | None
    method: str  # "point", "address" or ""
    detail: str = ""


def locate(*, lat: float | None, lon: float | None, address: str = "") -> Placement:
    """Where a call is: its micro grid by coordinates first, else by address through the gazetteer."""
    if lat is not None and lon is not None and math.isfinite(lat) and math.isfinite(lon):
        grid_id = grid_index().locate(lon, lat)
        if grid_id is not None:
            return Placement(grid_id, "point")
    if address:
        match = gazetteer().match(address, cutoff=settings.GAZETTEER_MIN_SCORE)
        if match is not None:
            return Placement(match.grid_id, "address", match.name)
    return Placement(None, "")


def place(lat: float | None = None, lon: float | None = None, address: str = ""):
    """The micro grid (a Grid) for a call at intake, or None when neither its point nor its address is known.
    Never raises: a call is registered even if placing it fails."""
    from .models import Grid

    try:
        placement = locate(lat=lat, lon=lon, address=address)
    except Exception:  # noqa: BLE001 - placing is a help, intake must not fail because of it
        logger.exception("placing a call failed")
        return None
    if placement.grid_id is None:
        return None
    return Grid.objects.filter(pk=placement.grid_id).first()


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def grid_centre(boundary) -> tuple[float, float] | None:
    """(lat, lon) of a point inside a grid's boundary, for calls placed only by grid."""
    if not boundary:
        return None
    try:
        point = shape(boundary).representative_point()
    except Exception:  # noqa: BLE001
        return None
    return point.y, point.x
