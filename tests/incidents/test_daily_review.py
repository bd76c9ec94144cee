"""The daily review over a fixture day whose repeats, clusters and hotspots are known exactly."""

import pytest

from incidents.models import DailyReview
from incidents.review.selectors import UnknownFigure, review_calls
from incidents.review.services import daily_review_build, daily_review_build_due

from .review_fixture import DAY, EXPECTED, P1, P2, build_fixture_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixture_day(make_slip):
    return build_fixture_day(make_slip)


def _city(day=DAY):
    return DailyReview.objects.get(date=day, scope="city").data


def test_it_counts_the_day_city_wide(fixture_day):
    daily_review_build(day=DAY)
    data = _city()
    assert data["totals"]["calls"] == EXPECTED["calls"]
    assert data["totals"]["police"] == EXPECTED["police"]
    assert data["totals"]["non_police"] == EXPECTED["non_police"]
    assert data["slips"]["diverted"] == EXPECTED["diverted"]
    assert sum(c["calls"] for c in data["categories"]) == EXPECTED["calls"]
    assert sum(g["calls"] for g in data["groups"]) == EXPECTED["calls"]
    assert sum(data["by_hour"]) == EXPECTED["calls"]
    assert data["departments"][0]["code"] == "STJ"


def test_it_finds_exactly_the_repeat_callers(fixture_day):
    daily_review_build(day=DAY)
    data = _city()
    assert data["repeat_counts"] == {"day": EXPECTED["repeat_day"], "week": EXPECTED["repeat_week"],
                                     "callers": EXPECTED["repeat_callers"]}
    by_phone = {r["phone"][:3] + r["phone"][-4:]: r for r in data["repeats"]}
    p1 = by_phone[P1[:3] + P1[-4:]]
    assert (p1["today"], p1["week"], p1["day_repeat"], p1["week_repeat"]) == (2, 2, True, False)
    p2 = by_phone[P2[:3] + P2[-4:]]
    assert (p2["today"], p2["week"], p2["day_repeat"], p2["week_repeat"]) == (1, 3, False, True)
    assert len(p2["call_ids"]) == 3
    assert "*" in p1["phone"]  # stored masked


def test_it_finds_exactly_the_cluster(fixture_day):
    daily_review_build(day=DAY)
    clusters = _city()["clusters"]
    assert len(clusters) == EXPECTED["clusters"]
    (c,) = clusters
    assert c["micro_id"] == fixture_day["m1"].pk
    assert c["category"]["code"] == "C01"
    assert c["calls"] == EXPECTED["cluster_calls"]
    assert (c["first"][-5:], c["last"][-5:]) == ("10:00", "11:30")


def test_it_finds_exactly_the_hotspots_with_their_trend(fixture_day):
    daily_review_build(day=DAY)
    hot = _city()["hotspots"]
    assert [h["grid_id"] for h in hot["day"]] == [fixture_day["m3"].pk]
    h = hot["day"][0]
    assert (h["calls"], h["before"], h["trend"]) == (EXPECTED["hotspot_day_calls"],
                                                     EXPECTED["hotspot_day_before"], "up")
    assert [(h["grid_id"], h["calls"]) for h in hot["week"]] == [(fixture_day["m3"].pk, 8)]
    assert [(h["grid_id"], h["calls"]) for h in hot["month"]] == [(fixture_day["m3"].pk, 8)]


def test_thresholds_are_settings(fixture_day, settings):
    settings.REVIEW_HOTSPOT_CALLS = 4
    settings.REVIEW_CLUSTER_HOURS = 3
    daily_review_build(day=DAY)
    data = _city()
    assert {h["grid_id"] for h in data["hotspots"]["day"]} == {fixture_day["m1"].pk, fixture_day["m3"].pk}
    # With three hours, M2's 09:00, 10:30, 12:00 form a cluster too.
    assert sorted(c["micro_id"] for c in data["clusters"]) == [fixture_day["m1"].pk, fixture_day["m2"].pk]


def test_each_large_grid_gets_its_own_review(fixture_day):
    daily_review_build(day=DAY)
    l1 = DailyReview.objects.get(date=DAY, grid=fixture_day["l1"]).data
    l2 = DailyReview.objects.get(date=DAY, grid=fixture_day["l2"]).data
    assert l1["totals"]["calls"] == 9 and l2["totals"]["calls"] == 6
    assert [r["today"] for r in l1["repeats"]] == [2]
    assert len(l1["clusters"]) == 1 and l2["clusters"] == []
    assert l1["hotspots"]["day"] == [] and len(l2["hotspots"]["day"]) == 1
    assert [r["code"] for r in l1["heat_grid"]["rows"]] == ["L1-01"]
    assert DailyReview.objects.filter(date=DAY).count() == 3


