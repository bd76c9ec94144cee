"""The whole life of a diverted call through the real services: divert → slip → accept → complete →
callback → closed, and every way off that path."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from core.errors import Conflict, DomainError, TransitionNotAllowed
from core.models import AuditLog
from diversion.models import Callback, HandoffSlip, SlipStatus
from diversion.services import callback_record, slip_accept, slip_complete, slip_return
from incidents import services as call_services
from incidents.models import CallStatus
from tests.factories import category

pytestmark = pytest.mark.django_db


def _timeline(call):
    return [(row.action, row.from_state, row.to_state) for row in call.audit_rows.all()]


def _fresh(obj):
    obj.refresh_from_db()
    return obj


def _satisfied(actor, slip):
    return callback_record(actor=actor, slip_pk=slip.pk, channel="phone", reached=True, resolved="yes",
                           satisfaction=5, comment="已经不吵了")


def _accept_and_complete(slip, staff):
    slip_accept(actor=staff, slip_pk=slip.pk, handler_name="王科员")
    return slip_complete(actor=staff, slip_pk=slip.pk, result="已上门约谈，噪音源已停止")


# --- The happy path --------------------------------------------------------------------------------------

def test_a_diverted_call_gets_a_slip_with_serial_and_deadline(make_call, dispatcher, dept_a):
    call = make_call()
    c01 = category("C01")

    slip = call_services.call_divert(actor=dispatcher, call_pk=call.pk, category=c01, department=dept_a,
                                     instructions="请尽快核实")

    year = timezone.localtime(slip.issued_at).year
    assert slip.serial == f"{year}-000001"
    assert slip.status == SlipStatus.ISSUED
    assert slip.department == dept_a
    assert slip.issued_by == dispatcher
    assert slip.instructions == "请尽快核实"
    assert c01.time_limit_class.deadline_hours == 168
    assert slip.deadline == slip.issued_at + timedelta(hours=168)
    call = _fresh(call)
    assert call.status == CallStatus.DIVERTED
    assert call.is_police is False
    assert call.category == c01
    assert call.classified_by == dispatcher


def test_the_deadline_follows_the_time_limit_class(make_slip):
    slip = make_slip("F01")  # 重大紧急类: 2 hours
    assert slip.deadline - slip.issued_at == timedelta(hours=2)


def test_a_slip_goes_to_the_categorys_default_department_when_none_is_chosen(make_call, dispatcher):
    call = make_call()
    slip = call_services.call_divert(actor=dispatcher, call_pk=call.pk, category=category("B01"))
    assert slip.department.code == "CGJ"


def test_the_whole_flow_closes_slip_and_call(make_slip, dispatcher, staff_a):
    slip = make_slip()
    call = slip.call

    slip = slip_accept(actor=staff_a, slip_pk=slip.pk, handler_name="王科员")
    assert slip.status == SlipStatus.ACCEPTED
    assert slip.accepted_by == staff_a
    assert slip.accepted_at is not None
    assert slip.handler_name == "王科员"

    slip = slip_complete(actor=staff_a, slip_pk=slip.pk, result="已上门约谈，噪音源已停止")
    assert slip.status == SlipStatus.COMPLETED
    assert slip.completed_by == staff_a
    assert slip.result == "已上门约谈，噪音源已停止"

    callback = _satisfied(dispatcher, slip)
    assert callback.reopened_slip is False
    assert callback.unsatisfied is False

    slip = _fresh(slip)
    assert slip.status == SlipStatus.CLOSED
    assert slip.close_reason == "satisfied"
    assert slip.closed_at is not None
    assert slip.is_open is False
    assert _fresh(call).status == CallStatus.CLOSED


def test_every_change_is_audited_in_order_with_actor_and_states(make_slip, dispatcher, staff_a):
    slip = make_slip()
    call = slip.call
    _accept_and_complete(slip, staff_a)
    _satisfied(dispatcher, slip)

    assert _timeline(call) == [
        ("call_intake", "", "new"),
        ("call_classify", "", ""),
        ("slip_status", "", "issued"),
        ("call_status", "new", "diverted"),
        ("slip_status", "issued", "accepted"),
        ("slip_status", "accepted", "completed"),
        ("callback", "", ""),
        ("slip_status", "completed", "closed"),
        ("call_status", "diverted", "closed"),
    ]
    actors = [row.actor for row in call.audit_rows.all()]
    assert actors == [dispatcher] * 4 + [staff_a] * 2 + [dispatcher] * 3
    slip_rows = call.audit_rows.filter(object_type="handoffslip")
    assert {row.object_id for row in slip_rows} == {slip.pk}
    assert slip_rows.get(to_state="issued").data["serial"] == slip.serial
    assert call.audit_rows.get(to_state="completed").reason == "已上门约谈，噪音源已停止"


# --- Callbacks that do not close -------------------------------------------------------------------------

@pytest.mark.parametrize(("resolved", "satisfaction"), [("no", 4), ("partly", 4), ("yes", 2), ("yes", 1)])
def test_an_unsatisfied_callback_reopens_the_slip(make_slip, dispatcher, staff_a, resolved, satisfaction):
    slip = make_slip()
    _accept_and_complete(slip, staff_a)

    callback = callback_record(actor=dispatcher, slip_pk=slip.pk, channel="phone", reached=True,
                               resolved=resolved, satisfaction=satisfaction, comment="还是很吵")

    assert callback.reopened_slip is True
    slip = _fresh(slip)
    assert slip.status == SlipStatus.REOPENED
    assert slip.reopen_count == 1
    assert slip.is_open is True
    assert _fresh(slip.call).status == CallStatus.DIVERTED  # it never closed
    assert _timeline(slip.call)[-2:] == [("callback", "", ""), ("slip_status", "completed", "reopened")]


def test_a_satisfaction_of_three_with_the_matter_resolved_closes(make_slip, dispatcher, staff_a):
    slip = make_slip()
    _accept_and_complete(slip, staff_a)

    callback_record(actor=dispatcher, slip_pk=slip.pk, channel="sms", reached=True, resolved="yes",
                    satisfaction=3)

    assert _fresh(slip).status == SlipStatus.CLOSED


def test_a_reopened_slip_can_be_accepted_and_completed_again(make_slip, dispatcher, staff_a):
    slip = make_slip()
    _accept_and_complete(slip, staff_a)
    callback_record(actor=dispatcher, slip_pk=slip.pk, channel="phone", reached=True, resolved="no",
                    satisfaction=1)

    slip = slip_accept(actor=staff_a, slip_pk=slip.pk)
    assert slip.status == SlipStatus.ACCEPTED
    slip_complete(actor=staff_a, slip_pk=slip.pk, result="再次上门，已加装隔音")
    _satisfied(dispatcher, slip)

    slip = _fresh(slip)
    assert slip.status == SlipStatus.CLOSED
    assert slip.reopen_count == 1
    assert _fresh(slip.call).status == CallStatus.CLOSED
    assert [(f, t) for a, f, t in _timeline(slip.call) if a == "slip_status"] == [
        ("", "issued"), ("issued", "accepted"), ("accepted", "completed"), ("completed", "reopened"),
        ("reopened", "accepted"), ("accepted", "completed"), ("completed", "closed"),
    ]


def test_an_unsatisfied_callback_after_closing_reopens_slip_and_call(make_slip, dispatcher, staff_a):
    slip = make_slip()
    _accept_and_complete(slip, staff_a)
    _satisfied(dispatcher, slip)
    assert _fresh(slip.call).status == CallStatus.CLOSED

    callback_record(actor=dispatcher, slip_pk=slip.pk, channel="phone", reached=True, resolved="partly",
                    satisfaction=2, comment="过了两天又开始吵")

    slip = _fresh(slip)
    assert slip.status == SlipStatus.REOPENED
    assert slip.reopen_count == 1
    assert slip.closed_at is None
    assert slip.close_reason == ""
    assert _fresh(slip.call).status == CallStatus.DIVERTED
    assert _timeline(slip.call)[-3:] == [
        ("callback", "", ""),
        ("slip_status", "closed", "reopened"),
        ("call_status", "closed", "diverted"),
    ]
    assert slip_accept(actor=staff_a, slip_pk=slip.pk).status == SlipStatus.ACCEPTED


def test_the_slip_closes_as_unreachable_after_the_last_failed_attempt(make_slip, dispatcher, staff_a,
                                                                      settings):
    settings.CALLBACK_MAX_ATTEMPTS = 3
    slip = make_slip()
    _accept_and_complete(slip, staff_a)

    for _ in range(settings.CALLBACK_MAX_ATTEMPTS - 1):
        callback_record(actor=dispatcher, slip_pk=slip.pk, channel="phone", reached=False)
        assert _fresh(slip).status == SlipStatus.COMPLETED

    callback_record(actor=dispatcher, slip_pk=slip.pk, channel="phone", reached=False)

    slip = _fresh(slip)
    assert slip.status == SlipStatus.CLOSED
    assert slip.close_reason == "unreachable"
    assert slip.callbacks.filter(reached=False).count() == 3
    assert _fresh(slip.call).status == CallStatus.CLOSED
    # A further unreached attempt is refused; reaching the caller later is still recorded.
    with pytest.raises(Conflict):
        callback_record(actor=dispatcher, slip_pk=slip.pk, channel="phone", reached=False)
    _satisfied(dispatcher, slip)
    assert _fresh(slip).status == SlipStatus.CLOSED


def test_the_attempt_limit_comes_from_settings(make_slip, dispatcher, staff_a, settings):
    settings.CALLBACK_MAX_ATTEMPTS = 1
    slip = make_slip()
    _accept_and_complete(slip, staff_a)

    callback_record(actor=dispatcher, slip_pk=slip.pk, channel="sms", reached=False)

    assert _fresh(slip).close_reason == "unreachable"


def test_an_unreached_callback_stores_no_rating(make_slip, dispatcher, staff_a):
    slip = make_slip()
    _accept_and_complete(slip, staff_a)

    callback = callback_record(actor=dispatcher, slip_pk=slip.pk, channel="phone", reached=False,
                               resolved="yes", satisfaction=5)

    assert (callback.resolved, callback.satisfaction) == ("", None)


@pytest.mark.parametrize(("channel", "resolved", "satisfaction", "code"), [
    ("fax", "yes", 5, "bad_channel"),
    ("phone", "", 5, "resolved_required"),
    ("phone", "yes", None, "bad_satisfaction"),
    ("phone", "yes", 6, "bad_satisfaction"),
    ("phone", "yes", 0, "bad_satisfaction"),
])
def test_a_callback_with_bad_data_is_refused(make_slip, dispatcher, staff_a, channel, resolved, satisfaction,
                                             code):
    slip = make_slip()
    _accept_and_complete(slip, staff_a)

    with pytest.raises(DomainError) as excinfo:
        callback_record(actor=dispatcher, slip_pk=slip.pk, channel=channel, reached=True, resolved=resolved,
                        satisfaction=satisfaction)

    assert excinfo.value.code == code
    assert not Callback.objects.exists()
    assert _fresh(slip).status == SlipStatus.COMPLETED


# --- Returns --------------------------------------------------------------------------------------------

def test_a_returned_slip_puts_the_call_back_in_the_queue(make_slip, dispatcher, staff_a, dept_b):
    slip = make_slip()

    slip = slip_return(actor=staff_a, slip_pk=slip.pk, reason="不属于我局职责，建议城管处理",
                       suggested_department=dept_b)

    assert slip.status == SlipStatus.RETURNED
    assert slip.returned_by == staff_a
    assert slip.return_reason == "不属于我局职责，建议城管处理"
    assert slip.suggested_department == dept_b
    call = _fresh(slip.call)
    assert call.status == CallStatus.RETURNED
    assert call.return_count == 1
    assert call.in_queue is True
    assert _timeline(call)[-2:] == [
        ("slip_status", "issued", "returned"),
        ("call_status", "diverted", "returned"),
    ]
    assert call.audit_rows.last().reason == "不属于我局职责，建议城管处理"


def test_an_accepted_slip_can_still_be_returned(make_slip, staff_a):
    slip = make_slip()
    slip_accept(actor=staff_a, slip_pk=slip.pk)

    slip = slip_return(actor=staff_a, slip_pk=slip.pk, reason="核实后不属于本局")
    assert slip.status == SlipStatus.RETURNED


def test_re_diverting_a_returned_call_issues_a_second_slip(make_slip, dispatcher, staff_a, staff_b, dept_b):
    first = make_slip()
    slip_return(actor=staff_a, slip_pk=first.pk, reason="属于城管职责", suggested_department=dept_b)

    second = call_services.call_divert(actor=dispatcher, call_pk=first.call_id, category=category("B05"),
                                       department=dept_b)

    assert second.pk != first.pk
    assert second.number == first.number + 1
    assert second.department == dept_b
    assert _fresh(first).status == SlipStatus.RETURNED
    call = _fresh(second.call)
    assert call.status == CallStatus.DIVERTED
    assert call.return_count == 1
    assert list(call.slips.order_by("number")) == [first, second]
    # The second department works it; the first one is out of it.
    assert slip_accept(actor=staff_b, slip_pk=second.pk).status == SlipStatus.ACCEPTED


def test_a_return_needs_a_reason(make_slip, staff_a):
    slip = make_slip()
    rows = AuditLog.objects.count()

    with pytest.raises(DomainError) as excinfo:
        slip_return(actor=staff_a, slip_pk=slip.pk, reason="   ")

    assert excinfo.value.code == "reason_required"
    assert _fresh(slip).status == SlipStatus.ISSUED
    assert AuditLog.objects.count() == rows


def test_a_return_cannot_suggest_the_same_department(make_slip, staff_a, dept_a):
    slip = make_slip()

    with pytest.raises(DomainError):
        slip_return(actor=staff_a, slip_pk=slip.pk, reason="不归我们", suggested_department=dept_a)

    assert _fresh(slip).status == SlipStatus.ISSUED


# --- Refused transitions change nothing ------------------------------------------------------------------

def _snapshot(slip):
    slip = HandoffSlip.objects.get(pk=slip.pk)
    call = slip.call
    return (slip.status, slip.accepted_by_id, slip.completed_at, slip.result, slip.returned_at,
            call.status, call.return_count,
            AuditLog.objects.count(), Callback.objects.count(), HandoffSlip.objects.count())


def test_it_refuses_to_complete_a_slip_not_yet_accepted(make_slip, staff_a):
    slip = make_slip()
    before = _snapshot(slip)

    with pytest.raises(TransitionNotAllowed) as excinfo:
        slip_complete(actor=staff_a, slip_pk=slip.pk, result="办完了")

    assert (excinfo.value.from_state, excinfo.value.to_state) == ("issued", "completed")
    assert _snapshot(slip) == before


def test_it_refuses_to_accept_a_returned_slip(make_slip, staff_a):
    slip = make_slip()
    slip_return(actor=staff_a, slip_pk=slip.pk, reason="不属于本局")
    before = _snapshot(slip)

    with pytest.raises(TransitionNotAllowed):
        slip_accept(actor=staff_a, slip_pk=slip.pk)

    assert _snapshot(slip) == before


def test_it_refuses_to_accept_a_slip_twice(make_slip, staff_a):
    slip = make_slip()
    slip_accept(actor=staff_a, slip_pk=slip.pk)
    before = _snapshot(slip)

    with pytest.raises(Conflict):
        slip_accept(actor=staff_a, slip_pk=slip.pk)

    assert _snapshot(slip) == before


def test_it_refuses_to_return_a_completed_slip(make_slip, staff_a):
    slip = make_slip()
    _accept_and_complete(slip, staff_a)
    before = _snapshot(slip)

    with pytest.raises(TransitionNotAllowed):
        slip_return(actor=staff_a, slip_pk=slip.pk, reason="想退回")

    assert _snapshot(slip) == before


@pytest.mark.parametrize("progress", ["issued", "accepted"])
def test_it_refuses_a_callback_before_completion(make_slip, dispatcher, staff_a, progress):
    slip = make_slip()
    if progress == "accepted":
        slip_accept(actor=staff_a, slip_pk=slip.pk)
    before = _snapshot(slip)

    with pytest.raises(Conflict) as excinfo:
        _satisfied(dispatcher, slip)

    assert excinfo.value.code == "no_callback_due"
    assert _snapshot(slip) == before


def test_it_refuses_to_divert_a_call_twice(make_slip, dispatcher, dept_b):
    slip = make_slip()
    before = _snapshot(slip)

    with pytest.raises(Conflict) as excinfo:
        call_services.call_divert(actor=dispatcher, call_pk=slip.call_id, category=category("B05"),
                                  department=dept_b)

    assert excinfo.value.code == "already_handled"
    assert _snapshot(slip) == before
    assert _fresh(slip.call).category.code == "C01"


def test_it_refuses_to_divert_to_an_inactive_department(make_call, dispatcher, dept_b):
    call = make_call()
    dept_b.active = False
    dept_b.save()

    with pytest.raises(DomainError) as excinfo:
        call_services.call_divert(actor=dispatcher, call_pk=call.pk, category=category("B05"),
                                  department=dept_b)

    assert excinfo.value.code == "inactive_department"
    call = _fresh(call)
    assert call.status == CallStatus.NEW
    assert call.category is None  # the classification rolled back with the slip
    assert not HandoffSlip.objects.exists()
    assert _timeline(call) == [("call_intake", "", "new")]


# --- Who may do what -------------------------------------------------------------------------------------

def test_another_department_cannot_accept_the_slip(make_slip, staff_b):
    slip = make_slip()
    before = _snapshot(slip)

    with pytest.raises(PermissionDenied):
        slip_accept(actor=staff_b, slip_pk=slip.pk)

    assert _snapshot(slip) == before


def test_another_department_cannot_return_the_slip(make_slip, staff_b):
    slip = make_slip()
    before = _snapshot(slip)

    with pytest.raises(PermissionDenied):
        slip_return(actor=staff_b, slip_pk=slip.pk, reason="退回")

    assert _snapshot(slip) == before


def test_another_department_cannot_complete_the_slip(make_slip, staff_a, staff_b):
    slip = make_slip()
    slip_accept(actor=staff_a, slip_pk=slip.pk)
    before = _snapshot(slip)

    with pytest.raises(PermissionDenied):
        slip_complete(actor=staff_b, slip_pk=slip.pk, result="办完了")

    assert _snapshot(slip) == before


@pytest.mark.parametrize("actor_name", ["dispatcher", "supervisor", "outsider"])
def test_only_department_staff_work_slips(make_slip, request, actor_name):
    actor = request.getfixturevalue(actor_name)
    slip = make_slip()

    with pytest.raises(PermissionDenied):
        slip_accept(actor=actor, slip_pk=slip.pk)
    assert _fresh(slip).status == SlipStatus.ISSUED


@pytest.mark.parametrize("actor_name", ["staff_a", "outsider"])
def test_only_the_centre_records_callbacks(make_slip, staff_a, request, actor_name):
    slip = make_slip()
    _accept_and_complete(slip, staff_a)

    with pytest.raises(PermissionDenied):
        _satisfied(request.getfixturevalue(actor_name), slip)
    assert _fresh(slip).status == SlipStatus.COMPLETED


@pytest.mark.parametrize("actor_name", ["staff_a", "outsider"])
def test_only_the_centre_diverts_calls(make_call, request, actor_name):
    call = make_call()

    with pytest.raises(PermissionDenied):
        call_services.call_divert(actor=request.getfixturevalue(actor_name), call_pk=call.pk,
                                  category=category("C01"))
    assert _fresh(call).status == CallStatus.NEW


# --- Serial numbers --------------------------------------------------------------------------------------

def test_serial_numbers_are_unique_and_consecutive(make_slip, staff_a):
    slips = [make_slip() for _ in range(5)]
    slip_return(actor=staff_a, slip_pk=slips[1].pk, reason="不属于本局")  # a return does not free a number
    slips.append(make_slip())

    year = timezone.localtime(timezone.now()).year
    serials = [s.serial for s in slips]
    assert serials == [f"{year}-{n:06d}" for n in range(1, 7)]
    assert len(set(HandoffSlip.objects.values_list("year", "number"))) == 6
