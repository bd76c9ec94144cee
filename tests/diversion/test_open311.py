"""Issue 41: Open311 GeoReport v2 at /open311/v2/. The responses are read as a client reads them, JSON parsed as
JSON and XML parsed as XML, and checked against the specification's field names, types and required fields
(SPEC below, from wiki.open311.org/GeoReport_v2) and its error format; a round trip runs a partner's report
through the dispatcher and the department and back to the partner."""

import datetime
import json
from xml.etree import ElementTree

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from diversion import services as slip_services
from diversion.models import HandoffSlip, Open311Client, Open311Report
from diversion.open311.services import open311_key_issue, open311_report_create
from incidents import services as call_services
from incidents.models import Call, CallStatus
from tests.factories import category

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"

# The specification's fields: name → type ("str", "bool", "int", "float", "datetime"), and which are required.
SPEC = {
    "service": {"fields": {"service_code": "str", "service_name": "str", "description": "str", "metadata": "bool",
                           "type": "str", "keywords": "str", "group": "str"},
                "required": {"service_code", "service_name", "metadata", "type"}},
    "request": {"fields": {"service_request_id": "str", "status": "str", "status_notes": "str",
                           "service_name": "str", "service_code": "str", "description": "str",
                           "agency_responsible": "str", "service_notice": "str", "requested_datetime": "datetime",
                           "updated_datetime": "datetime", "expected_datetime": "datetime", "address": "str",
                           "address_id": "str", "zipcode": "str", "lat": "float", "long": "float",
                           "media_url": "str"},
                "required": {"service_request_id", "status", "service_code", "requested_datetime"}},
    "attribute": {"fields": {"variable": "bool", "code": "str", "datatype": "str", "required": "bool",
                             "datatype_description": "str", "order": "int", "description": "str"},
                  "required": {"variable", "code", "datatype", "required", "order", "description"}},
    "created": {"fields": {"service_request_id": "str", "service_notice": "str", "account_id": "str"},
                "required": {"service_request_id"}},
    "error": {"fields": {"code": "int", "description": "str"}, "required": {"code", "description"}},
}
MYSOCIETY_STATUSES = {"open", "closed", "fixed", "in_progress", "action_scheduled", "investigating", "duplicate",
                      "not_councils_responsibility", "no_further_action", "internal_referral", "reopen"}


def _w3c(value: str) -> bool:
    parsed = parse_datetime(value)
    return parsed is not None and parsed.tzinfo is not None


def _number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# How a value of each type is written: in XML every value is text.
XML_TYPES = {"str": lambda v: True, "bool": lambda v: v in ("true", "false"), "int": str.isdigit,
             "float": _number, "datetime": _w3c}
JSON_TYPES = {"str": lambda v: isinstance(v, str), "bool": lambda v: isinstance(v, bool),
              "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
              "datetime": lambda v: isinstance(v, str) and _w3c(v)}


def _typed(kind: str, value, xml: bool) -> bool:
    if value is None or (xml and value == ""):
        return True  # absent values: null in JSON, an empty element in XML
    return (XML_TYPES if xml else JSON_TYPES)[kind](value)


def _check(kind: str, item: dict, xml: bool = False) -> dict:
    spec = SPEC[kind]
    missing = spec["required"] - {k for k, v in item.items() if v not in (None, "")}
    assert not missing, f"{kind} lacks {missing}: {item}"
    wrong = {k: v for k, v in item.items() if k in spec["fields"] and not _typed(spec["fields"][k], v, xml)}
    assert not wrong, f"{kind} has wrong types {wrong}"
    return item


def _xml_items(body: bytes, root: str, item: str) -> list[dict]:
    """The items of a GeoReport v2 XML list, each as {element: text}, checking the root and item elements."""
    tree = ElementTree.fromstring(body)
    assert tree.tag == root
    assert all(child.tag == item for child in tree)
    return [{field.tag: (field.text or "") for field in child} for child in tree]


def _json(response, status=200):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def _xml(response, status=200):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("text/xml")
    return response.content


