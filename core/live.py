"""The live channel (issue 36): open pages hear within a second that something they show changed.

An event is a hint, never the data: it names topics ("calls", "call-12", "inbox", "notices", "board") and
the page refetches what it shows under its own permissions. So an event carries no call content, and a
lost event costs only freshness: a page that reconnects refetches everything, and every page also polls
(settings.LIVE_POLL_SECONDS while the channel is down).

Who hears what is decided once, at connection, from the user's role (`groups_for`): the command centre
hears calls and claims, a department's staff their own department's inbox and notices, a wall screen the
figures. Events are sent after the transaction that made the change commits (`publish`), straight to the
channel layer rather than through the outbox: a hint delivered a minute late by a retry is worth nothing,
and the page's poll already repairs a lost one.

Transport: WebSockets served by Django Channels (daphne), Redis pub/sub between processes
(settings.CHANNEL_LAYERS)."""

import asyncio
import logging
import os
import threading
import time

from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction

from .models import Role

logger = logging.getLogger(__name__)

CENTRE = "centre"  # dispatchers and supervisors
BOARD = "board"  # the wall screens


def department_group(department_id: int) -> str:
    return f"dept-{department_id}"


def groups_for(user) -> list[str]:
    """The groups a connected user hears. Department staff hear only their own department."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    groups = []
    if user.has_role(Role.DISPATCHER, Role.SUPERVISOR):
        groups.append(CENTRE)
    if user.role == Role.DEPARTMENT and user.department_id is not None:
        groups.append(department_group(user.department_id))
    if user.has_role(Role.WALLBOARD, Role.SUPERVISOR):
        groups.append(BOARD)
    if user.role == Role.UNIT and user.unit_id is not None:
        groups.append(unit_group(user.unit_id))
    return groups


_down_until = 0.0


def publish(groups: list[str], topics: list[str]) -> None:
    """Tell `groups` that `topics` changed, once the current transaction commits (at once outside one).
    What one transaction publishes is gathered and sent once per group at its commit: a decision that
    writes three audit rows is one message to each screen."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _send_batch({group: set(topics) for group in groups})
        return
    batch = getattr(connection, "fenliu_live_batch", None)
    # The gathering callback is still among the connection's after-commit callbacks, or registered anew: a
    # rollback drops it (and the batch with it).
    if batch is None or not batch.registered():
        batch = connection.fenliu_live_batch = _Batch(connection)
        transaction.on_commit(batch.callback, robust=True)
    for group in groups:
        batch.topics.setdefault(group, set()).update(topics)


class _Batch:
    def __init__(self, connection):
        self.connection = connection
        self.topics: dict[str, set[str]] = {}
        # The very object registered (each `self.send` is a new bound method), and where: a rollback to a
        # savepoint removes the callbacks registered inside it, never one registered before a survivor, so
        # the position stays true while the callback is there. O(1) however long the transaction.
        self.callback = self.send
        self.position = len(connection.run_on_commit)

    def registered(self) -> bool:
        hooks = self.connection.run_on_commit
        return self.position < len(hooks) and hooks[self.position][1] is self.callback

    def send(self):
        if getattr(self.connection, "fenliu_live_batch", None) is self:
            self.connection.fenliu_live_batch = None
        _send_batch(self.topics)


def _send_batch(topics_by_group: dict[str, set[str]]) -> None:
    at = time.time()
    for group, topics in topics_by_group.items():
        send_now([group], {"topics": sorted(topics), "at": at})


def send_now(groups: list[str], event: dict) -> bool:
    """Send `event` to `groups` now. A channel that is down is logged and skipped for a while
    (settings.LIVE_RETRY_SECONDS): pages poll meanwhile, and no request waits on it."""
    global _down_until
    if time.monotonic() < _down_until:
        return False
    layer = get_channel_layer()
    message = {"type": "live.event", "event": event}
    try:
        if isinstance(layer, InMemoryChannelLayer):  # one process (tests, the embedded demo): its own loop
            async_to_sync(_send_all)(layer, groups, message)
        else:
            future = asyncio.run_coroutine_threadsafe(_send_all(layer, groups, message), _publisher_loop())
            future.result(timeout=settings.LIVE_SEND_TIMEOUT_SECONDS)
    except Exception as exc:  # Redis down or slow: the change is committed; pages will poll
        _down_until = time.monotonic() + settings.LIVE_RETRY_SECONDS
        logger.warning("live channel: could not publish %s: %s", event.get("topics"), exc)
        return False
    return True


