"""Placing a call on its micro grid: by coordinates through a spatial index (shapely STRtree over the micro
grids' boundaries), or by address through a gazetteer of known places matched fuzzily (rapidfuzz).

Both are built once per process and rebuilt when their rows change: each lookup reads a cheap stamp
(row count and newest `updated_at`) so a grid imported in another process is seen by the next call here.
Works the same on SQLite and PostgreSQL: no PostGIS."""

import bisect
import logging
import math
import re
import threading
import time
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
        self.codes: dict[int, str] = {}  # micro grid id -> code (filled by _build_index)
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


# What callers and dispatchers put around an address (issue 37): the city and district before it, where they
# stand relative to it after it.
# (区 after 小/社/园/景/校/厂/营/城 is a place, not a district: 丽君小区, 园区路.)
_ADMIN_PREFIX = re.compile(r"^(?:[^省市区县路街巷号\d]{2,8}?(?:省|自治区))?(?:[^省市区县路街巷号\d]{1,7}?市)?"
                           r"(?:[^省市区县路街巷号\d]{1,6}?(?<![小社园景校厂营城])[区县](?=.{2,}))?")
_AROUND = re.compile(r"(?:附近|对面|旁边|旁|边上|门口|门前|楼下|周边|一带|路口|那里|这里|那边|这边|处)+$")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_CN_NUMBER = re.compile(r"([零〇一二两三四五六七八九十百千]+)号")
_STREET_NUMBER = re.compile(r"^(.+?[路街巷道])(\d+)号")


def _cn_int(text: str) -> int | None:
    """十八 → 18, 一百零五 → 105, 一二三 → 123: house numbers spoken or typed in Chinese."""
    if all(ch in _CN_DIGITS for ch in text):
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total, digit = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            total += (digit or 1) * {"十": 10, "百": 100, "千": 1000}[ch]
            digit = 0
    return total + digit


