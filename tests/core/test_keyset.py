"""Keyset pages (core.keyset, issue 42): every row once, in order, across pages, whatever shares a time; a
position that cannot be read starts the list again instead of failing; counts stop at the cap."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import keyset
from core.keyset import bounded_count, count_label, keyset_page, position
from incidents.models import Call

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(make_call):
    at = timezone.now() - timedelta(hours=1)
    made = [make_call(received_at=at - timedelta(minutes=i // 2)) for i in range(7)]  # pairs share a time
    return list(Call.objects.filter(pk__in=[c.pk for c in made]).order_by("-received_at", "-id"))


def _walk(order, size):
    seen, after, firsts = [], None, []
    while True:
        page = keyset_page(Call.objects.all(), order, after, size)
        firsts.append(page.first)
        seen += [c.pk for c in page.rows]
        if not page.after:
            return seen, firsts
        after = page.after


@pytest.mark.parametrize("size", [1, 2, 3, 7, 50])
def test_pages_hold_every_row_once_in_order_whatever_shares_a_time(calls, size):
    seen, firsts = _walk(("-received_at", "-id"), size)
    assert seen == [c.pk for c in calls]
    assert firsts[0] and not any(firsts[1:])
    ascending, _ = _walk(("received_at", "id"), size)
    assert ascending == seen[::-1]


@pytest.mark.parametrize("token", ["", "x", "not base64!", "WzEsMl0", "W10", "WyJ4IiwgMV0", "eyJhIjogMX0", "bnVsbA"])
def test_a_position_that_cannot_be_read_starts_the_list_again(calls, token):
    page = keyset_page(Call.objects.all(), ("-received_at", "-id"), token, 3)
    assert page.first and [c.pk for c in page.rows] == [c.pk for c in calls[:3]]


def test_a_naive_time_is_not_a_position(calls):
    token = keyset._encode([calls[0].received_at.replace(tzinfo=None), calls[0].pk])
    assert keyset_page(Call.objects.all(), ("-received_at", "-id"), token, 3).first


def test_the_position_after_a_row_continues_after_it(calls):
    page = keyset_page(Call.objects.all(), ("-received_at", "-id"), position(calls[2], ("-received_at", "-id")), 2)
    assert [c.pk for c in page.rows] == [calls[3].pk, calls[4].pk] and not page.first


def test_a_count_stops_past_the_cap(calls, monkeypatch):
    monkeypatch.setattr(keyset, "COUNT_CAP", 5)
    assert bounded_count(Call.objects.all()) == 6
    assert count_label(6) == "5+" and count_label(5) == "5"
    assert bounded_count(Call.objects.filter(pk=calls[0].pk)) == 1
