"""Issue 37 in a real headless Chromium: the workbench's police choice preselects the nearest free unit and
skips a busy nearer one; a patrol group's phone page at 390 × 844 stamps "on the way" and "arrived", and the
1-3-5 minute KPI page reflects the arrival."""

import pytest

from core.models import Role
from grids.models import Unit
from incidents import services
from incidents.models import PoliceAssignment
from tests.factories import UnitFactory, UserFactory, call_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIGHT = "两个人在夜市门口打架，有人受伤流血"
HERE = {"lat": 25.2832, "lon": 110.2960}


@pytest.fixture
def patrols():
    return {
        "busy": UnitFactory(code="PT-BUSY", name="巡逻近组", kind=Unit.Kind.PATROL, base_lat=25.2834,
                            base_lon=110.2962),  # ~30 m away, but out on another call
        "free": UnitFactory(code="PT-FREE", name="巡逻二组", kind=Unit.Kind.PATROL, base_lat=25.2850,
                            base_lon=110.2990),  # ~360 m
        "far": UnitFactory(code="PT-FAR", name="巡逻三组", kind=Unit.Kind.PATROL, base_lat=25.3000,
                           base_lon=110.2700),
    }


def test_the_police_choice_preselects_the_nearest_free_unit(page, live_server, login, shot, dispatcher, patrols):
    earlier = services.call_intake(actor=dispatcher, data=call_data(content="店里有人盗窃手机", **HERE)).call
    services.call_assign_police(actor=dispatcher, call_pk=earlier.pk, unit=patrols["busy"])
    call = services.call_intake(actor=dispatcher, data=call_data(content=FIGHT, **HERE)).call

    login(page, dispatcher)
    page.goto(f"{live_server.url}/dispatch/?call={call.pk}")
    page.wait_for_selector(f'#call-panel[data-call="{call.pk}"]')
    page.wait_for_selector('#claim-bar[data-state="mine"]')
    page.keyboard.press("p")
    unit = page.locator("#f-unit")
    assert unit.input_value() == str(patrols["free"].pk)
    chosen = unit.locator("option:checked").inner_text()
    assert "巡逻二组" in chosen and " m" in chosen
    busy = unit.locator(f'option[value="{patrols["busy"].pk}"]')
    assert busy.get_attribute("data-busy") == "1"
    assert unit.locator("option").last.get_attribute("value") == str(patrols["busy"].pk)  # listed last
    shot(page, "unit-01-workbench-nearest-free")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assignment = PoliceAssignment.objects.get(call=call)
    assert assignment.unit == patrols["free"] and assignment.selection == "nearest"


def test_a_unit_stamps_arrival_on_its_phone_and_the_kpi_page_reflects_it(browser, live_server, login, shot,
                                                                        dispatcher, supervisor, patrols):
    from tests.e2e.conftest import bounded_page

    officer = UserFactory(username="pt_free", role=Role.UNIT, unit=patrols["free"], first_name="巡逻二组")
    call = services.call_intake(actor=dispatcher, data=call_data(content=FIGHT, address="正阳步行街18号",
                                                                 **HERE)).call
    assignment = services.call_assign_police(actor=dispatcher, call_pk=call.pk, unit=patrols["free"])

    with bounded_page(browser, {"width": 390, "height": 844}, is_mobile=True, has_touch=True) as phone:
        login(phone, officer)
        assert phone.url.endswith("/unit/")
        job = phone.locator(f'article[data-assignment="{assignment.pk}"]')
        assert FIGHT in job.inner_text()
        # Nothing wider than the phone: usable from 360 to 414 px without sideways scrolling.
        for width in (360, 414, 390):
            phone.set_viewport_size({"width": width, "height": 844})
            assert phone.evaluate("document.documentElement.scrollWidth") <= width, width
        shot(phone, "unit-02-phone-dispatched")
        with phone.expect_navigation():
            job.locator("button[value=en_route]").tap()
        assert phone.locator(f'article[data-assignment="{assignment.pk}"]').get_attribute("data-state") == "en_route"
        with phone.expect_navigation():
            phone.locator(f"#tap-arrive-{assignment.pk}").tap()
        job = phone.locator(f'article[data-assignment="{assignment.pk}"]')
        assert job.get_attribute("data-state") == "arrived"
        assert ":" in job.locator(".arrived-at").inner_text()
        assert phone.locator("#unit-kpis").inner_text().count("100") >= 3  # within 1, 3 and 5 minutes
        shot(phone, "unit-03-phone-arrived")
        # Another unit's call is not there, whatever id is typed.
        other = services.call_intake(actor=dispatcher, data=call_data(content="他组的警情", **HERE)).call
        theirs = services.call_assign_police(actor=dispatcher, call_pk=other.pk, unit=patrols["far"])
        response = phone.request.post(f"{live_server.url}/unit/assignments/{theirs.pk}/",
                                      form={"step": "arrive"}, max_redirects=0)
        assert response.status in (403, 404)
        phone.reload()
        assert "他组的警情" not in phone.content()

    assignment.refresh_from_db()
    assert assignment.en_route_at is not None and assignment.arrived_at is not None
    with bounded_page(browser, {"width": 1400, "height": 900}) as desk:
        login(desk, supervisor)
        desk.goto(f"{live_server.url}/grids/kpis/")
        row = desk.locator("#kpi-units tr", has_text="巡逻二组")
        assert "100" in row.inner_text()
        assert "100" in desk.locator("#kpi-total").inner_text()
        shot(desk, "unit-04-kpis-reflect-arrival")


