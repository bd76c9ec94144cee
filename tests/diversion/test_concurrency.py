"""Races that only a real database with row locks and several connections can show."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import Conflict
from core.models import AuditLog, Role
from diversion.models import HandoffSlip, SlipStatus
from diversion.services import slip_accept
from incidents import services as call_services
from tests.factories import UserFactory, category

pytestmark = [
    pytest.mark.postgres,
    # Transactional: each thread commits on its own connection (tests/conftest.py reloads the
    # catalog after the flush that ends such a test).
    pytest.mark.django_db(transaction=True),
]


def _race(*targets):
    """Run each target in its own thread and connection, released together by a barrier."""
    barrier = threading.Barrier(len(targets))
    outcomes: list = [None] * len(targets)

    def run(i, target):
        try:
            barrier.wait(timeout=10)
            outcomes[i] = target()
        except Exception as exc:  # the outcome is what the test inspects
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (lock wait?)"
    return outcomes


def _divert(actor, call, code, dept):
    cat = category(code)
    return lambda: call_services.call_divert(actor=actor, call_pk=call.pk, category=cat, department=dept)


def test_of_two_people_accepting_at_once_exactly_one_wins(require_postgres, make_slip, staff_a, dept_a):
    colleague = UserFactory(username="staff_a2", role=Role.DEPARTMENT, department=dept_a)
    slip = make_slip()

    outcomes = _race(lambda: slip_accept(actor=staff_a, slip_pk=slip.pk),
                     lambda: slip_accept(actor=colleague, slip_pk=slip.pk))

    wins = [o for o in outcomes if isinstance(o, HandoffSlip)]
    losses = [o for o in outcomes if isinstance(o, Exception)]
    assert len(wins) == 1, outcomes
    assert len(losses) == 1
    assert isinstance(losses[0], Conflict), repr(losses[0])
    slip.refresh_from_db()
    assert slip.status == SlipStatus.ACCEPTED
    assert slip.accepted_by_id == wins[0].accepted_by_id
    assert slip.accepted_by_id in (staff_a.pk, colleague.pk)
    accepts = AuditLog.objects.filter(object_type="handoffslip", object_id=slip.pk, to_state="accepted")
    assert accepts.count() == 1
    assert accepts.get().actor_id == slip.accepted_by_id


def test_two_dispatchers_issuing_at_once_get_distinct_consecutive_serials(require_postgres, make_call,
                                                                          dispatcher, supervisor, dept_a):
    # No counter row yet for the year: both transactions race to create it as well.
    first, second = make_call(), make_call()

    outcomes = _race(_divert(dispatcher, first, "C01", dept_a), _divert(supervisor, second, "C01", dept_a))

    assert all(isinstance(o, HandoffSlip) for o in outcomes), outcomes
    year = timezone.localtime(timezone.now()).year
    assert sorted(o.serial for o in outcomes) == [f"{year}-000001", f"{year}-000002"]
    assert sorted(HandoffSlip.objects.values_list("number", flat=True)) == [1, 2]


def test_many_slips_issued_at_once_never_share_a_number(require_postgres, make_call, dispatcher, dept_a):
    _divert(dispatcher, make_call(), "C01", dept_a)()  # the counter row exists now

    outcomes = _race(*[_divert(dispatcher, make_call(), "C01", dept_a) for _ in range(6)])

    assert all(isinstance(o, HandoffSlip) for o in outcomes), outcomes
    assert sorted(o.number for o in outcomes) == [2, 3, 4, 5, 6, 7]


def test_of_two_dispatchers_diverting_the_same_call_one_is_refused(require_postgres, make_call, dispatcher,
                                                                   supervisor, dept_a, dept_b):
    call = make_call()

    outcomes = _race(_divert(dispatcher, call, "C01", dept_a), _divert(supervisor, call, "B05", dept_b))

    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "HandoffSlip"], outcomes
    assert HandoffSlip.objects.filter(call=call).count() == 1
    call.refresh_from_db()
    assert call.status == "diverted"
    assert call.audit_rows.filter(action="call_status").count() == 1


def test_the_same_decision_sent_twice_at_once_is_done_once(require_postgres, make_call, dispatcher, dept_a,
                                                           supervisor, unit):
    """A double press whose two requests reach two server threads together: one slip, the other a no-op;
    a second dispatcher deciding on the same version at the same moment is refused as stale."""
    call = make_call()
    cat = category("C01")

    def send(actor, police=False):
        return lambda: call_services.call_classify(actor=actor, call_pk=call.pk, version=0, police=police,
                                                   category=None if police else cat, unit=unit, department=dept_a)

    outcomes = _race(send(dispatcher), send(dispatcher), send(supervisor, police=True))

    decided = [o for o in outcomes if isinstance(o, call_services.Decision)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert HandoffSlip.objects.filter(call=call).count() + call.assignments.count() == 1
    assert call.audit_rows.filter(action="call_classify").count() == 1
    assert sum(not d.repeated for d in decided) == 1
    assert all(isinstance(e, Conflict) and e.code == "stale" for e in refused), refused
    call.refresh_from_db()
    assert call.version == 1
    winner = call.classified_by
    # Whoever won, the others' outcomes follow from it: a repeat for the winner, stale for the other.
    assert len(refused) == (1 if winner == dispatcher else 2)


def test_a_partner_posting_the_same_report_twice_at_once_makes_one_call(require_postgres):
    """Open311 (issue 41): a partner's retry racing its first post is answered with the same request."""
    from diversion.models import Open311Client, Open311Report
    from diversion.open311.services import open311_key_issue, open311_report_create
    from incidents.models import Call

    client = Open311Client.objects.create(code="cityapp", name="城市App", kind="partner")
    open311_key_issue(actor=None, client=client)
    data = {"partner_request_id": "R-1", "description": "路边井盖缺失，有人差点掉下去", "lat": None, "lon": None,
            "address": "秀峰区中山中路8号", "phone": "13900002222"}
    post = lambda: open311_report_create(client=client, service=category("C01"), data=data)  # noqa: E731

    outcomes = _race(post, post)

    assert sorted(created for _report, created in outcomes) == [False, True]
    assert Call.objects.count() == 1 and Open311Report.objects.count() == 1
    assert {report.call_id for report, _created in outcomes} == {Call.objects.get().pk}
