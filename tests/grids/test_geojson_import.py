"""GeoJSON import: the whole file or nothing, with every problem named; export reads back the same."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from core.models import AuditLog
from grids.models import Grid, GridImport
from grids.selectors import grids_geojson
from grids.services import GridImportError, grids_import_geojson

from .conftest import collection, feature, square

pytestmark = pytest.mark.django_db

BOWTIE = {"type": "Polygon", "coordinates": [[[110.0, 25.0], [110.01, 25.01], [110.01, 25.0], [110.0, 25.01],
                                              [110.0, 25.0]]]}


def test_it_imports_a_hierarchy_and_audits_the_import(small_layer):
    record = grids_import_geojson(actor=None, data=small_layer, filename="layer.geojson")
    assert (record.created, record.updated) == (4, 0)
    m1 = Grid.objects.get(code="M1")
    assert m1.parent.code == "S1" and m1.parent.parent.code == "L1"
    assert AuditLog.objects.filter(action="grid_import", object_id=record.pk).exists()


def test_it_updates_grids_by_code_on_a_second_import(small_layer):
    grids_import_geojson(actor=None, data=small_layer)
    small_layer["features"][2]["properties"]["name"] = "新名字"
    record = grids_import_geojson(actor=None, data=json.dumps(small_layer).encode())
    assert (record.created, record.updated) == (0, 4)
    assert Grid.objects.get(code="M1").name == "新名字"


def test_it_rejects_a_self_intersecting_boundary_and_writes_nothing(small_layer):
    small_layer["features"].append(feature("M3", "micro", "S1", geometry=BOWTIE))
    with pytest.raises(GridImportError) as exc:
        grids_import_geojson(actor=None, data=small_layer)
    assert any("M3" in e and "Self-intersection" in e for e in exc.value.errors)
    assert Grid.objects.count() == 0
    assert GridImport.objects.count() == 0


def test_it_reports_every_problem_at_once_and_changes_no_existing_grid(small_layer):
    grids_import_geojson(actor=None, data=small_layer)
    bad = collection(
        feature("M1", "micro", "S1", geometry=square(120.0, 30.0)),  # a good update ...
        feature("M4", "micro", "NOPE", geometry=square(110.0, 25.0)),  # unknown parent
        feature("M5", "micro", "L1", geometry=square(110.0, 25.0)),  # parent one level too high
        feature("M6", "micro", "S1", geometry={"type": "Point", "coordinates": [110.0, 25.0]}),
        feature("M7", "micro", "S1", geometry=None),
        feature("M7", "micro", "S1", geometry=square(110.0, 25.0)),
        feature("M8", "micro", "S1", geometry=square(300.0, 25.0)),
    )
    with pytest.raises(GridImportError) as exc, translation.override("en"):
        grids_import_geojson(actor=None, data=bad)
    joined = " | ".join(exc.value.errors)
    for code in ("M4", "M5", "M6", "M7", "M8"):
        assert code in joined
    assert "appears twice" in joined
    # ... is not applied either: nothing half-imported.
    assert Grid.objects.get(code="M1").boundary == square(110.0, 25.0)
    assert not Grid.objects.filter(code__in=["M4", "M5", "M6", "M7", "M8"]).exists()


@pytest.mark.parametrize("data", [b"not json", b'{"type": "Feature"}', b"\xff\xfe", collection()])
def test_it_rejects_what_is_not_a_feature_collection(data):
    with pytest.raises(GridImportError):
        grids_import_geojson(actor=None, data=data)
    assert Grid.objects.count() == 0


def test_export_reads_back_to_the_same_grids(small_layer):
    grids_import_geojson(actor=None, data=small_layer)
    exported = grids_geojson()
    Grid.objects.update(name="x")
    grids_import_geojson(actor=None, data=exported)
    assert Grid.objects.get(code="M2").name == "网格M2"
    assert Grid.objects.get(code="M2").boundary == square(110.01, 25.0)


def test_the_command_fails_with_the_problems_and_imports_nothing(tmp_path, small_layer, capsys):
    small_layer["features"].append(feature("M3", "micro", "S1", geometry=BOWTIE))
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(small_layer), encoding="utf-8")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_grids", str(path))
    assert "M3" in capsys.readouterr().err
    assert Grid.objects.count() == 0


def test_the_command_imports_and_exports(tmp_path, small_layer):
    path = tmp_path / "good.geojson"
    path.write_text(json.dumps(small_layer), encoding="utf-8")
    call_command("import_grids", str(path))
    out = tmp_path / "out.geojson"
    call_command("export_grids", "--level", "micro", "-o", str(out))
    codes = [f["properties"]["code"] for f in json.loads(out.read_text(encoding="utf-8"))["features"]]
    assert codes == ["M1", "M2"]


def test_the_admin_upload_shows_the_error_and_writes_nothing(client, small_layer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import UserFactory

    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    small_layer["features"].append(feature("M3", "micro", "S1", geometry=BOWTIE))
    upload = SimpleUploadedFile("bad.geojson", json.dumps(small_layer).encode(), "application/geo+json")
    response = client.post("/admin/grids/grid/import/", {"file": upload})
    assert response.status_code == 200
    assert "Self-intersection" in response.content.decode()
    assert Grid.objects.count() == 0

    upload = SimpleUploadedFile("good.geojson", json.dumps(collection(*small_layer["features"][:4])).encode())
    response = client.post("/admin/grids/grid/import/", {"file": upload})
    assert response.status_code == 302
    assert Grid.objects.count() == 4
