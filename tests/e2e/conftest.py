import os
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    from tests.conftest import IN_CI

    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"CI must run the browser tests, but there is no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (make system-deps installs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            timeout=60_000,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"],
        )
        yield browser
        browser.close()


# Reports every Content-Security-Policy violation to the console (an init script is not itself under the CSP).
_CSP_LISTENER = """document.addEventListener("securitypolicyviolation", (e) => console.error(
  "CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile
  + ":" + e.lineNumber));"""


def csp_watch(page) -> list[str]:
    """The CSP violations a page reports, as they happen (Chromium's own console message and the DOM event)."""
    violations: list[str] = []
    page.add_init_script(_CSP_LISTENER)
    page.on("console", lambda m: violations.append(m.text) if (
        "Content Security Policy" in m.text or m.text.startswith("CSP violation")) else None)
    return violations


def leave(page) -> None:
    """Before the page closes and the test's database is flushed: a workbench holding a call would release it
    as the page goes (a beacon, workbench.js), a request the flush could deadlock with. The test is over, so
    the page's beacons go nowhere. (tests/e2e/test_live.py shows the release itself.)"""
    try:
        if not page.is_closed():
            page.evaluate("() => { navigator.sendBeacon = () => true; }")
    except Exception:  # a page already gone sends nothing
        pass


@contextmanager
def bounded_page(browser, viewport: dict, **options):
    """A page at that viewport, in Chinese, with every wait bounded (a selector or a click 15 s, a page load
    30 s), failing the test on any Content-Security-Policy violation."""
    context = browser.new_context(viewport=viewport, locale="zh-CN", **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.set_default_navigation_timeout(30_000)
    violations = csp_watch(page)
    try:
        yield page
    finally:
        leave(page)
        context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def page(browser):
    """A desk-width page. Every browser test doubles as a CSP test: a violation on any page fails it."""
    with bounded_page(browser, {"width": 1400, "height": 900}) as page:
        yield page


@pytest.fixture
def shot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(live_server):
    def do(page, user, password="pw-for-tests-1"):
        # Leave the last page first: its polling, once the cookies are gone, would follow the redirect to the
        # login page and set a new CSRF cookie behind the form about to be posted (a 403 "CSRF token
        # incorrect", and the test goes on logged out).
        page.goto("about:blank")
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        # Wait for the login's own navigation: a bare wait_for_load_state() can return on the login page
        # itself, and the test's next goto would then race the POST that sets the session cookie.
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.wait_for_load_state()

    return do
