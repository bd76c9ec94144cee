"""POST /api/v1/calls/: intake from the 110 system, idempotent on the call id."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.api import exception_handler
from core.errors import DomainError
from core.models import AuditLog
from incidents.models import Call

URL = "/api/v1/calls/"


def payload(**overrides) -> dict:
    data = {
        "call_id": "110-20250501-0001",
        "received_at": "2025-05-01T21:30:00+08:00",
        "caller_phone": "+86 138-0013-8000",
        "caller_name": "王女士",
        "address": "秀峰区中山路12号",
        "content": "楼下KTV噪音扰民",
        "channel": "phone",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


@pytest.fixture
def api():
    def client_for(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


def counts():
    return Call.objects.count(), AuditLog.objects.count()


def test_the_url_names_are_stable():
    assert reverse("api-call-list") == URL
    assert reverse("api-call-detail", kwargs={"pk": 7}) == "/api/v1/calls/7/"


def test_it_creates_a_call(api, dispatcher):
    response = api(dispatcher).post(URL, payload(), format="json")

    assert response.status_code == 201, response.data
    call = Call.objects.get()
    assert response.data["id"] == call.pk
    assert response.data["call_id"] == "110-20250501-0001"
    assert response.data["status"] == "new"
    assert response.data["address"] == "秀峰区中山路12号"
    assert response.data["micro_grid"] is None
    assert response["Location"].endswith(f"/api/v1/calls/{call.pk}/")
    assert call.created_by == dispatcher
    assert call.caller_name == "王女士"
    assert AuditLog.objects.filter(action="call_intake", object_id=call.pk).count() == 1


def test_it_stores_the_normalised_phone_and_only_ever_shows_it_masked(api, dispatcher):
    response = api(dispatcher).post(URL, payload(), format="json")

    assert Call.objects.get().caller_phone == "13800138000"
    assert response.data["caller_phone_masked"] == "138****8000"
    assert "13800138000" not in response.content.decode()
    assert "caller_phone" not in response.data


def test_it_stores_the_instant_it_was_given(api, dispatcher):
    api(dispatcher).post(URL, payload(received_at="2025-05-01T21:30:00+08:00"), format="json")

    assert Call.objects.get().received_at == datetime(2025, 5, 1, 13, 30, tzinfo=UTC)


def test_it_fills_the_optional_fields_with_defaults(api, dispatcher):
    body = payload(caller_name=..., address=..., channel=...)

    response = api(dispatcher).post(URL, body, format="json")

    assert response.status_code == 201, response.data
    call = Call.objects.get()
    assert (call.caller_name, call.address, call.lat, call.lon, call.channel) == ("", "", None, None, "phone")


def test_it_keeps_coordinates_given_as_a_pair(api, dispatcher):
    response = api(dispatcher).post(URL, payload(lat=25.27, lon=110.29), format="json")

    assert response.status_code == 201, response.data
    assert (Call.objects.get().lat, Call.objects.get().lon) == (25.27, 110.29)


def test_it_strips_the_call_id(api, dispatcher):
    api(dispatcher).post(URL, payload(call_id="  110-X1  "), format="json")

    assert Call.objects.get().call_id == "110-X1"


def test_it_returns_the_same_call_for_a_repeated_call_id(api, dispatcher):
    client = api(dispatcher)

    first = client.post(URL, payload(), format="json")
    second = client.post(URL, payload(), format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.data == first.data
    assert Call.objects.count() == 1
    assert AuditLog.objects.filter(action="call_intake").count() == 1


def test_it_counts_the_same_instant_in_another_offset_as_the_same_call(api, dispatcher):
    client = api(dispatcher)

    first = client.post(URL, payload(received_at="2025-05-01T21:30:00+08:00"), format="json")
    second = client.post(URL, payload(received_at="2025-05-01T13:30:00Z"), format="json")

    assert (first.status_code, second.status_code) == (201, 200), second.data
    assert second.data["id"] == first.data["id"]
    assert Call.objects.count() == 1


def test_it_counts_the_same_number_written_differently_as_the_same_call(api, dispatcher):
    client = api(dispatcher)
    client.post(URL, payload(caller_phone="+86 138-0013-8000"), format="json")

    response = client.post(URL, payload(caller_phone="13800138000"), format="json")

    assert response.status_code == 200, response.data


@pytest.mark.parametrize("change", [
    {"content": "小区门口有人乱扔垃圾"},
    {"caller_phone": "13900139000"},
    {"received_at": "2025-05-01T21:31:00+08:00"},
])
def test_it_refuses_the_same_call_id_with_different_content(api, dispatcher, change):
    client = api(dispatcher)
    client.post(URL, payload(), format="json")
    before = counts()
    stored = Call.objects.values().get()

    response = client.post(URL, payload(**change), format="json")

    assert response.status_code == 409
    assert response.data["code"] == "call_id_conflict"
    assert "110-20250501-0001" in response.data["detail"]
    assert counts() == before
    assert Call.objects.values().get() == stored


@pytest.mark.parametrize(("change", "field"), [
    ({"content": ...}, "content"),
    ({"content": "   "}, "content"),
    ({"content": "噪" * 2001}, "content"),
    ({"call_id": ...}, "call_id"),
    ({"call_id": "  "}, "call_id"),
    ({"call_id": "X" * 65}, "call_id"),
    ({"received_at": ...}, "received_at"),
    ({"received_at": "2025-05-01T21:30:00"}, "received_at"),
    ({"received_at": "2025-05-01"}, "received_at"),
    ({"received_at": "yesterday evening"}, "received_at"),
    ({"received_at": "2025-13-45T21:30:00+08:00"}, "received_at"),
    ({"received_at": "2025-13-45T21:30:00"}, "received_at"),
    ({"received_at": 1746106200}, "received_at"),
    ({"caller_phone": ...}, "caller_phone"),
    ({"caller_phone": "12"}, "caller_phone"),
    ({"caller_phone": "12345678901"}, "caller_phone"),
    ({"lat": 25.27}, "lon"),
    ({"lon": 110.29}, "lat"),
    ({"lat": 91, "lon": 110.29}, "lat"),
    ({"lat": 25.27, "lon": -181}, "lon"),
    ({"lat": "nan", "lon": 110.29}, "lat"),
    ({"address": "路" * 201}, "address"),
    ({"channel": "carrier_pigeon"}, "channel"),
])
def test_it_rejects_bad_input_and_writes_nothing(api, dispatcher, change, field):
    before = counts()

    response = api(dispatcher).post(URL, payload(**change), format="json")

    assert response.status_code == 400
    assert field in response.data, response.data
    assert counts() == before


def test_it_explains_that_a_naive_time_needs_an_offset(api, dispatcher):
    response = api(dispatcher).post(URL, payload(received_at="2025-05-01T21:30:00"), format="json")

    assert response.status_code == 400
    assert response.data["received_at"][0].code == "naive"


def test_it_rejects_a_time_more_than_an_hour_ahead(api, dispatcher):
    ahead = (timezone.now() + timedelta(hours=2)).isoformat()

    response = api(dispatcher).post(URL, payload(received_at=ahead), format="json")

    assert response.status_code == 400
    assert response.data["received_at"][0].code == "future"
    assert Call.objects.count() == 0


def test_it_allows_a_little_clock_skew(api, dispatcher):
    ahead = (timezone.now() + timedelta(minutes=10)).isoformat()

    response = api(dispatcher).post(URL, payload(received_at=ahead), format="json")

    assert response.status_code == 201, response.data


def test_it_shows_the_words_that_matched_each_candidate(api, dispatcher):
    response = api(dispatcher).post(URL, payload(content="楼下KTV噪音扰民"), format="json")

    suggestions = response.data["suggestions"]
    assert suggestions["police"] is False
    top = suggestions["candidates"][0]
    assert top["code"] == "C01"
    words = {m["word"] for m in top["matches"]}
    assert {"KTV", "噪音扰民"} <= words
    ktv = next(m for m in top["matches"] if m["word"] == "KTV")
    assert (ktv["start"], ktv["end"]) == (2, 5)


def test_it_keeps_a_fight_with_injuries_with_the_police(api, dispatcher):
    response = api(dispatcher).post(URL, payload(content="两个人在小区门口打架，有人受伤流血"), format="json")

    suggestions = response.data["suggestions"]
    assert suggestions["police"] is True
    reasons = {r["code"] for r in suggestions["police_reasons"]}
    assert {"fighting", "injury"} <= reasons
    assert Call.objects.get().suggested_police is True


def test_it_reports_repeat_calls_from_the_same_number(api, dispatcher):
    client = api(dispatcher)
    first = client.post(URL, payload(call_id="110-A", received_at="2025-05-01T21:00:00+08:00"), format="json")

    second = client.post(URL, payload(call_id="110-B"), format="json")

    assert second.status_code == 201
    assert second.data["repeats"]["phone_24h"] == 1
    assert second.data["repeats"]["phone_calls"] == [first.data["id"]]


def test_a_supervisor_can_register_a_call(api, supervisor):
    assert api(supervisor).post(URL, payload(), format="json").status_code == 201


def test_it_accepts_a_token(dispatcher):
    token = Token.objects.create(user=dispatcher)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = client.post(URL, payload(), format="json")

    assert response.status_code == 201
    assert Call.objects.get().created_by == dispatcher


def test_it_refuses_an_unknown_token(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    response = client.post(URL, payload(), format="json")

    assert response.status_code == 401
    assert Call.objects.count() == 0


def test_it_asks_an_anonymous_client_to_authenticate(api, db):
    response = api().post(URL, payload(), format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert Call.objects.count() == 0


@pytest.mark.parametrize("who", ["outsider", "staff_a", "mediator"])
def test_it_forbids_users_who_do_not_take_calls(api, request, db, who):
    user = request.getfixturevalue(who)

    response = api(user).post(URL, payload(), format="json")

    assert response.status_code == 403
    assert Call.objects.count() == 0


def test_it_forbids_a_deactivated_dispatcher(api, dispatcher):
    dispatcher.is_active = False
    dispatcher.save()

    assert api(dispatcher).post(URL, payload(), format="json").status_code == 403


def test_a_dispatcher_can_read_a_call(api, dispatcher, make_call):
    call = make_call()

    response = api(dispatcher).get(f"/api/v1/calls/{call.pk}/")

    assert response.status_code == 200
    assert response.data["call_id"] == call.call_id
    assert response.data["caller_phone_masked"] == call.masked_phone


def test_reading_an_unknown_call_is_404(api, dispatcher, db):
    assert api(dispatcher).get("/api/v1/calls/999999/").status_code == 404


@pytest.mark.parametrize("who", ["outsider", "staff_a"])
def test_users_who_do_not_take_calls_cannot_read_one(api, request, make_call, who):
    call = make_call()

    response = api(request.getfixturevalue(who)).get(f"/api/v1/calls/{call.pk}/")

    assert response.status_code == 403


# --- The one exception handler (core.api) -----------------------------------------------------------------

def test_the_handler_maps_domain_errors_to_their_status_and_code():
    response = exception_handler(DomainError("拒绝", code="nope"), {})

    assert (response.status_code, response.data) == (400, {"detail": "拒绝", "code": "nope"})


def test_the_handler_turns_django_validation_errors_into_field_errors():
    by_field = exception_handler(ValidationError({"address": ["太长"]}), {})
    plain = exception_handler(ValidationError("不行"), {})

    assert (by_field.status_code, by_field.data) == (400, {"address": ["太长"]})
    assert (plain.status_code, plain.data) == (400, {"non_field_errors": ["不行"]})


def test_the_handler_maps_django_404_and_403():
    not_found = exception_handler(Http404("No Call matches the given query."), {})

    assert not_found.status_code == 404
    assert "Call" not in str(not_found.data)
    assert exception_handler(PermissionDenied(), {}).status_code == 403
    assert exception_handler(ValueError("boom"), {}) is None