def _error(response, status: int, fmt: str = "json") -> str:
    """The specification's error: a list of {code, description}, in JSON or XML; its description."""
    if fmt == "xml":
        [error] = _xml_items(_xml(response, status), "errors", "error")
        _check("error", error, xml=True)
    else:
        [error] = _json(response, status)
        _check("error", error)
    assert int(error["code"]) == status and error["description"]
    return error["description"]


@pytest.fixture
def keys(db, dept_a, dept_b):
    """A key for department A's case system, one for department B's, one for a partner (a city app)."""
    made = {}
    for code, kind, department in [("stj", "department", dept_a), ("cgj", "department", dept_b),
                                   ("cityapp", "partner", None)]:
        client = Open311Client.objects.create(code=code, name=f"{code} system", kind=kind, department=department)
        made[code] = open311_key_issue(actor=None, client=client)
    return made


def _report(client, key, partner_id="A-1", **fields):
    data = {"api_key": key, "service_code": "C01", "attribute[partner_request_id]": partner_id,
            "description": "小区门口烧烤摊油烟和噪音到半夜", "lat": "25.27", "long": "110.29",
            "first_name": "小明", "last_name": "王", "phone": "13900001111", "email": "li@example.com", **fields}
    return client.post(f"{BASE}/requests.json", data=data)


# --- Services and discovery -----------------------------------------------------------------------------------

def test_services_are_the_active_sub_categories_in_json_and_xml(client):
    services = [_check("service", s) for s in _json(client.get(f"{BASE}/services.json"))]
    by_code = {s["service_code"]: s for s in services}
    noise = by_code["C01"]
    assert noise["group"] and noise["type"] == "realtime" and noise["metadata"] is True
    assert "," in noise["keywords"] or noise["keywords"]
    assert noise["time_limit_class"] == category("C01").time_limit_class.code

    xml_services = [_check("service", s, xml=True)
                    for s in _xml_items(_xml(client.get(f"{BASE}/services.xml")), "services", "service")]
    assert [s["service_code"] for s in xml_services] == [s["service_code"] for s in services]
    assert {s["metadata"] for s in xml_services} == {"true"}

    category_off = category("C02")
    category_off.active = False
    category_off.save(update_fields=["active"])
    assert "C02" not in {s["service_code"] for s in _json(client.get(f"{BASE}/services.json"))}


def test_a_service_definition_names_the_partners_own_id_and_an_unknown_service_is_a_404(client):
    definition = _json(client.get(f"{BASE}/services/C01.json"))
    assert definition["service_code"] == "C01"
    [attribute] = [_check("attribute", a) for a in definition["attributes"]]
    assert attribute["code"] == "partner_request_id" and attribute["required"] is True

    tree = ElementTree.fromstring(_xml(client.get(f"{BASE}/services/C01.xml")))
    assert tree.tag == "service_definition" and tree.findtext("service_code") == "C01"
    [xml_attribute] = tree.find("attributes")
    assert xml_attribute.tag == "attribute"
    _check("attribute", {f.tag: f.text or "" for f in xml_attribute}, xml=True)

    _error(client.get(f"{BASE}/services/ZZ9.json"), 404)
    _error(client.get(f"{BASE}/services/ZZ9.xml"), 404, "xml")
    assert client.get(f"{BASE}/services.html").status_code == 404  # only .json and .xml exist


def test_discovery_says_where_the_endpoint_is_and_its_formats(client):
    found = _json(client.get(f"{BASE}/discovery.json"))
    [endpoint] = found["endpoints"]
    assert endpoint["url"].endswith("/open311/v2") and set(endpoint["formats"]) == {"application/json", "text/xml"}
    assert found["contact"] and found["key_service"]
    tree = ElementTree.fromstring(_xml(client.get(f"{BASE}/discovery.xml")))
    assert tree.tag == "discovery"
    assert [f.text for f in tree.find("endpoints").find("endpoint").find("formats")] == ["application/json",
                                                                                          "text/xml"]


