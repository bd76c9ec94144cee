"""The dispatcher's pages: manual intake, the workbench decision, the call page, phone reveal."""

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import AuditLog
from diversion.models import HandoffSlip
from incidents.models import Call, CallStatus
from tests.factories import category

pytestmark = pytest.mark.django_db


def _form(**overrides):
    data = {
        "call_id": "M20261123-ABC123",
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "caller_phone": "138 0773 1234",
        "content": "小区里有人半夜烧烤，油烟很大",
        "channel": "phone",
        "address": "秀峰区翠竹路3号",
    }
    data.update(overrides)
    return data


def test_a_call_typed_by_hand_is_registered_once_even_if_submitted_twice(client, dispatcher):
    client.force_login(dispatcher)
    first = client.post(reverse("call-new"), _form())
    second = client.post(reverse("call-new"), _form())
    assert first.status_code == second.status_code == 302
    assert Call.objects.filter(call_id="M20261123-ABC123").count() == 1
    call = Call.objects.get()
    assert call.caller_phone == "13807731234"
    assert call.suggested_category.code == "C05"


@pytest.mark.parametrize("bad", [
    {"content": "   "},
    {"content": "噪" * 2001},
    {"caller_phone": "12"},
    {"lat": "25.28"},
    {"received_at": "not a time"},
])
def test_bad_input_in_the_call_form_is_a_form_error_and_writes_nothing(client, dispatcher, bad):
    client.force_login(dispatcher)
    response = client.post(reverse("call-new"), _form(**bad))
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Call.objects.exists() and not AuditLog.objects.exists()


def test_the_call_form_is_in_the_order_a_dispatcher_types_with_the_time_prefilled(client, dispatcher):
    import re

    client.force_login(dispatcher)
    page = client.get(reverse("call-new")).content.decode()
    order = [name for name in re.findall(r'<(?:input|textarea|select)[^>]*name="(\w+)"', page)
             if name not in ("csrfmiddlewaretoken", "call_id", "next", "language")]
    assert order[:5] == ["caller_phone", "caller_name", "address", "content", "received_at"]
    assert re.search(r'<input[^>]*name="caller_phone"[^>]*autofocus', page)
    assert 'maxlength="2000"' in page and 'data-count-for="id_content"' in page and "/ 2000 字" in page
    assert re.search(r'name="received_at" value="\d{4}-\d\d-\d\dT\d\d:\d\d"', page)  # now, prefilled


def test_too_long_a_content_says_the_limit(client, dispatcher):
    client.force_login(dispatcher)
    response = client.post(reverse("call-new"), _form(content="噪" * 2500))
    assert "2000" in str(response.context["form"].errors["content"]) and "2500" in response.content.decode()


def test_the_workbench_shows_the_queue_newest_first(client, dispatcher, make_call):
    older = make_call(received_at=timezone.now() - timezone.timedelta(hours=2))
    newer = make_call(received_at=timezone.now() - timezone.timedelta(minutes=1))
    client.force_login(dispatcher)
    response = client.get(reverse("dispatch-workbench"))
    assert [c.pk for c in response.context["queue"]] == [newer.pk, older.pk]
    assert response.context["call"].pk == newer.pk


def test_confirming_a_suggestion_diverts_the_call_on_a_slip(client, dispatcher, make_call):
    call = make_call(content="楼下酒吧低音炮太吵了")
    client.force_login(dispatcher)
    response = client.post(reverse("call-classify", args=[call.pk]),
                           {"decision": "category", "category": "C01", "version": 0})
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.status == CallStatus.DIVERTED and call.category.code == "C01"
    assert HandoffSlip.objects.get(call=call).department.code == "STJ"


def test_a_police_call_is_diverted_only_with_an_override_reason(client, dispatcher, make_call):
    call = make_call(content="两人在楼道里打架，一人受伤")
    client.force_login(dispatcher)
    client.post(reverse("call-classify", args=[call.pk]), {"decision": "category", "category": "A01", "version": 0})
    call.refresh_from_db()
    assert call.status == CallStatus.NEW and not HandoffSlip.objects.exists()
    client.post(reverse("call-classify", args=[call.pk]),
                {"decision": "category", "category": "A01", "override_reason": "民警已到场处置，转调解", "version": 0})
    call.refresh_from_db()
    assert call.status == CallStatus.DIVERTED
    assert call.audit_rows.get(action="call_classify").reason == "民警已到场处置，转调解"


def test_a_police_decision_sends_a_unit(client, dispatcher, make_call, unit):
    call = make_call(content="有人持刀在街上追砍")
    client.force_login(dispatcher)
    client.post(reverse("call-classify", args=[call.pk]),
                {"decision": "police", "unit": unit.pk, "note": "速到", "version": 0})
    call.refresh_from_db()
    assert call.status == CallStatus.ASSIGNED and call.is_police
    assert call.assignments.get().unit == unit


