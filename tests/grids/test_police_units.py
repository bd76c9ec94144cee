"""Police units: the nearest available unit is sent, arrival and result times are kept, and the 1-3-5
minute KPIs are computed from those times per unit and per station."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import DomainError
from core.models import Role
from diversion.models import HandoffSlip
from grids.models import Area, Unit
from grids.selectors import police_kpis, units_by_distance
from grids.services import police_arrive, police_hand_over, unit_dispatch
from incidents.models import CallStatus, PoliceAssignment
from incidents.services import police_finish
from tests.factories import UnitFactory, UserFactory, category

pytestmark = pytest.mark.django_db

CALL_AT = {"lat": 25.0, "lon": 110.03}


@pytest.fixture
def units():
    now = timezone.now()
    return {
        "far_base": UnitFactory(code="A", base_lat=25.0, base_lon=110.0),  # ~3.0 km
        "near_base": UnitFactory(code="B", base_lat=25.0, base_lon=110.05),  # ~2.0 km
        "fresh": UnitFactory(code="C", base_lat=25.1, base_lon=110.1, last_lat=25.0, last_lon=110.031,
                             last_seen_at=now - timedelta(minutes=5)),  # ~100 m from where it was just seen
        "stale": UnitFactory(code="D", base_lat=25.2, base_lon=110.2, last_lat=25.0, last_lon=110.03,
                             last_seen_at=now - timedelta(hours=3)),  # its old position no longer counts
        "off": UnitFactory(code="E", base_lat=25.0, base_lon=110.03, available=False),
    }


def test_the_nearest_available_unit_by_fresh_position_or_base_is_sent(dispatcher, make_call, units):
    first = unit_dispatch(actor=dispatcher, call_pk=make_call(**CALL_AT).pk)
    assert first.unit == units["fresh"]
    assert first.selection == PoliceAssignment.Selection.NEAREST
    assert 80 < first.distance_m < 120
    # The fresh unit is now busy on that call; the next call gets the nearest base.
    second = unit_dispatch(actor=dispatcher, call_pk=make_call(**CALL_AT).pk)
    assert second.unit == units["near_base"]
    assert [r.unit.code for r in units_by_distance(**{"lat": 25.0, "lon": 110.03})] == ["A", "D"]


def test_a_unit_chosen_by_hand_is_recorded_as_manual_with_its_distance(dispatcher, make_call, units):
    assignment = unit_dispatch(actor=dispatcher, call_pk=make_call(**CALL_AT).pk, unit_pk=units["far_base"].pk)
    assert assignment.unit == units["far_base"]
    assert assignment.selection == PoliceAssignment.Selection.MANUAL
    assert 2900 < assignment.distance_m < 3100


def test_a_call_without_a_place_cannot_go_to_the_nearest_unit(dispatcher, make_call, units):
    with pytest.raises(DomainError) as refused:
        unit_dispatch(actor=dispatcher, call_pk=make_call(address="").pk)
    assert refused.value.code == "no_position"


def test_arrival_is_recorded_once_and_moves_the_unit_to_the_call(dispatcher, make_call, units):
    assignment = unit_dispatch(actor=dispatcher, call_pk=make_call(lat=25.01, lon=110.04).pk)
    police_arrive(actor=dispatcher, assignment_pk=assignment.pk)
    assignment.refresh_from_db()
    unit = Unit.objects.get(pk=assignment.unit_id)
    assert assignment.arrived_at is not None
    assert (unit.last_lat, unit.last_lon) == (25.01, 110.04)
    with pytest.raises(DomainError):
        police_arrive(actor=dispatcher, assignment_pk=assignment.pk)


def test_a_transfer_to_the_station_needs_a_note(dispatcher, make_call, units):
    assignment = unit_dispatch(actor=dispatcher, call_pk=make_call(**CALL_AT).pk)
    with pytest.raises(DomainError) as refused:
        police_finish(actor=dispatcher, assignment_pk=assignment.pk, result="transferred", note=" ")
    assert refused.value.code == "transfer_note_required"
    police_finish(actor=dispatcher, assignment_pk=assignment.pk, result="transferred", note="需立案调查")
    assignment.refresh_from_db()
    assert assignment.result == "transferred" and assignment.call.status == CallStatus.CLOSED


def test_a_street_call_attended_by_patrol_is_handed_to_a_department_on_a_slip(dispatcher, make_call, units,
                                                                               dept_a):
    call = make_call(content="广场上有人跳广场舞音响太吵", **CALL_AT)
    assignment = unit_dispatch(actor=dispatcher, call_pk=call.pk)
    slip = police_hand_over(actor=dispatcher, assignment_pk=assignment.pk, category=category("C01"),
                            note="已现场劝导，噪音源需环保部门后续处理")
    assignment.refresh_from_db()
    call.refresh_from_db()
    assert assignment.result == PoliceAssignment.Result.HANDED_OVER and assignment.finished_at is not None
    assert call.status == CallStatus.DIVERTED
    assert HandoffSlip.objects.get(call=call) == slip and slip.department == dept_a


def test_the_dispatch_board_sends_the_nearest_unit(client, dispatcher, make_call, units):
    call = make_call(content="两个人在夜市门口打架，有人受伤流血", **CALL_AT)
    client.force_login(dispatcher)
    assert "C" in client.get("/grids/dispatch/").content.decode()
    client.post(f"/grids/dispatch/calls/{call.pk}/", {"nearest": "1", "version": 0})
    assert PoliceAssignment.objects.get(call=call).unit == units["fresh"]


def test_the_dispatch_board_sends_once_and_refuses_a_call_that_changed(client, dispatcher, make_call, units):
    call = make_call(content="两个人在夜市门口打架，有人受伤流血", **CALL_AT)
    client.force_login(dispatcher)
    client.post(f"/grids/dispatch/calls/{call.pk}/", {"nearest": "1", "version": 0})
    again = client.post(f"/grids/dispatch/calls/{call.pk}/", {"unit": units["far_base"].pk, "version": 0},
                        follow=True)
    assignment = PoliceAssignment.objects.get(call=call)  # one, as first sent: the repeat changed nothing
    assert assignment.unit == units["fresh"] and assignment.selection == PoliceAssignment.Selection.NEAREST
    assert [str(m) for m in again.context["messages"]]
    other = make_call(content="有人持刀在街上追砍", **CALL_AT)
    unit_dispatch(actor=UserFactory(role=Role.DISPATCHER), call_pk=other.pk, version=0)
    refused = client.post(f"/grids/dispatch/calls/{other.pk}/", {"nearest": "1", "version": 0}, follow=True)
    assert any("已变化" in str(m) for m in refused.context["messages"])
    assert PoliceAssignment.objects.filter(call=other).count() == 1


# --- KPIs from known timestamps ------------------------------------------------------------------------

def _assignment(call, unit, dispatcher, t0, arrived_after=None, result=""):
    return PoliceAssignment.objects.create(
        call=call, unit=unit, assigned_by=dispatcher, dispatched_at=t0,
        arrived_at=t0 + arrived_after if arrived_after is not None else None,
        finished_at=t0 + timedelta(minutes=30) if result else None, result=result)


def test_response_kpis_are_computed_from_the_recorded_times(dispatcher, make_call):
    station_s = UnitFactory(code="S", kind=Unit.Kind.STATION, area=Area.URBAN)
    station_t = UnitFactory(code="T", kind=Unit.Kind.STATION, area=Area.URBAN)
    patrol = UnitFactory(code="P", kind=Unit.Kind.PATROL, area=Area.URBAN)
    patrol.stations.set([station_s])
    workstation = UnitFactory(code="W", kind=Unit.Kind.WORKSTATION, area=Area.SUBURBAN)
    workstation.stations.set([station_s, station_t])  # one workstation bound to two stations
    t0 = timezone.now() - timedelta(hours=2)
    s = timedelta(seconds=1)
    for unit, arrived, result in [
        (patrol, 50 * s, "on_scene"),  # within 1, 3, 5; on the urban 3-minute target
        (patrol, 150 * s, "transferred"),  # within 3, 5; on target
        (patrol, 240 * s, "on_scene"),  # within 5 only; misses the urban target
        (workstation, 240 * s, "on_scene"),  # within 5; meets the suburban 5-minute target
        (workstation, 360 * s, ""),  # late, not finished yet
        (workstation, None, ""),  # not arrived yet
        (station_s, 60 * s, "on_scene"),  # exactly one minute counts as within one minute
    ]:
        _assignment(make_call(), unit, dispatcher, t0, arrived, result)
    _assignment(make_call(), patrol, dispatcher, t0 - timedelta(days=30), 10 * s, "on_scene")  # outside

    kpis = police_kpis(t0 - timedelta(hours=1), t0 + timedelta(hours=1))

    total = kpis["total"]
    assert (total["dispatched"], total["arrived"], total["finished"]) == (7, 6, 5)
    assert (total["pct_1"], total["pct_3"], total["pct_5"], total["pct_target"]) == (33.3, 50.0, 83.3, 66.7)
    assert total["pct_on_scene"] == 80.0
    by_unit = {row["unit"].code: row for row in kpis["units"]}
    assert (by_unit["P"]["pct_1"], by_unit["P"]["pct_3"], by_unit["P"]["pct_5"]) == (33.3, 66.7, 100.0)
    assert (by_unit["P"]["pct_target"], by_unit["P"]["pct_on_scene"]) == (66.7, 66.7)
    assert (by_unit["W"]["arrived"], by_unit["W"]["pct_5"], by_unit["W"]["pct_target"]) == (2, 50.0, 50.0)
    by_station = {row["unit"].code: row for row in kpis["stations"]}
    assert by_station["S"]["dispatched"] == 7 and by_station["S"]["pct_3"] == 50.0
    assert by_station["T"]["dispatched"] == 3 and by_station["T"]["pct_on_scene"] == 100.0


def test_the_kpi_page_shows_units_and_stations(client, supervisor, dispatcher, make_call):
    unit = UnitFactory(code="P9", name="巡逻九组")
    _assignment(make_call(), unit, dispatcher, timezone.now() - timedelta(hours=1), timedelta(seconds=30),
                "on_scene")
    client.force_login(supervisor)
    page = client.get("/grids/kpis/").content.decode()
    assert "巡逻九组" in page and "100.0%" in page
