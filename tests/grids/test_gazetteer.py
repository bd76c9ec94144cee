"""The gazetteer places typed addresses (issue 37): the usual variants normalised, house numbers between known
ones, the demo city's streets, and a city's own address list imported from CSV with bad rows reported and
skipped and nothing half-written."""

import random

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from core.errors import DomainError
from core.models import AuditLog, Role
from grids import spatial
from grids.demo import seed_xiufeng
from grids.models import Grid, GridImport, Place
from grids.services import grids_import_geojson, places_import
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["秀峰区中山中路18号", "桂林市秀峰区中山中路１８号", "中山中路18号对面",
                                   "中山中路 18 号附近", "在中山中路十八号门口", "中山中路18",
                                   "广西壮族自治区桂林市中山中路18号旁边"])
def test_the_usual_variants_of_an_address_are_one(typed):
    assert spatial.normalise_address(typed) == "中山中路18号"


def test_a_place_called_a_district_is_not_cut_as_one():
    assert spatial.normalise_address("丽君小区3栋门口") == "丽君小区3栋"
    assert spatial.normalise_address("园区路1号") == "园区路1号"


def test_a_number_between_two_known_ones_in_one_grid_is_placed_else_not_guessed():
    gazetteer = spatial.Gazetteer([("中山中路18号", 1), ("中山中路20号", 1), ("中山中路40号", 2)])
    assert gazetteer.match("中山中路19号", cutoff=88).grid_id == 1
    assert gazetteer.match("中山中路30号", cutoff=88) is None  # between two grids
    assert gazetteer.match("中山中路99号", cutoff=88) is None  # past the last known number


def test_a_typed_demo_address_lands_on_its_micro_grid(make_call):
    grids, _units = seed_xiufeng(random.Random(1))
    assert Place.objects.filter(micro_grid__code__startswith="XF-").count() > 3000
    centre = grids["XF-L2-S1-M3"]  # 中心广场: 中山中路, 解放西路
    assert make_call(address="秀峰区中山中路18号", lat=None, lon=None).micro_grid == centre
    assert make_call(address="解放西路１２３号对面", lat=None, lon=None).micro_grid == centre
    # 丽君路 runs through two grids: its numbers are split between them.
    assert make_call(address="丽君路5号", lat=None, lon=None).micro_grid.code == "XF-L1-S1-M1"
    assert make_call(address="丽君路150号", lat=None, lon=None).micro_grid.code == "XF-L1-S1-M3"
    assert make_call(address="丽君小区2栋", lat=None, lon=None).micro_grid.code == "XF-L1-S1-M1"
    # Every generated point lies in its own grid, so the places agree with the map.
    index = spatial.grid_index()
    sample = Place.objects.filter(micro_grid__code__startswith="XF-").order_by("?")[:200]
    assert all(index.locate(p.lon, p.lat) == p.micro_grid_id for p in sample)


# --- Import ----------------------------------------------------------------------------------------------

@pytest.fixture
def layer(small_layer):
    grids_import_geojson(actor=None, data=small_layer)
    return {g.code: g for g in Grid.objects.all()}


@pytest.fixture
def admin_user(db):
    return UserFactory(username="gis_admin", role=Role.ADMIN, is_staff=True, is_superuser=True)


GOOD_AND_BAD = (
    "address,lat,lon,note\n"
    "中山中路18号,25.005,110.005,ok\n"          # line 2: M1
    "榕湖北路3号,25.005,110.015,ok\n"           # line 3: M2
    ",25.005,110.005,no address\n"             # line 4
    "信义路1号,north,110.005,\n"                # line 5
    "信义路2号,95,110.005,\n"                    # line 6
    "信义路3号,26.5,111.5,outside\n"            # line 7
    "中山中路１８号,25.006,110.006,again\n"     # line 8: same address, another point
    "\n"
    "依仁路7号,25.002,110.012\n"                # line 10: M2
)


def test_an_address_file_imports_good_rows_and_reports_bad_ones_by_line(layer, admin_user):
    result = places_import(actor=admin_user, data=GOOD_AND_BAD.encode(), filename="city.csv")
    assert (result.created, result.updated) == (3, 0)
    assert [line for line, _reason in result.skipped] == [4, 5, 6, 7, 8]
    reasons = dict(result.skipped)
    assert "2" in str(reasons[8])  # the same address as line 2
    places = {p.name: p.micro_grid.code for p in Place.objects.all()}
    assert places == {"中山中路18号": "M1", "榕湖北路3号": "M2", "依仁路7号": "M2"}
    record = GridImport.objects.get(kind="places")
    assert (record.created, record.skipped) == (3, 5)
    assert AuditLog.objects.filter(action="places_import", actor=admin_user).exists()


