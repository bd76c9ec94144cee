"""The live channel (issue 36), one consumer at a time on the in-process channel layer: who may connect, who
hears what once a change commits, and that nothing is sent for a change rolled back. The browser tests
(tests/e2e/test_live.py) run it end to end on Redis with a real server process."""

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from core import live
from core.live import LiveConsumer
from core.models import Role
from incidents import services as call_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOISE = "楼下酒吧低音炮太吵了"


@pytest.fixture(autouse=True)
def memory_layer(settings, monkeypatch):
    # Only the live channel's after-commit work runs here, not the outbox's wake (the eager relay).
    monkeypatch.setattr("core.outbox._wake", lambda: None)
    # Channels closes "old" database connections before each message a consumer handles; the test's
    # connection (inside the test's transaction) is not old. channels.testing does the same while it sends.
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    live.reset()
    yield
    live.reset()


async def _connect(user):
    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/live/")
    communicator.scope["user"] = user
    connected, code = await communicator.connect(timeout=3)
    if connected:
        assert (await communicator.receive_json_from(timeout=2)) == {"topics": [], "hello": True}
    return communicator, connected, code


def test_who_may_connect():
    async def scenario():
        for user, expected in ((AnonymousUser(), False),
                               (UserFactory.build(role=Role.MEDIATOR), False),  # nothing live for a mediator
                               (UserFactory.build(role=Role.DISPATCHER), True),
                               (UserFactory.build(role=Role.WALLBOARD), True)):
            communicator, connected, code = await _connect(user)
            assert connected is expected, user
            if not connected:
                assert code == 4403
            await communicator.disconnect()

    async_to_sync(scenario)()


def test_the_centre_hears_a_new_call_and_a_department_only_its_own_slips(
        dispatcher, staff_a, staff_b, make_call, make_slip, django_capture_on_commit_callbacks):
    async def scenario():
        centre, _ok, _code = await _connect(dispatcher)
        dept_a, _ok, _code = await _connect(staff_a)
        dept_b, _ok, _code = await _connect(staff_b)

        def receive_a_call():
            with django_capture_on_commit_callbacks(execute=True):
                return make_call(content=NOISE)

        call = await sync_to_async(receive_a_call)()
        event = await centre.receive_json_from(timeout=2)
        assert {"calls", f"call-{call.pk}"} <= set(event["topics"])
        assert NOISE not in str(event)  # a hint, never the call's content
        assert await dept_a.receive_nothing(timeout=0.2)

        def divert_to_a():
            with django_capture_on_commit_callbacks(execute=True):
                return make_slip(content="隔壁装修电钻声太吵")

        await sync_to_async(divert_to_a)()
        heard = []
        while not await dept_a.receive_nothing(timeout=0.3):
            heard += (await dept_a.receive_json_from(timeout=1))["topics"]
        assert "inbox" in heard
        assert await dept_b.receive_nothing(timeout=0.3)  # another department's slip: not a word
        for communicator in (centre, dept_a, dept_b):
            await communicator.disconnect()

    async_to_sync(scenario)()


def test_a_unit_hears_its_own_calls_only(dispatcher, make_call, django_capture_on_commit_callbacks):
    """A unit's phone page (issue 37) is told when the centre sends it a call and when the call is stamped;
    another unit hears nothing of it."""
    from grids.models import Unit
    from grids.services import police_arrive
    from tests.factories import UnitFactory

    mine = UnitFactory(code="PT-L1", kind=Unit.Kind.PATROL)
    other = UnitFactory(code="PT-L2", kind=Unit.Kind.PATROL)
    officer = UserFactory(username="live_unit_1", role=Role.UNIT, unit=mine)
    stranger = UserFactory(username="live_unit_2", role=Role.UNIT, unit=other)
    assert live.groups_for(officer) == [f"unit-{mine.pk}"]

    async def scenario():
        phone, ok, _code = await _connect(officer)
        assert ok
        theirs, _ok, _code = await _connect(stranger)

        def dispatch_and_arrive():
            with django_capture_on_commit_callbacks(execute=True):
                call = make_call(content="两人在店门口推搡")
            with django_capture_on_commit_callbacks(execute=True):
                assignment = call_services.call_assign_police(actor=dispatcher, call_pk=call.pk, unit=mine)
            return assignment

        assignment = await sync_to_async(dispatch_and_arrive)()
        assert "unit" in (await phone.receive_json_from(timeout=2))["topics"]

        def arrive():
            with django_capture_on_commit_callbacks(execute=True):
                police_arrive(actor=officer, assignment_pk=assignment.pk)

        await sync_to_async(arrive)()
        assert "unit" in (await phone.receive_json_from(timeout=2))["topics"]
        assert await theirs.receive_nothing(timeout=0.3)
        for communicator in (phone, theirs):
            await communicator.disconnect()

    async_to_sync(scenario)()


def test_nothing_is_sent_for_a_change_that_rolled_back(dispatcher, django_capture_on_commit_callbacks):
    from tests.factories import call_data

    async def scenario():
        centre, _ok, _code = await _connect(dispatcher)

        def roll_back():
            with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
                call_services.call_intake(actor=dispatcher, data=call_data(content=NOISE))
                transaction.set_rollback(True)

        await sync_to_async(roll_back)()
        assert await centre.receive_nothing(timeout=0.3)
        await centre.disconnect()

    async_to_sync(scenario)()


def test_one_transaction_sends_one_message_per_group(monkeypatch, django_capture_on_commit_callbacks):
    """Gathered per transaction, however long it is (the demo seeds weeks of work in one): one after-commit
    callback, one message per group with every topic."""
    sent = []
    monkeypatch.setattr(live, "send_now", lambda groups, event: sent.append((groups, event["topics"])))
    with django_capture_on_commit_callbacks(execute=True) as hooks, transaction.atomic():
        for n in range(200):
            live.publish([live.CENTRE, live.BOARD], [f"call-{n}"])
            with transaction.atomic():  # a service's own savepoint
                live.publish([live.CENTRE], ["calls"])
    assert len(hooks) == 1
    assert sorted(groups[0] for groups, _t in sent) == sorted([live.CENTRE, live.BOARD])
    centre = next(topics for groups, topics in sent if groups == [live.CENTRE])
    assert len(centre) == 201 and "calls" in centre


def test_a_page_that_sends_garbage_is_ignored_not_dropped(dispatcher):
    async def scenario():
        centre, _ok, _code = await _connect(dispatcher)
        await centre.send_to(text_data="not json {")
        await centre.send_to(bytes_data=b"\x00\x01")
        assert await centre.receive_nothing(timeout=0.2)
        await centre.disconnect()

    async_to_sync(scenario)()


def test_a_publish_while_the_layer_is_down_is_skipped_not_raised(settings):
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1", "socket_connect_timeout": 1}]}}}
    live.reset()
    assert live.send_now([live.CENTRE], {"topics": ["calls"]}) is False
    started = time.monotonic()
    assert live.send_now([live.CENTRE], {"topics": ["calls"]}) is False  # skipped at once, for a while
    assert time.monotonic() - started < 0.05
