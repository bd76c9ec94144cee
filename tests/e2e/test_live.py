"""Issue 36 in headless Chromium against a real ASGI server process with Redis: a call posted to the API
reaches two dispatchers' screens within a second; the one who opens it holds it, the other sees who has it
and cannot decide it; with the push channel down the page says so and its poll still brings the call."""

import json
import time
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core.models import Role
from diversion.models import HandoffSlip
from incidents.models import Call
from tests.factories import UserFactory

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
def push_server(require_postgres, redis_url, tmp_path):
    prefix = f"fenliu-test-{uuid.uuid4().hex[:8]}"
    with asgi_server(tmp_path, env={"LIVE_REDIS_URL": redis_url, "LIVE_PREFIX": prefix}) as url:
        yield url


def _login(page, base, user):
    # The server process hashes with the production hashers, not the tests' fast one.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt(), iterations=1000)
    user.save(update_fields=["password"])
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
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
