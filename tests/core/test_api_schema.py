"""Issue 33: the OpenAPI schema matches what the API really answers. Real responses (the nulls, the blanks,
every error status) are validated against the schema the API itself serves, with jsonschema."""

import copy

import jsonschema
import pytest
import yaml
from rest_framework.test import APIClient

from diversion import services as slip_services

pytestmark = pytest.mark.django_db


def _json_schema(node, components):
    """OpenAPI 3.0 → JSON Schema: refs inlined, `nullable` as a null alternative, readOnly dropped."""
    if isinstance(node, list):
        return [_json_schema(n, components) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _json_schema(components[node["$ref"].rsplit("/", 1)[-1]], components)
    node = {k: _json_schema(v, components) for k, v in node.items() if k not in ("readOnly", "writeOnly")}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture
def schema(supervisor):
    client = APIClient()
    client.force_authenticate(supervisor)
    return yaml.safe_load(client.get("/api/v1/schema/").content)


@pytest.fixture
def check(schema):
    components = schema["components"]["schemas"]

    def validate(template: str, method: str, response):
        operation = schema["paths"][template][method]
        documented = operation["responses"]
        status = str(response.status_code)
        assert status in documented, f"{method.upper()} {template} answered {status}, not documented"
        body_schema = documented[status]["content"]["application/json"]["schema"]
        jsonschema.validate(response.json(), _json_schema(copy.deepcopy(body_schema), components))
        return response.json()

    return validate


def _client(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_a_fresh_slip_with_its_nulls_and_blanks_matches_the_schema(check, make_slip, supervisor):
    slip = make_slip()
    body = check("/api/v1/slips/{id}/", "get", _client(supervisor).get(f"/api/v1/slips/{slip.pk}/"))
    assert body["suggested_department"] is None and body["accepted_by"] is None and body["close_reason"] == ""
    check("/api/v1/slips/", "get", _client(supervisor).get("/api/v1/slips/"))


def test_a_callback_that_did_not_reach_the_caller_matches_the_schema(check, make_slip, staff_a, supervisor):
    slip = make_slip()
    slip_services.slip_accept(actor=staff_a, slip_pk=slip.pk)
    slip_services.slip_complete(actor=staff_a, slip_pk=slip.pk, result="已处理")
    response = _client(supervisor).post(f"/api/v1/slips/{slip.pk}/callbacks/", {"channel": "phone", "reached": False},
                                        format="json")
    assert check("/api/v1/slips/{id}/callbacks/", "post", response)["resolved"] == ""


def test_an_unplaced_call_matches_the_schema(check, make_call, dispatcher):
    call = make_call()
    body = check("/api/v1/calls/{id}/", "get", _client(dispatcher).get(f"/api/v1/calls/{call.pk}/"))
    assert body["micro_grid"] is None


def test_every_error_status_is_documented_with_the_body_it_has(check, make_slip, staff_a, staff_b, supervisor,
                                                               dispatcher, settings):
    slip = make_slip()
    url = f"/api/v1/slips/{slip.pk}/return/"
    template = "/api/v1/slips/{id}/return/"
    assert check(template, "post", _client().post(url, {"reason": "x"}, format="json"))["detail"]  # 401
    check(template, "post", _client(dispatcher).post(url, {"reason": "x"}, format="json"))  # 403: not a department
    check(template, "post", _client(staff_b).post(url, {"reason": "x"}, format="json"))  # 404: not its slip
    assert "reason" in check(template, "post", _client(staff_a).post(url, {"reason": ""}, format="json"))  # 400
    check(template, "post", _client(staff_a).post(url, "[" * 5000, content_type="application/json"))  # 400, depth
    slip_services.slip_return(actor=staff_a, slip_pk=slip.pk, reason="不归我们")
    assert check(template, "post", _client(staff_a).post(url, {"reason": "x"}, format="json"))["code"]  # 409

    assert "cursor" in check("/api/v1/slips/", "get", _client(supervisor).get("/api/v1/slips/", {"cursor": "{'a'"}))
    assert "page" in check("/api/v1/reviews/", "get", _client(supervisor).get("/api/v1/reviews/", {"page": "x"}))
    check("/api/v1/reviews/", "get", _client(supervisor).get("/api/v1/reviews/", {"page": 99}))  # 404, past the end
    check("/api/v1/slips/", "get", _client(supervisor).get("/api/v1/slips/", {"status": "bogus"}))  # 400

    from rest_framework.throttling import SimpleRateThrottle

    old = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**old, "token": "1/min"}
    try:
        client = _client(supervisor)
        client.get("/api/v1/slips/")
        assert client.get("/api/v1/slips/").status_code == 429
        check("/api/v1/slips/", "get", client.get("/api/v1/slips/"))
    finally:
        SimpleRateThrottle.THROTTLE_RATES = old


def test_inputs_that_are_refused_blank_are_documented_with_a_minimum_length(schema):
    components = schema["components"]["schemas"]
    assert components["SlipReturn"]["properties"]["reason"]["minLength"] == 1
    assert components["SlipComplete"]["properties"]["result"]["minLength"] == 1
    for name in ("call_id", "caller_phone", "content"):
        assert components["CallIntake"]["properties"][name]["minLength"] == 1
    page = next(p for p in schema["paths"]["/api/v1/reviews/"]["get"]["parameters"] if p["name"] == "page")
    assert page["schema"] == {"type": "integer", "minimum": 1}
