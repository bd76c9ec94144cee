"""Who reaches what: every URL pattern the resolver knows × eight fixed actors.

The patterns are read from the resolver at test time, so a new URL without an entry in MATRIX fails
`test_every_url_pattern_has_an_entry`. Each cell states the status the actor gets; every body is searched for
the markers the actor must never see: another department's slip serials, callers' names and return reasons,
another station's dispute files and parties, and any caller's full phone number outside the audited reveal.

Requests run in a savepoint rolled back after each one, so a POST that an actor may make changes nothing for
the next cell. POSTs carry no form data: what is checked is who gets past the door, not the form.
"""

import re
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from core.models import AuditLog, Role, User
from diversion.models import Department, NoticeKind, Platform, ReviewLayer
from diversion.services import slip_accept, slip_return
from diversion.supervision.reports import report_generate
from diversion.supervision.services import meeting_action_add, meeting_convene, meeting_record, notice_issue
from grids.models import Grid, PatrolPoint, Team, Unit
from grids.services import hotspot_open
from incidents import services as call_services
from incidents.models import CallImport
from incidents.review.services import daily_review_build
from mediation import services as mediation_services
from mediation.models import FollowUpVisit, Mediator, MemberKind
from tests.factories import UnitFactory, call_data, category

pytestmark = pytest.mark.django_db

ANON, DISPATCHER, STAFF_A, STAFF_B = "anonymous", "dispatcher", "staff_a", "staff_b"
SUPERVISOR, MED_1, MED_2, ADMIN = "supervisor", "mediator_1", "mediator_2", "administrator"
WALL = "wallboard"  # the command centre's wall screen: its figures and nothing else
# Police units' own logins on their phones (issue 37): A holds the world's police call, B is another patrol.
UNIT_A, UNIT_B = "unit_a", "unit_b"
ACTORS = (ANON, DISPATCHER, STAFF_A, STAFF_B, SUPERVISOR, MED_1, MED_2, ADMIN, WALL, UNIT_A, UNIT_B)
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# ---------------------------------------------------------------------------------------------------------------
# The matrix. A cell: the status each actor gets. `allow` names who gets past the door and with what status;
# everyone else logged in gets `other` (403 by role, 404 for an object outside their scope), anonymous `anon`.


def allow(status: int | dict, *actors: str, other: int = 403, anon: int = 302, **more: int) -> dict:
    cells = {actor: other for actor in ACTORS}
    cells[ANON] = anon
    for actor in actors:
        cells[actor] = status
    for actor, value in more.items():  # an actor's own status, by its name
        assert actor in ACTORS, actor
        cells[actor] = value
    return cells


def everyone(status: int, anon: int = 302) -> dict:
    return allow(status, *ACTORS[1:], anon=anon)


# POSTed in the matrix, but a GET is theirs too (a form, or the API's list of the same address).
GET_TOO = {"api/v1/calls/", "grids/hotspots/new/", "accounts/logout/", "i18n/setlang/"}
# Reached by a signature, not a login (issue 40).
SIGNED_ONLY = {"api/v1/platforms/<slug:code>/events/"}
# The daily review of the day the world's calls came in.
TODAY = "date={today}"
CENTRE = (DISPATCHER, SUPERVISOR)


class Url:
    """How to call one pattern: the method, the status per actor, the path's arguments (names of world objects
    or literal values) and a query string, formatted with the world's objects."""

    def __init__(self, method: str, expect: dict, query: str = "", **kwargs: str):
        self.method, self.expect, self.query, self.kwargs = method, expect, query, kwargs


def get(expect, query="", **kwargs):
    return Url("GET", expect, query, **kwargs)


def post(expect, **kwargs):
    return Url("POST", expect, "", **kwargs)


