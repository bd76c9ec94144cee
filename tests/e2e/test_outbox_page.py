"""The outbox page in a real headless Chromium, at desk and phone widths: an administrator sees what waits
and the dead letters with their reason, and retries one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import AuditLog, OutboxMessage, Role
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("width", "height"), [(1400, 900), (390, 844)])
def test_an_administrator_sees_the_dead_letter_and_retries_it(page, live_server, login, shot, width, height):
    admin = UserFactory(username=f"ops{width}", role=Role.ADMIN, is_staff=True, is_superuser=True)
    now = timezone.now()
    OutboxMessage.objects.create(kind="mediation.calls_link", key="calls-link:1", payload={"call": 1},
                                 next_attempt_at=now + timedelta(minutes=5), attempts=2)
    dead = OutboxMessage.objects.create(kind="mediation.calls_link", key="calls-link:9", payload={"call": 9},
                                        next_attempt_at=now, status="dead", attempts=10,
                                        last_error="OperationalError: the database was restarting")
    page.set_viewport_size({"width": width, "height": height})
    login(page, admin)
    page.goto(f"{live_server.url}/admin/core/outboxmessage/")

    figures = page.locator("#outbox-figures")
    assert figures.locator('[data-figure="pending"] dd').inner_text() == "1"
    assert figures.locator('[data-figure="dead"] dd').inner_text() == "1"
    figures.locator('[data-figure="dead"] a').click()
    page.wait_for_load_state()
    assert "the database was restarting" in page.locator("#result_list").inner_text()
    shot(page, f"outbox-dead-letters-{width}")

    page.locator(f'input[name="_selected_action"][value="{dead.pk}"]').check()
    page.select_option('select[name="action"]', "retry")
    page.locator('button[name="index"]').click()
    page.wait_for_load_state()
    assert "1 条消息将重新投递" in page.locator(".messagelist").inner_text()
    shot(page, f"outbox-retried-{width}")
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == ("delivered", 1)  # due at once, and the relay was woken
    assert AuditLog.objects.filter(action="outbox_retry", object_id=dead.pk, actor=admin).exists()
