"""The nearest free unit preselected on the workbench, and a police unit's phone page (issue 37): its own
calls only, taps stamped by the server, positions reported, and every bad input refused with nothing
changed."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from core.errors import Conflict, DomainError
from core.models import AuditLog, Role
from grids.models import Unit
from grids.selectors import police_kpis, unit_choices
from grids.services import police_arrive, police_en_route, police_push, unit_set_position
from incidents.models import CallStatus, PoliceAssignment
from incidents.services import call_assign_police, police_finish
from tests.factories import UnitFactory, UserFactory

pytestmark = pytest.mark.django_db

HERE = {"lat": 25.0, "lon": 110.03}


@pytest.fixture
def patrols():
    return {
        "near": UnitFactory(code="P-NEAR", name="近组", kind=Unit.Kind.PATROL, base_lat=25.0, base_lon=110.032),
        "mid": UnitFactory(code="P-MID", name="中组", kind=Unit.Kind.PATROL, base_lat=25.0, base_lon=110.04),
        "far": UnitFactory(code="P-FAR", name="远组", kind=Unit.Kind.PATROL, base_lat=25.0, base_lon=110.09),
    }


@pytest.fixture
def login():
    def make(unit, name=None):
        return UserFactory(username=name or f"u_{unit.code.lower()}", role=Role.UNIT, unit=unit)
    return make


def _assign(dispatcher, call, unit):
    return call_assign_police(actor=dispatcher, call_pk=call.pk, unit=unit)


# --- The nearest free unit -----------------------------------------------------------------------------

def test_the_nearest_free_unit_is_preselected_and_a_busy_nearer_one_listed_last(dispatcher, make_call, patrols):
    _assign(dispatcher, make_call(**HERE), patrols["near"])  # the nearest is now out on a call
    rows, nearest = unit_choices(make_call(**HERE))
    assert nearest == patrols["mid"]
    assert [r.unit.code for r in rows] == ["P-MID", "P-FAR", "P-NEAR"]
    assert rows[-1].busy and not rows[0].busy
    assert 900 < rows[0].distance_m < 1100 and rows[0].distance_label.endswith("m")


def test_the_workbench_shows_the_nearest_free_unit_selected_with_its_distance(client, dispatcher, make_call,
                                                                              patrols):
    _assign(dispatcher, make_call(**HERE), patrols["near"])
    call = make_call(**HERE)
    client.force_login(dispatcher)
    html = client.get(reverse("dispatch-panel", args=[call.pk])).content.decode()
    selected = html.split('<select name="unit" id="f-unit"')[1].split("</select>")[0]
    assert f'<option value="{patrols["mid"].pk}" selected>' in selected
    assert "data-busy" in selected.split(str(patrols["near"].pk))[1].split("</option>")[0]


def test_sending_the_preselected_unit_is_recorded_as_nearest_another_as_manual(dispatcher, make_call, patrols):
    nearest = _assign(dispatcher, make_call(**HERE), patrols["near"])
    assert nearest.selection == "nearest" and 150 < nearest.distance_m < 250
    other = _assign(dispatcher, make_call(**HERE), patrols["far"])
    assert other.selection == "manual" and other.distance_m > 5000


def test_a_call_with_no_place_preselects_nothing(dispatcher, make_call, patrols):
    rows, nearest = unit_choices(make_call(address=""))
    assert nearest is None and len(rows) == 3


# --- The unit's page ----------------------------------------------------------------------------------

def test_a_unit_stamps_on_the_way_arrival_and_finish_and_its_figures_follow(client, dispatcher, make_call,
                                                                           patrols, login):
    unit = patrols["near"]
    officer = login(unit)
    assignment = _assign(dispatcher, make_call(**HERE, content="两人在店门口推搡"), unit)
    client.force_login(officer)
    page = client.get(reverse("unit-page")).content.decode()
    assert "两人在店门口推搡" in page and f'id="tap-arrive-{assignment.pk}"' in page
    url = reverse("unit-stamp", args=[assignment.pk])
    assert client.post(url, {"step": "en_route"}).status_code == 302
    assert client.post(url, {"step": "arrive"}).status_code == 302
    assignment.refresh_from_db()
    assert assignment.dispatched_at <= assignment.en_route_at <= assignment.arrived_at <= timezone.now()
    today = timezone.now().replace(hour=0, minute=0) - timedelta(days=1)
    assert police_kpis(today, timezone.now() + timedelta(hours=1), unit=unit)["total"]["pct_1"] == 100.0
    assert client.post(url, {"step": "on_scene"}).status_code == 302
    assignment.refresh_from_db()
    assert assignment.result == "on_scene" and assignment.call.status == CallStatus.CLOSED
    actions = set(AuditLog.objects.filter(actor=officer).values_list("action", flat=True))
    assert {"police_en_route", "police_arrive", "call_status"} <= actions


def test_a_unit_sees_only_its_own_calls_and_cannot_stamp_another_units(client, dispatcher, make_call, patrols,
                                                                        login):
    mine = _assign(dispatcher, make_call(**HERE, content="本组警情甲"), patrols["near"])
    theirs = _assign(dispatcher, make_call(**HERE, content="他组警情乙"), patrols["mid"])
    officer = login(patrols["near"])
    client.force_login(officer)
    page = client.get(reverse("unit-page")).content.decode()
    assert "本组警情甲" in page and "他组警情乙" not in page
    # Another unit's call, whatever id is typed: not found, nothing stamped.
    assert client.post(reverse("unit-stamp", args=[theirs.pk]), {"step": "arrive"}).status_code == 404
    assert client.get(reverse("unit-page") + f"?unit={patrols['mid'].code}").content.decode().count("他组警情乙") == 0
    with pytest.raises(PermissionDenied):
        police_arrive(actor=officer, assignment_pk=theirs.pk)
    with pytest.raises(PermissionDenied):
        police_finish(actor=officer, assignment_pk=theirs.pk, result="on_scene")
    theirs.refresh_from_db()
    assert theirs.arrived_at is None and theirs.finished_at is None
    assert mine.pk != theirs.pk
    # The centre's pages are not the unit's.
    assert client.get(reverse("dispatch-workbench")).status_code == 403
    assert client.get(reverse("call-page", args=[theirs.call.pk])).status_code == 403


def test_stamps_out_of_order_or_on_a_finished_call_are_refused_and_change_nothing(dispatcher, make_call, patrols,
                                                                                  login):
    officer = login(patrols["near"])
    assignment = _assign(dispatcher, make_call(**HERE), patrols["near"])
    with pytest.raises(DomainError) as early:
        police_arrive(actor=officer, assignment_pk=assignment.pk,
                      at=assignment.dispatched_at - timedelta(minutes=1))
    assert early.value.code == "bad_arrival"
    police_arrive(actor=officer, assignment_pk=assignment.pk)
    with pytest.raises(Conflict) as twice:
        police_arrive(actor=officer, assignment_pk=assignment.pk)
    assert twice.value.code == "already_arrived"
    with pytest.raises(Conflict):  # on the way after arriving
        police_en_route(actor=officer, assignment_pk=assignment.pk)
    police_finish(actor=officer, assignment_pk=assignment.pk, result="on_scene")
    finished = PoliceAssignment.objects.get(pk=assignment.pk)
    for tap in (police_en_route, police_arrive):
        with pytest.raises(Conflict) as closed:
            tap(actor=officer, assignment_pk=assignment.pk)
        assert closed.value.code == "already_finished"
    with pytest.raises(Conflict):
        police_finish(actor=officer, assignment_pk=assignment.pk, result="transferred", note="再次")
    after = PoliceAssignment.objects.get(pk=assignment.pk)
    assert (after.arrived_at, after.finished_at, after.result) == (finished.arrived_at, finished.finished_at,
                                                                    "on_scene")


def test_a_transfer_needs_a_reason_on_the_page_too(client, dispatcher, make_call, patrols, login):
    assignment = _assign(dispatcher, make_call(**HERE), patrols["near"])
    client.force_login(login(patrols["near"]))
    response = client.post(reverse("unit-stamp", args=[assignment.pk]), {"step": "transfer"}, follow=True)
    assert "请填写移交派出所的原因" in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.finished_at is None


def test_a_station_pushes_a_street_call_to_its_bound_workstation_only(dispatcher, make_call, login):
    station = UnitFactory(code="S1", kind=Unit.Kind.STATION, base_lat=25.0, base_lon=110.0)
    bound = UnitFactory(code="W1", kind=Unit.Kind.WORKSTATION, base_lat=25.0, base_lon=110.03)
    bound.stations.set([station])
    stranger = UnitFactory(code="W2", kind=Unit.Kind.WORKSTATION, base_lat=25.0, base_lon=110.03)
    desk = login(station)
    assignment = _assign(dispatcher, make_call(**HERE), station)
    with pytest.raises(DomainError) as refused:
        police_push(actor=desk, assignment_pk=assignment.pk, workstation_pk=stranger.pk)
    assert refused.value.code == "not_bound"
    assert PoliceAssignment.objects.get(pk=assignment.pk).finished_at is None
    pushed = police_push(actor=desk, assignment_pk=assignment.pk, workstation_pk=bound.pk, note="街面纠纷")
    assert pushed.unit == bound and pushed.call_id == assignment.call_id
    assignment.refresh_from_db()
    assert assignment.result == "pushed" and pushed.call.status == CallStatus.ASSIGNED
    # The workstation takes it from there on its own page.
    police_arrive(actor=login(bound), assignment_pk=pushed.pk)
    # The call counts once, where it was attended; the station's row says it pushed one on.
    kpis = police_kpis(timezone.now() - timedelta(hours=1), timezone.now() + timedelta(hours=1))
    rows = {row["unit"].code: row for row in kpis["units"]}
    assert (rows["S1"]["dispatched"], rows["S1"]["pushed"], rows["W1"]["dispatched"]) == (0, 1, 1)
    assert kpis["total"]["dispatched"] == 1


# --- Positions -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("lat, lon", [(91, 110), (25, 181), (float("nan"), 110), ("北纬25", 110), (None, 110)])
def test_an_impossible_position_is_refused(patrols, login, lat, lon):
    unit = patrols["near"]
    with pytest.raises(DomainError) as refused:
        unit_set_position(actor=login(unit), unit_pk=unit.pk, lat=lat, lon=lon)
    assert refused.value.code == "bad_position"
    assert Unit.objects.get(pk=unit.pk).last_seen_at is None


def test_a_position_older_than_the_last_one_is_refused(client, patrols, login):
    unit = patrols["near"]
    officer = login(unit)
    now = timezone.now()
    unit_set_position(actor=officer, unit_pk=unit.pk, lat=25.01, lon=110.01, at=now)
    with pytest.raises(Conflict) as older:
        unit_set_position(actor=officer, unit_pk=unit.pk, lat=25.5, lon=110.5, at=now - timedelta(minutes=2))
    assert older.value.code == "position_older"
    with pytest.raises(DomainError):
        unit_set_position(actor=officer, unit_pk=unit.pk, lat=25.5, lon=110.5, at=now + timedelta(hours=1))
    unit.refresh_from_db()
    assert (unit.last_lat, unit.last_lon) == (25.01, 110.01)
    # Over HTTP, as the page's script posts it: JSON in, a clear JSON error out.
    client.force_login(officer)
    stale_ms = int((now - timedelta(minutes=5)).timestamp() * 1000)
    response = client.post(reverse("unit-position"), {"lat": 25.2, "lon": 110.2, "taken": stale_ms},
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json()["ok"] is False and response.json()["error"]
    fresh = client.post(reverse("unit-position"), {"lat": 25.2, "lon": 110.2}, HTTP_ACCEPT="application/json")
    assert fresh.json() == {"ok": True}
    unit.refresh_from_db()
    assert (unit.last_lat, unit.last_lon) == (25.2, 110.2)


def test_another_units_position_cannot_be_reported(patrols, login):
    with pytest.raises(PermissionDenied):
        unit_set_position(actor=login(patrols["near"]), unit_pk=patrols["far"].pk, lat=25.0, lon=110.0)


def test_the_page_marks_a_stale_position(client, patrols, login):
    unit = patrols["near"]
    Unit.objects.filter(pk=unit.pk).update(last_lat=25.0, last_lon=110.0,
                                           last_seen_at=timezone.now() - timedelta(hours=2))
    client.force_login(login(unit))
    html = client.get(reverse("unit-page")).content.decode()
    assert 'id="position-state" class="stale"' in html


def test_the_centre_records_a_position_given_by_radio_on_the_units_page(client, dispatcher, patrols):
    unit = patrols["far"]
    client.force_login(dispatcher)
    page = client.get(reverse("unit-page"), {"unit": unit.code}).content.decode()
    assert 'id="radio-position-form"' in page and 'id="report-position"' not in page
    url = reverse("unit-position") + f"?unit={unit.code}"
    assert client.post(url, {"lat": "25.29", "lon": "110.28"}).status_code == 302
    unit.refresh_from_db()
    assert (unit.last_lat, unit.last_lon) == (25.29, 110.28)
    bad = client.post(url, {"lat": "abc", "lon": "110.28"}, follow=True).content.decode()
    assert "位置无效" in bad
    unit.refresh_from_db()
    assert (unit.last_lat, unit.last_lon) == (25.29, 110.28)


# --- The position feed (a patrol system's or vehicle terminals') ---------------------------------------------

def test_a_position_feed_keeps_the_good_fixes_and_says_why_each_other_was_refused(dispatcher, patrols):
    from rest_framework.test import APIClient

    now = timezone.now()
    Unit.objects.filter(pk=patrols["mid"].pk).update(last_lat=25.0, last_lon=110.0, last_seen_at=now)
    api = APIClient()
    api.force_authenticate(dispatcher)
    response = api.post(reverse("api-unit-positions"), {"positions": [
        {"unit": "P-NEAR", "lat": 25.01, "lon": 110.02, "at": now.isoformat()},
        {"unit": "P-MID", "lat": 25.5, "lon": 110.5, "at": (now - timedelta(minutes=3)).isoformat()},
        {"unit": "NOPE", "lat": 25.0, "lon": 110.0},
        {"unit": "P-FAR", "lat": 25.0, "lon": 110.0, "at": (now + timedelta(hours=2)).isoformat()},
    ]}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["refused"]) == (1, 3)
    assert [r.get("code") for r in body["results"]] == [None, "position_older", "unknown_unit",
                                                         "position_in_future"]
    near, mid, far = (Unit.objects.get(pk=patrols[k].pk) for k in ("near", "mid", "far"))
    assert (near.last_lat, near.last_lon) == (25.01, 110.02)
    assert (mid.last_lat, mid.last_lon) == (25.0, 110.0) and far.last_seen_at is None


@pytest.mark.parametrize("body", [{"positions": []}, {"positions": [{"unit": "P-NEAR", "lat": 95, "lon": 110}]},
                                  {"positions": "P-NEAR"}, {},
                                  # the schema's types, not what they could be read as (the API fuzz found it)
                                  {"positions": [{"unit": 41254147, "lat": 25.0, "lon": 110.0}]},
                                  {"positions": [{"unit": "P-NEAR", "lat": "25.0", "lon": 110.0}]},
                                  {"positions": [{"unit": "P-NEAR", "lat": 25.0, "lon": True}]}])
def test_a_feed_that_is_not_a_list_of_positions_keeps_nothing(dispatcher, patrols, body):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(dispatcher)
    response = api.post(reverse("api-unit-positions"), body, format="json")
    assert response.status_code == 400
    assert all(isinstance(m, str) for messages in response.json().values() for m in messages)  # flat
    assert not Unit.objects.filter(last_seen_at__isnull=False).exists()


def test_only_the_centre_feeds_positions(client, patrols, login):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(login(patrols["near"]))
    body = {"positions": [{"unit": "P-NEAR", "lat": 25.0, "lon": 110.0}]}
    assert api.post(reverse("api-unit-positions"), body, format="json").status_code == 403


def test_a_feed_that_is_not_json_is_refused(dispatcher, patrols):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(dispatcher)
    response = api.post(reverse("api-unit-positions"), "unit=P-NEAR&lat=25&lon=110",
                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert not Unit.objects.filter(last_seen_at__isnull=False).exists()
