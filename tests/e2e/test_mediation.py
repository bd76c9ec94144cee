"""Mediation in a real headless Chromium: a dispute call becomes a file, the mediator records a session and
the outcome, and the agreement prints on A4 with the parties' names in Chinese."""

import pytest
from django.utils import timezone

from core.models import Role
from grids.models import Unit
from incidents.services import call_assign_police, call_intake
from mediation.models import DisputeFile, FileStatus, Mediator, MemberKind
from tests.factories import UnitFactory, UserFactory, call_data, category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def station():
    return UnitFactory(code="PS-LJ", name="丽君派出所", kind=Unit.Kind.STATION)


@pytest.fixture
def station_mediator(mediator, station):
    mediator.first_name = "黄秀英"
    mediator.save(update_fields=["first_name"])
    return Mediator.objects.create(user=mediator, station=station, kind=MemberKind.STATION_MEDIATOR)


@pytest.fixture
def lawyer(station):
    user = UserFactory(username="lawyer", role=Role.MEDIATOR, first_name="李律师")
    return Mediator.objects.create(user=user, station=station, kind=MemberKind.LAWYER)


def test_a_dispute_call_becomes_a_file_a_session_and_a_printed_agreement(page, live_server, login, shot, dispatcher,
                                                                        station, station_mediator, lawyer):
    call = call_intake(actor=dispatcher, data=call_data(
        content="楼上邻居家漏水到我家，找他理论两个人吵架了，要求赔偿", caller_name="张三",
        caller_phone="13800001111", address="秀峰区中山中路18号",
        received_at=timezone.now() - timezone.timedelta(minutes=30))).call
    call_assign_police(actor=dispatcher, call_pk=call.pk, unit=station, category=category("A01"))

    # The dispatcher opens a file from the call page for the station that attended.
    login(page, dispatcher)
    page.goto(f"{live_server.url}/calls/{call.pk}/")
    page.click("#open-dispute-file")
    assert page.locator("#id_station").input_value() == str(station.pk)
    page.fill("#id_amount", "3000")
    page.fill("#id_party-1-name", "李四")
    page.fill("#id_party-1-phone", "13900002222")
    with page.expect_navigation():
        page.click("#file-open-btn")
    file = DisputeFile.objects.get()
    assert file.serial in page.locator("#dispute-file-card").inner_text()

    # The station's mediator finds it on the list, takes it, decides, and records a session.
    login(page, station_mediator.user)
    assert page.url.rstrip("/").endswith("/mediation")
    page.click(f"text={file.serial}")
    page.click("#take-btn")
    page.check("input[name=complexity][value=simple]")
    page.click("#triage-btn")
    page.fill("#id_plan", "先查明漏水原因，请物业出具鉴定，再组织双方协商赔偿")
    page.click("#plan-btn")
    page.select_option("#id_place", "community")
    page.fill("#id_place_detail", "中山社区警务室")
    page.check(f"input[name=members][value='{lawyer.pk}']")
    page.fill("#id_attendees", "张三、李四、物业王经理")
    page.fill("#id_notes", "双方同意由李四修复管道并赔偿损失")
    page.click("#session-btn")
    assert page.locator("#file-status").inner_text() == str(FileStatus.MEDIATING.label)
    assert "中山社区警务室" in page.locator("#sessions").inner_text()
    shot(page, "mediation-01-file-with-session")

    # The outcome: agreement reached; follow-up visits appear; the agreement prints.
    page.select_option("#id_outcome", "agreed")
    page.fill("#id_agreement_text", "一、李四于三日内修复漏水管道；\n二、李四赔偿张三装修损失人民币1500元。")
    page.click("#close-btn")
    assert page.locator("#file-status").inner_text() == str(FileStatus.CLOSED.label)
    assert page.locator("#visits .visit").count() == 3
    shot(page, "mediation-02-file-closed")
    page.goto(f"{live_server.url}/mediation/{file.pk}/agreement/")
    agreement = page.locator("#agreement")
    text = agreement.inner_text()
    assert "张三" in text and "李四" in text and "1500元" in text
    assert page.locator("#agreement .sig").count() >= 3
    # Chinese renders in a CJK font: two full-width glyphs are two ems wide, not two narrow tofu boxes.
    ems = page.evaluate("""() => { const s = document.createElement('span'); s.textContent = '张三';
        document.querySelector('#agreement').appendChild(s); const w = s.getBoundingClientRect().width;
        const em = parseFloat(getComputedStyle(s).fontSize); s.remove(); return w / em; }""")
    assert ems >= 1.9
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    shot(page, "mediation-03-agreement-print")
