"""Issue 40: the centre's review layers before a slip leaves (四层审核把关), through the real services: a
diverted call waits in each layer's queue, the last approval issues the slip, a layer sends it back with a
reason; urgent classes skip, parallel sub-categories open every layer at once; overdue layers warn."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from core.errors import Conflict, DomainError
from core.models import AuditLog, Role
from diversion.models import Category, HandoffSlip, ReviewLayer, ReviewStatus, ReviewStep, SlipReview
from diversion.selectors import reviews_waiting_for
from diversion.services import review_decide, reviews_warn_overdue
from incidents import services as call_services
from incidents.models import CallStatus
from incidents.selectors import call_queue
from tests.factories import UserFactory, category

pytestmark = pytest.mark.django_db


def _divert(make_call, dispatcher, dept_a, code="C01", **call_overrides):
    call = make_call(**call_overrides)
    decision = call_services.call_classify(actor=dispatcher, call_pk=call.pk, version=call.version, police=False,
                                           category=category(code), department=dept_a, instructions="请核实")
    return call, decision


def _fresh(obj):
    obj.refresh_from_db()
    return obj


def test_with_no_layer_the_slip_is_issued_at_once(make_call, dispatcher, dept_a):
    call, decision = _divert(make_call, dispatcher, dept_a)

    assert decision.review is None and decision.slip is not None
    assert _fresh(call).status == CallStatus.DIVERTED
    assert not SlipReview.objects.exists()


def test_a_call_passes_two_layers_and_the_last_approval_issues_the_slip(make_call, dispatcher, dept_a, leader,
                                                                       supervisor, two_layers):
    call, decision = _divert(make_call, dispatcher, dept_a)
    review = decision.review

    assert decision.slip is None and not HandoffSlip.objects.exists()
    assert _fresh(call).status == CallStatus.REVIEWING
    # Layer 1 waits for the shift leaders; layer 2 is not open yet, so the supervisor's queue is empty.
    assert [s.review_id for s in reviews_waiting_for(leader)] == [review.pk]
    assert list(reviews_waiting_for(supervisor)) == []
    assert list(reviews_waiting_for(dispatcher)) == []
    first = review.steps.get(position=1)
    assert first.due_at == first.opened_at + timedelta(minutes=10)

    review_decide(actor=leader, review_pk=review.pk, approve=True)

    assert not HandoffSlip.objects.exists()
    assert [s.position for s in reviews_waiting_for(supervisor)] == [2]
    assert list(reviews_waiting_for(leader)) == []

    review = review_decide(actor=supervisor, review_pk=review.pk, approve=True)

    slip = HandoffSlip.objects.get(call=call)
    assert review.status == ReviewStatus.APPROVED and review.slip == slip
    assert slip.department == dept_a and slip.instructions == "请核实"
    assert slip.issued_by == dispatcher  # the dispatcher's slip, issued when the review let it go
    assert _fresh(call).status == CallStatus.DIVERTED
    decisions = AuditLog.objects.filter(action="review_decision", object_id=review.pk).order_by("pk")
    assert [(r.actor, r.data["position"], r.data["outcome"]) for r in decisions] == [
        (leader, 1, "approved"), (supervisor, 2, "approved")]
    assert "值班长" in decisions[0].reason and "值班指挥长" in decisions[1].reason  # the timeline says which
    assert list(call.audit_rows.filter(action="call_status").values_list("to_state", flat=True)) == [
        CallStatus.REVIEWING, CallStatus.DIVERTED]


def test_a_layer_sends_the_call_back_with_a_reason_and_no_slip_leaves(make_call, dispatcher, dept_a, leader,
                                                                     supervisor, two_layers):
    call, decision = _divert(make_call, dispatcher, dept_a)

    review_decide(actor=leader, review_pk=decision.review.pk, approve=False, reason="有人受伤，应派警")

    review = _fresh(decision.review)
    assert review.status == ReviewStatus.SENT_BACK
    assert not HandoffSlip.objects.exists()
    call = _fresh(call)
    assert call.status == CallStatus.RETURNED and call.return_count == 1
    moved = call.audit_rows.filter(action="call_status").latest("pk")
    assert "有人受伤，应派警" in moved.reason and "值班长" in moved.reason
    # Nothing is left in any queue; the call is back in the dispatchers' queue to be decided again.
    assert list(reviews_waiting_for(supervisor)) == []
    assert call in call_queue()
    again = call_services.call_classify(actor=dispatcher, call_pk=call.pk, version=call.version, police=False,
                                        category=category("C01"), department=dept_a)
    assert again.review is not None and again.review.pk != review.pk


def test_sending_back_needs_a_reason_and_changes_nothing_without_one(make_call, dispatcher, dept_a, leader,
                                                                    two_layers):
    call, decision = _divert(make_call, dispatcher, dept_a)

    with pytest.raises(DomainError) as exc:
        review_decide(actor=leader, review_pk=decision.review.pk, approve=False, reason="  ")

    assert exc.value.code == "reason_required"
    assert not ReviewStep.objects.exclude(outcome="").exists()
    assert _fresh(call).status == CallStatus.REVIEWING


def test_a_later_layer_cannot_decide_before_its_turn(make_call, dispatcher, dept_a, supervisor, two_layers):
    _call, decision = _divert(make_call, dispatcher, dept_a)

    with pytest.raises(Conflict) as exc:
        review_decide(actor=supervisor, review_pk=decision.review.pk, approve=True)

    assert exc.value.code == "not_your_turn"
    assert not ReviewStep.objects.exclude(outcome="").exists()


def test_four_eyes_the_diverting_dispatcher_and_one_person_for_two_layers_are_refused(
        make_call, dispatcher, dept_a, leaders, two_layers):
    dispatcher.groups.add(leaders)
    both = UserFactory(username="both", role=Role.SUPERVISOR)
    both.groups.add(leaders)
    _call, decision = _divert(make_call, dispatcher, dept_a)

    assert list(reviews_waiting_for(dispatcher)) == []  # not offered what they may not decide
    with pytest.raises(DomainError) as own:
        review_decide(actor=dispatcher, review_pk=decision.review.pk, approve=True)
    review_decide(actor=both, review_pk=decision.review.pk, approve=True)
    assert list(reviews_waiting_for(both)) == []  # layer 2 is open, but they decided layer 1
    with pytest.raises(DomainError) as twice:
        review_decide(actor=both, review_pk=decision.review.pk, approve=True)

    assert own.value.code == "own_diversion" and twice.value.code == "one_layer_per_person"
    assert not HandoffSlip.objects.exists()


def test_someone_outside_every_layer_is_refused_and_a_finished_review_conflicts(
        make_call, dispatcher, dept_a, leader, supervisor, two_layers, staff_a):
    _call, decision = _divert(make_call, dispatcher, dept_a)

    with pytest.raises(PermissionDenied):
        review_decide(actor=staff_a, review_pk=decision.review.pk, approve=True)
    review_decide(actor=leader, review_pk=decision.review.pk, approve=False, reason="分类不对")
    with pytest.raises(Conflict) as exc:
        review_decide(actor=supervisor, review_pk=decision.review.pk, approve=True)

    assert exc.value.code == "review_over"


def test_a_layer_switched_off_while_a_call_waits_in_it_is_still_decided(make_call, dispatcher, dept_a, leader,
                                                                        supervisor, two_layers):
    call, decision = _divert(make_call, dispatcher, dept_a)
    ReviewLayer.objects.update(active=False)  # the centre stops reviewing: new diversions go at once

    assert [s.position for s in reviews_waiting_for(leader)] == [1]
    review_decide(actor=leader, review_pk=decision.review.pk, approve=True)
    review_decide(actor=supervisor, review_pk=decision.review.pk, approve=True)

    assert _fresh(call).status == CallStatus.DIVERTED
    _other, later = _divert(make_call, dispatcher, dept_a)
    assert later.review is None and later.slip is not None


def test_a_major_urgent_class_skips_the_review(make_call, dispatcher, dept_a, two_layers):
    f01 = category("F01")
    assert f01.time_limit_class.code == "major_urgent"
    call = make_call(content="小区里燃气泄漏，闻到很大的煤气味")

    decision = call_services.call_classify(actor=dispatcher, call_pk=call.pk, version=call.version, police=False,
                                           category=f01, override_reason="燃气公司处置")

    assert decision.review is None and decision.slip is not None
    assert _fresh(call).status == CallStatus.DIVERTED


def test_a_sub_category_set_to_skip_issues_at_once(make_call, dispatcher, dept_a, two_layers):
    Category.objects.filter(code="C01").update(review=Category.Review.SKIP)

    _call, decision = _divert(make_call, dispatcher, dept_a)

    assert decision.review is None and decision.slip is not None


def test_a_parallel_sub_category_opens_every_layer_at_once(make_call, dispatcher, dept_a, leader, supervisor,
                                                          two_layers):
    Category.objects.filter(code="C01").update(review=Category.Review.PARALLEL)
    call, decision = _divert(make_call, dispatcher, dept_a)

    assert decision.review.mode == SlipReview.Mode.PARALLEL
    assert [s.position for s in reviews_waiting_for(leader)] == [1]
    assert [s.position for s in reviews_waiting_for(supervisor)] == [2]
    review_decide(actor=supervisor, review_pk=decision.review.pk, approve=True)  # layer 2 first
    assert not HandoffSlip.objects.exists()
    review_decide(actor=leader, review_pk=decision.review.pk, approve=True)

    assert _fresh(call).status == CallStatus.DIVERTED and HandoffSlip.objects.filter(call=call).exists()


def test_an_overdue_layer_warns_once_and_mails_the_layers_people(make_call, dispatcher, dept_a, two_layers,
                                                                  leader, supervisor):
    from django.core import mail

    from core import outbox

    leader.email, supervisor.email = "leader@example.gov.cn", "supervisor@example.gov.cn"
    leader.save(), supervisor.save()
    call, decision = _divert(make_call, dispatcher, dept_a)
    later = timezone.now() + timedelta(minutes=11)

    assert reviews_warn_overdue(now=later - timedelta(minutes=2)) == 0
    assert reviews_warn_overdue(now=later) == 1
    assert reviews_warn_overdue(now=later) == 0
    outbox.relay_run()

    row = AuditLog.objects.get(action="review_overdue")
    assert row.object_id == decision.review.pk and row.data["position"] == 1 and row.actor is None
    assert "值班长" in row.reason and "10" in row.reason
    # Layer 1 is the shift leaders' group: its member is told, not the supervisors of layer 2.
    assert [m.to for m in mail.outbox] == [["leader@example.gov.cn"]]
    assert call.call_id in mail.outbox[0].subject


def test_at_most_four_layers_are_active(two_layers):
    for position in (3, 4):
        ReviewLayer.objects.create(position=position, name_zh=f"第{position}层", name_en=f"L{position}",
                                   role=Role.SUPERVISOR)
    fifth = ReviewLayer(position=5, name_zh="第5层", name_en="L5", role=Role.SUPERVISOR)

    with pytest.raises(ValidationError):
        fifth.full_clean()
    with pytest.raises(ValidationError):
        ReviewLayer(position=6, name_zh="无人", name_en="Nobody", active=False).full_clean()


# --- The pages --------------------------------------------------------------------------------------------

def test_the_nav_shows_review_only_while_layers_are_active(client, supervisor):
    client.force_login(supervisor)
    assert 'id="nav-reviews"' not in client.get(reverse("callback-list")).content.decode()

    ReviewLayer.objects.create(position=1, name_zh="值班长", name_en="Shift leader", role=Role.SUPERVISOR)

    assert 'id="nav-reviews"' in client.get(reverse("callback-list")).content.decode()


def test_a_leader_approves_from_the_pages_and_the_next_layer_sees_it(client, make_call, dispatcher, dept_a, leader,
                                                                    supervisor, two_layers):
    call, decision = _divert(make_call, dispatcher, dept_a, content="楼下烧烤店油烟很大，窗户都打不开")
    client.force_login(leader)

    queue = client.get(reverse("review-queue")).content.decode()
    assert "烧烤店油烟" in queue and reverse("review-detail", args=[decision.review.pk]) in queue
    page = client.get(reverse("review-detail", args=[decision.review.pk])).content.decode()
    assert 'id="approve-btn"' in page
    response = client.post(reverse("review-decide", args=[decision.review.pk]), {"decision": "approve"})

    assert response.status_code == 302
    assert ReviewStep.objects.get(review=decision.review, position=1).decided_by == leader
    client.force_login(supervisor)
    assert "烧烤店油烟" in client.get(reverse("review-queue")).content.decode()
    assert 'id="approve-btn"' in client.get(reverse("review-detail", args=[decision.review.pk])).content.decode()


def test_sending_back_from_the_page_without_a_reason_is_refused_and_changes_nothing(
        client, make_call, dispatcher, dept_a, leader, two_layers):
    call, decision = _divert(make_call, dispatcher, dept_a)
    rows = AuditLog.objects.count()
    client.force_login(leader)

    response = client.post(reverse("review-decide", args=[decision.review.pk]), {"decision": "send_back"})

    assert response.status_code == 400
    assert "Give a reason" in response.content.decode() or "理由" in response.content.decode()
    assert AuditLog.objects.count() == rows and _fresh(call).status == CallStatus.REVIEWING


def test_the_sent_back_reason_shows_on_the_dispatchers_panel(client, make_call, dispatcher, dept_a, leader,
                                                            two_layers):
    call, decision = _divert(make_call, dispatcher, dept_a)
    review_decide(actor=leader, review_pk=decision.review.pk, approve=False, reason="报警人称有人持刀QZ5")
    client.force_login(dispatcher)

    panel = client.get(reverse("dispatch-panel", args=[call.pk])).content.decode()

    assert 'id="returned-because"' in panel and "报警人称有人持刀QZ5" in panel
    assert "值班长" in client.get(reverse("call-page", args=[call.pk])).content.decode()


def test_the_api_decision_names_the_review_instead_of_a_slip(client, make_call, dispatcher, two_layers):
    call = make_call()
    client.force_login(dispatcher)

    response = client.post(reverse("api-call-classify", args=[call.pk]),
                           {"version": call.version, "decision": "non_police", "category": "C01"},
                           content_type="application/json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["slip"] is None
    assert body["review"]["status"] == "pending" and body["review"]["waiting_for"] == [1]


def test_a_layer_decides_over_the_api_and_the_list_holds_what_waits_for_it(make_call, dispatcher, dept_a, leader,
                                                                          supervisor, two_layers, staff_a):
    from rest_framework.test import APIClient

    call, decision = _divert(make_call, dispatcher, dept_a)
    api = APIClient()
    api.force_authenticate(leader)
    url = reverse("api-review-decide", args=[decision.review.pk])

    listed = api.get(reverse("api-review-list")).json()
    no_reason = api.post(url, {"decision": "send_back"}, format="json")
    approved = api.post(url, {"decision": "approve"}, format="json")
    api.force_authenticate(supervisor)
    early_list = api.get(reverse("api-review-list")).json()
    done = api.post(url, {"decision": "approve"}, format="json")
    api.force_authenticate(dispatcher)
    own = api.post(url, {"decision": "approve"}, format="json")
    api.force_authenticate(staff_a)
    staff = api.post(url, {"decision": "approve"}, format="json")

    assert [r["call"]["call_id"] for r in listed["results"]] == [call.call_id]
    assert no_reason.status_code == 400 and no_reason.json()["code"] == "reason_required"
    assert approved.status_code == 200 and approved.json()["steps"][0]["outcome"] == "approved"
    assert [r["id"] for r in early_list["results"]] == [decision.review.pk]
    assert done.status_code == 200 and done.json()["status"] == "approved" and done.json()["slip"]
    assert own.status_code == 409 and own.json()["code"] == "review_over"
    assert staff.status_code == 403


def test_the_supervisors_desk_lists_calls_overdue_in_review(client, make_call, dispatcher, dept_a, supervisor,
                                                            two_layers):
    call, decision = _divert(make_call, dispatcher, dept_a)
    client.force_login(supervisor)
    assert 'id="reviews-overdue"' not in client.get(reverse("supervision-home")).content.decode()

    ReviewStep.objects.filter(review=decision.review, position=1).update(
        due_at=timezone.now() - timedelta(minutes=3))
    page = client.get(reverse("supervision-home")).content.decode()

    assert 'id="reviews-overdue"' in page and call.call_id in page
    assert reverse("review-detail", args=[decision.review.pk]) in page
