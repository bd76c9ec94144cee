"""Grids in a real headless Chromium: the map draws the imported micro grids from the vendored Leaflet with
units and patrol points; the dispatch board sends the nearest unit, records its arrival and the result; an
unplaced call is placed by hand; the KPI and hotspot pages show what happened."""

import pytest
from django.utils import timezone

from grids import spatial
from grids.demo import generate_collection
from grids.models import Grid, PatrolPoint, Team, Unit
from grids.services import grids_import_geojson, hotspot_open
from incidents.models import Call, CallStatus, PoliceAssignment
from incidents.services import call_intake
from tests.factories import UnitFactory, call_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def layer():
    spatial.reset()
    grids_import_geojson(actor=None, data=generate_collection(large=1), filename="e2e")  # 72 micro grids
    yield Grid.objects.filter(level="micro").order_by("code")
    spatial.reset()


def test_the_map_draws_grids_units_and_points_without_outside_requests(page, live_server, login, shot, dispatcher,
                                                                        layer):
    centre = spatial.grid_centre(layer[10].boundary)
    UnitFactory(code="PT1", name="巡逻一组", base_lat=centre[0], base_lon=centre[1])
    PatrolPoint.objects.create(name="必到点01", lat=centre[0] + 0.001, lon=centre[1])
    for _ in range(4):
        call_intake(actor=dispatcher, data=call_data(lat=centre[0], lon=centre[1]))
    outside, errors = [], []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    login(page, dispatcher)
    page.goto(f"{live_server.url}/grids/map/")
    page.wait_for_selector("#grid-map[data-ready]")
    assert page.locator("#grid-map").get_attribute("data-ready") == "72"
    assert page.locator(".leaflet-container canvas").count() >= 1
    assert "4" in page.locator(".map-legend").inner_text()
    assert not errors and not outside
    shot(page, "grids-01-map")


def test_a_dispatcher_sends_the_nearest_unit_and_records_arrival_and_result(page, live_server, login, shot,
                                                                            dispatcher, supervisor, layer):
    grid = layer[20]
    lat, lon = spatial.grid_centre(grid.boundary)
    near = UnitFactory(code="PT-N", name="巡逻近组", base_lat=lat + 0.002, base_lon=lon)
    UnitFactory(code="PT-F", name="巡逻远组", base_lat=lat + 0.05, base_lon=lon + 0.05)
    station = UnitFactory(code="PS-1", name="秀峰派出所", kind=Unit.Kind.STATION, base_lat=lat - 0.03, base_lon=lon)
    near.stations.set([station])
    fight = call_intake(actor=dispatcher, data=call_data(content="两个人在夜市门口打架，有人受伤流血", lat=lat,
                                                           lon=lon)).call
    assert fight.micro_grid == grid and fight.suggested_police
    lost = call_intake(actor=dispatcher, data=call_data(content="小区门口垃圾堆放很久没人清理",
                                                          address="一个不认识的地方")).call
    assert lost.micro_grid is None

    login(page, dispatcher)
    page.goto(f"{live_server.url}/grids/dispatch/")
    card = page.locator(f'#waiting-police [data-call="{fight.pk}"]')
    assert "巡逻近组" in card.locator(".nearest-unit").first.inner_text()
    shot(page, "grids-02-dispatch-waiting")
    with page.expect_navigation():
        card.locator(".send-nearest").click()
    assignment = PoliceAssignment.objects.get(call=fight)
    assert assignment.unit == near and assignment.selection == "nearest"
    assert "巡逻近组" in page.locator(".messages").inner_text()
    # The busy badge (red), whatever the page's language.
    assert page.locator('#unit-table tr[data-unit="PT-N"] .unit-state .badge.police').count() == 1

    box = page.locator(f'#open-assignments [data-assignment="{assignment.pk}"]')
    with page.expect_navigation():
        box.locator(".arrive-btn").click()
    assert page.locator(f'[data-assignment="{assignment.pk}"] .arrived').is_visible()
    shot(page, "grids-03-dispatch-arrived")
    box = page.locator(f'#open-assignments [data-assignment="{assignment.pk}"]')
    box.locator("select[name=result]").select_option("on_scene")
    box.locator(".finish-form input[name=note]").fill("双方已劝离，伤者自行就医")
    with page.expect_navigation():
        box.locator(".finish-form button").click()
    assignment.refresh_from_db()
    assert assignment.arrived_at and assignment.finished_at and assignment.result == "on_scene"
    assert Call.objects.get(pk=fight.pk).status == CallStatus.CLOSED

    # The unplaced call is placed by hand.
    page.goto(f"{live_server.url}/grids/unplaced/")
    row = page.locator(f'#unplaced-table tr[data-call="{lost.pk}"]')
    row.locator("input[name=code]").fill(grid.code)
    shot(page, "grids-04-unplaced")
    with page.expect_navigation():
        row.locator("button.primary").click()
    assert Call.objects.get(pk=lost.pk).micro_grid == grid

    # The supervisor reads the KPIs and opens a hotspot case for the grid.
    team = Team.objects.create(grid=grid, name="“2+X”小分队", officer="民警甲", auxiliary="辅警乙")
    hotspot_open(actor=supervisor, grid=grid, team=team, plan="夜市周边每晚巡逻", opened_at=timezone.now())
    login(page, supervisor)
    page.goto(f"{live_server.url}/grids/kpis/")
    assert "100.0%" in page.locator('#kpi-units tr[data-unit="PT-N"]').inner_text()
    assert page.locator('#kpi-stations tr[data-unit="PS-1"]').count() == 1
    shot(page, "grids-05-kpis")
    page.goto(f"{live_server.url}/grids/hotspots/")
    assert page.locator("#open-today").inner_text() == "1"
    shot(page, "grids-06-hotspots")
