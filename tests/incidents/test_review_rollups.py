"""The review's long windows from daily rollups (issue 43): the same figures as counting the calls, each day
counted once per run, and counted again when its calls may have changed."""

import random
from datetime import timedelta

import pytest

from incidents.models import Call, DailyReview, ReviewRollup
from incidents.review import rollups, selectors
from incidents.review.services import daily_review_build, daily_reviews_backfill
from tests.factories import GridFactory

from .review_fixture import DAY, at, build_fixture_day

pytestmark = pytest.mark.django_db


def _key(row):
    return repr(sorted(row.items()))  # repr: a large grid may be None


@pytest.fixture
def two_months(make_slip):
    """The fixture day, plus calls spread over the 60 days before it on its micro grids, a micro grid hung
    straight under a large grid, and no grid; some police, some undecided."""
    grids = build_fixture_day(make_slip)
    direct = GridFactory(code="L2-99", name="直属微网格", parent=grids["l2"])
    rnd = random.Random(7)
    rows = []
    for n in range(400):
        day = DAY - timedelta(days=rnd.randint(0, 64))
        police = rnd.choice([True, False, None])
        rows.append(Call(call_id=f"TM{n:05d}", received_at=at(day, rnd.randint(0, 23), rnd.randint(0, 59)),
                         caller_phone=f"1380000{n:04d}", content="fixture", status="closed",
                         micro_grid=rnd.choice([grids["m1"], grids["m2"], grids["m3"], direct, None]),
                         is_police=police, suggested_police=rnd.choice([True, False, None])))
    Call.objects.bulk_create(rows)
    return grids


@pytest.mark.parametrize("day", [DAY, DAY - timedelta(days=1), DAY - timedelta(days=31)])
def test_the_rollups_give_the_figures_counting_the_calls_gives(two_months, day):
    w = selectors.Window(day)
    memo = rollups.Rollups()

    assert sorted(map(_key, rollups.grid_windows(w, memo))) == sorted(map(_key, selectors.grid_windows(w)))
    assert sorted(map(_key, rollups.heat_by_hour(w, memo))) == sorted(map(_key, selectors.heat_by_hour(w)))


@pytest.mark.parametrize("step", [1, -1], ids=["forward", "backward"])
def test_windows_moved_a_day_at_a_time_give_the_same_figures(two_months, step):
    memo = rollups.Rollups()
    days = [DAY - timedelta(days=k) for k in range(40)]  # across the 30-day windows' edges
    for day in days if step == -1 else reversed(days):
        w = selectors.Window(day)
        assert sorted(map(_key, rollups.grid_windows(w, memo))) == sorted(map(_key, selectors.grid_windows(w))), day


def test_a_year_rebuild_counts_each_day_once(two_months, monkeypatch):
    counted = []
    real = rollups.day_rollup
    monkeypatch.setattr(rollups, "day_rollup", lambda day: counted.append(day) or real(day))

    built = daily_reviews_backfill(today=DAY + timedelta(days=1))

    assert built >= 60 and DailyReview.objects.filter(date=DAY, scope="city").exists()
    assert len(counted) == len(set(counted))  # each day once, though 60 windows hold it
    assert ReviewRollup.objects.filter(date=DAY).exists()


def test_a_build_counts_its_day_and_the_day_before_again(two_months):
    def m1_week():
        data = DailyReview.objects.get(date=DAY, scope="city").data
        return {h["code"]: h["calls"] for h in data["hotspots"]["week"]}.get("L1-01-01", 0)

    daily_review_build(day=DAY)
    before = m1_week()
    late = DAY - timedelta(days=1)
    # Calls of the evening before, registered after the rollups were stored: five more non-police calls on M1.
    Call.objects.bulk_create([Call(call_id=f"LATE{n}", received_at=at(late, 22, n), caller_phone=f"1390000{n:04d}",
                                   content="fixture", status="closed", micro_grid=two_months["m1"],
                                   is_police=False) for n in range(5)])

    daily_review_build(day=DAY)
    counted = {r["micro_grid_id"]: r["week"] for r in selectors.grid_windows(selectors.Window(DAY))}
    assert m1_week() == before + 5 == counted[two_months["m1"].pk]
