"""Department pages: scope (another department's slip is a 404 whatever the id) and the forms."""

import pytest
from django.urls import reverse

from core.models import AuditLog
from diversion.models import SlipStatus

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["slip-detail", "slip-print"])
def test_another_departments_slip_page_is_not_found(client, make_slip, staff_b, name):
    slip = make_slip()
    client.force_login(staff_b)
    assert client.get(reverse(name, args=[slip.pk])).status_code == 404


@pytest.mark.parametrize("name, data", [
    ("slip-accept", {}),
    ("slip-return", {"reason": "不归我们管"}),
    ("slip-complete", {"result": "已处理"}),
])
def test_another_department_cannot_act_on_a_slip(client, make_slip, staff_b, name, data):
    slip = make_slip()
    rows = AuditLog.objects.count()
    client.force_login(staff_b)
    assert client.post(reverse(name, args=[slip.pk]), data).status_code == 404
    slip.refresh_from_db()
    assert slip.status == SlipStatus.ISSUED
    assert AuditLog.objects.count() == rows


def test_the_inbox_lists_only_the_own_departments_slips(client, make_slip, staff_a, dept_b):
    own = make_slip()
    other = make_slip(code="C05", department=dept_b)
    client.force_login(staff_a)
    page = client.get(reverse("department-inbox")).content.decode()
    assert own.serial in page and other.serial not in page


def test_the_inbox_opens_on_the_first_tab_that_has_slips(client, make_slip, staff_a):
    from diversion import services

    client.force_login(staff_a)
    assert client.get(reverse("department-inbox")).context["tab"] == "todo"  # nothing at all: the first tab
    slip = make_slip()
    services.slip_accept(actor=staff_a, slip_pk=slip.pk, handler_name="王五")
    r = client.get(reverse("department-inbox"))
    assert r.context["tab"] == "doing" and slip.serial in r.content.decode()  # nothing to accept: in progress
    assert client.get(reverse("department-inbox"), {"tab": "todo"}).context["tab"] == "todo"  # asked for


def test_the_inbox_counts_stop_at_the_cap_and_pages_its_rows(client, make_slip, staff_a, monkeypatch):
    from core import keyset
    from diversion import views

    monkeypatch.setattr(keyset, "COUNT_CAP", 2)
    monkeypatch.setattr(views, "INBOX_PAGE", 2)
    slips = [make_slip() for _ in range(3)]
    client.force_login(staff_a)
    r = client.get(reverse("department-inbox"), {"tab": "todo"})
    assert {t["key"]: t["count"] for t in r.context["tabs"]} == {"todo": "2+", "doing": "0", "done": "0",
                                                                 "returned": "0"}
    body = r.content.decode()
    assert 'id="page-next"' in body and 'id="page-first"' not in body
    by_deadline = sorted(slips, key=lambda s: (s.deadline, s.pk))
    assert [s.pk for s in r.context["slips"]] == [s.pk for s in by_deadline[:2]]
    nxt = client.get(reverse("department-inbox"), {"tab": "todo", "after": r.context["page"].after})
    assert [s.pk for s in nxt.context["slips"]] == [by_deadline[2].pk]
    assert 'id="page-first"' in nxt.content.decode() and 'id="page-next"' not in nxt.content.decode()


def test_the_done_tab_shows_the_latest_completion_first(client, make_slip, staff_a):
    from datetime import timedelta

    from django.utils import timezone

    from diversion import services
    from diversion.models import HandoffSlip

    first, second = make_slip(), make_slip()
    for slip in (second, first):  # completed in this order; the first slip completed last
        services.slip_accept(actor=staff_a, slip_pk=slip.pk, handler_name="王五")
        services.slip_complete(actor=staff_a, slip_pk=slip.pk, result="已处理")
    HandoffSlip.objects.filter(pk=second.pk).update(completed_at=timezone.now() - timedelta(days=1))
    client.force_login(staff_a)
    r = client.get(reverse("department-inbox"), {"tab": "done"})
    assert [s.pk for s in r.context["slips"]] == [first.pk, second.pk]


def test_a_department_sees_its_own_figures_of_the_last_30_days(client, make_slip, staff_a, dispatcher):
    from diversion import services

    services.slip_accept(actor=staff_a, slip_pk=make_slip().pk, handler_name="王五")
    make_slip()
    client.force_login(staff_a)
    figures = client.get(reverse("department-inbox")).context["figures"]
    assert figures["days"] == 30 and figures["of"] == 1
    assert figures["row"]["issued"] == 2 and figures["row"]["rank"] == 1
    client.force_login(dispatcher)
    r = client.get(reverse("department-inbox"))
    assert r.context["figures"] is None and 'id="inbox-figures"' not in r.content.decode()


