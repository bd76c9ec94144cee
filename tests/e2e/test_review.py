"""The daily review in a real headless Chromium: the supervisor builds a day on demand, reads it, drills down
from a figure and from a cluster to their calls, switches to a large grid, and sees the grid map."""

import pytest

from grids.models import Grid
from tests.incidents.review_fixture import DAY, EXPECTED, build_fixture_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _square(x, y, size=0.01):
    return {"type": "Polygon", "coordinates": [[[110 + x, 25 + y], [110 + x + size, 25 + y],
                                                [110 + x + size, 25 + y + size], [110 + x, 25 + y + size],
                                                [110 + x, 25 + y]]]}


def test_the_supervisor_reads_the_day_and_drills_down(page, live_server, login, shot, make_slip, supervisor):
    fx = build_fixture_day(make_slip)
    for i, key in enumerate(("m1", "m2", "m3")):
        Grid.objects.filter(pk=fx[key].pk).update(boundary=_square(0.01 * i, 0))

    login(page, supervisor)
    page.goto(f"{live_server.url}/review/?date={DAY.isoformat()}")
    assert page.locator("#review-missing").is_visible()
    with page.expect_navigation():
        page.click("#review-build")
    kpis = page.locator("#review-kpis")
    assert kpis.locator("a[data-key=calls]").inner_text() == str(EXPECTED["calls"])
    assert page.locator("svg.chart").count() >= 3
    page.wait_for_selector("#grid-map[data-ready='3']")
    shot(page, "review-dashboard")

    # A figure drills down to exactly its calls.
    with page.expect_navigation():
        kpis.locator("a[data-key=non_police]").click()
    assert page.locator("#drill-calls tbody tr").count() == EXPECTED["non_police"]
    shot(page, "review-drill-non-police")
    page.go_back()

    # The cluster drills down to its three calls.
    with page.expect_navigation():
        page.locator("a.cluster-link").first.click()
    assert page.locator("#drill-calls tbody tr").count() == EXPECTED["cluster_calls"]
    page.go_back()

    # The date picker and the scope selector: large grid L2 holds the hotspot and six calls.
    with page.expect_navigation():
        page.select_option("#review-picker select[name=scope]", f"grid-{fx['l2'].pk}")
    assert page.locator("#review-kpis a[data-key=calls]").inner_text() == "6"
    assert page.locator("a.hotspot-link").first.inner_text() == str(EXPECTED["hotspot_day_calls"])
    shot(page, "review-large-grid")
