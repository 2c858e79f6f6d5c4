"""The shipped dashboards and rules against a live Prometheus scraping two real longrun processes.

Every panel query of every dashboard (Grafana's variables substituted as in
tests/monitoring/test_dashboards.py) runs through Prometheus's HTTP API: it
must parse and evaluate, and every metric it names must exist in the live
TSDB, so a renamed metric or a metric only a test fixture exports shows up
here with the dashboard, the panel and the name. Then every rule the live
Prometheus loaded must evaluate without error.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.e2e.conftest import SELECTOR
from tests.monitoring import artefacts, promql
from tests.monitoring.test_dashboards import GRAFANA_VARIABLES, all_panels, query_variables

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

# How long the stack may take, once settled, until every series a panel reads exists: the probe pass
# ratios need two probe runs (every 2 s here) a scrape apart, and their group is evaluated every 4 s.
DATA_WITHIN = 20.0


# The stack scrapes longrun under a custom selector: the dashboards' selector variable is set to it,
# as a user of `longrun monitoring render --selector` (or of the variable's text box) has it.
LIVE_VARIABLES = {**GRAFANA_VARIABLES, "${selector:raw}": SELECTOR}


def substituted(expr: str) -> str:
    for variable, value in LIVE_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def panel_queries() -> list[tuple[str, str, str]]:
    """(where, PromQL as Grafana sends it, PromQL as written) for every query of every shipped dashboard."""
    found = []
    for path in artefacts.DASHBOARD_FILES:
        for panel in all_panels(artefacts.load_json(path)):
            for target in panel.get("targets", []):
                where = f"{path.name}: panel {panel['title']!r} {target['refId']}"
                written = target["expr"].replace("${selector:raw}", SELECTOR)
                found.append((where, substituted(target["expr"]), written))
    return found


async def query_problems(stack, queries: list[tuple[str, str, str]]) -> list[str]:
    """What is wrong with each query live: an error, or a metric it reads that Prometheus has no series of."""
    names = await stack.metric_names()
    problems = []
    for where, expr, written in queries:
        answer = await stack.query(expr)
        if answer["status"] != "success":
            problems.append(f"{where}: {answer.get('errorType')}: {answer.get('error')} in {expr}")
            continue
        for name in sorted(promql.metric_names(written) - names):
            problems.append(f"{where}: no series named {name} in the live Prometheus")
    return problems


async def test_every_dashboard_query_runs_live_and_every_metric_it_reads_exists(module_stack):
    queries = panel_queries()
    deadline = time.monotonic() + DATA_WITHIN
    problems = await query_problems(module_stack, queries)
    while problems and time.monotonic() < deadline:
        await asyncio.sleep(1)
        problems = await query_problems(module_stack, queries)
    assert len(queries) > 50
    assert not problems, "\n".join(problems)


async def test_the_check_names_a_missing_metric_and_a_query_that_does_not_parse(module_stack):
    written = ("time() - longrun_heartbeat_last_timestamp_second", "rate(longrun_leader[$__rate_interval)")
    where = "b.json: panel 'Age' A"
    missing, unparsed = await query_problems(module_stack, [(where, substituted(e), e) for e in written])
    assert missing == f"{where}: no series named longrun_heartbeat_last_timestamp_second in the live Prometheus"
    assert unparsed.startswith(f"{where}: bad_data: ") and "parse error" in unparsed, unparsed


async def test_the_instance_variable_lists_both_longrun_instances(module_stack):
    for path in artefacts.DASHBOARD_FILES:
        for variable in query_variables(artefacts.load_json(path)):
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            series = await module_stack.returns(promql.grafana_variable_expr(substituted(query)))
            instances = {s["metric"]["instance"] for s in series}
            assert instances == {f"127.0.0.1:{p.port}" for p in (module_stack.leader, module_stack.standby)}, \
                f"{path.name}: ${variable['name']} lists {instances}"


async def test_every_rule_evaluates_without_error(module_stack):
    async def evaluated():
        rules = await module_stack.rules()
        return rules if all(rule["health"] != "unknown" for rule in rules) else None

    rules, _ = await module_stack.eventually(evaluated, 15, "every rule evaluated once")
    loaded = {rule["name"] for rule in rules}
    shipped = {rule.get("alert") or rule["record"] for _, group in artefacts.rule_groups() for rule in group["rules"]}
    assert loaded == shipped
    broken = [f"{rule['name']}: {rule['health']} {rule.get('lastError')}" for rule in rules if rule["health"] != "ok"]
    assert not broken, "\n".join(broken)
