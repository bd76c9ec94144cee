"""A fixture day for the daily review with exactly known repeat callers, clusters and hotspots.

Grids: large L1 → small S1 → micro M1, M2; large L2 → small S2 → micro M3.
On DAY (a Wednesday):
- M1: four C01 (noise) non-police calls at 10:00, 10:40, 11:30 (a cluster of three within two hours) and
  15:00 (alone);
- M2: three C01 non-police calls at 09:00, 10:30, 12:00 (never three within two hours: no cluster), and two
  police calls from phone P1 (a repeat caller on the day);
- M3: six C02 non-police calls three hours apart (a day hotspot: 5+, not a cluster), against two the day
  before (trend up);
- no grid: one non-police call from P2, who also called on DAY-3 and DAY-5 (3 in 7 days: a week repeat);
  one police call from P3, who called once more on DAY-2 (two in a week: not a repeat);
- P4 called twice on DAY-1 only (not in DAY's review).
Plus one call diverted on a slip through the real services (no grid, non-police).
"""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from core.phones import caller_key
from diversion.models import Category
from grids.models import Grid
from incidents.models import Call
from tests.factories import GridFactory

DAY = date(2025, 3, 12)
P1, P2, P3, P4 = "13900000001", "13900000002", "13900000003", "13900000004"

EXPECTED = {
    "calls": 18, "police": 3, "non_police": 15, "diverted": 1,
    "repeat_callers": 2, "repeat_day": 1, "repeat_week": 1,
    "clusters": 1, "cluster_calls": 3,
    "hotspots_day": 1, "hotspot_day_calls": 6, "hotspot_day_before": 2,
}


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hh, mm)))


def build_fixture_day(make_slip):
    l1 = GridFactory(code="L1", name="一号警务区", level=Grid.Level.LARGE)
    l2 = GridFactory(code="L2", name="二号警务区", level=Grid.Level.LARGE)
    s1 = GridFactory(code="L1-01", name="小网格1", level=Grid.Level.SMALL, parent=l1)
    s2 = GridFactory(code="L2-01", name="小网格2", level=Grid.Level.SMALL, parent=l2)
    m1 = GridFactory(code="L1-01-01", name="微网格M1", parent=s1)
    m2 = GridFactory(code="L1-01-02", name="微网格M2", parent=s1)
    m3 = GridFactory(code="L2-01-01", name="微网格M3", parent=s2)
    c01, c02 = Category.objects.get(code="C01"), Category.objects.get(code="C02")
    seq = iter(range(1, 1000))

    def call(when, *, grid=None, cat=c01, police=False, phone=None):
        n = next(seq)
        return Call(call_id=f"RV{n:05d}", received_at=when, caller_phone=phone or f"1370000{n:04d}",
                    content="fixture", micro_grid=grid, is_police=police, category=None if police else cat,
                    status="closed")

    rows = [call(at(DAY, h, m), grid=m1) for h, m in ((10, 0), (10, 40), (11, 30), (15, 0))]
    rows += [call(at(DAY, h, m), grid=m2) for h, m in ((9, 0), (10, 30), (12, 0))]
    rows += [call(at(DAY, 8), grid=m2, police=True, phone=P1), call(at(DAY, 20), grid=m2, police=True, phone=P1)]
    rows += [call(at(DAY, 1 + 3 * i), grid=m3, cat=c02) for i in range(6)]  # 3 h apart: no cluster
    rows += [call(at(DAY - timedelta(days=1), 9 + i), grid=m3, cat=c02) for i in range(2)]
    rows += [call(at(DAY, 13), phone=P2), call(at(DAY - timedelta(days=3), 13), phone=P2),
             call(at(DAY - timedelta(days=5), 13), phone=P2)]
    rows += [call(at(DAY, 14), police=True, phone=P3), call(at(DAY - timedelta(days=2), 14), police=True, phone=P3)]
    rows += [call(at(DAY - timedelta(days=1), 8), phone=P4), call(at(DAY - timedelta(days=1), 18), phone=P4)]
    for row in rows:  # bulk_create skips Call.save, which keys the number
        row.caller_key = caller_key(row.caller_phone)
    Call.objects.bulk_create(rows)
    slip = make_slip(received_at=at(DAY, 16), caller_phone="13600000009")
    return {"l1": l1, "l2": l2, "s1": s1, "m1": m1, "m2": m2, "m3": m3, "slip": slip}
