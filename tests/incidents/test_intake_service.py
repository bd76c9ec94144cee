from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from core.errors import Conflict
from core.models import AuditLog, Role
from diversion.services import slip_accept, slip_complete, slip_return
from incidents.models import Call, CallStatus
from incidents.selectors import repeats_flagged
from incidents.services import call_intake, call_reveal_phone, can_reveal_phone
from tests.factories import UserFactory, call_data

pytestmark = pytest.mark.django_db

NOISE = "楼下广场舞噪音扰民，音响开得很大"
OUTAGE = "家里突然停电了，整栋楼都没电"


# --- Idempotent intake -----------------------------------------------------------------------------------

def test_intake_stores_the_call_with_the_engines_suggestion(dispatcher):
    result = call_intake(actor=dispatcher, data=call_data(content=NOISE))

    call = result.call
    assert result.created is True
    assert call.status == CallStatus.NEW
    assert call.created_by == dispatcher
    assert call.suggested_category.code == "C01"
    assert call.suggested_police is False
    assert call.suggestions["candidates"][0]["code"] == "C01"
    assert call.is_police is None  # the dispatcher has not chosen yet
    rows = list(call.audit_rows.values_list("action", "to_state", "actor"))
    assert rows == [("call_intake", "new", dispatcher.pk)]


def test_intake_flags_a_police_matter(dispatcher):
    call = call_intake(actor=dispatcher, data=call_data(content="邻居吵架后动手打人，对方拿着菜刀")).call

    assert call.suggested_police is True
    assert {r["code"] for r in call.suggestions["police_reasons"]} >= {"weapon", "fighting"}
    assert call.audit_rows.get().data["suggested_police"] is True


def test_intake_is_idempotent_on_the_call_id(dispatcher):
    data = call_data(content=NOISE)

    first = call_intake(actor=dispatcher, data=data)
    again = call_intake(actor=dispatcher, data=dict(data))

    assert first.created is True
    assert again.created is False
    assert again.call.pk == first.call.pk
    assert Call.objects.filter(call_id=data["call_id"]).count() == 1
    assert AuditLog.objects.filter(action="call_intake").count() == 1


def test_the_same_call_again_with_other_non_identifying_fields_is_still_the_same_call(dispatcher):
    data = call_data(content=NOISE)
    first = call_intake(actor=dispatcher, data=data).call

    again = call_intake(actor=dispatcher, data={**data, "caller_name": "张先生"})

    assert again.created is False
    assert again.call.pk == first.pk
    assert Call.objects.get(pk=first.pk).caller_name == ""


@pytest.mark.parametrize(("field", "value"), [
    ("content", "另一件事：小区停水了"),
    ("caller_phone", "13912345678"),
    ("received_at", timezone.now() - timedelta(hours=3)),
])
def test_the_same_call_id_with_different_content_is_a_conflict(dispatcher, field, value):
    data = call_data(content=NOISE)
    call = call_intake(actor=dispatcher, data=data).call

    with pytest.raises(Conflict) as excinfo:
        call_intake(actor=dispatcher, data={**data, field: value})

    assert excinfo.value.code == "call_id_conflict"
    assert Call.objects.count() == 1
    stored = Call.objects.get(pk=call.pk)
    assert (stored.content, stored.caller_phone, stored.received_at) == (
        data["content"], data["caller_phone"], data["received_at"])
    assert AuditLog.objects.count() == 1


@pytest.mark.parametrize("actor_name", ["staff_a", "mediator", "outsider"])
def test_only_the_centre_takes_calls(request, actor_name):
    data = call_data(content=NOISE)

    with pytest.raises(PermissionDenied):
        call_intake(actor=request.getfixturevalue(actor_name), data=data)

    assert not Call.objects.exists()
    assert not AuditLog.objects.exists()


def test_a_supervisor_may_take_a_call(supervisor):
    call = call_intake(actor=supervisor, data=call_data()).call
    assert call.created_by == supervisor


# --- Repeat checks ---------------------------------------------------------------------------------------

def test_repeats_count_the_same_phone_within_24_hours_and_7_days(make_call):
    phone = "13877771234"
    now = timezone.now()
    recent = make_call(caller_phone=phone, received_at=now - timedelta(hours=3))
    this_week = make_call(caller_phone=phone, received_at=now - timedelta(days=3))
    make_call(caller_phone=phone, received_at=now - timedelta(days=10))  # too old
    make_call(caller_phone="13900001111", received_at=now - timedelta(hours=1))  # someone else

    call = make_call(caller_phone=phone, received_at=now)

    assert call.repeats["phone_24h"] == 1
    assert call.repeats["phone_7d"] == 2
    assert call.repeats["phone_calls"] == [recent.pk, this_week.pk]
    assert repeats_flagged(call.repeats) is True


def test_a_first_call_has_no_repeats(make_call):
    call = make_call(content=NOISE)

    assert call.repeats["phone_24h"] == call.repeats["phone_7d"] == 0
    assert call.repeats["same_place_type_2h"] == 0
    assert call.repeats["open_slips"] == []
    assert repeats_flagged(call.repeats) is False