# --- A department's key reads its own slips -------------------------------------------------------------------

def test_a_departments_key_reads_its_slips_with_mysocietys_statuses_and_no_other_departments(
        client, keys, make_slip, dept_b, staff_a, dispatcher):
    issued, accepted, returned, reopened = make_slip(), make_slip(), make_slip(), make_slip()
    other = make_slip(department=dept_b)
    slip_services.slip_accept(actor=staff_a, slip_pk=accepted.pk)
    slip_services.slip_return(actor=staff_a, slip_pk=returned.pk, reason="不属本局职责，应由城管处理")
    slip_services.slip_accept(actor=staff_a, slip_pk=reopened.pk)
    slip_services.slip_complete(actor=staff_a, slip_pk=reopened.pk, result="已上门劝导")
    slip_services.callback_record(actor=dispatcher, slip_pk=reopened.pk, channel="phone", reached=True,
                                  resolved="no", satisfaction=1, comment="还在吵")

    listed = [_check("request", r) for r in _json(client.get(f"{BASE}/requests.json", {"api_key": keys["stj"]}))]
    statuses = {r["service_request_id"]: r["status"] for r in listed}
    assert statuses == {issued.serial: "open", accepted.serial: "in_progress",
                        returned.serial: "not_councils_responsibility", reopened.serial: "reopen"}
    assert set(statuses.values()) <= MYSOCIETY_STATUSES
    by_id = {r["service_request_id"]: r for r in listed}
    assert by_id[returned.serial]["status_notes"] == "不属本局职责，应由城管处理"
    assert by_id[issued.serial]["agency_responsible"] == issued.department.name_zh
    assert parse_datetime(by_id[issued.serial]["expected_datetime"]) == issued.deadline.replace(microsecond=0)

    xml_listed = [_check("request", r, xml=True) for r in _xml_items(
        _xml(client.get(f"{BASE}/requests.xml", {"api_key": keys["stj"]})), "service_requests", "request")]
    assert {r["service_request_id"]: r["status"] for r in xml_listed} == statuses

    # Another department's slip, by the id in the list or in the path: not there.
    one = _json(client.get(f"{BASE}/requests/{accepted.serial}.json", {"api_key": keys["stj"]}))
    assert [r["status"] for r in one] == ["in_progress"]
    _error(client.get(f"{BASE}/requests/{other.serial}.json", {"api_key": keys["stj"]}), 404)
    _error(client.get(f"{BASE}/requests/{other.serial}.xml", {"api_key": keys["stj"]}), 404, "xml")
    for typed in ["2026-²", "٢٠٢٦-1", "2026-99999999999999999999", "x-1", str(accepted.pk)]:
        _error(client.get(f"{BASE}/requests/{typed}.json", {"api_key": keys["stj"]}), 404)
    assert _json(client.get(f"{BASE}/requests.json", {"api_key": keys["stj"],
                                                      "service_request_id": other.serial})) == []
    assert [r["service_request_id"] for r in _json(client.get(
        f"{BASE}/requests.json", {"api_key": keys["cgj"]}))] == [other.serial]