# Keyed by the route as the resolver spells it (namespaces and regex anchors left out).
MATRIX = {
    # core
    "": get(allow(302, DISPATCHER, STAFF_A, STAFF_B, SUPERVISOR, MED_1, MED_2, ADMIN, WALL, UNIT_A, UNIT_B)),
    "health/": get(everyone(200, anon=200)),
    "accounts/login/": get(everyone(200, anon=200)),
    "accounts/logout/": post(everyone(302, anon=302)),
    "accounts/password_change/": get(everyone(200)),
    "accounts/password_change/done/": get(everyone(200)),
    "accounts/password_reset/": get(everyone(200, anon=200)),
    "accounts/password_reset/done/": get(everyone(200, anon=200)),
    "accounts/reset/<uidb64>/<token>/": get(everyone(200, anon=200), uidb64="MQ", token="set-password"),
    "accounts/reset/done/": get(everyone(200, anon=200)),
    "i18n/setlang/": post(everyone(302, anon=302)),
    # API (session-authenticated here; the token cases are in test_api_*.py)
    "api/v1/calls/": post(allow(400, *CENTRE, anon=401)),
    "api/v1/calls/<int:pk>/": get(allow(200, *CENTRE, anon=401), pk="call_a"),
    "api/v1/calls/<int:pk>/classify/": post(allow(400, *CENTRE, anon=401), pk="call_new"),
    "api/v1/calls/<int:pk>/claim/": post(allow(200, *CENTRE, anon=401), pk="call_new"),
    "api/v1/calls/<int:pk>/release/": post(allow(200, *CENTRE, anon=401), pk="call_new"),
    "api/v1/calls/<int:pk>/take-over/": post(allow(200, SUPERVISOR, anon=401), pk="call_new"),
    "api/v1/units/positions/": post(allow(400, *CENTRE, anon=401)),
    "api/v1/slips/": get(allow(200, *CENTRE, STAFF_A, STAFF_B, anon=401)),
    "api/v1/slips/<pk>/": get(allow(200, *CENTRE, STAFF_A, anon=401, staff_b=404), pk="slip_a"),
    "api/v1/slips/<pk>/accept/": post(allow(200, STAFF_A, anon=401, staff_b=404), pk="slip_a"),
    "api/v1/slips/<pk>/callbacks/": post(allow(400, *CENTRE, anon=401), pk="slip_a"),
    "api/v1/slips/<pk>/complete/": post(allow(400, STAFF_A, anon=401, staff_b=404), pk="slip_a"),
    "api/v1/slips/<pk>/return/": post(allow(400, STAFF_A, anon=401, staff_b=404), pk="slip_a"),
    # The 12345 platform's events (issue 40): no login reaches it, only a signature; unsigned is 401 for all.
    "api/v1/platforms/<slug:code>/events/": post(everyone(401, anon=401), code="gx12345"),
    # Open311 (issue 41): the services are public; requests are read by an api_key, never by a login: without
    # a key everyone gets the specification's 403 (tests/diversion/test_open311.py has the keys).
    "open311/v2/discovery.<open311format:format>": get(everyone(200, anon=200), format="json"),
    "open311/v2/services.<open311format:format>": get(everyone(200, anon=200), format="xml"),
    "open311/v2/services/<str:code>.<open311format:format>": get(everyone(200, anon=200), code="C01",
                                                                  format="json"),
    "open311/v2/requests.<open311format:format>": get(everyone(403, anon=403), format="json"),
    "open311/v2/requests/<str:request_id>.<open311format:format>": get(everyone(403, anon=403),
                                                                        request_id="2026-000001", format="xml"),
    "open311/v2/servicerequestupdates.<open311format:format>": get(everyone(403, anon=403), format="xml"),
    "open311/v2/tokens/<str:token>.<open311format:format>": get(everyone(403, anon=403), token="A-1",
                                                                 format="json"),
    # Reviews before a slip leaves (issue 40): the centre's; an empty decision is refused before the service.
    "api/v1/reviews/": get(allow(200, *CENTRE, anon=401)),
    "api/v1/reviews/<pk>/": get(allow(200, *CENTRE, anon=401), pk="review"),
    "api/v1/reviews/<pk>/decide/": post(allow(400, *CENTRE, anon=401), pk="review"),
    # The schema describes the API, it holds no records: public, like the login page.
    "api/v1/schema/": get(everyone(200, anon=200)),
    # dispatch and calls
    "dispatch/": get(allow(200, DISPATCHER)),
    "dispatch/queue/": get(allow(200, DISPATCHER)),
    "dispatch/calls/<int:pk>/panel/": get(allow(200, DISPATCHER), pk="call_new"),
    "dispatch/calls/<int:pk>/classify/": post(allow(302, DISPATCHER), pk="call_new"),
    # Claims (issue 36): who holds a call, shown to the centre; a claim, a release (nothing held: no change).
    "dispatch/calls/<int:pk>/claim/": get(allow(200, *CENTRE), pk="call_new"),
    "dispatch/calls/<int:pk>/release/": post(allow(200, *CENTRE), pk="call_new"),
    "calls/": get(allow(200, *CENTRE)),
    "calls/new/": get(allow(200, DISPATCHER)),
    "calls/<int:pk>/": get(allow(200, *CENTRE, STAFF_A, staff_b=404), pk="call_a"),
    "calls/<int:pk>/phone/": post(allow(400, *CENTRE, STAFF_A, staff_b=404), pk="call_a"),  # no reason given
    "calls/<int:pk>/grid/": post(allow(302, DISPATCHER), pk="call_new"),
    "assignments/<int:pk>/finish/": post(allow(302, DISPATCHER), pk="assignment"),
    # The wall screen (issue 36): counts and the map, for the screen's login and supervisors.
    "wallboard/": get(allow(200, SUPERVISOR, WALL)),
    "wallboard/figures/": get(allow(200, SUPERVISOR, WALL)),
    "wallboard/map.json": get(allow(200, SUPERVISOR, WALL)),
    # departments and slips
    "department/": get(allow(200, *CENTRE, STAFF_A, STAFF_B)),
    "slips/<int:pk>/": get(allow(200, *CENTRE, STAFF_A, staff_b=404), pk="slip_a"),
    "slips/<int:pk>/print/": get(allow(200, *CENTRE, STAFF_A, staff_b=404), pk="slip_a"),
    "slips/<int:pk>/accept/": post(allow(302, STAFF_A, staff_b=404), pk="slip_a"),
    "slips/<int:pk>/return/": post(allow(400, STAFF_A, staff_b=404), pk="slip_a"),
    "slips/<int:pk>/complete/": post(allow(400, STAFF_A, staff_b=404), pk="slip_a"),
    "slips/<int:pk>/callback/": post(allow(400, *CENTRE), pk="slip_a"),
    "callbacks/": get(allow(200, *CENTRE)),
    # Review layers before a slip leaves (issue 40): the centre's pages; an empty decision is refused (400).
    "reviews/": get(allow(200, *CENTRE)),
    "reviews/<int:pk>/": get(allow(200, *CENTRE), pk="review"),
    "reviews/<int:pk>/decide/": post(allow(400, *CENTRE), pk="review"),
    # supervision
    "supervision/": get(allow(200, SUPERVISOR)),
    "notices/": get(allow(200, *CENTRE, STAFF_A, STAFF_B)),
    "notices/new/": get(allow(200, SUPERVISOR)),
    "notices/<int:pk>/": get(allow(200, *CENTRE, STAFF_A, staff_b=404), pk="notice_a"),
    "notices/<int:pk>/print/": get(allow(200, *CENTRE, STAFF_A, staff_b=404), pk="notice_a"),
    "notices/<int:pk>/reply/": post(allow(400, STAFF_A, staff_b=404), pk="notice_a"),
    "notices/<int:pk>/review/": post(allow(400, SUPERVISOR), pk="notice_a"),
    "meetings/": get(allow(200, *CENTRE, STAFF_A, STAFF_B)),
    "slips/<int:slip_pk>/meeting/": get(allow(200, SUPERVISOR), slip_pk="slip_a"),
    "meetings/<int:pk>/": get(allow(200, *CENTRE, STAFF_A, staff_b=404), pk="meeting_a"),
    "meetings/<int:pk>/record/": post(allow(400, SUPERVISOR), pk="meeting_a"),
    "meetings/<int:pk>/actions/": post(allow(400, SUPERVISOR), pk="meeting_a"),
    "meetings/<int:pk>/close/": post(allow(302, SUPERVISOR), pk="meeting_a"),
    "meeting-actions/<int:pk>/done/": post(allow(302, STAFF_A, staff_b=404), pk="action_a"),
    "supervision/accountability/": get(allow(200, SUPERVISOR)),
    "supervision/league/": get(allow(200, SUPERVISOR)),
    "supervision/disclosures/": get(allow(200, SUPERVISOR)),
    # Routing quality: supervisors and administrators read it and ask for a retraining; administrators alone
    # add a word to the police signals (an empty form here: refused with a message, nothing changes).
    "supervision/routing/": get(allow(200, SUPERVISOR, ADMIN)),
    "supervision/routing/retrain/": post(allow(302, SUPERVISOR, ADMIN)),
    "supervision/routing/misses/<int:pk>/word/": post(allow(302, ADMIN), pk="call_a"),
    "supervision/reports/": get(allow(200, SUPERVISOR)),
    "supervision/reports/<int:pk>/": get(allow(200, SUPERVISOR), pk="report"),
    "supervision/reports/<int:pk>/export.xlsx": get(allow(200, SUPERVISOR), pk="report"),
    # grids and police units
    "grids/map/": get(allow(200, *CENTRE)),
    "grids/map/data/": get(allow(200, *CENTRE)),
    "grids/dispatch/": get(allow(200, *CENTRE)),
    "grids/dispatch/calls/<int:pk>/": post(allow(302, DISPATCHER), pk="call_new"),
    "grids/assignments/<int:pk>/arrive/": post(allow(302, DISPATCHER), pk="assignment"),
    "grids/assignments/<int:pk>/hand-over/": post(allow(302, DISPATCHER), pk="assignment"),
    "grids/kpis/": get(allow(200, *CENTRE)),
    "grids/unplaced/": get(allow(200, *CENTRE)),
    "grids/place-preview/": get(allow(200, *CENTRE), query="address=中山中路18号"),
    "grids/unplaced/<int:pk>/": post(allow(302, DISPATCHER), pk="call_new"),
    "grids/hotspots/": get(allow(200, *CENTRE)),
    "grids/hotspots/new/": post(allow(302, *CENTRE)),
    "grids/hotspots/<int:pk>/": get(allow(200, *CENTRE), pk="hotspot"),
    "grids/hotspots/<int:pk>/actions/": post(allow(302, *CENTRE), pk="hotspot"),
    "grids/patrol/": get(allow(200, *CENTRE)),
    # A unit's phone page: its own calls. The centre opens any unit's page by its code (?unit=), so a stamp
    # or a position with none names no unit (404); another unit's call is not found either.
    "unit/": get(allow(200, *CENTRE, UNIT_A, UNIT_B)),
    "unit/assignments/<int:pk>/": post(allow(302, UNIT_A, dispatcher=404, supervisor=404, unit_b=404),
                                       pk="assignment"),
    "unit/position/": post(allow(302, UNIT_A, UNIT_B, dispatcher=404, supervisor=404)),
    "grids/patrol/points/<int:pk>/check-in/": post(allow(302, *CENTRE), pk="patrol_point"),
    # mediation
    "mediation/": get(allow(200, SUPERVISOR, MED_1, MED_2)),
    # The centre opens a file from a call (?call=) only: without one the page is not there for them.
    "mediation/new/": get(allow(200, MED_1, MED_2, dispatcher=404, supervisor=404)),
    "mediation/figures/": get(allow(200, SUPERVISOR, MED_1, MED_2)),
    "mediation/<int:pk>/": get(allow(200, SUPERVISOR, MED_1, mediator_2=404), pk="file_1"),
    "mediation/<int:pk>/take/": post(allow(302, MED_1, mediator_2=404), pk="file_1"),
    "mediation/<int:pk>/triage/": post(allow(400, MED_1, mediator_2=404), pk="file_1"),
    "mediation/<int:pk>/plan/": post(allow(400, MED_1, mediator_2=404), pk="file_1"),
    "mediation/<int:pk>/parties/": post(allow(400, MED_1, mediator_2=404), pk="file_1"),
    "mediation/<int:pk>/sessions/": post(allow(400, MED_1, mediator_2=404), pk="file_1"),
    "mediation/<int:pk>/close/": post(allow(400, MED_1, mediator_2=404), pk="file_1"),
    "mediation/<int:pk>/reopen/": post(allow(400, MED_1, mediator_2=404), pk="file_closed_1"),
    "mediation/<int:pk>/agreement/": get(allow(200, SUPERVISOR, MED_1, mediator_2=404), pk="file_closed_1"),
    "mediation/visits/<int:pk>/": post(allow(400, MED_1, mediator_2=404), pk="visit_1"),
    # the daily review
    "review/": get(allow(200, *CENTRE), query=TODAY),
    # Importing historical calls (issue 43): the centre's supervisors.
    "imports/calls/": get(allow(200, SUPERVISOR)),
    "imports/calls/<int:pk>/": get(allow(200, SUPERVISOR), pk="call_import"),
    "imports/calls/<int:pk>/progress/": get(allow(200, SUPERVISOR), pk="call_import"),
    "review/backfill/": get(allow(200, *CENTRE)),
    "review/build/": post(allow(302, *CENTRE)),
    "review/calls/": get(allow(200, *CENTRE), query=TODAY),
    "review/map.json": get(allow(200, *CENTRE), query=TODAY),
    "review/export.xlsx": get(allow(200, *CENTRE), query=TODAY),
    "review/export.pdf": get(allow(200, *CENTRE), query=TODAY),
}

