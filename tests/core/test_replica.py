"""Reads for the review and reports go to the read replica when one is configured (core.replica); everything
else, every write and every read inside a transaction stays with the primary. In the tests the replica alias
mirrors the test database, so what it serves is what the primary holds."""

from datetime import date

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from core.replica import reading_replica, replica_reads
from incidents.models import DailyReview
from incidents.review.services import daily_review_build

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

DAY = date(2025, 3, 12)


def _tables(ctx) -> str:
    return " ".join(q["sql"] for q in ctx.captured_queries)


@pytest.fixture
def replica_on(settings):
    settings.REPLICA_READS = True


def test_the_review_page_is_read_from_the_replica(client, supervisor, replica_on):
    daily_review_build(day=DAY)
    client.force_login(supervisor)
    with CaptureQueriesContext(connections["replica"]) as replica, \
            CaptureQueriesContext(connections["default"]) as primary:
        response = client.get("/review/", {"date": DAY.isoformat()})

    assert response.status_code == 200
    assert response.context["review"].date == DAY
    assert "incidents_dailyreview" in _tables(replica)
    assert "incidents_dailyreview" not in _tables(primary)  # the session and user still come from the primary


def test_a_rebuild_posted_to_the_review_reads_and_writes_the_primary(client, supervisor, replica_on):
    client.force_login(supervisor)
    with CaptureQueriesContext(connections["replica"]) as replica:
        response = client.post("/review/build/", {"date": DAY.isoformat()})
    assert response.status_code == 302
    assert DailyReview.objects.filter(date=DAY, scope="city").exists()
    assert replica.captured_queries == []


def test_the_dispatchers_queue_never_reads_the_replica(client, dispatcher, replica_on):
    client.force_login(dispatcher)
    with CaptureQueriesContext(connections["replica"]) as replica:
        assert client.get("/dispatch/").status_code == 200
    assert replica.captured_queries == []


def test_reads_inside_a_transaction_or_without_a_replica_stay_with_the_primary(settings, replica_on):
    with replica_reads():
        assert reading_replica()
        with transaction.atomic():
            assert not reading_replica()
        settings.REPLICA_READS = False
        assert not reading_replica()
    assert not reading_replica()