def test_an_address_imported_again_is_moved_not_doubled(layer, admin_user):
    places_import(actor=admin_user, data="address,lat,lon\n中山中路18号,25.005,110.005\n", filename="a.csv")
    result = places_import(actor=admin_user, data="地址,纬度,经度\n中山中路１８号,25.005,110.015\n".encode("gb18030"),
                           filename="b.csv")
    assert (result.created, result.updated, result.skipped) == (0, 1, [])
    assert [(p.name, p.micro_grid.code) for p in Place.objects.all()] == [("中山中路１８号", "M2")]


@pytest.mark.parametrize("data", [b"\xff\xfe\x00garbage", "street,x,y\n中山中路18号,25,110\n".encode()])
def test_an_unreadable_file_imports_nothing(layer, admin_user, data):
    with pytest.raises(DomainError):
        places_import(actor=admin_user, data=data, filename="bad.csv")
    assert not Place.objects.exists() and not GridImport.objects.filter(kind="places").exists()


def test_only_an_administrator_imports_addresses(layer, dispatcher):
    with pytest.raises(Exception) as refused:
        places_import(actor=dispatcher, data=GOOD_AND_BAD, filename="x.csv")
    assert refused.type.__name__ == "PermissionDenied"
    assert not Place.objects.exists()


def test_the_command_reports_skipped_lines(layer, tmp_path, capsys):
    path = tmp_path / "city.csv"
    path.write_text(GOOD_AND_BAD, encoding="utf-8")
    call_command("import_places", str(path))
    out = capsys.readouterr()
    assert "3 addresses created" in out.out and "line 6:" in out.err
    with pytest.raises(CommandError):
        call_command("import_places", str(tmp_path / "missing.csv"))


def test_the_admin_upload_lists_skipped_rows(client, layer, admin_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(admin_user)
    url = reverse("admin:grids_place_import")
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile("city.csv", GOOD_AND_BAD.encode(), content_type="text/csv")
    html = client.post(url, {"file": upload}).content.decode()
    assert 'id="skipped-rows"' in html and "<td>7</td>" in html
    assert Place.objects.count() == 3


def test_the_new_call_form_says_where_a_typed_address_lands(client, dispatcher):
    seed_xiufeng(random.Random(1))
    client.force_login(dispatcher)
    url = reverse("grids-place-preview")
    found = client.get(url, {"address": "秀峰区中山中路１８号对面"}).content.decode()
    assert 'data-grid="XF-L2-S1-M3"' in found and "中心广场" in found
    missing = client.get(url, {"address": "不存在路1号"}).content.decode()
    assert 'id="place-missing"' in missing
    assert client.get(url).content.decode().strip() == ""


def test_a_call_placed_by_its_address_is_measured_from_that_address(make_call):
    """The nearest unit to a call with only a typed address is chosen from the matched address's point, not
    from the middle of its grid."""
    from grids.models import Unit
    from grids.selectors import call_position, unit_choices
    from tests.factories import UnitFactory

    seed_xiufeng(random.Random(1))
    place = Place.objects.get(name="中山中路18号")
    call = make_call(address="秀峰区中山中路18号附近", lat=None, lon=None)
    assert call.place == place and call_position(call) == (place.lat, place.lon)
    at_the_door = UnitFactory(code="PT-DOOR", kind=Unit.Kind.PATROL, base_lat=place.lat, base_lon=place.lon + 0.0005)
    assert unit_choices(call)[1] == at_the_door
    # Moved by hand to another grid, the address's point no longer stands for the call.
    from incidents.services import call_set_grid

    other = Grid.objects.get(code="XF-L3-S1-M1")
    call = call_set_grid(actor=call.created_by, call_pk=call.pk, grid=other)
    assert call.place is None


def test_calls_waiting_to_be_placed_are_placed_by_a_new_address_list(layer, admin_user, make_call,
                                                                     django_capture_on_commit_callbacks):
    waiting = make_call(address="秀峰区中山中路１８号门口", lat=None, lon=None)
    elsewhere = make_call(address="不在名单里的地方", lat=None, lon=None)
    assert waiting.micro_grid is None
    with django_capture_on_commit_callbacks(execute=True):
        places_import(actor=admin_user, data=GOOD_AND_BAD, filename="city.csv")
    waiting.refresh_from_db()
    elsewhere.refresh_from_db()
    assert waiting.micro_grid == layer["M1"] and waiting.place.name == "中山中路18号"
    assert elsewhere.micro_grid is None
    row = AuditLog.objects.get(action="call_grid", call=waiting)
    assert row.actor is None and row.to_state == "M1"


def test_the_same_list_imported_twice_changes_nothing_the_second_time(layer, admin_user):
    first = places_import(actor=admin_user, data=GOOD_AND_BAD, filename="city.csv")
    again = places_import(actor=admin_user, data=GOOD_AND_BAD, filename="city.csv")
    assert (first.created, again.created, again.updated) == (3, 0, 0)
    assert Place.objects.count() == 3
