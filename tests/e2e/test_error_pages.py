"""The error pages as a person meets them (issue 39): the app's own 403 and 404, in Chinese and in English,
at a desk and on a phone, with the way home and the request id; no favicon request fails."""

import pytest

from .conftest import bounded_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language,forbidden,missing", [
    ("zh-hans", "此页面不向您的账号开放", "没有这个页面"),
    ("en", "This page is not open to your account", "There is no such page"),
])
def test_403_and_404_pages_in_both_languages(browser, live_server, login, shot, staff_a, language, forbidden,
                                              missing):
    for width, height in ((1280, 800), (390, 844)):
        with bounded_page(browser, {"width": width, "height": height}) as page:
            failed = []
            page.on("response", lambda r, failed=failed: failed.append(r.url) if r.status >= 400 and "favicon" in r.url
                    else None)
            login(page, staff_a)
            page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
            for status, path, heading in ((403, "/supervision/league/", forbidden), (404, "/slips/999999/", missing)):
                response = page.goto(f"{live_server.url}{path}")
                assert response.status == status
                assert page.locator("#error-page h1").inner_text() == heading
                assert page.locator("#error-request-id").inner_text()
                home = page.locator("#error-home")
                box = home.bounding_box()
                assert box["height"] >= 40
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                shot(page, f"error-{status}-{language}-{width}")
            with page.expect_navigation():
                home.click()
            assert page.url.rstrip("/").endswith("/department")
            assert not failed
