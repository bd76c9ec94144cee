"""Timeline and audit text the system writes is kept as its message and arguments (core.audit.Reason) and
shown in the reader's language; what a person typed is shown as typed; the stored text is the centre's
language, whatever the language of the person who acted."""

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from core.audit import REASON_KEY, Reason
from core.models import AuditLog
from diversion.services import callback_record, slip_accept, slip_complete, slip_return

pytestmark = pytest.mark.django_db


def _timeline(client, user, call, language) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    body = client.get(reverse("call-page", args=[call.pk])).content.decode()
    return body[body.index('id="timeline"'):]


def test_the_timeline_speaks_the_readers_language(client, make_slip, staff_a, supervisor, dispatcher):
    with translation.override("en"):  # the dispatcher's session is in English: the stored text is not
        slip = make_slip()
    slip_accept(actor=staff_a, slip_pk=slip.pk)
    slip_complete(actor=staff_a, slip_pk=slip.pk, result="已清理，噪音停止")
    callback_record(actor=supervisor, slip_pk=slip.pk, channel="phone", reached=True, resolved="yes",
                    satisfaction=5)
    call = slip.call

    diverted = AuditLog.objects.get(call=call, action="call_status", to_state="diverted")
    assert diverted.reason == f"已通过移交单{slip.serial}分流"
    assert diverted.data[REASON_KEY] == {"message": "Diverted on slip %(serial)s", "args": {"serial": slip.serial}}

    english = _timeline(client, dispatcher, call, "en")
    assert f"Diverted on slip {slip.serial}" in english and "Callback done" in english
    assert "已通过移交单" not in english and "已完成回访" not in english
    assert "已清理，噪音停止" in english  # typed by a person: as typed

    chinese = _timeline(client, dispatcher, call, "zh-hans")
    assert f"已通过移交单{slip.serial}分流" in chinese and "已完成回访" in chinese
    assert "Diverted on slip" not in chinese


def test_an_unsatisfied_callback_names_the_answer_in_the_readers_language(client, make_slip, staff_a,
                                                                          supervisor, dispatcher):
    slip = make_slip()
    slip_accept(actor=staff_a, slip_pk=slip.pk)
    slip_complete(actor=staff_a, slip_pk=slip.pk, result="已约谈")
    callback_record(actor=supervisor, slip_pk=slip.pk, channel="phone", reached=True, resolved="no",
                    satisfaction=1)
    english = _timeline(client, dispatcher, slip.call, "en")
    assert "Caller not satisfied: No" in english
    assert "报警人不满意" not in english


def test_a_typed_reason_is_kept_as_typed(client, make_slip, staff_a, dispatcher):
    slip = make_slip()
    slip_return(actor=staff_a, slip_pk=slip.pk, reason="不属于本部门职责")
    row = AuditLog.objects.filter(call=slip.call, action="slip_status", to_state="returned").get()
    assert REASON_KEY not in row.data and row.reason_display == "不属于本部门职责"
    assert "不属于本部门职责" in _timeline(client, dispatcher, slip.call, "en")


def test_a_stored_reason_whose_choice_is_gone_shows_its_value():
    assert Reason.render({"choice": {"model": "diversion.nosuchmodel", "field": "x", "value": "kept"}}) == "kept"
    assert Reason.render({"message": "Slip reopened", "args": {}}) in ("Slip reopened", "移交单已重新交办")
    assert Reason.render({"message": "", "args": {}}) == "" and Reason.render({}) == ""  # not the PO header


def test_a_notice_the_ladder_raised_gives_its_reason_in_the_readers_language(client, make_slip, staff_a):
    from datetime import timedelta

    from diversion.models import Notice
    from diversion.supervision.services import ladder_run

    slip = make_slip()
    with translation.override("en"):  # whatever language the beat runs in, the stored text is the centre's
        ladder_run(now=slip.deadline + timedelta(minutes=1))
    notice = Notice.objects.get(kind="supervision")
    assert notice.automatic and notice.reason == "已超过办理时限，仍未办结。"
    client.force_login(staff_a)
    for language, text in (("en", "Past the deadline and not completed."), ("zh-hans", "已超过办理时限，仍未办结。")):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        assert text in client.get(reverse("notice-detail", args=[notice.pk])).content.decode()
