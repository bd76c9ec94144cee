"""A dispute from the 110 call to a closed file with its agreement and follow-up visits."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from core.errors import Conflict, DomainError, TransitionNotAllowed
from core.models import AuditLog
from mediation import services
from mediation.models import DisputeFile, FileCall, FileStatus, FollowUpVisit


def _party_post(rows):
    data = {"party-TOTAL_FORMS": str(len(rows)), "party-INITIAL_FORMS": "0", "party-MIN_NUM_FORMS": "1",
            "party-MAX_NUM_FORMS": "10"}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"party-{i}-{key}"] = value
    return data


def test_a_dispute_call_becomes_a_closed_file_with_an_agreement_and_visits(client, dispatcher, med_a, lawyer_a,
                                                                          station_a, dispute_call):
    call = dispute_call(caller_phone="13800001111")

    # The dispatcher sees the button on the call and opens a file for the station that attended.
    client.force_login(dispatcher)
    page = client.get(reverse("call-page", args=[call.pk]))
    assert f'{reverse("mediation-file-open")}?call={call.pk}' in page.content.decode()
    form = client.get(reverse("mediation-file-open"), {"call": call.pk})
    assert form.context["form"]["station"].value() == station_a.pk
    response = client.post(reverse("mediation-file-open"), {
        "call": call.pk, "station": station_a.pk, "title": "邻里漏水纠纷", "dispute_type": form.context["form"][
            "dispute_type"].value(), "address": call.address, "summary": call.content, "amount": "3000",
        **_party_post([{"name": "张三", "phone": "13800001111", "role": "applicant"},
                       {"name": "李四", "phone": "139 0000 2222", "role": "respondent"}]),
    })
    assert response.status_code == 302 and response.url == reverse("call-page", args=[call.pk])
    file = DisputeFile.objects.get()
    assert file.station == station_a and file.status == FileStatus.OPEN and file.source == "call"
    assert file.mediator is None and file.dispute_type.code == "A01"
    assert list(file.parties.values_list("phone", flat=True)) == ["13800001111", "13900002222"]
    assert FileCall.objects.get(file=file).reason == FileCall.Reason.ORIGIN
    assert file.serial in client.get(reverse("call-page", args=[call.pk])).content.decode()

    # The station's mediator takes it, decides it is simple, writes the plan, holds a session with the lawyer.
    client.force_login(med_a.user)
    assert file.serial in client.get(reverse("mediation-files")).content.decode()
    client.post(reverse("mediation-file-take", args=[file.pk]))
    client.post(reverse("mediation-file-triage", args=[file.pk]), {"complexity": "simple"})
    client.post(reverse("mediation-file-plan", args=[file.pk]), {"plan": "先查明漏水原因，再由物业出具鉴定"})
    held = timezone.localtime() - timedelta(hours=2)
    response = client.post(reverse("mediation-session-add", args=[file.pk]), {
        "held_at": held.strftime("%Y-%m-%dT%H:%M"), "place": "community", "place_detail": "中山社区警务室",
        "members": [med_a.pk, lawyer_a.pk], "attendees": "张三、李四、物业王经理", "notes": "双方同意分担维修费用"})
    assert response.status_code == 302
    file.refresh_from_db()
    assert file.status == FileStatus.MEDIATING and file.mediator == med_a.user and file.complexity == "simple"
    assert file.suggested_complexity == "simple" and file.plan.startswith("先查明")
    assert set(file.sessions.get().members.all()) == {med_a, lawyer_a}

    # The outcome: an agreement; visits at 7, 30 and 90 days; the agreement prints with both names.
    response = client.post(reverse("mediation-file-close", args=[file.pk]), {
        "outcome": "agreed",
        "agreement_text": "一、李四于三日内修复漏水管道；\n二、李四赔偿张三装修损失人民币1500元。"})
    assert response.status_code == 302
    file.refresh_from_db()
    assert file.status == FileStatus.CLOSED and file.outcome == "agreed" and file.closed_at is not None
    today = timezone.localdate(file.closed_at)
    assert [(v.days_after, v.due_on) for v in file.follow_ups.all()] == [
        (d, today + timedelta(days=d)) for d in (7, 30, 90)]
    printed = client.get(reverse("mediation-agreement", args=[file.pk])).content.decode()
    assert "张三" in printed and "李四" in printed and "1500元" in printed and printed.count('class="sig"') >= 3

    # A visit finds all quiet.
    visit = file.follow_ups.first()
    with time_machine.travel(timezone.localtime() + timedelta(days=7), tick=False):
        client.force_login(med_a.user)  # a week later: a new shift's session
        client.post(reverse("mediation-visit", args=[visit.pk]), {"result": "双方关系缓和，管道已修复"})
    visit.refresh_from_db()
    assert visit.done_at is not None and not visit.flared_up and visit.early_reason == ""

    moves = list(AuditLog.objects.filter(object_type="disputefile", object_id=file.pk, action="dispute_status")
                 .values_list("from_state", "to_state"))
    assert moves == [("", "open"), ("open", "mediating"), ("mediating", "closed")]


def test_it_refuses_to_close_a_file_before_the_complexity_is_decided(open_file, med_a):
    file = open_file()
    with pytest.raises(DomainError) as err:
        services.file_close(actor=med_a.user, file_pk=file.pk, outcome="failed")
    assert err.value.code == "complexity_required"


def test_it_asks_for_the_terms_of_an_agreement(open_file, med_a):
    file = open_file()
    services.file_triage(actor=med_a.user, file_pk=file.pk, complexity="simple")
    with pytest.raises(DomainError):
        services.file_close(actor=med_a.user, file_pk=file.pk, outcome="agreed", agreement_text=" ")


def test_a_closed_file_takes_no_session_and_cannot_be_closed_twice(open_file, med_a):
    file = open_file()
    services.file_triage(actor=med_a.user, file_pk=file.pk, complexity="simple")
    services.file_close(actor=med_a.user, file_pk=file.pk, outcome="failed")
    with pytest.raises(Conflict):
        services.session_record(actor=med_a.user, file_pk=file.pk, held_at=timezone.now(), place="station")
    with pytest.raises(TransitionNotAllowed):
        services.file_close(actor=med_a.user, file_pk=file.pk, outcome="failed")


def test_an_open_file_cannot_be_reopened(open_file, med_a):
    with pytest.raises(TransitionNotAllowed):
        services.file_reopen(actor=med_a.user, file_pk=open_file().pk, reason="又吵起来了")


def test_a_visit_that_finds_the_dispute_flared_up_reopens_the_file(open_file, med_a):
    file = open_file()
    services.file_triage(actor=med_a.user, file_pk=file.pk, complexity="complex")
    services.file_close(actor=med_a.user, file_pk=file.pk, outcome="agreed", agreement_text="赔偿500元")
    first, *rest = file.follow_ups.all()
    services.followup_record(actor=med_a.user, visit_pk=first.pk, result="李四未按约赔偿，双方再起争执",
                             flared_up=True, early=True, early_reason="张三来电称李四拒不赔偿，提前上门")
    file.refresh_from_db()
    assert file.status == FileStatus.REOPENED and file.flare_count == 1
    assert all(v.cancelled_at is not None for v in FollowUpVisit.objects.filter(pk__in=[v.pk for v in rest]))
    with pytest.raises(Conflict):
        services.followup_record(actor=med_a.user, visit_pk=first.pk, result="再记一次")

    # Mediated again and closed again: a fresh schedule; the cancelled visits stay on record.
    services.session_record(actor=med_a.user, file_pk=file.pk, held_at=timezone.now(), place="mobile")
    services.file_close(actor=med_a.user, file_pk=file.pk, outcome="agreed", agreement_text="当场支付500元")
    file.refresh_from_db()
    assert file.status == FileStatus.CLOSED
    assert file.follow_ups.filter(done_at__isnull=True, cancelled_at__isnull=True).count() == 3


def test_a_mediator_of_another_station_cannot_work_the_file(open_file, med_b):
    file = open_file()
    with pytest.raises(PermissionDenied):
        services.file_triage(actor=med_b.user, file_pk=file.pk, complexity="simple")
    with pytest.raises(PermissionDenied):
        services.file_open(actor=med_b.user, station=file.station, title="x", parties=[{"name": "甲"}])


def test_one_call_opens_one_file(dispute_call, dispatcher, station_a):
    call = dispute_call()
    services.file_open(actor=dispatcher, station=station_a, title="纠纷", parties=[{"name": "张三"}], call=call)
    with pytest.raises(Conflict) as err:
        services.file_open(actor=dispatcher, station=station_a, title="纠纷", parties=[{"name": "张三"}], call=call)
    assert err.value.code == "call_has_file"


def test_the_centre_opens_files_only_from_a_call(dispatcher, station_a):
    with pytest.raises(PermissionDenied):
        services.file_open(actor=dispatcher, station=station_a, title="纠纷", parties=[{"name": "张三"}])


def test_earlier_calls_of_the_parties_join_the_file_and_make_it_complex(make_call, open_file):
    for minutes in (300, 200, 100):
        make_call(caller_phone="13900002222", content="对门邻居又在楼道堆放杂物，吵架",
                  received_at=timezone.now() - timedelta(minutes=minutes))
    file = open_file()
    assert file.file_calls.filter(reason="phone").count() == 3
    assert file.suggested_complexity == "complex" and "repeat_calls" in file.triage_facts["rules"]


def test_a_partys_earlier_call_joins_the_file_after_the_callers_number_was_anonymised(make_call, open_file,
                                                                                    settings):
    """Issue 34: mediation matches a party's number on the caller's keyed hash, which outlives the number."""
    from incidents.retention import callers_anonymise

    settings.CALLER_RETENTION_DAYS = 1
    call = make_call(caller_phone="13900002222", content="对门邻居又在楼道堆放杂物，吵架",
                     received_at=timezone.now() - timedelta(days=5))
    assert callers_anonymise()["calls"] == 1
    file = open_file()
    assert list(file.file_calls.filter(reason="phone").values_list("call_id", flat=True)) == [call.pk]


def test_a_session_cannot_be_dated_in_the_future_or_before_the_file(open_file, med_a):
    file = open_file()
    with pytest.raises(DomainError) as err:
        services.session_record(actor=med_a.user, file_pk=file.pk, held_at=timezone.now() + timedelta(hours=3),
                                place="station")
    assert err.value.code == "session_in_future"
    with pytest.raises(DomainError) as err:
        services.session_record(actor=med_a.user, file_pk=file.pk, held_at=file.opened_at - timedelta(days=30),
                                place="station")
    assert err.value.code == "session_before_file"
    assert not file.sessions.exists()


def test_a_follow_up_is_recorded_when_due_or_marked_early_with_a_reason(open_file, med_a):
    file = open_file()
    services.file_triage(actor=med_a.user, file_pk=file.pk, complexity="simple")
    services.file_close(actor=med_a.user, file_pk=file.pk, outcome="agreed", agreement_text="赔偿500元")
    week, month, quarter = file.follow_ups.all()
    assert quarter.days_after == 90

    # The 90-day visit on day 0: refused, then refused without a reason, then recorded as early.
    with pytest.raises(DomainError) as err:
        services.followup_record(actor=med_a.user, visit_pk=quarter.pk, result="双方无纠纷")
    assert err.value.code == "visit_not_due" and quarter.due_on.isoformat() in err.value.message
    with pytest.raises(DomainError) as err:
        services.followup_record(actor=med_a.user, visit_pk=quarter.pk, result="双方无纠纷", early=True)
    assert err.value.code == "early_reason_required"
    quarter.refresh_from_db()
    assert quarter.pending
    services.followup_record(actor=med_a.user, visit_pk=quarter.pk, result="双方无纠纷", early=True,
                             early_reason="当事人即将搬离本辖区")
    quarter.refresh_from_db()
    assert quarter.done_at is not None and quarter.early_reason == "当事人即将搬离本辖区"
    row = AuditLog.objects.filter(action="dispute_followup").latest("pk")
    assert row.data["early_reason"] == "当事人即将搬离本辖区"

    # On its day the week's visit needs no reason, and an "early" box ticked on the day records no reason.
    with time_machine.travel(timezone.localtime() + timedelta(days=7), tick=False):
        services.followup_record(actor=med_a.user, visit_pk=week.pk, result="关系缓和", early=True,
                                 early_reason="多余")
    week.refresh_from_db()
    assert week.done_at is not None and week.early_reason == ""
