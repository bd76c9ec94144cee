"""The review pages: who may see them, the drill-down, building on demand, the exports read back."""

import io

import pytest
from django.urls import reverse

from incidents.models import DailyReview
from incidents.review.services import daily_review_build

from .review_fixture import DAY, EXPECTED, build_fixture_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def built(make_slip):
    fx = build_fixture_day(make_slip)
    daily_review_build(day=DAY)
    return fx


def _q(**extra):
    return {"date": DAY.isoformat(), "scope": "city", **extra}


def test_the_dashboard_shows_the_stored_day_to_a_supervisor(client, supervisor, built):
    client.force_login(supervisor)
    r = client.get(reverse("review"), _q())
    assert r.status_code == 200
    body = r.content.decode()
    assert 'data-key="calls"' in body and f">{EXPECTED['calls']}</a>" in body
    assert "<svg" in body and "微网格M1" in body


def test_the_dashboard_offers_to_build_a_missing_day(client, supervisor, built):
    client.force_login(supervisor)
    r = client.get(reverse("review"), {"date": "2025-03-01"})
    assert 'id="review-missing"' in r.content.decode()


def test_a_supervisor_builds_a_day_on_demand(client, supervisor, built):
    DailyReview.objects.all().delete()
    client.force_login(supervisor)
    r = client.post(reverse("review-build"), _q())
    assert r.status_code == 302
    assert DailyReview.objects.get(date=DAY, scope="city").built_by == supervisor


@pytest.mark.parametrize("who", ["outsider", "staff_a", "mediator"])
def test_others_cannot_see_the_review_or_its_calls(client, request, who, built):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("review"), _q()).status_code == 403
    assert client.get(reverse("review-calls"), _q(key="calls")).status_code == 403
    assert client.get(reverse("review-export-xlsx"), _q()).status_code == 403


def test_a_dispatcher_drills_down_to_the_calls_of_a_cluster(client, dispatcher, built):
    client.force_login(dispatcher)
    r = client.get(reverse("review-calls"), _q(key="cluster:0"))
    assert r.status_code == 200
    assert r.context["count"] == EXPECTED["cluster_calls"]


def test_an_unknown_figure_is_not_found(client, supervisor, built):
    client.force_login(supervisor)
    assert client.get(reverse("review-calls"), _q(key="bogus")).status_code == 404
    assert client.get(reverse("review"), {"date": "not-a-date"}).status_code == 400


def test_the_map_data_has_the_days_calls_per_micro_grid(client, supervisor, built):
    from grids.models import Grid

    Grid.objects.filter(level="micro").update(boundary={"type": "Polygon", "coordinates": [
        [[110.0, 25.0], [110.01, 25.0], [110.01, 25.01], [110.0, 25.0]]]})
    client.force_login(supervisor)
    data = client.get(reverse("review-map-data"), _q()).json()
    calls = {f["properties"]["code"]: f["properties"]["calls"] for f in data["grids"]["features"]}
    assert calls == {"L1-01-01": 4, "L1-01-02": 5, "L2-01-01": 6}
    assert [f["properties"]["hot"] for f in data["grids"]["features"]] == [False, False, True]


def test_the_excel_export_opens_with_the_figures(client, supervisor, built):
    from openpyxl import load_workbook

    client.force_login(supervisor)
    r = client.get(reverse("review-export-xlsx"), _q())
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    summary = {row[0]: row[1] for row in wb.worksheets[0].iter_rows(min_row=3, values_only=True) if row[0]}
    assert EXPECTED["calls"] in summary.values()
    clusters = list(wb.worksheets[4].iter_rows(min_row=2, values_only=True))
    assert [(c[0], c[2]) for c in clusters] == [("L1-01-01 微网格M1", 3)]


def test_the_pdf_export_opens_and_renders_chinese(client, supervisor, built):
    client.force_login(supervisor)
    r = client.get(reverse("review-export-pdf"), _q())
    assert r.status_code == 200
    assert r.content.startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "警情日研判" in text and "微网格M1" in text


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_drill_down_from_the_dashboard_says_in_words_what_it_counts(client, supervisor, built, language):
    import html
    import re
    from urllib.parse import parse_qs, urlparse

    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(supervisor)
    body = client.get(reverse("review"), _q()).content.decode()
    links = sorted({html.unescape(h) for h in re.findall(r'href="(/review/calls/\?[^"]+)"', body)})
    assert len(links) > 20
    titles = {}
    for link in links:
        key = parse_qs(urlparse(link).query)["key"][0]
        page = client.get(link).content.decode()
        title = html.unescape(re.search(r'<strong id="drill-figure">([^<]*)</strong>', page).group(1))
        assert (":" not in key or key not in title) and not re.search(r"\b[a-z]+_[a-z_]+\b", title), (key, title)
        assert title not in ("—", "Calls behind the figure", "该数据对应的警情") and "—" not in title, (key, title)
        if language == "zh-hans":
            assert not re.search(r"\b[a-z]+\b", title), (key, title)  # no Latin word in Chinese
        titles[key] = title
    if language == "zh-hans":
        assert titles["non_police"] == "非警务警情"
    else:
        assert titles["non_police"] == "Non-police calls"