def test_the_specifications_filters_and_a_page_at_a_time(client, keys, make_slip, staff_a):
    slips = [make_slip() for _ in range(5)]
    noise_elsewhere = make_slip(code="C02")
    slip_services.slip_accept(actor=staff_a, slip_pk=slips[0].pk)
    key = {"api_key": keys["stj"]}

    def ids(**params):
        return [r["service_request_id"] for r in _json(client.get(f"{BASE}/requests.json", {**key, **params}))]

    assert ids(status="in_progress") == [slips[0].serial]
    assert set(ids(status="open")) == {s.serial for s in [*slips, noise_elsewhere]}  # the family: in_progress too
    assert ids(status="closed") == []
    assert ids(service_code="C02") == [noise_elsewhere.serial]
    assert set(ids(service_request_id=f"{slips[1].serial},{slips[2].serial}")) == {slips[1].serial, slips[2].serial}
    later = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    assert ids(start_date=later) == []
    assert len(ids(end_date=later)) == 6
    # Older than the default 90 days: only when a date range asks for it.
    HandoffSlip.objects.filter(pk=slips[4].pk).update(issued_at=timezone.now() - datetime.timedelta(days=100))
    assert slips[4].serial not in ids()
    # From a start date alone, the 90 days after it (the specification's window).
    assert ids(start_date=(timezone.now() - datetime.timedelta(days=120)).isoformat()) == [slips[4].serial]

    first = client.get(f"{BASE}/requests.json", {**key, "page_size": 2})
    assert len(_json(first)) == 2 and first["X-Total-Count"] == "5" and 'rel="next"' in first["Link"]
    last = client.get(f"{BASE}/requests.json", {**key, "page_size": 2, "page": 3})
    assert len(_json(last)) == 1 and 'rel="next"' not in last["Link"] and 'rel="prev"' in last["Link"]
    seen = [r["service_request_id"] for p in (1, 2, 3)
            for r in _json(client.get(f"{BASE}/requests.json", {**key, "page_size": 2, "page": p}))]
    assert len(set(seen)) == 5


@pytest.mark.parametrize("params, says", [
    ({"start_date": "yesterday"}, "start_date"),
    ({"end_date": "2026-13-45T00:00:00"}, "end_date"),
    ({"start_date": "2026-12-06T10:00:00+08:00", "end_date": "2026-12-01T10:00:00+08:00"}, "end_date"),
    ({"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"}, "end_date"),  # > 90 days
    ({"status": "lost"}, "status"),
    ({"page": "0"}, "page"),
    ({"page_size": "5000"}, "page_size"),
])
def test_a_malformed_filter_is_a_400_in_the_specifications_format(client, keys, params, says):
    for fmt in ("json", "xml"):
        description = _error(client.get(f"{BASE}/requests.{fmt}", {"api_key": keys["stj"], **params}), 400, fmt)
        assert description.startswith(says)


def test_a_missing_unknown_or_switched_off_key_is_a_403_and_reads_nothing(client, keys, make_slip):
    make_slip()
    assert "api_key" in _error(client.get(f"{BASE}/requests.json"), 403)
    _error(client.get(f"{BASE}/requests.xml", {"api_key": "not-a-key"}), 403, "xml")
    Open311Client.objects.filter(code="stj").update(active=False)
    _error(client.get(f"{BASE}/requests.json", {"api_key": keys["stj"]}), 403)
    # A new key replaces the old one.
    cgj = Open311Client.objects.get(code="cgj")
    fresh = open311_key_issue(actor=None, client=cgj)
    _error(client.get(f"{BASE}/requests.json", {"api_key": keys["cgj"]}), 403)
    assert _json(client.get(f"{BASE}/requests.json", {"api_key": fresh})) == []
    assert Open311Client.objects.get(code="cgj").key_hash != keys["cgj"]  # only its hash is stored


# --- A partner posts reports ----------------------------------------------------------------------------------

def test_a_partners_report_becomes_one_call_in_the_dispatchers_queue_whatever_the_retries(client, keys):
    [created] = _json(_report(client, keys["cityapp"]), 201)
    _check("created", created)
    call = Call.objects.get(call_id=created["service_request_id"])
    assert call.status == CallStatus.NEW and call.channel == "app" and call.caller_phone == "13900001111"
    assert call.caller_name == "王小明"  # family name (last_name) first, as a Chinese name is written
    assert call.content == "小区门口烧烤摊油烟和噪音到半夜" and (call.lat, call.lon) == (25.27, 110.29)
    report = Open311Report.objects.get(call=call)
    assert (report.partner_request_id, report.service.code, report.email) == ("A-1", "C01", "li@example.com")

    again = _json(_report(client, keys["cityapp"], description="再发一次"), 200)
    assert again[0]["service_request_id"] == created["service_request_id"]
    assert Call.objects.count() == 1 and Open311Report.objects.count() == 1

    xml = _xml_items(_xml(client.post(f"{BASE}/requests.xml", data={
        "api_key": keys["cityapp"], "service_code": "C01", "attribute[partner_request_id]": "A-2",
        "description": "路灯不亮", "address_string": "秀峰区解放西路1号"}), 201), "service_requests", "request")
    _check("created", xml[0], xml=True)
    assert Call.objects.get(call_id=xml[0]["service_request_id"]).address == "秀峰区解放西路1号"

    # Up to the specification's 4,000 characters: longer than a call typed at the desk may be.
    [long] = _json(_report(client, keys["cityapp"], partner_id="A-3", description="长" * 4000), 201)
    assert len(Call.objects.get(call_id=long["service_request_id"]).content) == 4000

    token = _json(client.get(f"{BASE}/tokens/A-2.json", {"api_key": keys["cityapp"]}))
    assert token == [{"service_request_id": xml[0]["service_request_id"], "token": "A-2"}]
    _error(client.get(f"{BASE}/tokens/A-9.json", {"api_key": keys["cityapp"]}), 404)