# The admin site: one rule for all its patterns. Only the administrator (staff, no model permissions here) gets
# in, and sees none of the models; everyone else is sent to the admin's login.
ADMIN_PREFIX = "admin/"
ADMIN_INDEX = {f"{ADMIN_PREFIX}", f"{ADMIN_PREFIX}logout/", f"{ADMIN_PREFIX}password_change/",
               f"{ADMIN_PREFIX}password_change/done/", f"{ADMIN_PREFIX}login/", f"{ADMIN_PREFIX}jsi18n/"}


# ---------------------------------------------------------------------------------------------------------------
# The resolver's patterns.


def _route(pattern) -> str:
    """A route as written: regex anchors dropped, a regex group `(?P<pk>...)` written `<pk>`."""
    route = str(pattern.pattern).lstrip("^").rstrip("$").replace("\\Z", "").replace("\\.", ".")
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route)


def url_patterns(patterns=None, prefix="", namespace="") -> list[tuple[str, str]]:
    """(route, qualified name) for every pattern the resolver knows."""
    found = []
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            found += url_patterns(p.url_patterns, prefix + _route(p), ns)
        elif isinstance(p, URLPattern):
            found.append((prefix + _route(p), f"{namespace}{p.name}" if p.name else ""))
    return found


def test_every_url_pattern_has_an_entry():
    routes = {route for route, _name in url_patterns() if not route.startswith(ADMIN_PREFIX)}
    missing = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert not missing, f"URL patterns with no row in the access matrix: {missing}"
    assert not stale, f"Matrix rows for URL patterns that no longer exist: {stale}"


