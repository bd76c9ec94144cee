"""Issue 36 in headless Chromium against a real ASGI server process with Redis: a call posted to the API
reaches two dispatchers' screens within a second; the one who opens it holds it, the other sees who has it
and cannot decide it; with the push channel down the page says so and its poll still brings the call."""

import json
import threading
import time
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect
from rest_framework.authtoken.models import Token

from core import live
from core.models import AuditLog, Role
from diversion.models import HandoffSlip
from diversion.supervision.services import notice_issue
from incidents import services
from incidents.models import Call
from tests.factories import UserFactory, call_data

from .conftest import bounded_page
from .live_server import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True),
              pytest.mark.timeout(180)]

DESK = {"width": 1400, "height": 900}
NOISE = "报警人称楼下KTV噪音扰民，凌晨一点还在唱歌"
PASSWORD = "pw-for-tests-1"


@pytest.fixture
def second_dispatcher(db):
    return UserFactory(username="dispatcher2", role=Role.DISPATCHER, first_name="陈磊")


@pytest.fixture
def system_token(db):
    return Token.objects.create(user=UserFactory(username="system110", role=Role.DISPATCHER)).key


@pytest.fixture
def live_prefix():
    return f"fenliu-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def push_server(require_postgres, redis_url, tmp_path, live_prefix):
    with asgi_server(tmp_path, env={"LIVE_REDIS_URL": redis_url, "LIVE_PREFIX": live_prefix}) as url:
        yield url


@pytest.fixture
def same_channel(settings, redis_url, live_prefix):
    """This test process publishes on the server's channel (what a Celery worker does in production)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                                           "CONFIG": {"hosts": [redis_url], "prefix": live_prefix}}}
    live.reset()


def _login(page, base, user):
    # The server process hashes with the production hashers, not the tests' fast one.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt(), iterations=1000)
    user.save(update_fields=["password"])
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_load_state()


def _post_call(base, token, content) -> dict:
    received = timezone.localtime(timezone.now() - timedelta(minutes=1))
    body = json.dumps({"call_id": f"110-LIVE-{uuid.uuid4().hex[:8]}", "received_at": received.isoformat(),
                       "caller_phone": "13800138000", "address": "秀峰区中山路12号", "content": content,
                       "channel": "phone"}).encode()
    request = urllib.request.Request(f"{base}/api/v1/calls/", data=body, method="POST", headers={
        "Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.loads(response.read())


def test_a_posted_call_reaches_both_screens_within_a_second_and_only_its_holder_decides_it(
        browser, push_server, dispatcher, second_dispatcher, system_token, staff_a, shot):
    with bounded_page(browser, DESK) as a, bounded_page(browser, DESK) as b:
        for page, user in ((a, dispatcher), (b, second_dispatcher)):
            _login(page, push_server, user)
            page.goto(f"{push_server}/dispatch/")
            page.wait_for_selector('#live-status[data-state="push"]')
        assert a.locator("#live-status").inner_text() == "实时"

        call = _post_call(push_server, system_token, NOISE)
        posted = time.monotonic()
        for page in (a, b):
            page.wait_for_selector(f'#queue li[data-pk="{call["id"]}"]', timeout=2000)
        arrived = time.monotonic() - posted
        assert arrived < 1.0, f"the call reached both screens after {arrived:.2f} s"

        # A opens it and holds it; B's queue shows who has it, within a second again.
        a.click(f'#queue li[data-pk="{call["id"]}"]')
        a.wait_for_selector('#claim-bar[data-state="mine"]')
        opened = time.monotonic()
        b.wait_for_selector(f'#queue li[data-pk="{call["id"]}"] [data-claimed-by="{dispatcher.username}"]',
                            timeout=2000)
        assert time.monotonic() - opened < 1.0

        # B opens it anyway: told who has it, and neither Enter nor a forced submit decides it.
        b.click(f'#queue li[data-pk="{call["id"]}"]')
        b.wait_for_selector('#claim-bar[data-state="other"]')
        assert "接警员" in b.locator("#claim-bar").inner_text() and "正在处理" in b.locator("#claim-bar").inner_text()
        b.keyboard.press("Enter")
        b.wait_for_selector("#key-hint:not([hidden])")
        assert "其他接警员正在处理" in b.locator("#key-hint").inner_text()
        shot(b, "live-claimed-by-other")
        b.evaluate("document.getElementById('classify-form').submit()")  # past the page's own check
        b.wait_for_selector(".messages li.error")
        assert "正由" in b.locator(".messages").inner_text()
        assert not HandoffSlip.objects.filter(call_id=call["id"]).exists()

        # A decides it; it leaves B's queue within a second.
        a.keyboard.press("Enter")
        decided = time.monotonic()
        b.wait_for_selector(f'#queue li[data-pk="{call["id"]}"]', state="detached", timeout=3000)
        assert time.monotonic() - decided < 2.0  # the decision's own round trip, then the push
        assert HandoffSlip.objects.filter(call_id=call["id"]).count() == 1
        shot(a, "live-workbench")


def test_with_the_push_channel_down_the_page_says_so_and_its_poll_brings_the_call(
        browser, require_postgres, tmp_path, dispatcher, system_token, shot):
    down = {"LIVE_REDIS_URL": "redis://127.0.0.1:1/0", "LIVE_POLL_SECONDS": "2"}
    with asgi_server(tmp_path, env=down) as base, bounded_page(browser, DESK) as page:
        _login(page, base, dispatcher)
        page.goto(f"{base}/dispatch/")
        page.wait_for_timeout(1500)  # the channel's first attempt has failed by now
        assert page.locator("#live-status").get_attribute("data-state") == "poll"
        assert page.locator("#live-status").inner_text() == "每 2 秒轮询"
        call = _post_call(base, system_token, NOISE)
        page.wait_for_selector(f'#queue li[data-pk="{call["id"]}"]', timeout=6000)
        assert Call.objects.filter(pk=call["id"]).exists()
        shot(page, "live-polling")


def in_thread(function, *args, **kwargs):
    """Run `function` in a thread of its own: Playwright's event loop runs in the test's thread, where neither
    asyncio.run nor the channel layer's async_to_sync may start another."""
    result, errors = [], []

    def run():
        try:
            result.append(function(*args, **kwargs))
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the thread did not finish in 60 s"
    if errors:
        raise errors[0]
    return result[0]


