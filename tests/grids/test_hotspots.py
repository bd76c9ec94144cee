"""Hotspot cases: one grid, one period, one team, one plan; open until the grid has stayed quiet."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from core.errors import Conflict
from grids.models import Grid, HotspotStatus, Team
from grids.selectors import hotspot_candidates, hotspots_open_history
from grids.services import hotspot_add_action, hotspot_open, hotspot_review, hotspots_review

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def at(days_ago: int, hour: int = 12):
    return timezone.make_aware(datetime.combine(TODAY - timedelta(days=days_ago), time(hour)))


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.HOTSPOT_THRESHOLD = 5
    settings.HOTSPOT_QUIET_DAYS = 3


@pytest.fixture
def grid():
    return Grid.objects.create(code="M1", name="榕湖微网格", level="micro")


@pytest.fixture
def team(grid):
    return Team.objects.create(grid=grid, name="“2+X”小分队", officer="民警甲", auxiliary="辅警乙",
                               grid_workers=["网格员丙", "网格员丁"])


@pytest.fixture
def calls_on(make_call, grid):
    def make(days_ago, n, hour=12):
        for _ in range(n):
            make_call(received_at=at(days_ago, hour), micro_grid=grid)

    return make


def test_a_case_closes_only_after_the_quiet_period(supervisor, grid, team, calls_on):
    calls_on(8, 7)  # before the case
    case = hotspot_open(actor=supervisor, grid=grid, team=team, plan="夜间巡逻，约谈商户", opened_at=at(6, 10))
    assert case.before_count == 7
    calls_on(5, 6)  # still hot the day after opening
    calls_on(4, 1)  # then quiet: under 5 a day

    case = hotspot_review(case_pk=case.pk, today=TODAY - timedelta(days=2))  # two quiet days so far
    assert case.status == HotspotStatus.OPEN and case.quiet_streak == 2
    case = hotspot_review(case_pk=case.pk, today=TODAY - timedelta(days=1))  # the third quiet day is complete
    assert case.status == HotspotStatus.CLOSED and case.quiet_streak == 3
    assert case.after_count == 1
    assert hotspot_review(case_pk=case.pk).status == HotspotStatus.CLOSED  # running again changes nothing


def test_a_hot_day_inside_the_window_starts_the_count_again(supervisor, grid, team, calls_on):
    case = hotspot_open(actor=supervisor, grid=grid, team=team, plan="方案", opened_at=at(10))
    calls_on(3, 5)
    assert hotspots_review(today=TODAY) == 0
    case.refresh_from_db()
    assert case.status == HotspotStatus.OPEN and case.quiet_streak == 2


def test_the_opening_day_itself_never_counts_as_quiet(supervisor, grid, team):
    case = hotspot_open(actor=supervisor, grid=grid, team=team, plan="方案", opened_at=at(2))
    assert hotspot_review(case_pk=case.pk, today=TODAY).quiet_streak == 1


def test_only_calls_in_the_case_period_count(supervisor, grid, team, calls_on):
    calls_on(1, 6, hour=10)  # busy in the morning ...
    case = hotspot_open(actor=supervisor, grid=grid, team=team, plan="夜市整治", hour_from=20, hour_to=2,
                        opened_at=at(4))
    assert case.period_label == "20:00–02:00"
    calls_on(2, 1, hour=23)
    calls_on(1, 1, hour=1)
    assert hotspot_review(case_pk=case.pk, today=TODAY).status == HotspotStatus.CLOSED  # ... not at night


def test_a_grid_has_one_open_case_per_period_and_actions_are_kept(supervisor, grid, team):
    case = hotspot_open(actor=supervisor, grid=grid, team=team, plan="方案")
    with pytest.raises(Conflict):
        hotspot_open(actor=supervisor, grid=grid, team=team, plan="又一个")
    hotspot_add_action(actor=supervisor, case_pk=case.pk, text="约谈KTV经营者")
    assert [a.text for a in case.actions.all()] == ["约谈KTV经营者"]


def test_the_daily_review_lists_grids_over_the_threshold(grid, calls_on):
    calls_on(1, 5)
    assert [c["grid"] for c in hotspot_candidates(TODAY - timedelta(days=1))] == [grid]
    assert hotspot_candidates(TODAY - timedelta(days=2)) == []


def test_the_history_counts_cases_open_at_the_end_of_each_day(supervisor, grid, team):
    other = Grid.objects.create(code="M2", name="另一个", level="micro")
    hotspot_open(actor=supervisor, grid=grid, team=team, plan="方案", opened_at=at(5))
    closed = hotspot_open(actor=supervisor, grid=other, team=team, plan="方案", opened_at=at(4))
    closed.status, closed.closed_at = HotspotStatus.CLOSED, at(2, 0)
    closed.save()
    history = dict(hotspots_open_history(7, today=TODAY))
    assert [history[TODAY - timedelta(days=d)] for d in (6, 5, 4, 3, 2, 0)] == [0, 1, 2, 2, 1, 1]


def test_the_hotspot_pages_open_a_case_and_record_an_action(client, supervisor, grid, team):
    client.force_login(supervisor)
    response = client.post("/grids/hotspots/new/", {"grid": "M1", "hour_from": 0, "hour_to": 24, "team": team.pk,
                                                    "plan": "每晚巡逻两次", "source": "manual"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "每晚巡逻两次" in page
    client.post(response["Location"] + "actions/", {"text": "张贴告示"})
    assert "张贴告示" in client.get(response["Location"]).content.decode()
    assert "榕湖微网格" in client.get("/grids/hotspots/").content.decode()
