"""The department scorecard against a small fixture whose figures are worked out by hand below."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.models import Role
from diversion.models import Department, NoticeKind
from diversion.services import callback_record, slip_accept, slip_complete, slip_return
from diversion.supervision.scores import department_scores
from diversion.supervision.services import notice_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
START, END = T0 - timedelta(days=1), T0 + timedelta(days=7)
NOW = T0 + timedelta(hours=200)


def _at(minutes):
    return time_machine.travel(T0 + timedelta(minutes=minutes), tick=False)


def _callback(supervisor, slip, resolved, satisfaction):
    callback_record(actor=supervisor, slip_pk=slip.pk, channel="phone", reached=True, resolved=resolved,
                    satisfaction=satisfaction)


@pytest.fixture
def fixture(make_slip, staff_a, staff_b, dept_b, supervisor, settings):
    dept_c = Department.objects.get(code="JYJ")
    staff_c = UserFactory(username="staff_c", role=Role.DEPARTMENT, department=dept_c)
    """Department A (STJ), four slips issued at T0, deadline T0 + 168 h:
      a1 accepted after 30 min, completed after 100 h, caller satisfied (yes, 5)
      a2 accepted after 2 h (late), completed after 170 h (late), caller not satisfied (no, 2) → reopened
      a3 returned after 10 min
      a4 never accepted, never completed (both due by NOW = T0 + 200 h)
      plus one supervision notice by hand, and a0 issued three days before the period, deadline T0 + 96 h,
      never completed: open and overdue in the period, so it counts against A's on-time completion.
    Department B (CGJ), two slips: both accepted within 20 min, completed within 60 h, callbacks (yes, 4)
    and (yes, 3), both satisfied.
    Department C (JYJ) received no slip in the period (one done before it), only a warning notice about
    that one: not ranked, whatever its score would be."""
    settings.SUPERVISION_ON_TIME_ACCEPT_MINUTES = 60
    settings.SUPERVISION_SCORE_WEIGHTS = {"results": 40, "rating": 40, "process": 20}
    settings.SUPERVISION_NOTICE_PENALTY = {"warning": 1, "supervision": 3, "rectification": 5}
    with _at(-3 * 24 * 60):
        make_slip()  # before the period, still open at its deadline inside the period
        c0 = make_slip(department=dept_c)
        slip_accept(actor=staff_c, slip_pk=c0.pk)
        slip_complete(actor=staff_c, slip_pk=c0.pk, result="已处理")
    with _at(0):
        a1, a2, a3, a4 = make_slip(), make_slip(), make_slip(), make_slip()
        b1, b2 = make_slip(department=dept_b), make_slip(department=dept_b)
    with _at(10):
        slip_return(actor=staff_a, slip_pk=a3.pk, reason="不属于本部门职责")
        slip_accept(actor=staff_b, slip_pk=b1.pk)
    with _at(20):
        slip_accept(actor=staff_b, slip_pk=b2.pk)
    with _at(30):
        slip_accept(actor=staff_a, slip_pk=a1.pk)
    with _at(120):
        slip_accept(actor=staff_a, slip_pk=a2.pk)
        notice_issue(actor=supervisor, kind=NoticeKind.SUPERVISION, department=staff_a.department, slips=[a4],
                     reason="逾期未受理")
        notice_issue(actor=supervisor, kind=NoticeKind.WARNING, department=dept_c, slips=[c0],
                     reason="办结情况未按时反馈")
    with _at(50 * 60):
        slip_complete(actor=staff_b, slip_pk=b1.pk, result="已清理")
        _callback(supervisor, b1, "yes", 4)
    with _at(60 * 60):
        slip_complete(actor=staff_b, slip_pk=b2.pk, result="已清理")
        _callback(supervisor, b2, "yes", 3)
    with _at(100 * 60):
        slip_complete(actor=staff_a, slip_pk=a1.pk, result="已约谈")
        _callback(supervisor, a1, "yes", 5)
    with _at(170 * 60):
        slip_complete(actor=staff_a, slip_pk=a2.pk, result="已约谈")
        _callback(supervisor, a2, "no", 2)


def _by_code(rows):
    return {r["code"]: r for r in rows}


def test_scorecard_figures_match_the_hand_computed_fixture(fixture):
    rows = department_scores(START, END, now=NOW)
    a, b, c = _by_code(rows)["STJ"], _by_code(rows)["CGJ"], _by_code(rows)["JYJ"]

    # A: issued 4, returned 1, kept 3; acceptance due for a1, a2, a4, on time only a1 → 1/3;
    # completion due for a1, a2, a4 and the carried a0 (overdue since T0 + 96 h, still open), on time only
    # a1 → 1/4; returns 1/4; reopened a2 → 1/3; callbacks reaching the caller 2, satisfied 1 → 1/2;
    # one supervision notice = 3 points.
    assert (a["issued"], a["returned"], a["kept"], a["carried_overdue"]) == (4, 1, 3, 1)
    assert a["on_time_accept"] == pytest.approx(1 / 3)
    assert a["on_time_complete"] == pytest.approx(1 / 4)
    assert a["return_rate"] == pytest.approx(1 / 4)
    assert a["reopen_rate"] == pytest.approx(1 / 3)
    assert a["satisfaction"] == pytest.approx(1 / 2)
    assert a["notices"] == {"warning": 0, "supervision": 1, "rectification": 0}
    # results = 100 × (1/4 + 1 − 1/3) / 2 = 45.83; rating = 50; process = 100 × (1/3 + 1 − 1/4) / 2 − 3 = 51.17
    # total = (40 × 45.8333 + 40 × 50 + 20 × 51.1667) / 100 = 48.57
    assert (a["results"], a["rating"], a["process"], a["total"]) == (45.83, 50.0, 51.17, 48.57)

    # B: everything on time, nothing returned or reopened, both callers satisfied, no notices → 100.
    assert (b["issued"], b["on_time_accept"], b["on_time_complete"], b["satisfaction"]) == (2, 1.0, 1.0, 1.0)
    assert (b["results"], b["rating"], b["process"], b["total"]) == (100.0, 100.0, 100.0, 100.0)

    # C: no slips, one warning. Before, "a rate with nothing to measure counts as full marks" gave it
    # 100 − 20 % × 1 point = 99.8, above A. Now it is listed, unranked, with no score.
    assert (c["rank"], c["issued"], c["total"], c["on_time_complete"], c["notices_total"]) == (None, 0, None, None, 1)

    # The table: ranked departments by score, then every other active department, unranked, by code.
    ranked = [(r["rank"], r["code"], r["total"]) for r in rows if r["rank"] is not None]
    assert ranked == [(1, "CGJ", 100.0), (2, "STJ", 48.57)]
    unranked = [r["code"] for r in rows if r["rank"] is None]
    assert "JYJ" in unranked and unranked == sorted(unranked)
    assert set(unranked) == set(Department.objects.filter(active=True).exclude(code__in=["CGJ", "STJ"])
                                .values_list("code", flat=True))
    assert rows[:2] == [b, a]


def test_a_slip_completed_late_after_the_period_counts_only_while_open(fixture):
    # The next week: a0 and a4 are still open and overdue → both count against A (0 of 2 on time).
    later = department_scores(END, END + timedelta(days=7), now=END + timedelta(days=7))
    a = _by_code(later)["STJ"]
    assert (a["issued"], a["carried_overdue"], a["on_time_complete"], a["rank"]) == (0, 2, 0.0, 1)


def test_the_weighting_is_configurable(fixture, settings):
    settings.SUPERVISION_SCORE_WEIGHTS = {"results": 0, "rating": 0, "process": 1}
    assert _by_code(department_scores(START, END, now=NOW))["STJ"]["total"] == 51.17

    only_rating = department_scores(START, END, now=NOW, weights={"results": 0, "rating": 3, "process": 0})
    assert _by_code(only_rating)["STJ"]["total"] == 50.0


def test_the_league_table_page_ranks_departments(fixture, client, supervisor):
    client.force_login(supervisor)
    with time_machine.travel(NOW, tick=False):
        response = client.get("/supervision/league/", {"period": "weekly", "day": "2025-03-03"})
    assert response.status_code == 200
    codes = [r["code"] for r in response.context["rows"] if r["rank"] is not None]
    assert codes == ["CGJ", "STJ"]
    body = response.content.decode()
    assert "48.6" in body
    assert 'data-code="JYJ" class="unranked' in body and "本期无移交单，不排名" in body
    import re

    row = re.search(r'<tr data-code="JYJ" class="unranked muted">(.*?)</tr>', body, re.S).group(1)
    cells = re.findall(r'<td(?: colspan="(\d+)")?>(.*?)</td>', row, re.S)
    assert sum(int(span or 1) for span, _text in cells) == 13  # as wide as the header
    # Rank, department, slips, the note over the five rates, then the notices column (the header's 9th).
    assert [int(span or 1) for span, _text in cells[:4]] == [1, 1, 1, 5] and cells[4] == ("", "1")


def test_the_league_table_selector_shows_the_period_the_table_is_for(fixture, client, supervisor):
    client.force_login(supervisor)
    response = client.get("/supervision/league/")
    form = response.content.decode()
    assert response.context["kind"] == "monthly"
    assert '<option value="monthly" selected>' in form
