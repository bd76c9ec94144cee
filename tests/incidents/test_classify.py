"""A decision names the call and the version its page showed (issue 31): the same decision sent twice is a
no-op that says so, a decision on a call that changed meanwhile is refused, and neither ever acts on another
call; the same over POST /api/v1/calls/{id}/classify/ with 409 when stale. The call's page tells an accepted
suggestion from an override."""

import pytest
import yaml
from django.urls import reverse
from rest_framework.test import APIClient

from core.errors import Conflict
from core.models import AuditLog, Role
from diversion.models import HandoffSlip
from diversion.services import slip_return
from incidents import services
from incidents.models import Call, CallStatus, PoliceAssignment
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOISE = "楼下酒吧低音炮太吵了"  # the rules divert it: C01
FIGHT = "两人在楼道里打架，一人受伤"  # the rules keep it with the police


@pytest.fixture
def second_dispatcher(db):
    return UserFactory(username="dispatcher2", role=Role.DISPATCHER, first_name="二号接警员")


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _divert(client, call, version, **extra):
    return client.post(reverse("call-classify", args=[call.pk]),
                       {"decision": "category", "category": "C01", "version": version, **extra}, follow=True)


def test_the_same_decision_sent_twice_issues_one_slip_and_says_already_classified(client, dispatcher, make_call):
    call = make_call(content=NOISE)
    other = make_call(content="隔壁装修电钻声太吵")
    client.force_login(dispatcher)
    first = _divert(client, call, 0)
    second = _divert(client, call, 0)
    assert HandoffSlip.objects.filter(call=call).count() == 1
    assert not HandoffSlip.objects.filter(call=other).exists()
    assert Call.objects.get(pk=other.pk).status == CallStatus.NEW and Call.objects.get(pk=other.pk).version == 0
    assert any("已交办" in m for m in _messages(first))
    assert any("已分类" in m for m in _messages(second))
    assert AuditLog.objects.filter(call=call, action="call_classify").count() == 1


def test_a_decision_on_a_call_another_dispatcher_decided_is_refused_with_who_and_what(
        client, dispatcher, second_dispatcher, make_call, unit):
    call = make_call(content=NOISE)
    services.call_classify(actor=second_dispatcher, call_pk=call.pk, version=0, police=True, unit=unit)
    client.force_login(dispatcher)
    response = _divert(client, call, 0)
    text = " ".join(_messages(response))
    assert "已变化" in text and "二号接警员" in text and "未做任何操作" in text
    call.refresh_from_db()
    assert call.status == CallStatus.ASSIGNED and call.classified_by == second_dispatcher
    assert not HandoffSlip.objects.exists()


def test_a_call_returned_since_the_page_was_drawn_is_not_decided_on_the_old_page(dispatcher, staff_a, make_call):
    call = make_call(content=NOISE)
    slip = services.call_divert(actor=dispatcher, call_pk=call.pk, category=call.suggested_category, version=0)
    slip_return(actor=staff_a, slip_pk=slip.pk, reason="不属于本部门")
    call.refresh_from_db()
    assert call.status == CallStatus.RETURNED and call.version == 2
    with pytest.raises(Conflict) as refused:  # the page that showed version 0 (a different dispatcher's retry)
        services.call_classify(actor=UserFactory(role=Role.DISPATCHER), call_pk=call.pk, version=0, police=False,
                               category=call.suggested_category)
    assert refused.value.code == "stale"
    assert call.get_status_display() in str(refused.value.message)  # what it is now, and who moved it there
    assert (staff_a.get_full_name() or staff_a.username) in str(refused.value.message)
    # The dispatcher who sent version 0 retrying it gets the first decision back, and nothing new is done.
    again = services.call_classify(actor=dispatcher, call_pk=call.pk, version=0, police=False,
                                   category=call.suggested_category)
    assert again.repeated and again.slip == slip and again.assignment is None
    assert HandoffSlip.objects.filter(call=call).count() == 1
    fresh = services.call_classify(actor=dispatcher, call_pk=call.pk, version=2, police=False,
                                   category=call.suggested_category, instructions="请重新核实")
    assert not fresh.repeated and fresh.call.version == 3 and HandoffSlip.objects.filter(call=call).count() == 2


def test_a_decision_without_the_version_changes_nothing(client, dispatcher, make_call):
    call = make_call(content=NOISE)
    client.force_login(dispatcher)
    response = client.post(reverse("call-classify", args=[call.pk]), {"decision": "category", "category": "C01"},
                           follow=True)
    assert any("页面已过期" in m for m in _messages(response))
    assert Call.objects.get(pk=call.pk).status == CallStatus.NEW and not HandoffSlip.objects.exists()


