"""The long lists read their pages from indexes (issue 42): every query a list page sends about calls or
slips, the department's own figures on the inbox included, is planned on PostgreSQL with sequential scans
and sorts priced out, and its plan must have neither, so an index serves both its filter and its order (a
Sort would mean a page ordered by reading every matching row). The figures bench/pages.py measures at 5
million calls rest on these plans."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from diversion import services as slip_services

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans are PostgreSQL's")

BIG = ("incidents_call", "diversion_handoffslip")


def _nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plan(sql: str) -> dict:
    with connection.cursor() as cur:
        cur.execute("SET enable_seqscan = off")
        cur.execute("SET enable_sort = off")
        try:
            cur.execute("EXPLAIN (FORMAT JSON) " + sql)
            raw = cur.fetchone()[0]
        finally:
            cur.execute("RESET enable_seqscan")
            cur.execute("RESET enable_sort")
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def assert_pages_use_indexes(client, url: str) -> int:
    """GET `url` and check the plan of every query it sent about calls or slips (the inbox's figures too,
    computed once a cache's lifetime). Returns how many were checked."""
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    checked = 0
    for query in ctx.captured_queries:
        sql = query["sql"]
        if not sql.startswith("SELECT") or not any(f'"{table}"' in sql for table in BIG):
            continue
        checked += 1
        nodes = list(_nodes(_plan(sql)))
        seq = [n.get("Relation Name") for n in nodes if n["Node Type"] == "Seq Scan"]
        assert not [t for t in seq if t in BIG], (url, seq, sql)
        assert not [n for n in nodes if n["Node Type"] == "Sort"], (url, "sorts", sql)
    return checked


@pytest.fixture
def history(make_slip, staff_a, dispatcher, make_call):
    """Calls and slips in every state the lists show."""
    make_call()
    todo, doing, done, closed, returned = (make_slip() for _ in range(5))
    for slip in (doing, done, closed):
        slip_services.slip_accept(actor=staff_a, slip_pk=slip.pk, handler_name="王五")
    for slip in (done, closed):
        slip_services.slip_complete(actor=staff_a, slip_pk=slip.pk, result="已处理")
    slip_services.callback_record(actor=dispatcher, slip_pk=closed.pk, channel="phone", reached=True,
                                  resolved="yes", satisfaction=5)
    slip_services.slip_return(actor=staff_a, slip_pk=returned.pk, reason="不归我们管")
    return todo


def _first_after(client, url):
    """The page's own link to its next page, with the page size set to 1 so there is one."""
    body = client.get(url).content.decode()
    marker = 'id="page-next" rel="next"'
    assert marker in body, url
    href = body.split(marker)[0].rsplit('href="', 1)[1].split('"')[0]
    return href.replace("&amp;", "&")


def test_the_dispatchers_lists_read_from_indexes(client, dispatcher, history, monkeypatch):
    from incidents import views

    monkeypatch.setattr(views, "CALL_LIST_PAGE", 1)
    monkeypatch.setattr(views, "QUEUE_PAGE", 1)
    client.force_login(dispatcher)
    checked = 0
    for url in ("/dispatch/", "/dispatch/queue/", "/calls/", "/calls/?status=diverted"):
        checked += assert_pages_use_indexes(client, url)
    checked += assert_pages_use_indexes(client, "/calls/" + _first_after(client, "/calls/"))
    checked += assert_pages_use_indexes(client, "/calls/" + _first_after(client, "/calls/?status=diverted"))
    body = client.get("/dispatch/queue/").content.decode()
    more = body.split('id="queue-more" hx-get="')[1].split('"')[0].replace("&amp;", "&")
    checked += assert_pages_use_indexes(client, more)
    assert checked >= 9


@pytest.mark.parametrize("who", ["staff_a", "supervisor"])
def test_the_inbox_tabs_read_from_indexes(client, request, who, history, monkeypatch):
    from django.core.cache import cache

    from diversion import views

    monkeypatch.setattr(views, "INBOX_PAGE", 1)
    client.force_login(request.getfixturevalue(who))
    checked = 0
    for tab in ("todo", "doing", "done", "returned"):
        cache.clear()  # the department's figures computed afresh for each
        checked += assert_pages_use_indexes(client, f"/department/?tab={tab}")
    history_tab = "/department/?tab=done"
    checked += assert_pages_use_indexes(client, "/department/" + _first_after(client, history_tab))
    assert checked >= 16


@pytest.mark.parametrize("who", ["staff_a", "supervisor"])
def test_the_slips_api_reads_its_pages_from_indexes(client, request, who, history, monkeypatch):
    from diversion.api import SlipPagination

    monkeypatch.setattr(SlipPagination, "page_size", 1)
    client.force_login(request.getfixturevalue(who))
    checked = assert_pages_use_indexes(client, "/api/v1/slips/")
    deep = client.get("/api/v1/slips/").json()["next"]
    deep = client.get(deep).json()["next"]
    checked += assert_pages_use_indexes(client, deep)
    checked += assert_pages_use_indexes(client, "/api/v1/slips/?status=closed")
    assert checked >= 3


def test_a_department_sees_only_its_own_slips_on_every_page(client, staff_a, make_slip, dept_b, monkeypatch):
    from diversion import views

    monkeypatch.setattr(views, "INBOX_PAGE", 1)
    own = [make_slip().pk for _ in range(3)]
    other = make_slip(code="B04", department=dept_b).pk
    client.force_login(staff_a)
    seen, url = [], "/department/?tab=todo"
    while url:
        response = client.get(url)
        seen += [s.pk for s in response.context["slips"]]
        after = response.context["page"].after
        url = f"/department/?tab=todo&after={after}" if after else None
    assert sorted(seen) == sorted(own) and other not in seen


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_no_list_queries_per_row(client, dispatcher, staff_a, make_slip, make_call):
    """A page of one row and a page of many send the same queries: nothing is fetched row by row."""
    pages = [(dispatcher, "/dispatch/queue/"), (dispatcher, "/calls/"), (staff_a, "/department/?tab=todo"),
             (staff_a, "/api/v1/slips/")]
    make_slip(), make_call()
    few = {}
    for user, url in pages:
        client.force_login(user)
        _queries(client, url)  # the figures' cache filled, like every other page view in two minutes
        few[url] = _queries(client, url)
    for _ in range(4):
        make_slip(), make_call()
    for user, url in pages:
        client.force_login(user)
        assert _queries(client, url) == few[url], url
