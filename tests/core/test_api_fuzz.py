"""Schemathesis over the API's own schema (/api/v1/schema/), in every `make test`.

Every operation is called with generated requests (valid and invalid) as the 110 system (its DRF token) and as
a department's staff (theirs), through the WSGI application on PostgreSQL. Each response is checked by
Schemathesis' default checks: no server error, a status the schema documents, the documented content type and
headers, a body that validates against the schema, invalid input refused. The path ids are drawn from the
records that exist, so operations get past the 404 and into the services.

Left out: Schemathesis' `positive_data_acceptance` (a request the schema allows must not get 400). The
services' rules go past what OpenAPI says: a caller's phone must be a phone number, a call must have been
received in the plausible range, a decision names the call's current version, a department code must exist.
Those 400s carry the reason, and the checks that stay validate their bodies against the schema.

The run is bounded: FUZZ_EXAMPLES examples per operation and actor (Hypothesis' database off, so every run
draws fresh), well under three minutes.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from config.wsgi import application
from core.demo import SYSTEM_USER
from core.models import Role
from diversion.models import HandoffSlip
from incidents.models import Call
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(240)]

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))  # more for a deeper run by hand
SCHEMA_PATH = "/api/v1/schema/?format=json"


@pytest.fixture
def fuzz_world(make_slip, make_call, staff_a, dispatcher):
    """Slips and calls to find: one slip per state a department meets, calls waiting and diverted."""
    from diversion import services as slip_services

    fresh = make_slip()
    accepted = make_slip()
    slip_services.slip_accept(actor=staff_a, slip_pk=accepted.pk)
    returned = make_slip()
    slip_services.slip_return(actor=staff_a, slip_pk=returned.pk, reason="不属本局职责")
    for _ in range(3):
        make_call()
    system = UserFactory(username=SYSTEM_USER, role=Role.DISPATCHER)
    return {
        "tokens": {"110": Token.objects.create(user=system).key, "department": Token.objects.create(user=staff_a).key},
        "slips": [fresh.pk, accepted.pk, returned.pk],
    }


@pytest.fixture
def api_schema(fuzz_world):
    # The Django test client does the same: a WSGI request would otherwise close the test's connection (and
    # with it the transaction holding the records) when it ends.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(SCHEMA_PATH, application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _fuzz(operation, mode, token: str, known: list[int], counts: dict) -> None:
    """FUZZ_EXAMPLES generated requests to one operation; a generated path id is, three times in four, one of
    the records that exist, so the request gets past the 404 and into the service."""

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode), pick=st.integers(0, 4 * len(known) - 1))
    def run(case, pick):
        generated = (case.path_parameters or {}).get("id")
        if isinstance(generated, int) and not isinstance(generated, bool) and pick < 3 * len(known):
            case.path_parameters["id"] = known[pick % len(known)]  # a non-integer id is left: it is the test
        if mode == GenerationMode.POSITIVE and isinstance(case.body, dict) and "caller_phone" in case.body \
                and pick % 2:
            # Half the intakes get a real phone number and a plausible time, so some calls are created (201).
            case.body.update(caller_phone=f"1380000{pick % 10000:04d}", received_at=timezone.now().isoformat())
        response = case.call_and_validate(headers={"Authorization": f"Token {token}"},
                                          excluded_checks=[positive_data_acceptance])
        counts["examples"] += 1
        counts["statuses"][response.status_code] = counts["statuses"].get(response.status_code, 0) + 1

    run()


@pytest.mark.parametrize("actor", ["110", "department"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_to_its_schema(api_schema, fuzz_world, actor, mode):
    known = sorted(set(Call.objects.values_list("pk", flat=True))
                   | set(HandoffSlip.objects.values_list("pk", flat=True)))
    counts, failures, operations = {"examples": 0, "statuses": {}}, [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            _fuzz(operation, mode, fuzz_world["tokens"][actor], known, counts)
        except (Exception, BaseExceptionGroup) as error:  # every operation is fuzzed; failures reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    print(f"\napi fuzz [{actor}, {mode}]: operations={operations} examples={counts['examples']} "
          f"failures={len(failures)} statuses={dict(sorted(counts['statuses'].items()))}")
    assert operations >= 9 and counts["examples"] >= operations * FUZZ_EXAMPLES // 2
    assert not failures, "\n\n".join(failures)