def test_a_rerun_changes_nothing(fixture_day):
    daily_review_build(day=DAY)
    first = {r.scope: r.data for r in DailyReview.objects.filter(date=DAY)}
    ids = set(DailyReview.objects.filter(date=DAY).values_list("pk", flat=True))
    daily_review_build(day=DAY)
    second = {r.scope: r.data for r in DailyReview.objects.filter(date=DAY)}
    assert second == first
    assert set(DailyReview.objects.filter(date=DAY).values_list("pk", flat=True)) == ids


def test_it_compares_with_the_previous_day_and_last_week(fixture_day):
    daily_review_build(day=DAY)
    cmp = _city()["compare"]
    assert cmp["previous_day"]["calls"] == 4  # two on M3, two from P4
    assert cmp["previous_day"]["change_calls"] == round((18 - 4) / 4, 4)
    assert cmp["last_week"]["calls"] == 0 and cmp["last_week"]["change_calls"] is None
    assert cmp["last_year"]["date"] == "2024-03-12"


def test_the_hour_by_weekday_heat_counts_the_last_four_weeks(fixture_day):
    daily_review_build(day=DAY)
    heat = _city()["heat_hour_weekday"]
    assert sum(map(sum, heat)) == 18 + 4 + 1 + 1 + 1  # the day, DAY-1, DAY-2, DAY-3, DAY-5
    assert sum(heat[DAY.isoweekday() - 1]) == 18


@pytest.mark.parametrize("key,figure", [
    ("calls", lambda d: d["totals"]["calls"]),
    ("police", lambda d: d["totals"]["police"]),
    ("non_police", lambda d: d["totals"]["non_police"]),
    ("slips", lambda d: d["slips"]["diverted"]),
    ("repeat:0", lambda d: len(d["repeats"][0]["call_ids"])),
    ("cluster:0", lambda d: d["clusters"][0]["calls"]),
])
def test_every_figure_drills_down_to_as_many_calls(fixture_day, key, figure):
    daily_review_build(day=DAY)
    data = _city()
    assert review_calls(DAY, "city", key, data).count() == figure(data)


def test_group_category_hour_and_hotspot_drill_downs_match(fixture_day):
    daily_review_build(day=DAY)
    data = _city()
    for g in data["groups"]:
        assert review_calls(DAY, "city", f"group:{g['id'] or 'none'}").count() == g["calls"]
    for c in data["categories"]:
        assert review_calls(DAY, "city", f"cat:{c['id'] or 'none'}").count() == c["calls"]
    for h, n in enumerate(data["by_hour"]):
        assert review_calls(DAY, "city", f"hour:{h}").count() == n
    for window, rows in data["hotspots"].items():
        for h in rows:
            assert review_calls(DAY, "city", f"hotspot:{window}:{h['grid_id']}").count() == h["calls"]
            assert review_calls(DAY, "city", f"hotspot_before:{window}:{h['grid_id']}").count() == h["before"]
    l1 = fixture_day["l1"]
    assert review_calls(DAY, f"grid-{l1.pk}", "calls").count() == 9
    for row in data["heat_grid"]["rows"]:
        for group, n in zip(data["heat_grid"]["groups"], row["cells"], strict=True):
            if row["grid_id"]:
                assert review_calls(DAY, "city", f"heat:{row['grid_id']}:{group['id'] or 'none'}").count() == n


def test_an_unknown_figure_is_refused(fixture_day):
    with pytest.raises(UnknownFigure):
        review_calls(DAY, "city", "nonsense:1")
    with pytest.raises(UnknownFigure):
        review_calls(DAY, "city", "hour:x")


def test_the_nightly_entry_builds_yesterday(fixture_day):
    from datetime import timedelta

    daily_review_build_due(today=DAY + timedelta(days=1))
    assert _city()["totals"]["calls"] == EXPECTED["calls"]


def test_the_task_builds_the_review(fixture_day):
    from incidents.review.tasks import daily_review_build_task

    assert daily_review_build_task.delay(DAY.isoformat()).get(timeout=30) == 3
    assert _city()["totals"]["calls"] == EXPECTED["calls"]


def test_a_call_nobody_has_decided_counts_with_the_non_police_and_its_drill_down(fixture_day, make_call):
    from datetime import timedelta

    from incidents.models import Call
    from incidents.review.selectors import day_start

    undecided = make_call(call_id="RV-UNDECIDED", content="喂喂，听得到吗",
                          received_at=day_start(DAY) + timedelta(hours=14))
    assert (undecided.is_police, undecided.suggested_police) == (None, None)

    daily_review_build(day=DAY)
    data = _city()
    assert data["totals"]["calls"] == EXPECTED["calls"] + 1
    assert data["totals"]["non_police"] == EXPECTED["non_police"] + 1
    non_police = review_calls(DAY, "city", "non_police", data)
    assert non_police.count() == data["totals"]["non_police"]
    assert non_police.filter(pk=undecided.pk).exists()
    assert not review_calls(DAY, "city", "police", data).filter(pk=undecided.pk).exists()
    assert Call.objects.filter(pk=undecided.pk, status="new").exists()
