"""Error pages: the app's own 403, 404 and 500 pages in both languages, with the way back and the request
id; an expected refusal is logged without a traceback, a server error with one and the request id; a
favicon at the site's root."""

import logging

import pytest
from django.conf import settings
from django.test import Client
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("the disk is full")


# This module doubles as a URL conf for the 500 test: the app's URLs plus one view that fails.
urlpatterns = [path("boom/", _boom), *app_urlpatterns]
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"


@pytest.fixture
def records():
    """What `django.request` logs, after the project's filter (the test run turns pytest's capture off)."""
    got = []

    class Keep(logging.Handler):
        def emit(self, record):
            got.append(record)

    handler = Keep(level=logging.DEBUG)
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield got
    logger.removeHandler(handler)


def _client(user=None, language="zh-hans", **kwargs):
    client = Client(**kwargs)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if user:
        client.force_login(user)
    return client


@pytest.mark.parametrize("language,heading,home", [("zh-hans", "没有这个页面", "首页"),
                                                   ("en", "There is no such page", "Home")])
def test_a_page_that_does_not_exist_is_the_apps_404_page(dispatcher, language, heading, home):
    response = _client(dispatcher, language).get("/dispatch/calls/999999/", HTTP_REFERER="http://testserver/dispatch/")
    body = response.content.decode()
    assert response.status_code == 404
    assert heading in body and 'id="error-page" data-status="404"' in body
    assert f'id="error-home">{home}</a>' in body
    assert 'href="http://testserver/dispatch/" id="error-back"' in body
    # The request id shown is the one in the response header (and the proxy's own id is kept).
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 16 and request_id in body
    assert "Page not found" not in body and "Not Found" not in body


@pytest.mark.parametrize("language,heading", [("zh-hans", "此页面不向您的账号开放"),
                                              ("en", "This page is not open to your account")])
def test_a_page_for_another_role_is_the_apps_403_page_logged_without_a_traceback(staff_a, records, language,
                                                                                  heading):
    response = _client(staff_a, language).get("/supervision/league/", HTTP_REFERER="https://evil.example/x",
                                              HTTP_X_REQUEST_ID="proxy-id-12345678")
    body = response.content.decode()
    assert response.status_code == 403
    assert heading in body and "staff_a" in body
    assert "evil.example" not in body and 'id="error-back"' not in body  # only our own pages are a way back
    assert response.headers["X-Request-ID"] == "proxy-id-12345678" and "proxy-id-12345678" in body
    refused = [r for r in records if getattr(r, "status_code", None) == 403]
    assert refused and all(r.exc_info is None and r.exc_text is None for r in refused)
    assert "Forbidden" in refused[0].getMessage()


def test_an_api_refusal_keeps_the_apis_json_body(staff_a, client):
    client.force_login(staff_a)
    response = client.get("/api/v1/calls/")
    assert response.status_code == 403 and response["Content-Type"] == "application/json" and response.json()["detail"]


@pytest.mark.urls("tests.core.test_error_pages")
@pytest.mark.parametrize("language,heading", [("zh-hans", "系统出错了"), ("en", "Something went wrong on our side")])
def test_a_server_error_is_the_apps_500_page_and_its_log_line_carries_the_request_id(dispatcher, records,
                                                                                     language, heading):
    response = _client(dispatcher, language, raise_request_exception=False).get("/boom/")
    body = response.content.decode()
    assert response.status_code == 500
    assert heading in body and 'data-status="500"' in body and "the disk is full" not in body
    request_id = response.headers["X-Request-ID"]
    assert request_id in body
    failed = [r for r in records if getattr(r, "status_code", None) == 500]
    assert failed and failed[0].exc_info is not None
    assert f"[request {request_id}]" in failed[0].getMessage()


def test_a_proxys_request_id_that_is_not_sane_is_replaced(dispatcher):
    response = _client(dispatcher).get("/dispatch/calls/999999/", HTTP_X_REQUEST_ID="<script>")
    assert response.headers["X-Request-ID"] != "<script>" and "&lt;script&gt;" not in response.content.decode()


def test_the_favicon_is_served_at_the_root_and_linked_on_every_page(client, dispatcher):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
    client.force_login(dispatcher)
    page = client.get("/dispatch/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert client.get("/static/favicon.svg").status_code == 200


def test_a_bad_request_is_the_apps_400_page_with_the_reason(dispatcher):
    response = _client(dispatcher).get("/calls/?status=new%00")
    body = response.content.decode()
    assert response.status_code == 400 and 'data-status="400"' in body and ">400</p>" in body
    assert 'id="bad-request-reason"' in body and "0x00" in body and response.headers["X-Request-ID"] in body