async def _send_all(layer, groups: list[str], message: dict) -> None:
    for group in groups:
        await layer.group_send(group, message)


# One event loop per process, in a thread of its own, publishes for every request thread: the Redis layer
# keeps its connection per loop, so a request reuses it instead of opening one in a fresh loop each time
# (async_to_sync's way: about 3 ms of an intake's time per group, issue 43).
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()


def _publisher_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():  # a forked worker starts its own
            _loop = asyncio.new_event_loop()
            _loop_pid = os.getpid()
            threading.Thread(target=_loop.run_forever, name="live-publisher", daemon=True).start()
        return _loop


def reset() -> None:
    """Forget an earlier failure (tests)."""
    global _down_until
    _down_until = 0.0


def unit_group(unit_id: int) -> str:
    return f"unit-{unit_id}"


def call_changed(call_pk: int, *, department_id: int | None = None) -> None:
    """A call was received, moved or claimed: the centre's queues, that call's panels and the wall screens;
    the department holding its slip, when it has one."""
    publish([CENTRE, BOARD], ["calls", f"call-{call_pk}", "board"])
    if department_id is not None:
        publish([department_group(department_id)], ["inbox"])


def slip_changed(department_id: int, call_pk: int | None = None) -> None:
    """A slip was issued or moved: its department's inbox, and the centre (callbacks, the call's page)."""
    publish([department_group(department_id)], ["inbox"])
    publish([CENTRE, BOARD], ["slips", "board", *([f"call-{call_pk}"] if call_pk else [])])


def notices_changed(department_id: int) -> None:
    publish([department_group(department_id)], ["notices"])


# Audit actions that change what a page shows (reads, exports and admin work change nothing on screen).
_CALL_ACTIONS = {"call_intake", "call_status", "call_grid", "call_claim", "call_release", "call_take_over"}
_SLIP_ACTIONS = {"slip_status", "callback", "meeting_status", "meeting_action"}
_NOTICE_ACTIONS = {"notice_status", "notice_read"}
_ASSIGNMENT_ACTIONS = {"police_arrive", "police_en_route", "police_push"}
_REVIEW_ACTIONS = {"review_status", "review_decision", "review_overdue"}


def audit_written(row, obj) -> None:
    """Every state change writes an audit row (core.audit): tell the pages that show its object."""
    if row.action in _CALL_ACTIONS or row.action in _ASSIGNMENT_ACTIONS:
        call_changed(row.object_id if row.call_id is None else row.call_id)
        # A unit's phone page (issue 37) hears of its own calls: sent, stamped, pushed on, closed.
        data = row.data or {}
        units = {data.get("unit"), data.get("to_unit")} - {None}
        if units:
            publish([unit_group(u) for u in sorted(units)], ["unit"])
    elif row.action in _SLIP_ACTIONS:
        slip = obj if row.object_type == "handoffslip" else getattr(getattr(obj, "meeting", obj), "slip", None)
        if slip is not None:
            slip_changed(slip.department_id, slip.call_id)
    elif row.action in _NOTICE_ACTIONS:
        notices_changed(obj.department_id)
    elif row.action in _REVIEW_ACTIONS:  # the review layers' queues and the call's page (issue 40)
        publish([CENTRE], ["reviews", *([f"call-{row.call_id}"] if row.call_id else [])])


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """One open page. It joins its user's groups and forwards each event as one JSON message; what the page
    sends is ignored. A client that stops reading is closed by the server's ping timeout (daphne), so no
    worker waits on it."""

    async def connect(self):
        user = self.scope.get("user")
        self.groups_joined = groups_for(user) if user is not None else []
        if not self.groups_joined:
            await self.close(code=4403)
            return
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"topics": [], "hello": True})

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        return  # the channel is one-way: whatever a page sends (even not JSON) is ignored

    async def live_event(self, message):
        await self.send_json(message["event"])
