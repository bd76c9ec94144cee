"""Intake in few round trips (issue 43): the repeat checks in one query, the token, catalog and grid index
cached, and each cache forgetting what changed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from grids.models import Grid, Place
from grids.services import grids_import_geojson
from incidents.models import Call
from incidents.selectors import call_repeats
from tests.grids.conftest import collection, feature, square
from tests.incidents.test_api_intake import URL, payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_client(dispatcher):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=dispatcher).key}")
    return client


@pytest.fixture
def layer(db):
    grids_import_geojson(actor=None, data=collection(
        feature("L1", "large", geometry=square(110.0, 25.0, 0.02)),
        feature("S1", "small", "L1", geometry=square(110.0, 25.0, 0.02)),
        feature("M1", "micro", "S1", geometry=square(110.0, 25.0)),
        feature("M2", "micro", "S1", geometry=square(110.01, 25.0))))
    Place.objects.create(micro_grid=Grid.objects.get(code="M1"), name="中山中路18号")


def statements(ctx) -> list[str]:
    """The statements a request sent, less the savepoints the test's own transaction adds around atomic()."""
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


@pytest.mark.parametrize("where", [{"lat": 25.005, "lon": 110.015}, {"address": "秀峰区中山中路18号门口"}])
def test_an_intake_takes_at_most_six_queries(token_client, layer, where):
    for k, warm in enumerate([{"lat": 25.005, "lon": 110.005}, {"address": "中山中路18号"}]):  # a warm process
        assert token_client.post(URL, payload(call_id=f"warm{k}", **warm), format="json").status_code == 201
    with CaptureQueriesContext(connection) as ctx:
        response = token_client.post(URL, payload(call_id="110-1", **where), format="json")

    assert response.status_code == 201, response.data
    sql = statements(ctx)
    assert len(sql) <= 6, "\n".join(sql)
    assert sum(s.startswith("SELECT") for s in sql) == 1  # the repeat checks; token, catalog, grids cached
    call = Call.objects.get(call_id="110-1")
    assert response.data["micro_grid"] == call.micro_grid.code == ("M2" if "lat" in where else "M1")
    if "address" in where:
        assert call.place.name == "中山中路18号"
    assert call.suggested_category.code == call.suggestions["candidates"][0]["code"]


def test_the_repeat_checks_are_one_query_and_find_every_kind(make_slip, make_call, dispatcher):
    first = make_slip(code="C01", content="楼下KTV噪音扰民", address="中山路1号", caller_phone="13800138000")
    second = make_call(call_id="110-2", content="楼下KTV噪音扰民", address="中山路1号",
                       caller_phone="13800138000", received_at=first.call.received_at)
    with CaptureQueriesContext(connection) as ctx:
        found = call_repeats(phone="13800138000", address="中山路1号", received_at=second.received_at,
                             category_code="C01")

    assert len(ctx.captured_queries) == 1
    assert found["phone_24h"] == found["phone_7d"] == 2
    assert found["phone_calls"] == [second.pk, first.call.pk]  # newest first, the later id first on a tie
    assert set(found["place_calls"]) == {first.call.pk, second.pk}
    assert found["open_slips"] == [{"id": first.pk, "serial": first.serial}]
    assert call_repeats(phone="13800138000", address="中山路1号", received_at=second.received_at,
                        category_code="C01", exclude_pk=second.pk)["phone_calls"] == [first.call.pk]


def test_a_resent_call_is_answered_from_the_stored_one(token_client):
    assert token_client.post(URL, payload(), format="json").status_code == 201
    again = token_client.post(URL, payload(), format="json")
    assert again.status_code == 200 and Call.objects.count() == 1
    assert token_client.post(URL, payload(content="另一件事"), format="json").status_code == 409


def test_a_deactivated_user_or_deleted_token_is_refused_at_once(token_client, dispatcher):
    assert token_client.post(URL, payload(call_id="a"), format="json").status_code == 201
    dispatcher.is_active = False
    dispatcher.save()
    assert token_client.post(URL, payload(call_id="b"), format="json").status_code == 401

    dispatcher.is_active = True
    dispatcher.save()
    assert token_client.post(URL, payload(call_id="c"), format="json").status_code == 201
    Token.objects.filter(user=dispatcher).delete()
    assert token_client.post(URL, payload(call_id="d"), format="json").status_code == 401
    assert set(Call.objects.values_list("call_id", flat=True)) == {"a", "c"}


def test_a_grid_changed_in_this_process_places_the_next_call(token_client, layer, settings):
    settings.GRID_CHECK_SECONDS = 3600  # the stamp is not read again: the signal must do it
    point = {"lat": 25.005, "lon": 110.025}
    assert token_client.post(URL, payload(call_id="a", **point), format="json").data["micro_grid"] is None
    Grid.objects.create(code="M9", name="新网格", level="micro", parent=Grid.objects.get(code="S1"),
                        boundary=square(110.02, 25.0))
    assert token_client.post(URL, payload(call_id="b", **point), format="json").data["micro_grid"] == "M9"
