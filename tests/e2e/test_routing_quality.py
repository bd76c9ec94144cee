"""Issue 35 in a real headless Chromium, on the embedded demo's data: the supervisor reads the routing quality
page (misses that matter, overrides, the active models) in Chinese and English at a desk and on a phone; the
administrator adds the missing word from a miss and the same text is kept with the police at once; a
retraining asked for on the page stores new models, trained by that person."""

import io

import pytest
from django.core.management import call_command

from core.demo import DEMO_PASSWORD
from core.models import User
from diversion import routing
from diversion.models import PoliceSignal, RoutingModel
from diversion.routing import quality
from incidents.models import Call
from tests.e2e.conftest import bounded_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_VIEW = {"width": 390, "height": 844}


def _open(page, live_server):
    page.goto(f"{live_server.url}/supervision/routing/")
    page.locator("#quality-models").wait_for()


def test_the_quality_page_tells_the_demo_weeks_story(page, browser, live_server, login, shot):
    call_command("seed_demo", stdout=io.StringIO())
    supervisor, admin = User.objects.get(username="supervisor"), User.objects.get(username="admin")
    misses = Call.objects.filter(quality.MISS).order_by("-received_at", "-id")
    assert misses.exists()

    # The supervisor at a desk, in Chinese (the default).
    login(page, supervisor, DEMO_PASSWORD)
    _open(page, live_server)
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("h1").inner_text() == "分流质量"
    shown = page.locator("#quality-misses article.miss")
    assert shown.count() == misses.count()
    assert shown.first.get_attribute("id") == f"miss-{misses.first().pk}"  # newest first
    assert shown.first.locator(".call-text mark").count() >= 1  # the words that sent it to a department
    assert page.locator("#quality-models tr[data-kind]").count() == 2
    assert page.locator("#quality-overrides tr[data-code]").count() >= 1
    assert page.locator("#quality-weeks tbody tr").count() == quality.WEEKS_SHOWN
    assert page.locator("article.miss form").count() == 0  # a supervisor reads; the catalog is not theirs
    shot(page, "routing-quality-zh")

    # The same page in English.
    page.select_option("select[name=language]", "en")
    page.wait_for_function("document.querySelector('h1').innerText === 'Routing quality'")
    assert page.locator("#quality-misses h2").inner_text().startswith("Suggested diverting, kept with the police")
    assert "decisions" in page.locator("#quality-models").inner_text()
    shot(page, "routing-quality-en")

    # On a phone: everything within the screen's width (wide tables scroll inside their card).
    with bounded_page(browser, PHONE_VIEW, is_mobile=True, has_touch=True) as phone:
        login(phone, supervisor, DEMO_PASSWORD)
        _open(phone, live_server)
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEW["width"]
        shot(phone, "routing-quality-phone")

    # The administrator adds the word the rules missed, from the miss itself.
    miss = misses.filter(content__contains="炸街").first()
    assert routing.suggest(miss.content).decision == routing.NON_POLICE
    login(page, admin, DEMO_PASSWORD)
    _open(page, live_server)
    article = page.locator(f"#miss-{miss.pk}")
    # Selecting the word in the call's text fills the form: then one click.
    page.evaluate("""([pk, word]) => {
        const text = document.querySelector(`#miss-${pk} .call-text`);
        const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const at = node.data.indexOf(word);
            if (at >= 0) {
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + word.length);
                document.getSelection().removeAllRanges();
                document.getSelection().addRange(range);
                return;
            }
        }
        throw new Error("word not in the text");
    }""", [miss.pk, "炸街"])
    page.wait_for_function(f"document.getElementById('word-{miss.pk}').value === '炸街'")
    article.locator("select[name=signal]").select_option("traffic")
    article.locator("button[type=submit]").click()
    page.locator(".messages").wait_for()
    assert "炸街" in page.locator(".messages").inner_text()
    assert "留公安处置" in page.locator(".messages").inner_text()
    assert "炸街" in PoliceSignal.objects.get(code="traffic").words
    assert routing.suggest(miss.content).decision == routing.POLICE
    assert page.locator(f"#miss-{miss.pk} dd.now-police").count() == 1  # the page says the miss is mended
    shot(page, "routing-quality-word-added")

    # A retraining asked for on the page: new models of both kinds, trained by the administrator.
    before = RoutingModel.objects.count()
    page.locator("#retrain-form button").click()
    page.locator(".messages").wait_for()
    assert RoutingModel.objects.count() == before + 2
    assert set(RoutingModel.objects.filter(active=True).values_list("trained_by__username", flat=True)) == {"admin"}