def test_a_typed_demo_address_lands_on_its_micro_grid(page, live_server, login, shot, dispatcher):
    import random

    from grids.demo import seed_xiufeng
    from incidents.models import Call

    seed_xiufeng(random.Random(1))
    login(page, dispatcher)
    page.goto(f"{live_server.url}/calls/new/")
    page.fill("#id_content", "有人在店门口吵架")
    page.fill("#id_caller_phone", "13812345678")
    page.fill("#id_address", "秀峰区中山中路１８号对面")
    page.wait_for_selector('#place-found[data-grid="XF-L2-S1-M3"]')
    shot(page, "unit-05-new-call-address-placed")
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    call = Call.objects.get(caller_phone="13812345678")
    assert call.micro_grid.code == "XF-L2-S1-M3" and call.lat is None


def test_u_then_the_arrow_keys_send_another_unit(page, live_server, login, dispatcher, patrols):
    call = services.call_intake(actor=dispatcher, data=call_data(content=FIGHT, **HERE)).call
    login(page, dispatcher)
    page.goto(f"{live_server.url}/dispatch/?call={call.pk}")
    page.wait_for_selector('#claim-bar[data-state="mine"]')
    page.keyboard.press("u")
    assert page.evaluate("document.activeElement.id") == "f-unit"
    assert page.locator("#f-unit").input_value() == str(patrols["busy"].pk)  # nearest and free here
    page.keyboard.press("ArrowDown")
    assert page.locator("#f-unit").input_value() == str(patrols["free"].pk)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assignment = PoliceAssignment.objects.get(call=call)
    assert assignment.unit == patrols["free"] and assignment.selection == "manual"


def test_the_phone_reports_its_position_and_the_page_says_how_fresh_it_is(browser, live_server, login, shot,
                                                                        patrols):
    from tests.e2e.conftest import bounded_page

    officer = UserFactory(username="pt_far", role=Role.UNIT, unit=patrols["far"])
    with bounded_page(browser, {"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                      geolocation={"latitude": 25.2901, "longitude": 110.2811},
                      permissions=["geolocation"]) as phone:
        login(phone, officer)
        assert "尚未上报位置" in phone.locator("#position-state").inner_text()
        with phone.expect_navigation():
            phone.locator("#report-position").tap()
        assert phone.locator("#position-state.fresh").is_visible()
        shot(phone, "unit-06-phone-position-reported")
    patrols["far"].refresh_from_db()
    assert (round(patrols["far"].last_lat, 4), round(patrols["far"].last_lon, 4)) == (25.2901, 110.2811)


def test_a_call_sent_to_the_unit_appears_on_its_open_page(browser, live_server, login, settings, dispatcher,
                                                         patrols):
    """The test server has no live channel, so the page falls back to polling (here every second): a call the
    centre sends shows up without the officer reloading."""
    from tests.e2e.conftest import bounded_page

    settings.LIVE_POLL_SECONDS = 1
    officer = UserFactory(username="pt_busy", role=Role.UNIT, unit=patrols["busy"])
    with bounded_page(browser, {"width": 390, "height": 844}, is_mobile=True, has_touch=True) as phone:
        login(phone, officer)
        assert phone.locator("#no-jobs").is_visible()
        call = services.call_intake(actor=dispatcher, data=call_data(content="有人持刀在街上追打", **HERE)).call
        assignment = services.call_assign_police(actor=dispatcher, call_pk=call.pk, unit=patrols["busy"])
        phone.wait_for_selector(f'article[data-assignment="{assignment.pk}"]', timeout=10_000)
        assert "有人持刀在街上追打" in phone.locator("#unit-page").inner_text()