@pytest.mark.parametrize("fields, status, says", [
    ({"service_code": "ZZ9"}, 404, "ZZ9"),
    ({"description": "长" * 4001}, 400, "description"),  # the specification's limit
    ({"description": ""}, 400, "description"),
    ({"lat": "", "long": ""}, 400, "address_string"),
    ({"lat": "95", "long": "110"}, 400, "lat"),
    ({"attribute[partner_request_id]": ""}, 400, "attribute[partner_request_id]"),
    ({"attribute[partner_request_id]": "a/b"}, 400, "attribute[partner_request_id]"),
    ({"phone": "12"}, 400, "phone"),
    ({"email": "not-mail"}, 400, "email"),
])
def test_a_bad_report_is_refused_in_the_specifications_format_and_writes_nothing(client, keys, fields, status, says):
    for fmt in ("json", "xml"):
        data = {"api_key": keys["cityapp"], "service_code": "C01", "attribute[partner_request_id]": "B-1",
                "description": "井盖丢了", "lat": "25.27", "long": "110.29", **fields}
        description = _error(client.post(f"{BASE}/requests.{fmt}", data=data), status, fmt)
        assert says in description
    assert Call.objects.count() == 0 and Open311Report.objects.count() == 0


def test_only_a_partners_key_posts_and_a_partner_reads_only_what_it_posted(client, keys, make_call):
    assert "合作方" in _error(_report(client, keys["stj"]), 403)  # only a partner's key posts
    assert "api_key" in _error(_report(client, ""), 403)
    assert Call.objects.count() == 0
    someone_elses = make_call()
    _json(_report(client, keys["cityapp"]), 201)
    listed = _json(client.get(f"{BASE}/requests.json", {"api_key": keys["cityapp"]}))
    assert [r["service_request_id"] for r in listed] == ["open311-cityapp-A-1"]
    _error(client.get(f"{BASE}/requests/{someone_elses.call_id}.json", {"api_key": keys["cityapp"]}), 404)


# --- The round trip -------------------------------------------------------------------------------------------

