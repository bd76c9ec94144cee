"""Issue 33: every role's pages pass the Content-Security-Policy in a real Chromium, at desk and phone widths.
The `page` fixture fails a test on any violation; this test walks each role's pages and proves, with an
inline script injected on purpose, that a violation would be caught."""

import pytest
from django.urls import reverse

from tests.e2e.conftest import csp_watch
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESK, PHONE = {"width": 1400, "height": 900}, {"width": 390, "height": 844}


def _role_pages(make_slip, dispatcher, staff_a, supervisor, mediator):
    slip = make_slip()
    admin = UserFactory(username="admin1", role="admin", is_staff=True, is_superuser=True)
    return {
        dispatcher: ["dispatch-workbench", "call-new", "call-list", ("call-page", slip.call_id), "grids-map",
                     "grids-dispatch", "grids-unplaced", "grids-kpis"],
        staff_a: ["department-inbox", ("slip-detail", slip.pk), ("slip-print", slip.pk), ("call-page", slip.call_id),
                  "notice-list", "meeting-list"],
        supervisor: ["callback-list", "supervision-home", "notice-list", "notice-new", "league-table", "report-list",
                     "review", "mediation-files", "mediation-figures", "grids-hotspots"],
        mediator: ["mediation-files"],
        UserFactory(username="wall1", role="wallboard"): ["wallboard"],
        admin: ["admin:index", "admin:core_outboxmessage_changelist", "admin:incidents_call_changelist"],
    }


@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["desk", "phone"])
def test_each_roles_pages_load_without_a_csp_violation(browser, live_server, make_slip, dispatcher, staff_a,
                                                       supervisor, mediator, viewport):
    pages = _role_pages(make_slip, dispatcher, staff_a, supervisor, mediator)
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.set_default_navigation_timeout(30_000)
        violations = csp_watch(page)
        response = page.goto(f"{live_server.url}/accounts/login/")
        policy = response.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'" and directives["object-src"] == "'none'"  # no nonce used here
        for user, names in pages.items():
            context.clear_cookies()
            page.goto(f"{live_server.url}/accounts/login/")
            page.fill("#id_username", user.username)
            page.fill("#id_password", "pw-for-tests-1")
            with page.expect_navigation():
                page.click("button[type=submit]")
            for name in names:
                url = reverse(name[0], args=name[1:]) if isinstance(name, tuple) else reverse(name)
                response = page.goto(live_server.url + url)
                assert response.status == 200, (user.username, url, response.status)
                if name == "dispatch-workbench":  # the one page with an inline script: it carries the nonce
                    assert "'nonce-" in response.headers["content-security-policy"]
                page.wait_for_load_state("load")
        assert violations == [], violations

        # The control: an inline script without the nonce is blocked and reported.
        page.evaluate("""() => { const s = document.createElement("script");
                                 s.textContent = "window.injected = 1"; document.body.appendChild(s); }""")
        page.wait_for_timeout(200)
        assert page.evaluate("() => window.injected") is None
        assert any("script-src" in v for v in violations), violations
    finally:
        context.close()


def test_a_bad_date_in_a_page_url_says_why_on_a_phone(page, live_server, login, shot, supervisor):
    login(page, supervisor)
    page.set_viewport_size(PHONE)
    response = page.goto(f"{live_server.url}/review/?date=0018-05-01")
    assert response.status == 400
    assert "2000-01-01" in page.locator("#bad-request-reason").inner_text()
    shot(page, "bad-request-phone")