# ---------------------------------------------------------------------------------------------------------------
# The world: two departments, two stations, and objects of each.


def _user(username, role, **extra) -> User:
    user = User.objects.create_user(username=username, password="x", role=role, **extra)
    return user


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction rolled back at the end."""
    from django.db import connection

    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)
    with django_db_blocker.unblock():
        connection.close()


def _build_world() -> dict:
    dept_a, dept_b = Department.objects.get(code="STJ"), Department.objects.get(code="CGJ")
    station_1 = UnitFactory(code="PS-M1", name="矩阵一所", kind=Unit.Kind.STATION)
    station_2 = UnitFactory(code="PS-M2", name="矩阵二所", kind=Unit.Kind.STATION)
    patrol = UnitFactory(code="PT-M1", name="矩阵巡逻组", kind=Unit.Kind.PATROL)
    patrol.stations.set([station_1])
    patrol_b = UnitFactory(code="PT-M2", name="矩阵巡逻二组", kind=Unit.Kind.PATROL)
    users = {
        DISPATCHER: _user("m_dispatcher", Role.DISPATCHER),
        STAFF_A: _user("m_staff_a", Role.DEPARTMENT, department=dept_a),
        STAFF_B: _user("m_staff_b", Role.DEPARTMENT, department=dept_b),
        SUPERVISOR: _user("m_supervisor", Role.SUPERVISOR),
        MED_1: _user("m_mediator_1", Role.MEDIATOR),
        MED_2: _user("m_mediator_2", Role.MEDIATOR),
        ADMIN: _user("m_admin", Role.ADMIN, is_staff=True),
        WALL: _user("m_wallboard", Role.WALLBOARD),
        UNIT_A: _user("m_unit_a", Role.UNIT, unit=patrol),
        UNIT_B: _user("m_unit_b", Role.UNIT, unit=patrol_b),
    }
    Mediator.objects.create(user=users[MED_1], station=station_1, kind=MemberKind.STATION_MEDIATOR)
    Mediator.objects.create(user=users[MED_2], station=station_2, kind=MemberKind.STATION_MEDIATOR)
    dispatcher, supervisor = users[DISPATCHER], users[SUPERVISOR]

    def intake(name, phone, content):
        data = call_data(caller_name=name, caller_phone=phone, content=content)
        return call_services.call_intake(actor=dispatcher, data=data).call

    def divert(call, department):
        return call_services.call_divert(actor=dispatcher, call_pk=call.pk, category=category("C01"),
                                         department=department)

    call_a = intake("甲局来电人蒋", "13811110001", "甲局事项：小区广场舞噪音扰民")
    slip_a = divert(call_a, dept_a)
    call_b = intake("乙局来电人韩", "13811110002", "乙局事项：工地夜间施工噪音")
    slip_b = divert(call_b, dept_b)
    slip_accept(actor=users[STAFF_B], slip_pk=slip_b.pk)
    # Diverted to B, returned with a reason, then given to A: A holds the call but not B's history.
    call_r = intake("退回来电人魏", "13811110003", "退回事项：楼下餐馆油烟")
    slip_rb = divert(call_r, dept_b)
    slip_return(actor=users[STAFF_B], slip_pk=slip_rb.pk, reason="乙局退回理由：不属本局职责QX7")
    slip_ra = divert(call_r, dept_a)
    call_new = intake("待分类来电人沈", "13811110004", "待分类事项：路灯不亮")
    call_unit = intake("出警来电人杨", "13811110005", "出警事项：两人在店门口推搡")
    assignment = call_services.call_assign_police(actor=dispatcher, call_pk=call_unit.pk, unit=patrol,
                                                  category=category("A01"))

    notice_a = notice_issue(actor=supervisor, kind=NoticeKind.WARNING, department=dept_a, slips=[slip_a],
                            reason="临近办理时限")
    notice_issue(actor=supervisor, kind=NoticeKind.WARNING, department=dept_b, slips=[slip_b],
                 reason="乙局通报理由QX8")
    now = timezone.now()
    meeting_a = meeting_convene(actor=supervisor, slip_pk=slip_a.pk, title="甲局联席会议", meeting_at=now,
                                time_limit=now + timedelta(days=7), departments=[dept_a])
    meeting_record(actor=supervisor, meeting_pk=meeting_a.pk, decisions="甲局牵头整改")
    action_a = meeting_action_add(actor=supervisor, meeting_pk=meeting_a.pk, department=dept_a,
                                  description="甲局整改", deadline=now + timedelta(days=7))
    report = report_generate(actor=supervisor, kind="daily", day=date.today())
    grid = Grid.objects.create(code="MX1", name="矩阵微网格", level="micro")
    team = Team.objects.create(grid=grid, name="矩阵小分队", officer="民警甲", auxiliary="辅警乙")
    hotspot = hotspot_open(actor=supervisor, grid=grid, team=team, plan="夜间巡逻")
    patrol_point = PatrolPoint.objects.create(name="矩阵必到点", lat=25.28, lon=110.29)
    today = timezone.localdate()
    daily_review_build(day=today, actor=supervisor)
    # One review layer from here on: the next diversion waits in review, seen by the centre only.
    ReviewLayer.objects.create(position=1, name_zh="值班长", name_en="Shift leader", role=Role.SUPERVISOR)
    call_rev = intake("审核来电人卫", "13811110006", "审核事项：小区停车位纠纷")
    call_services.call_divert(actor=dispatcher, call_pk=call_rev.pk, category=category("C01"), department=dept_a)
    review = call_rev.reviews.get()
    Platform.objects.create(code="gx12345", name="矩阵数管中心", url="http://127.0.0.1:9/", secret="x" * 20,
                            user=_user("m_platform", Role.PLATFORM))

    def file_at(mediator, station, marker):
        return mediation_services.file_open(actor=users[mediator], station=station, title=f"{marker}纠纷", parties=[
            {"name": f"{marker}申请人", "phone": "13900000001", "role": "applicant"},
            {"name": f"{marker}被申请人", "phone": "13900000002", "role": "respondent"},
        ])

    file_1 = file_at(MED_1, station_1, "一所调解")
    file_2 = file_at(MED_2, station_2, "二所调解")
    file_closed_1 = file_at(MED_1, station_1, "一所结案")
    mediation_services.file_take(actor=users[MED_1], file_pk=file_closed_1.pk)
    mediation_services.file_triage(actor=users[MED_1], file_pk=file_closed_1.pk, complexity="simple")
    closed = mediation_services.file_close(actor=users[MED_1], file_pk=file_closed_1.pk, outcome="agreed",
                                           agreement_text="双方同意赔偿")
    visit_1 = FollowUpVisit.objects.filter(file=closed).first()

    a_marks = [slip_a.serial, slip_ra.serial, call_a.caller_name, call_a.content, notice_a.serial]
    # Marks with a Chinese character: a random token (CSRF, CSP nonce) can hold "QX8" by chance, never "理由QX8".
    b_marks = [slip_b.serial, slip_rb.serial, call_b.caller_name, call_b.content, "职责QX7", "理由QX8"]
    file_1_marks = [file_1.serial, "一所调解申请人", file_closed_1.serial]
    file_2_marks = [file_2.serial, "二所调解申请人"]
    rev_marks = [call_rev.caller_name, call_rev.content]
    all_marks = a_marks + b_marks + file_1_marks + file_2_marks + [call_r.caller_name] + rev_marks
    forbidden = {
        ANON: all_marks, ADMIN: all_marks, WALL: all_marks, DISPATCHER: [], SUPERVISOR: [],
        UNIT_A: all_marks, UNIT_B: all_marks + [call_unit.content, call_unit.caller_name],
        # A holds call_r now; B's return of it (serial, reason) is B's. B keeps read-only facts of what it
        # returned, without the caller's name.
        STAFF_A: b_marks + file_1_marks + file_2_marks + rev_marks,
        STAFF_B: a_marks + file_1_marks + file_2_marks + [call_r.caller_name] + rev_marks,
        MED_1: a_marks + b_marks + file_2_marks + rev_marks, MED_2: a_marks + b_marks + file_1_marks + rev_marks,
    }
    return {
        "users": users, "forbidden": forbidden,
        "own": {"slip_a": slip_a.serial, "slip_b": slip_b.serial, "caller_a": call_a.caller_name,
                "file_1": file_1.serial, "file_2": file_2.serial},
        # A caller's full number is shown only by the audited reveal.
        "phones": [c.caller_phone for c in (call_a, call_b, call_r, call_new, call_unit, call_rev)],
        # ... and on the department's printed part of the slip, itself recorded as a reveal.
        "printed_phone": call_a.caller_phone,
        "objects": {
            "call_a": call_a.pk, "call_new": call_new.pk, "slip_a": slip_a.pk, "slip_b": slip_b.pk,
            "assignment": assignment.pk, "notice_a": notice_a.pk, "meeting_a": meeting_a.pk,
            "action_a": action_a.pk, "report": report.pk, "hotspot": hotspot.pk,
            "patrol_point": patrol_point.pk, "file_1": file_1.pk, "review": review.pk,
            "file_closed_1": file_closed_1.pk, "visit_1": visit_1.pk, "today": today.isoformat(),
            "call_import": CallImport.objects.create(filename="export.csv", headers=["接警编号"], status="done",
                                                     rows=1, imported=1).pk,
        },
    }


# ---------------------------------------------------------------------------------------------------------------
# The cells.


def _names() -> dict[str, str]:
    return dict(url_patterns())


def _address(route: str, entry: Url, world) -> str:
    name = _names()[route]
    kwargs = {key: world["objects"].get(value, value) for key, value in entry.kwargs.items()}
    url = reverse(name, kwargs=kwargs or None)
    return f"{url}?{entry.query.format(**world['objects'])}" if entry.query else url


def _request(client: Client, method: str, url: str):
    """The response, with `reveals`: who the request recorded as seeing a caller's number (rolled back with the
    rest, so every cell starts from the same world)."""
    with transaction.atomic():
        last = AuditLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = client.get(url) if method == "GET" else client.post(url)
        response.reveals = list(AuditLog.objects.filter(action="phone_revealed", pk__gt=last)
                                .values_list("actor_id", flat=True))
        transaction.set_rollback(True)
    return response


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    body = response.content.decode(errors="replace")
    if response.get("Content-Type", "").startswith("application/json"):  # "\u7406" is 理: read it as such
        import json

        try:
            return json.dumps(json.loads(body), ensure_ascii=False)
        except ValueError:
            return body
    return body


def _clients(world) -> dict[str, Client]:
    clients = {ANON: Client()}
    for actor, user in world["users"].items():
        clients[actor] = Client()
        clients[actor].force_login(user)
    return clients


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_access(route, world):
    entry = MATRIX[route]
    url = _address(route, entry, world)
    wrong = []
    for actor, client in _clients(world).items():
        response = _request(client, entry.method, url)
        expected = entry.expect[actor]
        if response.status_code != expected:
            wrong.append(f"{actor}: {entry.method} {url} → {response.status_code}, expected {expected}")
        body = _body(response)
        seen = [mark for mark in world["forbidden"][actor] if mark in body]
        if route == "slips/<int:pk>/print/" and world["printed_phone"] in body:
            # The department's printed part carries the number: shown only with its own audit row.
            if response.reveals != [world["users"][actor].pk]:
                wrong.append(f"{actor}: {entry.method} {url} shows the caller's number without an audit row")
            seen += [phone for phone in world["phones"] if phone in body and phone != world["printed_phone"]]
        elif route != "calls/<int:pk>/phone/":
            seen += [phone for phone in world["phones"] if phone in body]
        if seen:
            wrong.append(f"{actor}: {entry.method} {url} shows {seen}")
        if entry.method == "POST" and route not in GET_TOO:
            # A POST-only address is not readable by anyone. The API checks who is asking before the method.
            # The platform's endpoint knows no login, only signed POSTs: any GET is simply not allowed.
            refused = route.startswith("api/") and expected in (401, 403) and route not in SIGNED_ONLY
            status, expected_get = _request(client, "GET", url).status_code, expected if refused else 405
            if status != expected_get:
                wrong.append(f"{actor}: GET {url} → {status}, expected {expected_get}")
    assert not wrong, "\n".join(wrong)


# Arguments for the admin's own patterns: a model's change pages are asked for object 1 (what matters is who
# gets in, and no one but the administrator gets as far as looking the object up).
ADMIN_KWARGS = {"object_id": "1", "id": "1", "app_label": "core", "content_type_id": 1, "url": "no-such-page/"}


def test_the_admin_site_lets_in_only_the_administrator(world):
    clients = _clients(world)
    wrong, checked = [], 0
    for route, name in url_patterns():
        if not route.startswith(ADMIN_PREFIX):
            continue
        args = {key: ADMIN_KWARGS[key] for key in re.findall(r"<(?:\w+:)?(\w+)>", route)}
        if name:
            url = reverse(name, kwargs=args or None)
        else:  # the admin's catch-all for unknown addresses
            url = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ADMIN_KWARGS[m.group(1)]), route)
        checked += 1
        for actor, client in clients.items():
            response = _request(client, "GET", url)
            seen = [m for m in world["forbidden"][actor] + world["phones"] if m in _body(response)]
            if seen:
                wrong.append(f"{actor}: GET {url} shows {seen}")
            if route in ADMIN_INDEX:  # the admin's login, logout and index: no model behind them
                continue
            # The administrator here has no model permissions: refused (403), sent back to the admin's index
            # when the object is not theirs to look up (302), or no such page for them (404: an app they hold
            # nothing in). Everyone else: the admin's login.
            if actor == ADMIN:
                if response.status_code not in (302, 403, 404) or "/admin/login/" in response.get("Location", ""):
                    wrong.append(f"{actor}: GET {url} → {response.status_code}, expected 403, 404 or 302 to the "
                                 "index")
            elif response.status_code != 302 or "/admin/login/" not in response.get("Location", ""):
                wrong.append(f"{actor}: GET {url} → {response.status_code} {response.get('Location')}, "
                             "expected the admin's login")
    assert checked == len([r for r, _name in url_patterns() if r.startswith(ADMIN_PREFIX)]) > 100
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("actor, route, kwargs, mark", [
    (STAFF_A, "department/", {}, "slip_a"),
    (STAFF_B, "slips/<int:pk>/", {"pk": "slip_b"}, "slip_b"),
    (STAFF_A, "slips/<int:pk>/", {"pk": "slip_a"}, "caller_a"),
    (DISPATCHER, "calls/<int:pk>/", {"pk": "call_a"}, "caller_a"),
    (MED_1, "mediation/", {}, "file_1"),
    (MED_2, "mediation/", {}, "file_2"),
])
def test_the_markers_are_found_where_they_belong(world, actor, route, kwargs, mark):
    """The search for markers is not vacuous: each is found on a page of the actor allowed to see it."""
    url = _address(route, Url("GET", {}, "", **kwargs), world)
    body = _body(_request(_clients(world)[actor], "GET", url))
    assert world["own"][mark] in body