def test_round_trip_a_partner_posts_the_dispatcher_diverts_the_department_accepts_the_partner_reads_it(
        client, keys, dispatcher, staff_a, dept_a):
    """Every step over HTTP, as each system would do it: the partner's Open311 post and reads, the 110 system's
    decision with its token, the department's case system accepting and completing with its token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    centre = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=dispatcher).key}")
    department = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_a).key}")
    [created] = _json(_report(client, keys["cityapp"], partner_id="RT-7"), 201)
    request_id = created["service_request_id"]

    def partner_sees(fmt="json"):
        response = client.get(f"{BASE}/requests/{request_id}.{fmt}", {"api_key": keys["cityapp"]})
        if fmt == "xml":
            [item] = _xml_items(_xml(response), "service_requests", "request")
            return _check("request", item, xml=True)
        [item] = _json(response)
        return _check("request", item)

    waiting = partner_sees()
    assert (waiting["status"], waiting["agency_responsible"], waiting["service_code"]) == ("open", None, "C01")

    call = Call.objects.get(call_id=request_id)
    version = centre.get(f"/api/v1/calls/{call.pk}/").json()["version"]
    decided = centre.post(f"/api/v1/calls/{call.pk}/classify/", {
        "version": version, "decision": "non_police", "category": "C01", "department": dept_a.code}, format="json")
    assert decided.status_code == 200, decided.content
    slip_id, serial = decided.json()["slip"]["id"], decided.json()["slip"]["serial"]
    assert partner_sees()["status"] == "open"
    # The department's system sees the same report as its slip.
    assert [r["service_request_id"] for r in _json(client.get(
        f"{BASE}/requests.json", {"api_key": keys["stj"]}))] == [serial]

    assert department.post(f"/api/v1/slips/{slip_id}/accept/", {"handler_name": "王科长"},
                           format="json").status_code == 200
    accepted = partner_sees("xml")
    assert (accepted["status"], accepted["agency_responsible"]) == ("in_progress", dept_a.name_zh)
    slip = HandoffSlip.objects.get(pk=slip_id)
    assert parse_datetime(accepted["expected_datetime"]) == slip.deadline.replace(microsecond=0)
    assert parse_datetime(accepted["updated_datetime"]) >= parse_datetime(waiting["updated_datetime"])

    assert department.post(f"/api/v1/slips/{slip_id}/complete/", {"result": "已责令摊主整改，油烟已处理"},
                           format="json").status_code == 200
    done = partner_sees()
    assert (done["status"], done["status_notes"]) == ("fixed", "已责令摊主整改，油烟已处理")
    called_back = centre.post(f"/api/v1/slips/{slip_id}/callbacks/", {
        "channel": "phone", "reached": True, "resolved": "yes", "satisfaction": 5}, format="json")
    assert called_back.status_code == 201, called_back.content
    assert partner_sees()["status"] == "closed"
    assert [r["service_request_id"] for r in _json(client.get(
        f"{BASE}/requests.json", {"api_key": keys["cityapp"], "status": "closed"}))] == [request_id]


def test_a_report_the_department_returns_is_back_with_the_dispatchers_for_the_partner(client, keys, dispatcher,
                                                                                      staff_a, dept_a, unit):
    [created] = _json(_report(client, keys["cityapp"]), 201)
    call = Call.objects.get(call_id=created["service_request_id"])
    slip = call_services.call_divert(actor=dispatcher, call_pk=call.pk, category=category("C01"), department=dept_a)
    slip_services.slip_return(actor=staff_a, slip_pk=slip.pk, reason="内部分工说明")
    [back] = _json(client.get(f"{BASE}/requests.json", {"api_key": keys["cityapp"]}))
    assert (back["status"], back["status_notes"], back["agency_responsible"]) == ("open", "", None)
    call_services.call_assign_police(actor=dispatcher, call_pk=call.pk, unit=unit)
    [police] = _json(client.get(f"{BASE}/requests.json", {"api_key": keys["cityapp"], "status": "closed"}))
    assert police["status"] == "internal_referral"


# --- The admin ------------------------------------------------------------------------------------------------

def test_the_administrator_adds_a_client_and_sees_its_key_once(admin_client, client, dept_a):
    response = admin_client.post("/admin/diversion/open311client/add/", {
        "code": "stjcase", "name": "生态环境局案件系统", "kind": "department", "department": dept_a.pk,
        "active": "on"}, follow=True)
    stored = Open311Client.objects.get(code="stjcase")
    [message] = [str(m) for m in response.context["messages"] if stored.key_prefix in str(m)]
    key = next(word.strip("。.，,:：") for word in message.split() if word.startswith(stored.key_prefix))
    assert stored.key_hash != key and stored.key_prefix == key[:8]
    assert _json(client.get(f"{BASE}/requests.json", {"api_key": key})) == []
    detail = admin_client.get(f"/admin/diversion/open311client/{stored.pk}/change/").content.decode()
    assert key not in detail

    response = admin_client.post("/admin/diversion/open311client/add/", {
        "code": "bad", "name": "x", "kind": "partner", "department": dept_a.pk, "active": "on"})
    assert response.status_code == 200 and not Open311Client.objects.filter(code="bad").exists()

    admin_client.post("/admin/diversion/open311client/", {"action": "issue_key", "_selected_action": [stored.pk]})
    _error(client.get(f"{BASE}/requests.json", {"api_key": key}), 403)


def test_the_dispatcher_sees_which_partner_reported_the_call_and_as_what(client, keys, dispatcher):
    [created] = _json(_report(client, keys["cityapp"], partner_id="P-5", media_url="https://img.example.cn/5.jpg"),
                      201)
    call = Call.objects.get(call_id=created["service_request_id"])
    client.force_login(dispatcher)
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert "cityapp system" in page and "P-5" in page and category("C01").name_zh in page
    assert 'href="https://img.example.cn/5.jpg"' in page
    workbench = client.get("/dispatch/").content.decode()  # the waiting call, in the panel
    assert call.call_id in workbench and "P-5" in workbench


def test_a_page_of_a_thousand_reports_is_read_in_a_few_queries(client, keys, dispatcher, dept_a,
                                                                django_assert_max_num_queries):
    partner = Open311Client.objects.get(code="cityapp")
    for n in range(30):
        report, _created = open311_report_create(client=partner, service=category("C01"), data={
            "partner_request_id": f"Q-{n}", "description": f"第{n}条：路灯不亮", "lat": None, "lon": None,
            "address": f"秀峰区测试路{n}号"})
        if n % 2:
            call_services.call_divert(actor=dispatcher, call_pk=report.call_id, category=category("C01"),
                                      department=dept_a)
    with django_assert_max_num_queries(8):
        listed = _json(client.get(f"{BASE}/requests.json", {"api_key": keys["cityapp"]}))
    assert len(listed) == 30 and sum(r["agency_responsible"] is not None for r in listed) == 15


def test_too_many_requests_for_one_key_is_a_429_in_the_specifications_format(client, keys):
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    old = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "token": "3/min"}
    cache.clear()
    try:
        statuses = [client.get(f"{BASE}/requests.json", {"api_key": keys["stj"]}).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        throttled = client.get(f"{BASE}/requests.xml", {"api_key": keys["stj"]})
        _error(throttled, 429, "xml")
        assert throttled["Retry-After"]
        assert client.get(f"{BASE}/requests.json", {"api_key": keys["cgj"]}).status_code == 200  # its own
    finally:
        SimpleRateThrottle.THROTTLE_RATES = old


def test_names_and_messages_in_english_when_the_client_asks(client, keys):
    by_locale = _json(client.get(f"{BASE}/services.json", {"locale": "en"}))
    by_header = _json(client.get(f"{BASE}/services.json", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8"))
    noise = category("C01")
    assert {s["service_name"] for s in by_locale if s["service_code"] == "C01"} == {noise.name_en}
    assert by_header == by_locale
    assert {s["service_name"] for s in _json(client.get(f"{BASE}/services.json"))
            if s["service_code"] == "C01"} == {noise.name_zh}
    assert _error(client.get(f"{BASE}/requests.json", {"locale": "en"}), 403) == "Give your api_key."


def test_a_body_too_large_is_a_400_that_says_so_in_the_specifications_format(client, keys, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    description = _error(_report(client, keys["cityapp"], description="长" * 20_000), 400)
    assert "10000" in description
    assert Call.objects.count() == 0


@pytest.mark.parametrize("body, status", [("[1, 2]", 403), ("{not json", 400)])
def test_a_json_body_that_is_not_an_object_is_refused_in_the_specifications_format(client, keys, body, status):
    _error(client.post(f"{BASE}/requests.json", data=body, content_type="application/json"), status)
    _error(client.post(f"{BASE}/requests.json?api_key={keys['cityapp']}", data="[1, 2]",
                       content_type="application/json"), 400)
    assert Call.objects.count() == 0


# --- mySociety's servicerequestupdates ------------------------------------------------------------------------

SPEC["request_update"] = {
    "fields": {"update_id": "str", "service_request_id": "str", "status": "str", "updated_datetime": "datetime",
               "description": "str", "media_url": "str"},
    "required": {"update_id", "service_request_id", "status", "updated_datetime"}}


def test_updates_tell_each_change_of_status_to_the_partner_and_to_the_department(client, keys, dispatcher,
                                                                                 staff_a, staff_b, dept_a, dept_b):
    [created] = _json(_report(client, keys["cityapp"], partner_id="U-1"), 201)
    call = Call.objects.get(call_id=created["service_request_id"])
    first = call_services.call_divert(actor=dispatcher, call_pk=call.pk, category=category("C01"), department=dept_b)
    slip_services.slip_return(actor=staff_b, slip_pk=first.pk, reason="噪声归生态环境局")
    second = call_services.call_divert(actor=dispatcher, call_pk=call.pk, category=category("C01"),
                                       department=dept_a)
    slip_services.slip_accept(actor=staff_a, slip_pk=second.pk)
    slip_services.slip_complete(actor=staff_a, slip_pk=second.pk, result="已约谈摊主，限期整改")

    partner = [_check("request_update", u) for u in _json(client.get(
        f"{BASE}/servicerequestupdates.json", {"api_key": keys["cityapp"]}))]
    assert [u["status"] for u in partner] == ["open", "open", "open", "in_progress", "fixed"]
    assert {u["service_request_id"] for u in partner} == {call.call_id}
    assert "噪声归生态环境局" not in json.dumps(partner, ensure_ascii=False)  # the return's reason is internal
    assert partner[-1]["description"] == "已约谈摊主，限期整改"
    assert dept_a.name_zh in partner[3]["description"]
    assert len({u["update_id"] for u in partner}) == 5

    department = [_check("request_update", u, xml=True) for u in _xml_items(_xml(client.get(
        f"{BASE}/servicerequestupdates.xml", {"api_key": keys["stj"]})), "service_request_updates", "request_update")]
    assert [(u["service_request_id"], u["status"]) for u in department] == [
        (second.serial, "open"), (second.serial, "in_progress"), (second.serial, "fixed")]
    returned = _json(client.get(f"{BASE}/servicerequestupdates.json", {"api_key": keys["cgj"]}))
    assert [(u["status"], u["description"]) for u in returned] == [
        ("open", _("Handed to %(department)s.") % {"department": dept_b.name_zh}),
        ("not_councils_responsibility", "噪声归生态环境局")]

    # The window is the time of the change.
    later = (timezone.now() + datetime.timedelta(minutes=1)).isoformat()
    assert _json(client.get(f"{BASE}/servicerequestupdates.json", {"api_key": keys["stj"], "start_date": later})) == []
    _error(client.get(f"{BASE}/servicerequestupdates.json", {"api_key": keys["stj"], "start_date": "x"}), 400)
    _error(client.get(f"{BASE}/servicerequestupdates.json"), 403)


def test_the_service_notice_counts_as_the_deadline_does(client, keys):
    """A class set to working days with no number of days counts in hours, for the deadline and the notice."""
    tlc = category("C01").time_limit_class
    tlc.unit, tlc.deadline_working_days = tlc.Unit.WORKING_DAYS, 5
    tlc.save()
    [noise] = [s for s in _json(client.get(f"{BASE}/services.json", {"locale": "en"})) if s["service_code"] == "C01"]
    assert noise["description"].endswith("within 5 working days")
    tlc.deadline_working_days = 0
    tlc.save()
    [noise] = [s for s in _json(client.get(f"{BASE}/services.json", {"locale": "en"})) if s["service_code"] == "C01"]
    assert noise["description"].endswith(f"within {tlc.deadline_hours} hours")
    description = _error(_report(client, keys["cityapp"], lat="", long="", address_id="A-77"), 400)
    assert "address_id" in description and Call.objects.count() == 0
