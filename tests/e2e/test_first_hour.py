"""Issue 38 in a real headless Chromium: the first hour of a new user. After `seed_demo`, each demo role logs in,
opens its first page and every page its menu reaches in one click, in Chinese and in English; each page has
content (rows, figures, a chart or a map), none is an error, and the daily review opens on yesterday, built
without anyone pressing 生成. Screenshots: test-artifacts/first-hour-<role>-<page>-<lang>.png."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.demo import DEMO_PASSWORD
from core.models import Role, User
from diversion.models import Notice
from incidents.models import PoliceAssignment
from tests.e2e.conftest import bounded_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

PHONE_VIEW = {"width": 390, "height": 844}
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# What a page shows, counted in the page: rows of its tables and lists (not an empty table's one grey row),
# charts (SVG), map shapes, figures, form fields, and whether it says it failed.
CONTENT = """() => {
  const main = document.querySelector("main") || document.body;
  const shown = (e) => e.offsetParent !== null || e.getClientRects().length > 0;
  const rows = [...main.querySelectorAll("tbody tr, ol > li, ul > li, article")].filter((e) =>
    shown(e) && e.innerText.trim() && !e.classList.contains("muted") && !e.classList.contains("empty")
    && !e.querySelector("td.muted[colspan]")).length;
  return {
    rows,
    charts: main.querySelectorAll("svg.chart, svg rect, svg circle, svg path").length,
    shapes: main.querySelectorAll(".leaflet-overlay-pane path, .leaflet-marker-pane *").length,
    figures: main.querySelectorAll(".figures > div").length,
    fields: main.querySelectorAll("input:not([type=hidden]), select, textarea").length,
    text: main.innerText.trim().length,
    error: /Server Error|Traceback|页面出错|Page not found/.test(document.body.innerText),
  };
}"""


def _walk(page, live_server, shot, role: str, lang: str, extra=()) -> dict[str, dict]:
    """The role's first page (where the login lands), then each page of its menu and `extra`. Returns
    what each page held, by path."""
    first = page.url.removeprefix(live_server.url)
    links = page.eval_on_selector_all("header nav a",
                                      "els => els.map(e => e.getAttribute('href'))")
    paths = [first, *(h for h in links if h and h.startswith("/") and not h.startswith("/admin")), *extra]
    seen: dict[str, dict] = {}
    for path in dict.fromkeys(paths):
        page.goto(f"{live_server.url}{path}")
        if page.locator("#grid-map, .leaflet-container, [data-map]").count():
            page.wait_for_load_state("networkidle")  # a map draws from the data it fetches
        got = page.evaluate(CONTENT)
        assert not got["error"], f"{role} {path}: an error page"
        name = path.strip("/").replace("/", "-") or "home"
        if lang == "zh" or not seen:  # every page in Chinese; in English the first page
            shot(page, f"first-hour-{role}-{name}-{lang}")
        seen[path] = got
        has = (got["rows"] + got["charts"] + got["shapes"] + got["figures"]
               + (got["fields"] if got["fields"] >= 3 else 0))
        assert has >= 1 and got["text"] > 40, f"{role} {path} ({lang}) looks empty: {got}"
    return seen


def _logins():
    """One demo login per role; for a department and a police unit, one with work in hand."""
    dept = (User.objects.filter(role=Role.DEPARTMENT, username__startswith="dept_",
                                department__in=Notice.objects.values("department")).order_by("username").first())
    unit_ids = PoliceAssignment.objects.filter(finished_at__isnull=True).values("unit")
    unit = User.objects.filter(role=Role.UNIT, unit__in=unit_ids).order_by("username").first()
    names = ["dispatcher", "supervisor", "mediator", "admin", "wallboard"]
    users = {u.role: u for u in User.objects.filter(username__in=names)}
    users.update({Role.DEPARTMENT: dept, Role.UNIT: unit})
    # The 12345 platform's account has no pages: it acts only through its signed events (issue 40).
    assert all(users.get(role) for role in Role.values if role != Role.PLATFORM), users
    return users


# Pages one click further that each role is expected to use from its first page.
EXTRA = {
    Role.SUPERVISOR: ["/notices/", "/meetings/", "/supervision/accountability/", "/supervision/league/",
                      "/supervision/reports/", "/supervision/disclosures/", "/supervision/routing/",
                      "/grids/hotspots/", "/grids/kpis/", "/grids/dispatch/", "/mediation/figures/"],
    Role.MEDIATOR: ["/mediation/figures/"],
}


def test_every_roles_first_pages_have_content_in_chinese_and_english(browser, live_server, login, shot, settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    call_command("seed_demo", stdout=io.StringIO())
    users = _logins()
    yesterday = timezone.localdate() - timedelta(days=1)

    for lang in ("zh-hans", "en"):
        for role, user in users.items():
            with bounded_page(browser, {"width": 1400, "height": 900}) as page:
                login(page, user, DEMO_PASSWORD)
                if lang == "en":
                    page.select_option("select[name=language]", "en")
                    page.wait_for_function("document.documentElement.lang === 'en'")
                assert page.locator("html").get_attribute("lang") == lang
                # The pages further in are walked in Chinese; in English, each role's menu.
                seen = _walk(page, live_server, shot, role, "zh" if lang == "zh-hans" else "en",
                             EXTRA.get(role, ()) if lang == "zh-hans" else ())
                first = next(iter(seen.values()))
                assert first["rows"] + first["charts"] + first["shapes"] + first["figures"] >= 2, (role, first)

                if role == Role.SUPERVISOR:
                    # The daily review opens on yesterday, already built: nobody pressed 生成.
                    page.goto(f"{live_server.url}/review/")
                    assert yesterday.isoformat() in page.locator("h1").inner_text()
                    assert page.locator("#review-missing").count() == 0
                    assert page.locator("#review-backfill").count() == 0  # every past day is built
                    assert page.locator("svg.chart").count() >= 1
                    # The mediation files stand at every stage; the hotspot that cooled shows its figures.
                    page.goto(f"{live_server.url}/grids/hotspots/")
                    assert page.locator("main tbody tr").count() >= 2
                if role == Role.DISPATCHER:
                    page.goto(f"{live_server.url}/dispatch/")
                    assert page.locator("#queue-list > li").count() >= 20  # the calls waiting now
                if role == Role.DEPARTMENT:  # its own month in figures, above the slips
                    page.goto(f"{live_server.url}/department/")
                    assert page.locator("#inbox-figures b").first.inner_text() not in ("", "0")
                if role == Role.MEDIATOR:
                    assert seen["/mediation/"]["rows"] >= 4  # the files in hand; the closed ones on the next tab

    # On a phone: the department's inbox, the unit's page and the mediator's files fit the screen.
    for role in (Role.DEPARTMENT, Role.UNIT, Role.MEDIATOR):
        with bounded_page(browser, PHONE_VIEW, is_mobile=True, has_touch=True) as phone:
            login(phone, users[role], DEMO_PASSWORD)
            got = phone.evaluate(CONTENT)
            assert got["rows"] >= 1, (role, got)
            assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEW["width"], role
            shot(phone, f"first-hour-{role}-phone")


def test_the_dashboard_shows_the_backfill_building_past_days_live(page, live_server, login, shot, make_slip,
                                                                   supervisor, settings):
    """While the backfill runs, the dashboard opens on the latest built day and says how far it has got; the
    line follows the worker and ends with a link to the latest day."""
    from incidents.review.services import daily_review_build, daily_reviews_backfill
    from tests.incidents.review_fixture import DAY, build_fixture_day

    settings.REVIEW_BACKFILL_DAYS = 5000  # the fixture's days lie in 2025
    build_fixture_day(make_slip)
    for n in (2, 3):
        daily_review_build(day=DAY - timedelta(days=n))
    login(page, supervisor)
    page.goto(f"{live_server.url}/review/")
    assert (DAY - timedelta(days=2)).isoformat() in page.locator("h1").inner_text()
    assert "5 天中已生成 2 天" in page.locator("#review-backfill").inner_text()
    shot(page, "first-hour-review-backfill-progress")

    assert daily_reviews_backfill() == 3  # the worker's run
    page.locator("#review-backfill", has_text="已全部生成").wait_for()  # the line polls every 5 s
    page.locator("#review-backfill a").click()
    page.wait_for_load_state()
    assert DAY.isoformat() in page.locator("h1").inner_text()