def test_department_staff_cannot_use_the_workbench(client, staff_a, make_call):
    call = make_call()
    client.force_login(staff_a)
    assert client.get(reverse("dispatch-workbench")).status_code == 403
    assert client.post(reverse("call-classify", args=[call.pk]),
                       {"decision": "category", "category": "C01"}).status_code == 403


def test_the_call_page_shows_the_masked_phone_and_a_revealed_number_is_audited(client, supervisor, make_call):
    call = make_call(caller_phone="13812345678")
    client.force_login(supervisor)
    page = client.get(reverse("call-page", args=[call.pk])).content.decode()
    assert "138****5678" in page and "13812345678" not in page
    refused = client.post(reverse("call-reveal-phone", args=[call.pk]), {"reason": "  "}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and "13812345678" not in refused.content.decode()
    assert 'role="alert"' in refused.content.decode()
    assert not AuditLog.objects.filter(action="phone_revealed").exists()
    response = client.post(reverse("call-reveal-phone", args=[call.pk]), {"reason": "回访来电人"})
    assert "13812345678" in response.content.decode()
    row = AuditLog.objects.get(action="phone_revealed", object_id=call.pk, actor=supervisor)
    assert row.reason == "回访来电人"


def test_a_department_reaches_only_calls_it_holds_a_slip_for(client, staff_b, make_slip):
    slip = make_slip()
    client.force_login(staff_b)
    assert client.get(reverse("call-page", args=[slip.call_id])).status_code == 404
    assert client.post(reverse("call-reveal-phone", args=[slip.call_id])).status_code == 404


# --- The queue as the screen shows it (issue 42) ------------------------------------------------------------

@pytest.fixture
def long_queue(make_call, monkeypatch):
    from incidents import views

    monkeypatch.setattr(views, "QUEUE_PAGE", 3)
    now = timezone.now()
    return [make_call(received_at=now - timezone.timedelta(minutes=i)) for i in range(8)]  # newest first


def test_the_queue_draws_a_screenful_and_the_rest_on_demand(client, dispatcher, long_queue):
    client.force_login(dispatcher)
    response = client.get(reverse("dispatch-workbench"))
    assert [c.pk for c in response.context["queue"]] == [c.pk for c in long_queue[:3]]
    assert response.context["queue_count"] == 8
    body = response.content.decode()
    assert body.count('data-panel-url="') == 3 and 'id="queue-more"' in body

    seen = [c.pk for c in response.context["queue"]]
    after = response.context["queue_after"]
    while after:
        more = client.get(reverse("dispatch-queue"), {"after": after})
        assert 'id="queue-list"' not in more.content.decode()  # the rows only, appended where the link was
        seen += [c.pk for c in more.context["queue"]]
        after = more.context["queue_after"]
    assert seen == [c.pk for c in long_queue]
    assert 'id="queue-more"' not in more.content.decode()


def test_the_queue_reaches_down_to_the_call_on_screen(client, dispatcher, long_queue):
    client.force_login(dispatcher)
    far = long_queue[5]
    response = client.get(reverse("dispatch-workbench"), {"call": far.pk})
    assert response.context["call"].pk == far.pk
    assert [c.pk for c in response.context["queue"]] == [c.pk for c in long_queue[:6]]
    rest = client.get(reverse("dispatch-queue"), {"after": response.context["queue_after"]})
    assert [c.pk for c in rest.context["queue"]] == [c.pk for c in long_queue[6:]]

    refreshed = client.get(reverse("dispatch-queue"), {"selected": far.pk})
    assert far.pk in [c.pk for c in refreshed.context["queue"]]
    assert 'data-gone="1"' not in refreshed.content.decode()


def test_the_queue_says_when_the_call_on_screen_no_longer_waits(client, dispatcher, long_queue):
    from incidents import services

    client.force_login(dispatcher)
    far = long_queue[6]
    services.call_divert(actor=dispatcher, call_pk=far.pk, category=category("C01"))
    refreshed = client.get(reverse("dispatch-queue"), {"selected": far.pk})
    assert refreshed.context["selected_gone"] and 'data-gone="1"' in refreshed.content.decode()
    assert [c.pk for c in refreshed.context["queue"]] == [c.pk for c in long_queue[:3]]


@pytest.mark.parametrize("number", ["0", "99999999999999999999999"])
def test_a_call_number_that_names_no_call_opens_the_queue_as_usual(client, dispatcher, long_queue, number):
    client.force_login(dispatcher)
    response = client.get(reverse("dispatch-workbench"), {"call": number})
    assert response.status_code == 200 and response.context["call"].pk == long_queue[0].pk
    refreshed = client.get(reverse("dispatch-queue"), {"selected": number})
    assert refreshed.status_code == 200 and len(refreshed.context["queue"]) == 3