def normalise_address(text: str) -> str:
    """One spelling for the usual variants of an address: full-width digits and letters to half-width, no
    spaces or punctuation, no city or district in front (桂林市秀峰区), no “nearby / opposite / at the gate”
    after it, a number in Chinese as digits (十八号 → 18号), and a bare trailing number read as a house
    number (中山中路18 → 中山中路18号). “秀峰区中山中路１８号对面” is “中山中路18号”."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"[\s,，.。、;；:：()（）\-—_#/]+", "", text)
    text = re.sub(r"^(?:在|位于)", "", text)
    text = _ADMIN_PREFIX.sub("", text, count=1)
    text = _AROUND.sub("", text)
    text = _CN_NUMBER.sub(lambda m: f"{_cn_int(m.group(1))}号", text)
    if re.search(r"[路街巷道]\d+$", text):
        text += "号"
    return text


def street_number(normalised: str) -> tuple[str, int] | None:
    """(street, house number) of a normalised street address, or None (an estate, a landmark)."""
    m = _STREET_NUMBER.match(normalised)
    return (m.group(1), int(m.group(2))) if m else None


@dataclass(frozen=True)
class GazetteerMatch:
    name: str
    grid_id: int
    score: float
    place_id: int | None = None  # the address-list entry matched (its point stands for the call's)


class Gazetteer:
    """Known addresses and places per micro grid. An address longer than a place name matches when it
    contains the name almost exactly (partial ratio); a shorter one must match the whole name, so a bare
    “18号” does not land on “中山中路18号”. Two different grids tied at the top is no answer."""

    # A house number not in the list lands where the known numbers on both sides of it are, if they are this
    # close together and in one grid.
    BRACKET = 40

    def __init__(self, rows):
        """`rows`: (name, micro grid id) or (name, micro grid id, place id)."""
        self.names: list[str] = []
        self.grid_ids: list[int] = []
        self.place_ids: list[int | None] = []
        exact: dict[str, dict[int, int | None]] = {}
        streets: dict[str, dict[int, dict[int, int | None]]] = {}
        for name, grid_id, *place in rows:
            place_id = place[0] if place else None
            key = normalise_address(name)
            self.names.append(key)
            self.grid_ids.append(grid_id)
            self.place_ids.append(place_id)
            exact.setdefault(key, {}).setdefault(grid_id, place_id)
            if (parsed := street_number(key)) is not None:
                streets.setdefault(parsed[0], {}).setdefault(parsed[1], {}).setdefault(grid_id, place_id)
        self.exact = exact
        self.streets = {street: (sorted(numbers), numbers) for street, numbers in streets.items()}

    def structured(self, query: str) -> GazetteerMatch | None:
        """The exact address (once normalised), else a house number between two known numbers of the same
        street in one grid: numbers run along a street, so 中山中路19号 is where 18号 and 20号 are. A number
        beyond the last known one, or between two grids, is not guessed."""
        grids = self.exact.get(query)
        if grids:
            if len(grids) != 1:
                return None
            (grid_id, place_id), = grids.items()
            return GazetteerMatch(query, grid_id, 100.0, place_id)
        parsed = street_number(query)
        if parsed is None or parsed[0] not in self.streets:
            return None
        street, number = parsed
        numbers, grids_of = self.streets[street]
        i = bisect.bisect_left(numbers, number)
        if i == 0 or i == len(numbers):
            return None
        below, above = numbers[i - 1], numbers[i]
        if above - below > self.BRACKET or set(grids_of[below]) != set(grids_of[above]) or len(grids_of[below]) != 1:
            return None
        (grid_id, place_id), = grids_of[below].items()
        return GazetteerMatch(f"{street}{below}号", grid_id, 95.0, place_id)

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
            matches.append(GazetteerMatch(name, self.grid_ids[idx], score, self.place_ids[idx]))
        matches.sort(key=lambda m: (-m.score, -len(m.name), m.grid_id))
        return matches[:limit]

    def match(self, address: str, *, cutoff: float) -> GazetteerMatch | None:
        if (exact := self.structured(normalise_address(address))) is not None:
            return exact
        found = self.candidates(address, cutoff=cutoff, limit=5)
        if not found:
            return None
        best = found[0]
        rivals = [m for m in found[1:] if m.score == best.score and len(m.name) == len(best.name)
                  and m.grid_id != best.grid_id]
        return None if rivals else best


class _Cached:
    """One object per process, rebuilt when its stamp changes. The stamp is read at most every
    GRID_CHECK_SECONDS (intake places every call: it must not pay a query for it, issue 43); a change saved in
    this process resets it at once (the signals in grids.apps), one made in another within that time."""

    def __init__(self, stamp, build):
        self._stamp_fn, self._build = stamp, build
        self._lock = threading.Lock()
        self._value = None
        self._stamp = None
        self._checked_at = 0.0

    def get(self):
        now = time.monotonic()
        value = self._value
        if value is not None and now - self._checked_at < settings.GRID_CHECK_SECONDS:
            return value
        stamp = self._stamp_fn()
        with self._lock:
            if self._value is None or stamp != self._stamp:
                self._value = self._build()
                self._stamp = stamp
            self._checked_at = now
            return self._value

    def reset(self):
        with self._lock:
            self._value = None
            self._stamp = None
            self._checked_at = 0.0


def _micro_grids():
    from .models import Grid

    return Grid.objects.filter(level=Grid.Level.MICRO, boundary__isnull=False)


def _grid_stamp():
    return tuple(_micro_grids().aggregate(n=Count("id"), last=Max("updated_at")).values())


def _build_index() -> GridIndex:
    from .models import Grid

    index = GridIndex.from_rows(_micro_grids().order_by("code").values_list("id", "boundary").iterator(2000))
    # Every micro grid's code, with a boundary or not (the gazetteer places by address into either): intake
    # hands back the grid it placed a call in without reading it again.
    index.codes = dict(Grid.objects.filter(level=Grid.Level.MICRO).values_list("id", "code"))
    return index


def _place_stamp():
    from .models import Place

    return tuple(Place.objects.aggregate(n=Count("id"), last=Max("updated_at")).values())


def _build_gazetteer() -> Gazetteer:
    from .models import Place

    return Gazetteer(Place.objects.order_by("micro_grid__code", "name").values_list("name", "micro_grid_id", "pk"))


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
    place_id: int | None = None  # placed by address: the address-list entry it matched


def locate(*, lat: float | None, lon: float | None, address: str = "") -> Placement:
    """Where a call is: its micro grid by coordinates first, else by address through the gazetteer."""
    if lat is not None and lon is not None and math.isfinite(lat) and math.isfinite(lon):
        grid_id = grid_index().locate(lon, lat)
        if grid_id is not None:
            return Placement(grid_id, "point")
    if address:
        match = gazetteer().match(address, cutoff=settings.GAZETTEER_MIN_SCORE)
        if match is not None:
            return Placement(match.grid_id, "address", match.name, match.place_id)
    return Placement(None, "")


def place(lat: float | None = None, lon: float | None = None, address: str = ""):
    """Where a call is at intake: (its micro grid, the address-list Place its address matched), each None when
    not known; the Place only when the call has no point of its own. Never raises: a call is registered even
    if placing it fails. No query while the cached index is fresh: the grid comes back with its id and code
    loaded (other fields load when read), the Place with its id."""
    from .models import Grid, Place

    try:
        placement = locate(lat=lat, lon=lon, address=address)
        code = grid_index().codes.get(placement.grid_id) if placement.grid_id is not None else None
    except Exception:  # noqa: BLE001 - placing is a help, intake must not fail because of it
        logger.exception("placing a call failed")
        return None, None
    if placement.grid_id is None:
        return None, None
    if code is None:  # not a micro grid the index knows (changed in another process meanwhile): read it
        return Grid.objects.filter(pk=placement.grid_id).first(), Place.objects.filter(pk=placement.place_id).first()
    grid = Grid.from_db(None, ["id", "code"], [placement.grid_id, code])
    place = Place.from_db(None, ["id"], [placement.place_id]) if placement.place_id else None
    return grid, place


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
