"""The review backfill (issue 38): every past day that has calls gets its stored review without anyone pressing
a button: after migrate, after seed_demo, on the hourly beat; the dashboard opens on the latest built day and
says how far the backfill has got."""

from datetime import timedelta

import pytest
from django.urls import reverse

from core.models import OutboxMessage
from core.outbox import relay_run
from incidents.apps import _review_backfill_after_migrate
from incidents.models import DailyReview
from incidents.review.services import backfill_state, daily_review_build, daily_reviews_backfill

from .review_fixture import DAY, EXPECTED, build_fixture_day

pytestmark = pytest.mark.django_db

TODAY = DAY + timedelta(days=1)
# The fixture's calls fall on DAY, DAY-1, DAY-2, DAY-3 and DAY-5; none on DAY-4.
DAYS_WITH_CALLS = [DAY - timedelta(days=n) for n in (0, 1, 2, 3, 5)]


@pytest.fixture
def fixture_days(make_slip, settings):
    settings.REVIEW_BACKFILL_DAYS = 5000  # the fixture's days lie in 2025: within reach of the real today
    return build_fixture_day(make_slip)


def _built_days():
    return sorted(DailyReview.objects.filter(scope="city").values_list("date", flat=True))


def test_the_backfill_builds_every_past_day_with_calls_newest_first_and_only_once(fixture_days):
    daily_review_build(day=DAY - timedelta(days=1))  # one day already built (the nightly job, say)
    state = backfill_state(today=TODAY)
    assert (state.with_calls, state.built) == (5, 1)
    assert state.missing == [DAY, DAY - timedelta(days=2), DAY - timedelta(days=3), DAY - timedelta(days=5)]

    assert daily_reviews_backfill(today=TODAY) == 4
    assert _built_days() == sorted(DAYS_WITH_CALLS)  # not DAY-4, which has no calls
    city = DailyReview.objects.get(date=DAY, scope="city")
    assert city.data["totals"]["calls"] == EXPECTED["calls"] and city.built_by is None
    assert DailyReview.objects.filter(date=DAY).count() == 3  # the city and its two large grids

    assert daily_reviews_backfill(today=TODAY) == 0  # a second run finds nothing to do
    assert backfill_state(today=TODAY).missing == []


def test_a_day_whose_calls_were_entered_after_its_review_is_rebuilt(fixture_days, make_call, client, supervisor):
    from .review_fixture import at

    assert daily_reviews_backfill(today=TODAY) == 5
    assert backfill_state(today=TODAY).stale == []
    make_call(received_at=at(DAY, 22))  # keyed in late (an import after an outage): entered after the build
    state = backfill_state(today=TODAY)
    assert state.stale == [DAY] and state.missing == [] and state.due == [DAY] and state.built == 4
    client.force_login(supervisor)
    assert 'id="review-stale"' in client.get(reverse("review"), {"date": DAY.isoformat()}).content.decode()

    assert daily_reviews_backfill(today=TODAY) == 1
    assert DailyReview.objects.get(date=DAY, scope="city").data["totals"]["calls"] == EXPECTED["calls"] + 1
    assert backfill_state(today=TODAY).due == []


def test_today_is_never_backfilled_and_a_time_budget_stops_after_the_newest_day(fixture_days):
    assert daily_reviews_backfill(today=DAY, budget_seconds=0) == 1  # DAY is today here: DAY-1 comes first
    assert _built_days() == [DAY - timedelta(days=1)]
    assert daily_reviews_backfill(today=DAY) == 3  # the next run goes on from there
    assert DAY not in _built_days()


@pytest.mark.postgres
def test_a_second_backfill_while_one_runs_leaves_at_once(fixture_days):
    import psycopg
    from django.db import connection

    from incidents.review.services import BACKFILL_LOCK_KEY

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as other:  # another worker, mid-run
        other.execute("SELECT pg_advisory_lock(%s)", [BACKFILL_LOCK_KEY])
        assert daily_reviews_backfill(today=TODAY) == 0
        other.execute("SELECT pg_advisory_unlock(%s)", [BACKFILL_LOCK_KEY])
    assert daily_reviews_backfill(today=TODAY) == 5


def test_after_migrate_the_backfill_is_queued_through_the_outbox_and_a_worker_builds_it(
        fixture_days, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the wake runs the relay (eager in the tests)
        _review_backfill_after_migrate(sender=None, using="default", plan=[])
    message = OutboxMessage.objects.get(kind="review.backfill")
    assert message.payload == {"reason": "migrate"}
    relay_run()
    message.refresh_from_db()
    assert message.status == "delivered"
    assert set(DAYS_WITH_CALLS) <= set(_built_days())

    # Nothing missing: nothing queued; a migration backwards: nothing queued.
    _review_backfill_after_migrate(sender=None, using="default", plan=[])
    DailyReview.objects.all().delete()
    _review_backfill_after_migrate(sender=None, using="default", plan=[("0001_initial", True)])
    assert OutboxMessage.objects.filter(kind="review.backfill").count() == 1


def test_the_dashboard_opens_on_the_latest_built_day_and_shows_the_backfill_progress(client, supervisor,
                                                                                      fixture_days):
    daily_review_build(day=DAY - timedelta(days=2))
    daily_review_build(day=DAY - timedelta(days=3))
    client.force_login(supervisor)
    r = client.get(reverse("review"))
    assert r.status_code == 200 and r.context["day"] == DAY - timedelta(days=2)
    body = r.content.decode()
    assert 'id="review-backfill"' in body and "5 天中已生成 2 天" in body

    # A missing day in the queue says it is being built rather than asking for the button.
    r = client.get(reverse("review"), {"date": DAY.isoformat()})
    assert "正在后台生成" in r.content.decode()

    # The progress line polls itself; once all is built it says so and stops polling.
    r = client.get(reverse("review-backfill"))
    assert "hx-trigger" in r.content.decode()
    daily_reviews_backfill()
    r = client.get(reverse("review-backfill"))
    body = r.content.decode()
    assert "hx-trigger" not in body and reverse("review") in body
    assert client.get(reverse("review")).context["day"] == DAY


@pytest.mark.parametrize("who", ["outsider", "staff_a", "mediator"])
def test_others_cannot_read_the_backfill_progress(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("review-backfill")).status_code == 403


def test_times_read_by_raw_sql_are_aware_on_sqlite_too():
    """The embedded demo runs on SQLite, whose raw rows carry the stored UTC time naive or as text: a day
    with a cluster failed to build there."""
    from datetime import UTC, datetime

    from incidents.review.selectors import _aware

    utc = datetime(2025, 3, 12, 2, 30, tzinfo=UTC)
    assert _aware(datetime(2025, 3, 12, 2, 30)) == utc
    assert _aware("2025-03-12 02:30:00") == utc
    assert _aware(utc) is utc


def test_the_pages_read_the_progress_from_the_cache_until_a_day_is_built(fixture_days, client, supervisor,
                                                                         django_assert_max_num_queries):
    """The progress costs a year's grouped query: the dashboard and its polling line share one result for
    30 s, and building a day drops it."""
    client.force_login(supervisor)
    assert "5 天中已生成 0 天" in client.get(reverse("review-backfill")).content.decode()
    with django_assert_max_num_queries(4):  # the session and the user; no grouped query over the calls
        client.get(reverse("review-backfill"))
    daily_review_build(day=DAY)
    assert "5 天中已生成 1 天" in client.get(reverse("review-backfill")).content.decode()
