"""The wall screen's figures (issue 36): today's calls and how they went, counted from the records."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Role
from diversion.models import HandoffSlip
from diversion.services import slip_accept
from incidents import services
from incidents.selectors import wallboard_figures
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_figures_count_today_and_the_state_of_things_now(dispatcher, staff_a, make_call, make_slip, unit):
    make_call(received_at=timezone.now() - timedelta(days=1, hours=1))  # not today's
    make_call()  # waiting
    kept = make_call(content="两个人在夜市门口打架，有人受伤流血")
    services.call_classify(actor=dispatcher, call_pk=kept.pk, version=0, police=True, unit=unit)
    accepted = make_slip()
    slip_accept(actor=staff_a, slip_pk=accepted.pk)
    overdue = make_slip()
    HandoffSlip.objects.filter(pk=overdue.pk).update(deadline=timezone.now() - timedelta(minutes=1))

    figures = wallboard_figures()

    assert figures["total"] == 4  # waiting, kept, and the two diverted; not yesterday's
    assert (figures["police"], figures["non_police"], figures["police_share"]) == (1, 2, 33)
    assert figures["queue"] == 2  # waiting and yesterday's call, still waiting
    assert (figures["diverted"], figures["accepted"], figures["overdue"]) == (2, 1, 1)
    assert figures["units_out"] == 1


def test_the_screen_shows_the_figures_and_no_caller(client, make_call):
    call = make_call(caller_name="王女士")
    client.force_login(UserFactory(role=Role.WALLBOARD))
    page = client.get(reverse("wallboard")).content.decode()
    assert 'id="fig-total">1<' in page and 'data-live="board"' in page
    assert call.caller_name not in page and call.content not in page and call.caller_phone not in page
    assert client.get(reverse("wallboard-map")).json()["max_calls"] >= 0