def test_the_audit_row_keeps_what_the_page_offered_and_the_outcome(dispatcher, make_call, unit):
    accepted = make_call(content=NOISE)
    overridden = make_call(content=FIGHT)
    own = make_call(content="有个事情想问一下，电话里说不清楚")
    assert own.suggested_decision == "undecided"
    services.call_classify(actor=dispatcher, call_pk=accepted.pk, version=0, police=False,
                           category=accepted.suggested_category)
    services.call_classify(actor=dispatcher, call_pk=overridden.pk, version=0, police=False,
                           category=accepted.suggested_category, override_reason="民警已到场，转调解")
    services.call_classify(actor=dispatcher, call_pk=own.pk, version=0, police=True, unit=unit)
    rows = {r.call_id: r.data for r in AuditLog.objects.filter(action="call_classify")}
    assert rows[accepted.pk]["outcome"] == "accepted" and rows[accepted.pk]["suggested_decision"] == "non_police"
    assert rows[overridden.pk]["outcome"] == "overridden" and rows[overridden.pk]["suggested_decision"] == "police"
    assert rows[own.pk]["outcome"] == "own" and rows[own.pk]["version"] == 0


def test_the_call_page_shows_what_was_offered_and_whether_it_was_overridden(client, dispatcher, supervisor,
                                                                            make_call):
    call = make_call(content=FIGHT)
    services.call_classify(actor=dispatcher, call_pk=call.pk, version=0, police=False,
                           category=make_call(content=NOISE).suggested_category, override_reason="民警已到场，转调解")
    client.force_login(supervisor)
    page = client.get(reverse("call-page", args=[call.pk])).content.decode()
    assert 'data-outcome="overridden"' in page and "改判" in page
    assert "页面建议" in page and "留公安处置" in page and "C01" in page and "民警已到场，转调解" in page


# --- the API ---------------------------------------------------------------------------------------------


@pytest.fixture
def api():
    def client_for(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return client_for


def _url(call):
    return f"/api/v1/calls/{call.pk}/classify/"


def test_the_api_decides_a_call_once_and_a_retry_is_harmless(api, dispatcher, make_call):
    call = make_call(content=NOISE)
    client = api(dispatcher)
    version = client.get(f"/api/v1/calls/{call.pk}/").json()["version"]
    body = {"version": version, "decision": "non_police", "category": "C01"}
    first = client.post(_url(call), body, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["already_classified"] is False and first.json()["call"]["status"] == "diverted"
    assert first.json()["call"]["version"] == version + 1
    retry = client.post(_url(call), body, format="json")
    assert retry.status_code == 200 and retry.json()["already_classified"] is True
    assert retry.json()["slip"]["serial"] == first.json()["slip"]["serial"]
    assert HandoffSlip.objects.filter(call=call).count() == 1


def test_the_api_refuses_a_stale_version_with_409(api, dispatcher, second_dispatcher, make_call, unit):
    call = make_call(content=NOISE)
    api(second_dispatcher).post(_url(call), {"version": 0, "decision": "police", "unit": unit.pk}, format="json")
    before = (AuditLog.objects.count(), HandoffSlip.objects.count(), PoliceAssignment.objects.count())
    response = api(dispatcher).post(_url(call), {"version": 0, "decision": "non_police", "category": "C01"},
                                    format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "stale" and "已变化" in response.json()["detail"]
    assert (AuditLog.objects.count(), HandoffSlip.objects.count(), PoliceAssignment.objects.count()) == before


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"decision": "non_police", "category": "C01"}, 400, "version"),
    ({"version": 0, "decision": "non_police"}, 400, "category"),
    ({"version": 0, "decision": "police"}, 400, "unit"),
    ({"version": 0, "decision": "maybe"}, 400, "decision"),
    ({"version": -1, "decision": "non_police", "category": "C01"}, 400, "version"),
    ({"version": 0, "decision": "non_police", "category": "NOPE"}, 400, "category"),
])
def test_the_api_refuses_bad_input_and_writes_nothing(api, dispatcher, make_call, body, status, field):
    call = make_call(content=NOISE)
    response = api(dispatcher).post(_url(call), body, format="json")
    assert response.status_code == status and field in response.json()
    assert Call.objects.get(pk=call.pk).status == CallStatus.NEW


def test_the_api_diverts_a_police_call_only_with_a_reason(api, dispatcher, make_call):
    call = make_call(content=FIGHT)
    response = api(dispatcher).post(_url(call), {"version": 0, "decision": "non_police", "category": "C01"},
                                    format="json")
    assert response.status_code == 400 and response.json()["code"] == "police_override_reason_required"
    assert Call.objects.get(pk=call.pk).status == CallStatus.NEW


def test_department_staff_cannot_classify_over_the_api(api, staff_a, make_call):
    call = make_call(content=NOISE)
    response = api(staff_a).post(_url(call), {"version": 0, "decision": "non_police", "category": "C01"},
                                 format="json")
    assert response.status_code == 403 and Call.objects.get(pk=call.pk).status == CallStatus.NEW


def test_the_schema_documents_the_classify_endpoint_and_its_409(api, dispatcher):
    schema = yaml.safe_load(api(dispatcher).get("/api/v1/schema/").content)
    operation = schema["paths"]["/api/v1/calls/{id}/classify/"]["post"]
    assert {"200", "400", "409"} <= set(operation["responses"])
    request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "version" in schema["components"]["schemas"][request]["required"]
