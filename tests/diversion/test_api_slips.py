"""/api/v1/slips/: department staff see and act on their own department's slips only; the centre
records callbacks."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.models import AuditLog
from diversion.models import Callback, HandoffSlip, SlipStatus
from incidents.models import CallStatus

LIST = "/api/v1/slips/"


def url(slip, action=""):
    return f"/api/v1/slips/{slip.pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def api():
    def client_for(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


@pytest.fixture
def slip_a(make_slip):
    return make_slip()


@pytest.fixture
def slip_b(make_slip, dept_b):
    return make_slip(code="B04", department=dept_b, content="门口有流动摊贩占道经营")


def fresh(slip):
    return HandoffSlip.objects.get(pk=slip.pk)


def test_the_url_names_are_stable():
    assert reverse("api-slip-list") == LIST
    assert reverse("api-slip-detail", kwargs={"pk": 3}) == "/api/v1/slips/3/"
    for name in ("accept", "return", "complete", "callbacks"):
        assert reverse(f"api-slip-{name}", kwargs={"pk": 3}) == f"/api/v1/slips/3/{name}/"


# --- Reading -----------------------------------------------------------------------------------------

def test_department_staff_list_only_their_own_slips(api, staff_a, slip_a, slip_b):
    response = api(staff_a).get(LIST)

    assert response.status_code == 200
    assert [s["id"] for s in response.data["results"]] == [slip_a.pk]


def test_the_centre_lists_every_slip(api, dispatcher, slip_a, slip_b):
    response = api(dispatcher).get(LIST)

    assert {s["id"] for s in response.data["results"]} == {slip_a.pk, slip_b.pk}


def test_it_filters_the_list_by_status(api, staff_a, make_slip):
    issued, accepted = make_slip(), make_slip()
    api(staff_a).post(url(accepted, "accept"), {}, format="json")

    response = api(staff_a).get(LIST, {"status": "accepted"})

    assert [s["id"] for s in response.data["results"]] == [accepted.pk]
    assert issued.pk not in {s["id"] for s in response.data["results"]}


def test_it_rejects_an_unknown_status_filter(api, staff_a, slip_a):
    assert api(staff_a).get(LIST, {"status": "lost"}).status_code == 400


def test_the_list_is_paginated_by_position_newest_first(api, dispatcher, make_slip, monkeypatch):
    from diversion.api import SlipPagination

    slips = [make_slip() for _ in range(5)]
    # Two issued in the same instant: the id orders them, and no page boundary loses or repeats one.
    HandoffSlip.objects.filter(pk__in=[slips[1].pk, slips[2].pk]).update(issued_at=slips[1].issued_at)
    monkeypatch.setattr(SlipPagination, "page_size", 2)
    client, seen, url = api(dispatcher), [], LIST
    while url:
        response = client.get(url)
        assert set(response.data) == {"next", "previous", "results"}  # no count: it would scan every row
        seen += [s["id"] for s in response.data["results"]]
        url = response.data["next"]
    expected = list(HandoffSlip.objects.order_by("-issued_at", "-id").values_list("pk", flat=True))
    assert seen == expected and len(seen) == 5


def test_a_cursor_that_is_not_a_position_is_refused_saying_so(api, dispatcher, slip_a):
    response = api(dispatcher).get(LIST, {"cursor": "not-a-cursor"})

    assert response.status_code == 400
    assert "cursor" in response.data


def test_the_list_does_not_query_per_slip(api, dispatcher, staff_a, make_slip):
    def queries_for_list():
        with CaptureQueriesContext(connection) as ctx:
            assert api(staff_a).get(LIST).status_code == 200
        return len(ctx.captured_queries)

    slip = make_slip()
    api(staff_a).post(url(slip, "accept"), {}, format="json")
    api(staff_a).post(url(slip, "complete"), {"result": "已处理"}, format="json")
    api(dispatcher).post(url(slip, "callbacks"), {"channel": "phone", "reached": False}, format="json")
    few = queries_for_list()
    for _ in range(4):
        make_slip()

    assert queries_for_list() == few


def test_a_slip_shows_what_the_department_needs_and_masks_the_phone(api, staff_a, slip_a):
    response = api(staff_a).get(url(slip_a))

    assert response.status_code == 200
    data = response.data
    assert data["serial"] == slip_a.serial
    assert data["status"] == "issued"
    assert data["call"]["call_id"] == slip_a.call.call_id
    assert data["call"]["content"] == slip_a.call.content
    assert data["call"]["caller_phone_masked"] == slip_a.call.masked_phone
    assert slip_a.call.caller_phone not in response.content.decode()
    assert data["category"]["code"] == "C01"
    assert data["department"]["code"] == "STJ"
    assert data["accepted_by"] is None
    assert data["callbacks"] == []


def test_an_unknown_slip_is_404(api, staff_a, db):
    assert api(staff_a).get("/api/v1/slips/999999/").status_code == 404


# --- Scope: another department's slip does not exist for you -------------------------------------------

@pytest.mark.parametrize(("method", "action", "body"), [
    ("get", "", None),
    ("post", "accept", {}),
    ("post", "return", {"reason": "不归我们管"}),
    ("post", "complete", {"result": "已处理"}),
])
def test_department_b_gets_404_on_department_a_slip(api, staff_b, slip_a, method, action, body):
    audit_before = AuditLog.objects.count()

    response = getattr(api(staff_b), method)(url(slip_a, action), body, format="json")

    assert response.status_code == 404
    assert fresh(slip_a).status == SlipStatus.ISSUED
    assert AuditLog.objects.count() == audit_before


def test_the_404_does_not_name_the_model(api, staff_b, slip_a):
    response = api(staff_b).get(url(slip_a))

    assert "HandoffSlip" not in response.content.decode()


# --- Accept ---------------------------------------------------------------------------------------------

def test_department_staff_accept_their_slip(api, staff_a, slip_a):
    response = api(staff_a).post(url(slip_a, "accept"), {"handler_name": "李工"}, format="json")

    assert response.status_code == 200
    assert response.data["status"] == "accepted"
    assert response.data["accepted_by"] == "staff_a"
    assert response.data["handler_name"] == "李工"
    assert response.data["accepted_at"] is not None
    assert fresh(slip_a).status == SlipStatus.ACCEPTED


def test_a_second_accept_is_a_conflict(api, staff_a, slip_a):
    client = api(staff_a)
    client.post(url(slip_a, "accept"), {}, format="json")

    response = client.post(url(slip_a, "accept"), {}, format="json")

    assert response.status_code == 409
    assert response.data["code"] == "transition_not_allowed"


def test_a_dispatcher_cannot_accept_for_a_department(api, dispatcher, slip_a):
    response = api(dispatcher).post(url(slip_a, "accept"), {}, format="json")

    assert response.status_code == 403
    assert fresh(slip_a).status == SlipStatus.ISSUED


# --- Return ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_return_requires_a_reason(api, staff_a, slip_a, body):
    response = api(staff_a).post(url(slip_a, "return"), body, format="json")

    assert response.status_code == 400
    assert "reason" in response.data
    assert fresh(slip_a).status == SlipStatus.ISSUED


def test_department_staff_return_a_slip_and_the_call_goes_back_to_the_queue(api, staff_a, slip_a):
    body = {"reason": "属于城管职责", "suggested_department": "CGJ"}

    response = api(staff_a).post(url(slip_a, "return"), body, format="json")

    assert response.status_code == 200, response.data
    assert response.data["status"] == "returned"
    assert response.data["return_reason"] == "属于城管职责"
    assert response.data["suggested_department"] == "CGJ"
    assert fresh(slip_a).call.status == CallStatus.RETURNED


def test_return_refuses_an_unknown_suggested_department(api, staff_a, slip_a):
    body = {"reason": "不归我们", "suggested_department": "NOPE"}

    response = api(staff_a).post(url(slip_a, "return"), body, format="json")

    assert response.status_code == 400
    assert "suggested_department" in response.data
    assert fresh(slip_a).status == SlipStatus.ISSUED


def test_return_refuses_suggesting_your_own_department(api, staff_a, slip_a):
    body = {"reason": "不归我们", "suggested_department": "STJ"}

    response = api(staff_a).post(url(slip_a, "return"), body, format="json")

    assert response.status_code == 400
    assert response.data["code"] == "same_department"


# --- Complete and callback ------------------------------------------------------------------------------

def test_complete_requires_a_result(api, staff_a, slip_a):
    api(staff_a).post(url(slip_a, "accept"), {}, format="json")

    response = api(staff_a).post(url(slip_a, "complete"), {"result": ""}, format="json")

    assert response.status_code == 400
    assert "result" in response.data


def test_an_issued_slip_cannot_be_completed_before_it_is_accepted(api, staff_a, slip_a):
    response = api(staff_a).post(url(slip_a, "complete"), {"result": "已处理"}, format="json")

    assert response.status_code == 409


def test_a_completed_slip_closes_after_a_satisfied_callback(api, staff_a, dispatcher, slip_a):
    department, centre = api(staff_a), api(dispatcher)
    assert department.post(url(slip_a, "accept"), {}, format="json").status_code == 200
    completed = department.post(url(slip_a, "complete"), {"result": "已责令KTV降低音量",
                                                          "handler_name": "张三"}, format="json")
    assert completed.status_code == 200
    assert completed.data["status"] == "completed"
    assert completed.data["handler_name"] == "张三"

    response = centre.post(url(slip_a, "callbacks"), {"channel": "phone", "reached": True, "resolved": "yes",
                                                       "satisfaction": 5, "comment": "满意"}, format="json")

    assert response.status_code == 201, response.data
    assert response.data["slip_status"] == "closed"
    assert response.data["recorded_by"] == "dispatcher"
    slip = fresh(slip_a)
    assert slip.status == SlipStatus.CLOSED
    assert slip.call.status == CallStatus.CLOSED
    shown = centre.get(url(slip_a)).data
    assert shown["closed_at"] is not None
    assert [c["id"] for c in shown["callbacks"]] == [response.data["id"]]


def test_an_unsatisfied_callback_reopens_the_slip(api, staff_a, supervisor, slip_a):
    api(staff_a).post(url(slip_a, "accept"), {}, format="json")
    api(staff_a).post(url(slip_a, "complete"), {"result": "已处理"}, format="json")

    response = api(supervisor).post(url(slip_a, "callbacks"), {"channel": "phone", "reached": True,
                                                                "resolved": "no", "satisfaction": 1},
                                    format="json")

    assert response.status_code == 201
    assert response.data["slip_status"] == "reopened"
    assert response.data["reopened_slip"] is True


def test_a_callback_before_completion_is_a_conflict(api, dispatcher, slip_a):
    response = api(dispatcher).post(url(slip_a, "callbacks"), {"channel": "phone", "reached": False},
                                    format="json")

    assert response.status_code == 409
    assert response.data["code"] == "no_callback_due"
    assert Callback.objects.count() == 0


@pytest.mark.parametrize(("body", "key"), [
    ({"reached": True, "resolved": "yes", "satisfaction": 5}, "channel"),
    ({"channel": "phone"}, "reached"),
    ({"channel": "phone", "reached": True, "resolved": "yes", "satisfaction": 6}, "satisfaction"),
    ({"channel": "phone", "reached": True, "resolved": "maybe", "satisfaction": 3}, "resolved"),
    ({"channel": "phone", "reached": True, "satisfaction": 3}, "code"),
])
def test_a_callback_with_bad_input_is_400(api, staff_a, dispatcher, slip_a, body, key):
    api(staff_a).post(url(slip_a, "accept"), {}, format="json")
    api(staff_a).post(url(slip_a, "complete"), {"result": "已处理"}, format="json")

    response = api(dispatcher).post(url(slip_a, "callbacks"), body, format="json")

    assert response.status_code == 400
    assert key in response.data
    assert Callback.objects.count() == 0


@pytest.mark.parametrize("who", ["staff_a", "staff_b"])
def test_a_department_user_cannot_post_a_callback(api, request, slip_a, who):
    staff_a = request.getfixturevalue("staff_a")
    api(staff_a).post(url(slip_a, "accept"), {}, format="json")
    api(staff_a).post(url(slip_a, "complete"), {"result": "已处理"}, format="json")

    response = api(request.getfixturevalue(who)).post(
        url(slip_a, "callbacks"), {"channel": "phone", "reached": True, "resolved": "yes", "satisfaction": 5},
        format="json")

    # Refused by role before the slip is looked up, so the answer is the same for any slip id.
    assert response.status_code == 403
    assert Callback.objects.count() == 0
    assert fresh(slip_a).status == SlipStatus.COMPLETED


# --- Who may use the slips API at all -------------------------------------------------------------------

def test_an_anonymous_client_must_authenticate(api, slip_a):
    assert api().get(LIST).status_code == 401


def test_an_outsider_is_forbidden(api, outsider, slip_a):
    assert api(outsider).get(LIST).status_code == 403
    assert api(outsider).get(url(slip_a)).status_code == 403


def test_department_staff_can_use_a_token(staff_a, slip_a, slip_b):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_a).key}")

    response = client.get(LIST)

    assert response.status_code == 200
    assert [s["id"] for s in response.data["results"]] == [slip_a.pk]
    assert client.post(url(slip_b, "accept"), {}, format="json").status_code == 404
    assert client.post(url(slip_a, "accept"), {}, format="json").status_code == 200