def _api_post(base, token, path, payload) -> dict:
    request = urllib.request.Request(f"{base}/api/v1/{path}", data=json.dumps(payload).encode(), method="POST",
                                     headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_department_inbox_and_its_notice_badge_follow_the_channel(
        browser, push_server, same_channel, staff_a, dept_a, supervisor, system_token, shot):
    with bounded_page(browser, {"width": 390, "height": 844}) as page:  # department staff are on phones
        _login(page, push_server, staff_a)
        page.goto(f"{push_server}/department/")
        page.wait_for_selector('#live-status[data-state="push"]')
        assert page.locator("#unread-badge").count() == 0

        call = _post_call(push_server, system_token, NOISE)
        _api_post(push_server, system_token, f"calls/{call['id']}/classify/",
                  {"version": 0, "decision": "non_police", "category": "C01", "department": dept_a.code})
        decided = time.monotonic()
        slip = HandoffSlip.objects.get(call_id=call["id"])
        page.wait_for_selector(f'#slip-table a:has-text("{slip.serial}")', timeout=2000)
        assert time.monotonic() - decided < 1.0

        in_thread(notice_issue, actor=supervisor, kind="warning", department=dept_a, reason="临近办理时限",
                  slips=[slip])
        issued = time.monotonic()
        page.wait_for_selector("#unread-badge", timeout=2000)
        assert time.monotonic() - issued < 1.0 and page.locator("#unread-badge").inner_text() == "1"
        shot(page, "live-inbox-phone")


def test_the_wall_screen_at_1920_by_1080_counts_a_new_call_and_shows_nothing_else(
        browser, push_server, system_token, shot):
    screen = UserFactory(username="wall-1", role=Role.WALLBOARD, first_name="指挥中心大屏")
    with bounded_page(browser, {"width": 1920, "height": 1080}) as page:
        _login(page, push_server, screen)
        assert page.url.endswith("/wallboard/")  # the screen's login lands on it
        page.wait_for_selector('#live-status[data-state="push"]')
        assert page.locator("header nav a").all_inner_texts() == ["指挥中心大屏"]
        before = int(page.locator("#fig-total").inner_text())
        waiting = int(page.locator("#fig-queue").inner_text())
        _post_call(push_server, system_token, NOISE)
        # The figures refresh at most every 2 s under a stream of calls; one call shows within that.
        expect(page.locator("#fig-total")).to_have_text(str(before + 1), timeout=3000)
        assert int(page.locator("#fig-queue").inner_text()) == waiting + 1
        page.wait_for_selector("#grid-map[data-loads]")
        box = page.locator("#wallboard").bounding_box()
        assert box["width"] > 1800 and box["height"] <= 1080  # one screen, no scrolling
        assert page.locator("#fig-total").evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 64
        shot(page, "wallboard")
        assert page.goto(f"{push_server}/dispatch/").status == 403  # and nothing else (the access matrix: all)


def test_screens_that_stop_reading_or_vanish_hold_nobody_up(push_server, dispatcher, system_token):
    """Three connections never read, one drops without a goodbye; a fourth still gets every call at once and
    the server goes on answering."""
    import asyncio

    from django.test import Client
    from websockets.asyncio.client import connect

    def session():
        client = Client()
        client.force_login(dispatcher)
        return client.cookies["sessionid"].value

    keys = [session() for _ in range(5)]
    ws_url = push_server.replace("http://", "ws://") + "/live/"

    async def scenario():
        def headers(key):
            return {"Cookie": f"sessionid={key}", "Origin": push_server}

        frozen = [await connect(ws_url, additional_headers=headers(k), open_timeout=10, max_queue=1)
                  for k in keys[:3]]
        for ws in frozen:
            ws.transport.pause_reading()
        gone = await connect(ws_url, additional_headers=headers(keys[3]), open_timeout=10)
        gone.transport.abort()
        reader = await connect(ws_url, additional_headers=headers(keys[4]), open_timeout=10)
        assert json.loads(await asyncio.wait_for(reader.recv(), 5)) == {"topics": [], "hello": True}
        late = []
        for _ in range(20):
            call = await asyncio.to_thread(_post_call, push_server, system_token, NOISE)
            posted = time.monotonic()
            while True:
                message = json.loads(await asyncio.wait_for(reader.recv(), 5))
                if f"call-{call['id']}" in message["topics"]:
                    late.append(time.monotonic() - posted)
                    break
        for ws in frozen:
            ws.transport.abort()
        await reader.close()
        return late

    late = in_thread(asyncio.run, scenario())
    assert len(late) == 20 and max(late) < 1.0, late
    with urllib.request.urlopen(f"{push_server}/health/", timeout=5) as response:
        assert response.status == 200


def test_leaving_the_workbench_lets_go_of_the_call_at_once(page, live_server, login, dispatcher):
    # The call comes in after the login: the workbench the login lands on must not hold it already, or its
    # release as that page goes could land after this page's claim.
    login(page, dispatcher)
    call = services.call_intake(actor=dispatcher, data=call_data(content=NOISE)).call
    page.goto(f"{live_server.url}/dispatch/?call={call.pk}")
    page.wait_for_selector('#claim-bar[data-state="mine"]')
    call.refresh_from_db()
    assert call.claimed_by == dispatcher
    page.goto(f"{live_server.url}/calls/new/")
    deadline = time.monotonic() + 5
    while Call.objects.get(pk=call.pk).claimed_by_id is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Call.objects.get(pk=call.pk).claimed_by_id is None
    assert AuditLog.objects.filter(call=call, action="call_release", actor=dispatcher).count() == 1


def test_a_diverted_call_reaches_the_review_layers_queue_within_a_second(
        browser, push_server, same_channel, leader, two_layers, dept_a, system_token):
    """Issue 40: the shift leader's open review queue hears of a call diverted into it, without a reload."""
    with bounded_page(browser, DESK) as page:
        _login(page, push_server, leader)
        page.goto(f"{push_server}/reviews/")
        page.wait_for_selector('#live-status[data-state="push"]')
        assert page.locator("#review-waiting a").count() == 0

        call = _post_call(push_server, system_token, NOISE)
        _api_post(push_server, system_token, f"calls/{call['id']}/classify/",
                  {"version": 0, "decision": "non_police", "category": "C01", "department": dept_a.code})
        diverted = time.monotonic()
        page.wait_for_selector(f'#review-waiting a:has-text("{call["call_id"]}")', timeout=2000)
        assert time.monotonic() - diverted < 1.0
