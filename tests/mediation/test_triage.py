"""繁简分流: the rules suggest, the mediator decides, and both are kept."""

from decimal import Decimal

import pytest

from core.models import AuditLog
from mediation import services
from mediation.triage import TriageFacts, complexity_suggest


@pytest.mark.parametrize(("facts", "expected"), [
    (TriageFacts(parties=2, repeat_calls=0, amount=None, prior_files=0), ("simple", [])),
    (TriageFacts(parties=3, repeat_calls=0, amount=None, prior_files=0), ("complex", ["parties"])),
    (TriageFacts(parties=2, repeat_calls=2, amount=None, prior_files=0), ("complex", ["repeat_calls"])),
    (TriageFacts(parties=2, repeat_calls=0, amount=Decimal("10000"), prior_files=0), ("complex", ["amount"])),
    (TriageFacts(parties=2, repeat_calls=0, amount=Decimal("9999.99"), prior_files=1), ("complex", ["prior_files"])),
])
def test_the_rules_suggest_complex_when_any_threshold_is_reached(facts, expected, db):
    assert complexity_suggest(facts) == expected


def test_the_thresholds_are_settings(settings):
    settings.MEDIATION_COMPLEX_PARTIES = 5
    assert complexity_suggest(TriageFacts(parties=4, repeat_calls=0, amount=None, prior_files=0))[0] == "simple"


def test_a_second_file_for_the_same_people_is_suggested_complex(open_file):
    open_file()
    second = open_file(title="又一次纠纷")
    assert second.suggested_complexity == "complex" and second.triage_facts["prior_files"] == 1


def test_the_mediator_may_overrule_the_suggestion_and_both_are_kept(open_file, med_a):
    file = open_file(amount=Decimal("50000"))
    assert file.suggested_complexity == "complex"
    services.file_triage(actor=med_a.user, file_pk=file.pk, complexity="simple")
    file.refresh_from_db()
    assert (file.complexity, file.suggested_complexity, file.triaged_by) == ("simple", "complex", med_a.user)
    row = AuditLog.objects.get(action="dispute_triage", object_id=file.pk)
    assert row.data["agreed"] is False and row.data["facts"]["amount"] == "50000.00"
