"""schemathesis over docs/openapi.yaml against a real ``longrun run`` (issue 18, item 13).

An outside tool, not ours, generates requests from the published schema, valid and
invalid, and checks each answer: no 5xx, the documented status codes, content types
and bodies, valid data accepted and invalid data refused. Where the server and the
schema disagree the schema is wrong (or the server is), and this test says which.

Examples per operation: ``LONGRUN_SCHEMATHESIS_EXAMPLES`` (default 25). The number of
cases sent is printed under "longrun resilience figures" (``schemathesis_cases``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.process.processes import LongrunProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
TOKEN = "schemathesis-token-0123456789abcdef"
EXAMPLES = int(os.environ.get("LONGRUN_SCHEMATHESIS_EXAMPLES", "25"))
CASES: dict[str, int] = {}
# Operations whose rules OpenAPI 3.0 cannot state, so that a request the schema allows may still be a
# documented 400 (each rule is in the operation's description). Every other check runs on them:
# no 5xx, documented statuses and bodies, and schema-violating input refused.
RULES_BEYOND_THE_SCHEMA = {
    "GET /api/admin/longrun/heartbeats": "since not after until",
    "GET /api/admin/longrun/rollups": "from not after to",
    "PATCH /api/admin/longrun/config": "only the config document's fields, each within its range",
    "POST /api/admin/longrun/incidents": "tsEnd after tsStart, neither in the future",
    "PATCH /api/admin/longrun/incidents/{incidentId}": "the incident's state allows the change",
    "POST /api/admin/longrun/maintenance": "until after from, at most the longest window",
    "POST /api/admin/longrun/rollups/{day}": "a complete day, before today",
    "POST /api/alertmanager": "startsAt no later than now + 1 day",
}

schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real process for the module: SQLite, admin and webhook token alike, second-scale jobs."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    process = LongrunProcess("schemathesis", {
        "LONGRUN_STORE": f"sqlite:///{tmp}/longrun.db", "LONGRUN_ADMIN_TOKEN": TOKEN, "LONGRUN_WEBHOOK_TOKEN": TOKEN,
        "LONGRUN_HEARTBEAT_INTERVAL": "1s", "LONGRUN_LEASE": "3s", "LONGRUN_RENEW": "1s",
    }, tmp).start()
    try:
        process.wait_for(lambda h: h["lastHeartbeat"] is not None, 60, "first heartbeat")
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def session():
    with requests.Session() as http:
        yield http


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_the_server_does_what_docs_openapi_yaml_says(case, server, session):
    CASES[case.operation.label] = CASES.get(case.operation.label, 0) + 1
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = case.call(base_url=server.url, session=session, headers=headers, timeout=10)
    excluded = [positive_data_acceptance] if case.operation.label in RULES_BEYOND_THE_SCHEMA else []
    if response.status_code == 413:  # a body over the size limit (documented): refused, as invalid data must be
        excluded.append(negative_data_rejection)
    case.validate_response(response, headers=headers, excluded_checks=excluded)


def test_report_the_case_count(server, figures):
    """Runs after the schemathesis cases (same module, later in order): their total, for the README."""
    total = sum(CASES.values())
    figures.record("schemathesis_cases", total, operations=len(CASES), examples_per_operation=EXAMPLES)
    assert total >= len(CASES) > 0 or not CASES