def test_a_department_without_slips_is_not_ranked_on_its_own_figures(client, make_slip, staff_a, staff_b):
    make_slip()  # department A's
    client.force_login(staff_b)
    r = client.get(reverse("department-inbox"))
    figures = r.context["figures"]
    assert figures["row"]["rank"] is None and figures["of"] == 1
    strip = r.content.decode().split('id="inbox-figures"')[1].split("</section>")[0]
    assert "None" not in strip and "<b>—</b>" in strip


def test_the_department_accepts_and_completes_in_the_browser_forms(client, make_slip, staff_a):
    slip = make_slip()
    client.force_login(staff_a)
    assert client.post(reverse("slip-accept", args=[slip.pk]), {"handler_name": "王五"}).status_code == 302
    assert client.post(reverse("slip-complete", args=[slip.pk]), {"result": "已责令整改"}).status_code == 302
    slip.refresh_from_db()
    assert slip.status == SlipStatus.COMPLETED and slip.handler_name == "王五"


def test_a_second_accept_in_the_browser_shows_an_error_and_changes_nothing(client, make_slip, staff_a):
    slip = make_slip()
    client.force_login(staff_a)
    client.post(reverse("slip-accept", args=[slip.pk]))
    rows = AuditLog.objects.count()
    response = client.post(reverse("slip-accept", args=[slip.pk]))
    assert response.status_code == 400
    assert AuditLog.objects.count() == rows


def test_returning_without_a_reason_is_a_form_error(client, make_slip, staff_a):
    slip = make_slip()
    client.force_login(staff_a)
    response = client.post(reverse("slip-return", args=[slip.pk]), {"reason": ""})
    assert response.status_code == 400
    assert response.context["return_form"].errors["reason"]
    slip.refresh_from_db()
    assert slip.status == SlipStatus.ISSUED


def test_an_unsatisfied_callback_in_the_browser_reopens_the_slip(client, make_slip, staff_a, supervisor):
    slip = make_slip()
    client.force_login(staff_a)
    client.post(reverse("slip-accept", args=[slip.pk]))
    client.post(reverse("slip-complete", args=[slip.pk]), {"result": "已处理"})
    client.force_login(supervisor)
    response = client.post(reverse("slip-callback", args=[slip.pk]), {
        "channel": "phone", "reached": "1", "resolved": "no", "satisfaction": "1", "comment": "还是很吵"})
    assert response.status_code == 302
    slip.refresh_from_db()
    assert slip.status == SlipStatus.REOPENED and slip.reopen_count == 1


def test_a_reached_callback_without_a_rating_is_a_form_error(client, make_slip, staff_a, supervisor):
    slip = make_slip()
    client.force_login(staff_a)
    client.post(reverse("slip-accept", args=[slip.pk]))
    client.post(reverse("slip-complete", args=[slip.pk]), {"result": "已处理"})
    client.force_login(supervisor)
    response = client.post(reverse("slip-callback", args=[slip.pk]), {"channel": "phone", "reached": "1"})
    assert response.status_code == 400
    slip.refresh_from_db()
    assert slip.status == SlipStatus.COMPLETED and not slip.callbacks.exists()


def test_department_staff_cannot_record_callbacks(client, make_slip, staff_a):
    slip = make_slip()
    client.force_login(staff_a)
    response = client.post(reverse("slip-callback", args=[slip.pk]), {"channel": "phone", "reached": "0"})
    assert response.status_code == 403


def test_the_departments_printed_part_carries_the_full_number_and_the_print_is_audited(client, make_slip, staff_a,
                                                                                       supervisor):
    import re

    slip = make_slip()
    phone = slip.call.caller_phone
    client.force_login(staff_a)
    assert phone not in client.get(reverse("slip-detail", args=[slip.pk])).content.decode()  # the screen: masked
    assert not AuditLog.objects.filter(action="phone_revealed").exists()

    page = client.get(reverse("slip-print", args=[slip.pk])).content.decode()
    parts = dict(re.findall(r'data-part="(\w+)">(.*?)</section>', page, re.S))
    assert phone in parts["department"] and f'<span class="full-phone">{phone}</span>' in parts["department"]
    assert phone not in parts["stub"] and phone not in parts["receipt"]
    row = AuditLog.objects.get(action="phone_revealed")
    assert row.actor == staff_a and row.call_id == slip.call_id
    assert row.reason == f"打印移交单{slip.serial}职能部门联"

    # In the supervisor's list of who saw callers' numbers.
    client.force_login(supervisor)
    assert slip.serial in client.get(reverse("disclosure-list")).content.decode()


def test_a_returned_slip_prints_without_the_number_and_audits_nothing(client, make_slip, staff_a):
    from diversion.services import slip_return

    slip = make_slip()
    slip_return(actor=staff_a, slip_pk=slip.pk, reason="不属于本部门职责")
    client.force_login(staff_a)
    page = client.get(reverse("slip-print", args=[slip.pk])).content.decode()
    assert slip.call.caller_phone not in page and 'class="full-phone"' not in page
    assert not AuditLog.objects.filter(action="phone_revealed").exists()
