"""The figures on a small fixture whose answers were worked out by hand.

Period: files opened in the last 60 days. Calls before/after the outcome per file:

  file  station mediator  status     outcome  days  before  after  flared
  1     A       m1        closed     agreed   2     3       0
  2     A       m1        closed     agreed   4     1       1
  3     A       m2        closed     failed   6     2       0
  4     A       m2        mediating  —        —     1       0
  5     B       mb        closed     partial  4     2       0
  6     B       mb        reopened   (agreed) 5     1       1      yes
  7     A       m1        closed     agreed   1     2       2      (opened 100 days ago: outside the period)

Totals: registered 6; reached an outcome (1,2,3,5,6) 5; closed (1,2,3,5) 4, agreed 2 → success 50.0%;
repeat before (2+ calls: 1,3,5) 3/5 = 60.0%; repeat after (1+ call: 2,6) 2/5 = 40.0%, change −33.3%;
days to resolution (2+4+6+4)/4 = 4.0; flared up 1.
Station A: 4 registered, 3 closed, 2 agreed → 66.7%; before 2/3 = 66.7%; after 1/3 = 33.3%; 4.0 days.
Station B: 2 registered, 1 closed, 0 agreed → 0.0%; before 1/2 = 50.0%; after 1/2 = 50.0%; 4.0 days; 1 flared.
m1: 2 registered, 2 agreed of 2 → 100.0%, 3.0 days. m2: 2 registered, 0 of 1 → 0.0%, 6.0 days."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Role
from mediation.models import DisputeFile, FileCall
from mediation.selectors import files_visible_to, mediation_figures
from tests.factories import UserFactory

FIXTURE = [
    # station, mediator, status, outcome, opened days ago, days to outcome, calls before, after, flares
    ("a", "m1", "closed", "agreed", 30, 2, 3, 0, 0),
    ("a", "m1", "closed", "agreed", 30, 4, 1, 1, 0),
    ("a", "m2", "closed", "failed", 30, 6, 2, 0, 0),
    ("a", "m2", "mediating", "", 10, None, 1, 0, 0),
    ("b", "mb", "closed", "partial", 40, 4, 2, 0, 0),
    ("b", "mb", "reopened", "agreed", 40, 5, 1, 1, 1),
    ("a", "m1", "closed", "agreed", 100, 1, 2, 2, 0),
]


@pytest.fixture
def figures_fixture(station_a, station_b, med_a, med_b, make_call):
    m2 = UserFactory(username="m2", role=Role.MEDIATOR, first_name="李律师")
    users = {"m1": med_a.user, "m2": m2, "mb": med_b.user}
    stations = {"a": station_a, "b": station_b}
    now = timezone.now()
    for n, (station, user, status, outcome, ago, took, before, after, flares) in enumerate(FIXTURE, 1):
        opened = now - timedelta(days=ago)
        file = DisputeFile.objects.create(
            serial=f"F{n}", station=stations[station], title=f"纠纷{n}", mediator=users[user], opened_at=opened,
            status=status, outcome=outcome, complexity="simple", flare_count=flares,
            closed_at=opened + timedelta(days=took) if took is not None else None)
        for i in range(before + after):
            FileCall.objects.create(file=file, call=make_call(), reason="phone", after_outcome=i >= before)
    return now


def test_the_figures_match_the_hand_computed_fixture(figures_fixture):
    now = figures_fixture
    data = mediation_figures(DisputeFile.objects.all(), since=now - timedelta(days=60), until=now)
    total = data["total"]
    assert {k: total[k] for k in ("registered", "mediated", "closed", "agreed", "partial", "failed", "flared")} == {
        "registered": 6, "mediated": 5, "closed": 4, "agreed": 2, "partial": 1, "failed": 1, "flared": 1}
    assert total["success_rate"] == 50.0
    assert (total["repeat_before_rate"], total["repeat_after_rate"], total["repeat_change"]) == (60.0, 40.0, -33.3)
    assert total["days_to_resolution"] == 4.0

    a, b = data["stations"]
    assert (a["station__name"], a["registered"], a["closed"], a["success_rate"], a["repeat_before_rate"],
            a["repeat_after_rate"], a["days_to_resolution"]) == ("丽君派出所", 4, 3, 66.7, 66.7, 33.3, 4.0)
    assert (b["registered"], b["closed"], b["success_rate"], b["repeat_before_rate"], b["repeat_after_rate"],
            b["days_to_resolution"], b["flared"]) == (2, 1, 0.0, 50.0, 50.0, 4.0, 1)

    per_mediator = {row["mediator__username"]: row for row in data["mediators"]}
    assert (per_mediator["mediator"]["registered"], per_mediator["mediator"]["success_rate"],
            per_mediator["mediator"]["days_to_resolution"]) == (2, 100.0, 3.0)
    assert (per_mediator["m2"]["registered"], per_mediator["m2"]["success_rate"],
            per_mediator["m2"]["days_to_resolution"]) == (2, 0.0, 6.0)
    assert per_mediator["mediator"]["mediator_name"] == "黄秀英"


def test_a_mediator_sees_the_figures_of_their_own_station_only(figures_fixture, med_a):
    data = mediation_figures(files_visible_to(med_a.user), since=figures_fixture - timedelta(days=60),
                             until=figures_fixture)
    assert data["total"]["registered"] == 4 and [s["station__name"] for s in data["stations"]] == ["丽君派出所"]


def test_the_supervisor_page_shows_the_figures(client, supervisor, figures_fixture):
    client.force_login(supervisor)
    since = (timezone.localdate() - timedelta(days=60)).isoformat()
    page = client.get(reverse("mediation-figures"), {"since": since}).content.decode()
    assert 'data-fig="registered">6<' in page and 'data-fig="success_rate">50.0%<' in page
    assert "丽君派出所" in page and "秀峰派出所" in page


def test_no_files_give_no_rates(db):
    total = mediation_figures(DisputeFile.objects.all())["total"]
    assert total["registered"] == 0 and total["success_rate"] is None and total["days_to_resolution"] is None
