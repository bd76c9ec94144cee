"""Issue 34: callers' numbers and names are kept only as long as needed, and every look at them is accountable."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from core.models import AuditLog
from incidents import retention
from incidents.review.services import build_figures
from incidents.selectors import call_repeats
from incidents.services import call_reveal_phone
from incidents.tasks import callers_anonymise

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


@pytest.fixture
def keep(settings):
    settings.CALLER_RETENTION_DAYS = 30
    settings.CALLER_KEY_DAYS = 90
    return settings


def test_a_callers_number_and_name_are_blanked_after_the_period_and_nothing_else(keep, make_call):
    old = make_call(caller_phone=PHONE, caller_name="张先生", received_at=timezone.now() - timedelta(days=31))
    recent = make_call(caller_phone=PHONE, caller_name="张先生", received_at=timezone.now() - timedelta(days=29))

    assert callers_anonymise.delay().get() == {"calls": 1, "keys": 0}  # the beat task

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.caller_phone, old.caller_name, old.masked_phone) == ("", "", "")
    assert old.anonymised_at is not None and old.caller_key == recent.caller_key != ""
    assert old.content and old.address and old.suggested_category_id  # the call's facts stay
    assert (recent.caller_phone, recent.caller_name, recent.anonymised_at) == (PHONE, "张先生", None)
    row = AuditLog.objects.get(action="callers_anonymised")
    assert row.data["calls"] == 1 and row.actor is None
    assert retention.callers_anonymise() == {"calls": 0, "keys": 0}  # a second run finds nothing to do
    assert AuditLog.objects.filter(action="callers_anonymised").count() == 1


def test_the_keyed_hash_goes_too_once_no_check_looks_back_that_far(keep, make_call):
    call = make_call(caller_phone=PHONE, received_at=timezone.now() - timedelta(days=91))
    assert retention.callers_anonymise() == {"calls": 1, "keys": 1}
    call.refresh_from_db()
    assert (call.caller_phone, call.caller_key) == ("", "")


def test_the_days_figures_are_the_same_after_anonymisation(keep, make_call):
    day = timezone.localdate() - timedelta(days=40)
    at = timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time())) + timedelta(hours=10)
    for minutes in (0, 20, 40):  # a repeat caller on the day
        make_call(caller_phone=PHONE, received_at=at + timedelta(minutes=minutes))
    make_call(received_at=at + timedelta(hours=1), content="路灯坏了好几天了一直不亮")
    before = build_figures(day)["city"]

    assert retention.callers_anonymise()["calls"] == 4
    after = build_figures(day)["city"]

    assert after["totals"] == before["totals"] and after["categories"] == before["categories"]
    assert after["repeat_counts"] == before["repeat_counts"] == {"day": 1, "week": 1, "callers": 1}
    assert before["repeats"][0]["phone"] == "139****5678" and after["repeats"][0]["phone"] == ""
    assert after["repeats"][0]["call_ids"] == before["repeats"][0]["call_ids"]


def test_a_repeat_is_still_found_after_the_earlier_call_was_anonymised(settings, make_call):
    settings.CALLER_RETENTION_DAYS = 1
    earlier = make_call(caller_phone=PHONE, received_at=timezone.now() - timedelta(days=3))
    assert retention.callers_anonymise()["calls"] == 1

    again = make_call(caller_phone=PHONE)

    assert again.repeats["phone_7d"] == 1 and again.repeats["phone_calls"] == [earlier.pk]
    assert call_repeats(phone="13800009999", address="", received_at=timezone.now(),
                        category_code=None)["phone_7d"] == 0  # another number: no repeat


def test_the_same_call_sent_again_after_anonymisation_is_recognised(settings, make_call, dispatcher):
    from incidents.services import call_intake
    from tests.factories import call_data

    settings.CALLER_RETENTION_DAYS = 1
    data = call_data(caller_phone=PHONE, received_at=timezone.now() - timedelta(days=2))
    first = call_intake(actor=dispatcher, data=dict(data)).call
    retention.callers_anonymise()
    again = call_intake(actor=dispatcher, data=dict(data))
    assert again.call.pk == first.pk and again.created is False


def test_a_number_is_shown_only_with_a_reason_and_not_once_anonymised(keep, make_call, supervisor):
    from core.errors import DomainError

    call = make_call(caller_phone=PHONE, received_at=timezone.now() - timedelta(days=31))
    with pytest.raises(DomainError) as refused:
        call_reveal_phone(actor=supervisor, call=call, reason=" ")
    assert refused.value.code == "reason_required"
    retention.callers_anonymise()
    call.refresh_from_db()
    with pytest.raises(DomainError) as gone:
        call_reveal_phone(actor=supervisor, call=call, reason="回访")
    assert gone.value.code == "anonymised"
    assert not AuditLog.objects.filter(action="phone_revealed").exists()


def test_the_supervisor_sees_who_revealed_which_number_and_why_filtered_by_person_and_date(
        client, make_slip, dispatcher, staff_a, supervisor):
    slip = make_slip(caller_phone=PHONE)
    call = slip.call
    client.force_login(staff_a)
    shown = client.post(reverse("call-reveal-phone", args=[call.pk]), {"reason": "上门前联系报警人"})
    assert PHONE in shown.content.decode()
    with time_machine.travel(timezone.now() - timedelta(days=3)):  # the audit log is append-only: no back-dating
        call_reveal_phone(actor=dispatcher, call=call, reason="核实地址")

    client.force_login(supervisor)
    page = client.get(reverse("disclosure-list")).content.decode()
    assert "上门前联系报警人" in page and "核实地址" in page and call.call_id in page and PHONE not in page

    only_staff = client.get(reverse("disclosure-list"), {"person": staff_a.pk}).content.decode()
    assert "上门前联系报警人" in only_staff and "核实地址" not in only_staff
    today = timezone.localdate().isoformat()
    only_today = client.get(reverse("disclosure-list"), {"since": today, "until": today}).content.decode()
    assert "上门前联系报警人" in only_today and "核实地址" not in only_today
    bad = client.get(reverse("disclosure-list"), {"since": "2026-13-40"})
    assert bad.status_code == 200 and 'id="disclosure-table"' in bad.content.decode()


def test_every_export_is_in_the_audit_log_and_on_the_supervisors_list(client, make_call, supervisor):
    from incidents.review.services import daily_review_build

    make_call()
    day = timezone.localdate()
    daily_review_build(day=day, actor=supervisor)
    client.force_login(supervisor)
    assert client.get(reverse("review-export-xlsx"), {"date": day.isoformat()}).status_code == 200
    row = AuditLog.objects.get(action="exported")
    assert (row.actor, row.to_state, row.data["format"], row.data["day"]) == (supervisor, "daily_review", "xlsx",
                                                                               day.isoformat())
    listed = client.get(reverse("disclosure-list"), {"kind": "export"}).content.decode()
    assert "daily_review" in listed and "xlsx" in listed


def test_the_admin_finds_a_callers_calls_by_number_also_after_anonymisation(client, keep, make_call):
    from tests.factories import UserFactory

    old = make_call(caller_phone=PHONE, received_at=timezone.now() - timedelta(days=31))
    recent = make_call(caller_phone=PHONE)
    other = make_call(caller_phone="13700001111")
    retention.callers_anonymise()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:incidents_call_changelist"), {"q": "+86 139 1234 5678"}).content.decode()
    assert old.call_id in page and recent.call_id in page and other.call_id not in page
    assert PHONE not in page
