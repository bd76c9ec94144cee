"""Placing calls on micro grids at intake: by point through the spatial index, by address through the
gazetteer, and by hand for the rest."""

import pytest

from grids import spatial
from grids.models import Grid, Place
from grids.services import grids_import_geojson
from incidents.services import call_set_grid

pytestmark = pytest.mark.django_db


@pytest.fixture
def layer(small_layer):
    grids_import_geojson(actor=None, data=small_layer)
    return {g.code: g for g in Grid.objects.all()}


def test_a_call_with_coordinates_lands_on_its_micro_grid(make_call, layer):
    call = make_call(lat=25.005, lon=110.015)
    assert call.micro_grid == layer["M2"]


def test_a_point_outside_every_grid_is_left_unplaced(make_call, layer):
    assert make_call(lat=26.0, lon=111.0, address="").micro_grid is None


def test_a_point_on_a_shared_border_goes_to_the_first_grid_by_code(layer):
    assert spatial.locate(lat=25.005, lon=110.01).grid_id == layer["M1"].pk


def test_the_index_is_rebuilt_when_grids_change(make_call, layer):
    assert make_call(lat=25.005, lon=110.025).micro_grid is None
    Grid.objects.create(code="M9", name="新网格", level="micro", parent=layer["S1"],
                        boundary={"type": "Polygon", "coordinates": [[[110.02, 25.0], [110.03, 25.0],
                                                                      [110.03, 25.01], [110.02, 25.01],
                                                                      [110.02, 25.0]]]})
    assert make_call(lat=25.005, lon=110.025).micro_grid.code == "M9"


def test_a_call_with_only_an_address_is_matched_through_the_gazetteer(make_call, layer):
    Place.objects.create(micro_grid=layer["M1"], name="中山中路18号")
    Place.objects.create(micro_grid=layer["M2"], name="榕湖小区")
    assert make_call(address="秀峰区中山中路１８号门口").micro_grid == layer["M1"]
    assert make_call(address="榕湖小区3栋2单元").micro_grid == layer["M2"]


def test_a_near_miss_or_a_bare_number_is_not_guessed(make_call, layer):
    Place.objects.create(micro_grid=layer["M1"], name="中山中路18号")
    assert make_call(address="中山中路16号").micro_grid is None
    assert make_call(address="18号").micro_grid is None


def test_an_address_matching_two_grids_equally_is_left_to_the_dispatcher(make_call, layer):
    Place.objects.create(micro_grid=layer["M1"], name="解放西路1号")
    Place.objects.create(micro_grid=layer["M2"], name="解放西路1号")
    assert make_call(address="解放西路1号").micro_grid is None


def test_an_unplaced_call_is_listed_and_a_dispatcher_places_it(client, dispatcher, make_call, layer):
    call = make_call(address="不知道哪里")
    client.force_login(dispatcher)
    page = client.get("/grids/unplaced/")
    assert f'data-call="{call.pk}"' in page.content.decode()
    response = client.post(f"/grids/unplaced/{call.pk}/", {"code": "M2"})
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.micro_grid == layer["M2"]
    assert f'data-call="{call.pk}"' not in client.get("/grids/unplaced/").content.decode()


def test_manual_placement_refuses_a_grid_that_is_not_micro(dispatcher, make_call, layer):
    from core.errors import DomainError

    call = make_call()
    with pytest.raises(DomainError):
        call_set_grid(actor=dispatcher, call_pk=call.pk, grid=layer["S1"])


def test_locate_many_agrees_with_locate_one_by_one(layer):
    index = spatial.grid_index()
    lons, lats = [110.005, 110.015, 111.0], [25.005, 25.005, 25.005]
    assert list(index.locate_many(lons, lats)) == [layer["M1"].pk, layer["M2"].pk, -1]
