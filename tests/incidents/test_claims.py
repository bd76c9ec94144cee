"""Claims (issue 36): opening a call claims it for that dispatcher (compare-and-set under the row lock,
audited); others see who has it and cannot decide it; a claim lapses after CALL_CLAIM_IDLE_SECONDS idle or
is released; a supervisor can take over. Every refusal says why and changes nothing, on the page and the API."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.errors import Conflict
from core.models import AuditLog, Role
from diversion.models import HandoffSlip
from incidents import services
from incidents.models import Call, CallStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOISE = "楼下酒吧低音炮太吵了"  # the rules divert it: C01


@pytest.fixture
def second_dispatcher(db):
    return UserFactory(username="dispatcher2", role=Role.DISPATCHER, first_name="二号接警员")


def _claims(call) -> list[str]:
    return list(AuditLog.objects.filter(call=call, action__in=["call_claim", "call_release", "call_take_over"])
                .order_by("pk").values_list("action", flat=True))


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_opening_a_call_claims_it_and_only_the_first_claim_is_audited(dispatcher, make_call):
    call = make_call(content=NOISE)
    services.call_claim(actor=dispatcher, call_pk=call.pk)
    services.call_claim(actor=dispatcher, call_pk=call.pk)  # kept fresh: not a new claim
    call.refresh_from_db()
    assert call.claim_holder() == dispatcher
    assert _claims(call) == ["call_claim"]


def test_a_call_someone_holds_is_refused_to_another_dispatcher_and_nothing_changes(
        dispatcher, second_dispatcher, make_call):
    call = make_call(content=NOISE)
    services.call_claim(actor=dispatcher, call_pk=call.pk)
    with pytest.raises(Conflict) as refused:
        services.call_claim(actor=second_dispatcher, call_pk=call.pk)
    assert refused.value.code == "claimed"
    call.refresh_from_db()
    assert call.claimed_by == dispatcher and _claims(call) == ["call_claim"]


def test_a_decision_on_a_call_someone_else_holds_is_refused_on_the_page_and_the_api(
        client, dispatcher, second_dispatcher, make_call):
    call = make_call(content=NOISE)
    services.call_claim(actor=dispatcher, call_pk=call.pk)
    client.force_login(second_dispatcher)
    page = client.post(reverse("call-classify", args=[call.pk]),
                       {"decision": "category", "category": "C01", "version": 0}, follow=True)
    said = " ".join(str(m) for m in page.context["messages"])
    assert "dispatcher" in said or dispatcher.get_full_name() in said
    api = _api(second_dispatcher).post(reverse("api-call-classify", args=[call.pk]),
                                       {"version": 0, "decision": "non_police", "category": "C01"}, format="json")
    assert api.status_code == 409 and api.json()["code"] == "claimed"
    call.refresh_from_db()
    assert call.status == CallStatus.NEW and call.version == 0
    assert not HandoffSlip.objects.filter(call=call).exists()
    # The holder decides it, and the claim goes with the decision.
    services.call_classify(actor=dispatcher, call_pk=call.pk, version=0, police=False,
                           category=call.suggested_category)
    call.refresh_from_db()
    assert call.status == CallStatus.DIVERTED and call.claimed_by is None


def test_an_idle_claim_lapses_and_the_next_dispatcher_may_claim(settings, dispatcher, second_dispatcher, make_call):
    call = make_call(content=NOISE)
    services.call_claim(actor=dispatcher, call_pk=call.pk)
    Call.objects.filter(pk=call.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=settings.CALL_CLAIM_IDLE_SECONDS + 1))
    call.refresh_from_db()
    assert call.claim_holder() is None
    services.call_claim(actor=second_dispatcher, call_pk=call.pk)
    call.refresh_from_db()
    assert call.claimed_by == second_dispatcher


def test_release_by_the_holder_frees_it_by_another_is_refused_and_of_a_free_call_changes_nothing(
        dispatcher, second_dispatcher, make_call):
    call = make_call(content=NOISE)
    services.call_release(actor=dispatcher, call_pk=call.pk)  # nobody holds it: nothing to do
    assert _claims(call) == []
    services.call_claim(actor=dispatcher, call_pk=call.pk)
    with pytest.raises(Conflict) as refused:
        services.call_release(actor=second_dispatcher, call_pk=call.pk)
    assert refused.value.code == "claimed"
    api = _api(second_dispatcher).post(reverse("api-call-release", args=[call.pk]))
    assert api.status_code == 409
    call.refresh_from_db()
    assert call.claimed_by == dispatcher
    services.call_release(actor=dispatcher, call_pk=call.pk)
    call.refresh_from_db()
    assert call.claimed_by is None and _claims(call) == ["call_claim", "call_release"]


def test_a_supervisor_takes_over_a_dispatcher_cannot(dispatcher, second_dispatcher, supervisor, make_call):
    call = make_call(content=NOISE)
    services.call_claim(actor=dispatcher, call_pk=call.pk)
    with pytest.raises(PermissionDenied):
        services.call_claim(actor=second_dispatcher, call_pk=call.pk, take_over=True)
    assert _api(second_dispatcher).post(reverse("api-call-take-over", args=[call.pk])).status_code == 403
    assert _api(supervisor).post(reverse("api-call-claim", args=[call.pk])).status_code == 409  # not without it
    response = _api(supervisor).post(reverse("api-call-take-over", args=[call.pk]))
    assert response.status_code == 200 and response.json()["claimed_by"] == supervisor.username
    row = AuditLog.objects.get(call=call, action="call_take_over")
    assert row.actor == supervisor and row.data["from"] == dispatcher.pk
    assert row.reason.startswith("从 ") and row.reason.endswith(" 接管") and row.reason_display == row.reason


def test_a_claim_on_a_call_no_longer_waiting_is_refused(dispatcher, make_call, unit):
    call = make_call(content=NOISE)
    services.call_classify(actor=dispatcher, call_pk=call.pk, version=0, police=True, unit=unit)
    with pytest.raises(Conflict) as refused:
        services.call_claim(actor=dispatcher, call_pk=call.pk)
    assert refused.value.code == "already_handled"
    response = _api(dispatcher).post(reverse("api-call-claim", args=[call.pk]), {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "already_handled"
    assert _claims(call) == []


def test_a_dispatcher_holds_one_call_at_a_time(dispatcher, make_call):
    first, second = make_call(content=NOISE), make_call(content="隔壁装修电钻声太吵")
    services.call_claim(actor=dispatcher, call_pk=first.pk)
    services.call_claim(actor=dispatcher, call_pk=second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.claimed_by is None and second.claimed_by == dispatcher
    assert _claims(first) == ["call_claim", "call_release"]


def test_the_claim_bar_says_who_holds_the_call(client, dispatcher, second_dispatcher, make_call):
    call = make_call(content=NOISE)
    client.force_login(dispatcher)
    mine = client.post(reverse("call-claim", args=[call.pk]), HTTP_HX_REQUEST="true")
    assert 'data-state="mine"' in mine.content.decode()
    client.force_login(second_dispatcher)
    refused = client.post(reverse("call-claim", args=[call.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'data-state="other"' in refused and dispatcher.get_full_name() in refused
    assert 'role="alert"' in refused  # the refusal is said on the bar
    call.refresh_from_db()
    assert call.claimed_by == dispatcher


def test_the_api_shows_who_holds_a_call(dispatcher, second_dispatcher, make_call):
    call = make_call(content=NOISE)
    services.call_claim(actor=dispatcher, call_pk=call.pk)
    body = _api(second_dispatcher).get(reverse("api-call-detail", args=[call.pk])).json()
    assert body["claimed_by"] == dispatcher.username


def test_a_supervisor_takes_over_from_the_calls_page(client, dispatcher, second_dispatcher, supervisor, make_call):
    call = make_call(content=NOISE)
    services.call_claim(actor=dispatcher, call_pk=call.pk)
    client.force_login(second_dispatcher)
    assert client.post(reverse("call-claim", args=[call.pk]), {"take_over": "1"}).status_code == 403
    client.force_login(supervisor)
    bar = client.get(reverse("call-claim", args=[call.pk])).content.decode()
    assert 'id="claim-take-over"' in bar  # offered to the supervisor only
    response = client.post(reverse("call-claim", args=[call.pk]), {"take_over": "1"})
    assert response.status_code == 302 and response["Location"] == reverse("call-page", args=[call.pk])
    call.refresh_from_db()
    assert call.claimed_by == supervisor
    assert _claims(call) == ["call_claim", "call_take_over"]