def test_repeats_count_the_same_sub_category_at_the_same_address_within_2_hours(make_call):
    address = "秀峰区中山中路88号"
    now = timezone.now()
    earlier = make_call(address=address, content="又在跳广场舞，噪音很大",
                        received_at=now - timedelta(minutes=50))
    make_call(address=address, content="广场舞太吵了", received_at=now - timedelta(hours=3))  # too long ago
    make_call(address=address, content=OUTAGE, received_at=now - timedelta(minutes=30))  # other matter
    make_call(address="秀峰区中山中路90号", content="广场舞扰民", received_at=now - timedelta(minutes=20))

    call = make_call(address=address, content=NOISE, received_at=now)

    assert call.repeats["category"] == "C01"
    assert call.repeats["same_place_type_2h"] == 1
    assert call.repeats["place_calls"] == [earlier.pk]
    assert repeats_flagged(call.repeats) is True


def test_repeats_use_the_dispatchers_choice_over_the_suggestion(make_call, dispatcher, dept_a):
    from incidents.services import call_divert
    from tests.factories import category

    address = "秀峰区中山中路88号"
    now = timezone.now()
    # Suggested C01, but the dispatcher filed it as construction noise.
    earlier = make_call(address=address, content=NOISE, received_at=now - timedelta(minutes=30))
    call_divert(actor=dispatcher, call_pk=earlier.pk, category=category("C02"), department=dept_a)

    call = make_call(address=address, content=NOISE, received_at=now)

    assert call.repeats["same_place_type_2h"] == 0


def test_repeats_list_an_open_slip_for_the_same_phone(make_slip, make_call, staff_a):
    phone = "13866665555"
    open_slip = make_slip(caller_phone=phone, received_at=timezone.now() - timedelta(days=2))
    closed_slip = make_slip(caller_phone=phone, received_at=timezone.now() - timedelta(days=1))
    slip_return(actor=staff_a, slip_pk=closed_slip.pk, reason="不属于本局")

    call = make_call(caller_phone=phone)

    assert call.repeats["open_slips"] == [{"id": open_slip.pk, "serial": open_slip.serial}]
    assert repeats_flagged(call.repeats) is True


def test_a_completed_slip_still_counts_as_open_until_the_callback(make_slip, make_call, staff_a):
    phone = "13866665555"
    slip = make_slip(caller_phone=phone, received_at=timezone.now() - timedelta(days=2))
    slip_accept(actor=staff_a, slip_pk=slip.pk)
    slip_complete(actor=staff_a, slip_pk=slip.pk, result="已处理")

    call = make_call(caller_phone=phone)

    assert [s["serial"] for s in call.repeats["open_slips"]] == [slip.serial]


# --- Revealing the caller's number ---------------------------------------------------------------------

def test_the_dispatcher_handling_the_call_may_see_the_number(make_call, make_slip, dispatcher):
    assert can_reveal_phone(dispatcher, make_call()) is True  # not yet classified: any dispatcher
    assert can_reveal_phone(dispatcher, make_slip().call) is True  # classified by this dispatcher


def test_another_dispatcher_may_not_see_the_number_of_a_call_someone_else_classified(make_slip):
    other = UserFactory(username="dispatcher2", role=Role.DISPATCHER)
    assert can_reveal_phone(other, make_slip().call) is False


def test_the_department_holding_the_slip_may_see_the_number(make_slip, staff_a, staff_b):
    call = make_slip().call
    assert can_reveal_phone(staff_a, call) is True
    assert can_reveal_phone(staff_b, call) is False


def test_a_department_that_returned_the_slip_may_no_longer_see_the_number(make_slip, staff_a):
    slip = make_slip()
    slip_return(actor=staff_a, slip_pk=slip.pk, reason="不属于本局")

    assert can_reveal_phone(staff_a, slip.call) is False


def test_supervisor_may_see_and_outsider_may_not(make_slip, supervisor, outsider):
    call = make_slip().call
    assert can_reveal_phone(supervisor, call) is True
    assert can_reveal_phone(outsider, call) is False


def test_an_inactive_user_may_not_see_the_number(make_slip, supervisor):
    call = make_slip().call
    supervisor.is_active = False
    assert can_reveal_phone(supervisor, call) is False


@pytest.mark.parametrize("actor_name", ["dispatcher", "staff_a", "supervisor"])
def test_revealing_the_number_is_audited(make_slip, request, actor_name):
    actor = request.getfixturevalue(actor_name)
    call = make_slip(caller_phone="13812345678").call

    assert call_reveal_phone(actor=actor, call=call, reason="回访") == "13812345678"

    row = call.audit_rows.get(action="phone_revealed")
    assert row.actor == actor
    assert (row.object_type, row.object_id) == ("call", call.pk)


@pytest.mark.parametrize("actor_name", ["staff_b", "outsider", "mediator"])
def test_others_are_refused_the_number_and_nothing_is_audited(make_slip, request, actor_name):
    call = make_slip().call
    rows = AuditLog.objects.count()

    with pytest.raises(PermissionDenied):
        call_reveal_phone(actor=request.getfixturevalue(actor_name), call=call, reason="回访")

    assert AuditLog.objects.count() == rows
    assert not call.audit_rows.filter(action="phone_revealed").exists()


def test_the_call_shows_a_masked_number(make_call):
    assert make_call(caller_phone="13812345678").masked_phone == "138****5678"
