"""Later calls join their dispute file automatically, on commit of the intake, and are counted."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import AuditLog
from incidents import services as call_services
from mediation import services
from mediation.models import FileCall
from mediation.tasks import dispute_calls_link
from tests.factories import call_data


@pytest.fixture
def closed_file(open_file, med_a):
    file = open_file()
    services.file_triage(actor=med_a.user, file_pk=file.pk, complexity="simple")
    services.file_close(actor=med_a.user, file_pk=file.pk, outcome="agreed", agreement_text="李四赔偿1500元")
    file.refresh_from_db()
    return file


def _intake(dispatcher, django_capture_on_commit_callbacks, **overrides):
    overrides.setdefault("received_at", timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        return call_services.call_intake(actor=dispatcher, data=call_data(**overrides)).call


def test_a_later_call_from_a_party_joins_the_closed_file_and_counts_after_the_outcome(
        closed_file, dispatcher, django_capture_on_commit_callbacks):
    call = _intake(dispatcher, django_capture_on_commit_callbacks, caller_phone="13900002222",
                   content="又是楼上漏水，邻居说好的赔偿不给了", address="别的地址1号")
    link = FileCall.objects.get(file=closed_file, call=call)  # linked by the on-commit task of the intake
    assert link.reason == FileCall.Reason.PHONE and link.after_outcome
    assert closed_file.file_calls.filter(after_outcome=True).count() == 1
    row = AuditLog.objects.get(object_type="disputefile", object_id=closed_file.pk, action="dispute_call_link")
    assert row.actor is None and row.data["call"] == call.pk and row.data["after_outcome"] is True


def test_a_dispute_call_at_the_same_address_joins_the_file(closed_file, dispatcher,
                                                           django_capture_on_commit_callbacks):
    call = _intake(dispatcher, django_capture_on_commit_callbacks, caller_phone="13700009999",
                   content="邻居吵架吵得很凶，楼上楼下又闹起来了", address="秀峰区中山中路18号")
    assert FileCall.objects.get(file=closed_file, call=call).reason == FileCall.Reason.ADDRESS


def test_a_call_of_another_kind_at_the_same_address_does_not_join(closed_file, dispatcher,
                                                                  django_capture_on_commit_callbacks):
    call = _intake(dispatcher, django_capture_on_commit_callbacks, caller_phone="13700009999",
                   content="路边下水道井盖丢了，很危险", address="秀峰区中山中路18号")
    assert not FileCall.objects.filter(call=call).exists()


def test_a_call_more_than_90_days_after_the_outcome_does_not_join(closed_file, dispatcher, time_machine):
    time_machine.move_to(timezone.now() + timedelta(days=91))
    call = call_services.call_intake(actor=dispatcher, data=call_data(
        caller_phone="13900002222", received_at=timezone.now(), content="邻居又吵架")).call
    assert dispute_calls_link({"call": call.pk}, "k") == 0
    assert not FileCall.objects.filter(call=call).exists()


def test_a_call_while_the_file_is_open_counts_before_the_outcome(open_file, dispatcher,
                                                                 django_capture_on_commit_callbacks):
    file = open_file()
    call = _intake(dispatcher, django_capture_on_commit_callbacks, caller_phone="13800001111", content="邻居吵架")
    assert FileCall.objects.get(file=file, call=call).after_outcome is False


def test_linking_twice_links_once(closed_file, dispatcher):
    call = call_services.call_intake(actor=dispatcher, data=call_data(caller_phone="13900002222")).call
    assert dispute_calls_link({"call": call.pk}, "k") == 1
    assert dispute_calls_link({"call": call.pk}, "k") == 0
    assert FileCall.objects.filter(call=call).count() == 1
    assert AuditLog.objects.filter(action="dispute_call_link").count() == 1


def test_a_missing_call_links_nothing(db):
    assert dispute_calls_link({"call": 987654}, "k") == 0
