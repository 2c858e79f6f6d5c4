"""Every metric a rule, an alert template or a dashboard queries is one the
exporter exposes (exporter.metrics.catalog), one of our recording rules, or a
series Prometheus makes itself; label matchers use labels and values that
exist. A renamed metric therefore fails here, naming the file and the query."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from exporter.metrics import catalog
from exporter.metrics.catalog import CATALOG, exposed_names

from . import artefacts as a
from .promql import Selector, alternatives, grafana_variable_expr, selectors

# Labels every scraped series gets from its target.
TARGET_LABELS = frozenset({"job", "instance"})
_TEMPLATE_QUERY = re.compile(r'query\s+(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`)')


def _domains() -> dict[str, dict[str, frozenset[str] | None]]:
    """For each exposed sample name: label (as PromQL sees it) -> allowed values (None: any)."""
    known = {
        "window": catalog.WINDOWS, "severity": catalog.SEVERITIES, "status": catalog.ALERT_STATUSES,
        "source": catalog.INCIDENT_SOURCES, "name": catalog.THRESHOLD_NAMES, "job": catalog.JOBS,
        "reason": catalog.HTTP_CLOSE_REASONS, "cause": catalog.HTTP_REFUSAL_CAUSES,
    }
    domains: dict[str, dict[str, frozenset[str] | None]] = {}
    for spec in CATALOG:
        labels: dict[str, frozenset[str] | None] = {}
        for label in spec.labels:
            if label == "type":
                values = catalog.PROBE_TYPES if spec.name.startswith("probe_") else catalog.INCIDENT_TYPES
            elif label == "result":
                values = catalog.PROBE_RESULTS if spec.name.startswith("probe_") else catalog.TELEGRAM_RESULTS
            else:
                values = known.get(label)
            # The target's `job` label wins on scrape; the exporter's arrives as exported_job.
            labels["exported_job" if label == "job" else label] = None if values is None else frozenset(values)
        for sample in spec.sample_names:
            domains[sample] = labels
    return domains


DOMAINS = _domains()
RECORDED = a.recording_names()
ALLOWED = exposed_names() | RECORDED | a.PROMETHEUS_BUILTINS | a.ALERTMANAGER_SERIES
SCRAPE_JOBS = frozenset(job["job_name"] for job in a.load_yaml(a.PROMETHEUS_CONFIG)["scrape_configs"])
# Labels the recording rules keep, with the values they can hold.
RECORDED_LABELS = {
    "window": frozenset(catalog.WINDOWS), "name": frozenset(catalog.THRESHOLD_NAMES),
    "exported_job": frozenset(catalog.JOBS), "type": frozenset(catalog.PROBE_TYPES),
}


def check_selector(sel: Selector) -> list[str]:
    if sel.name is None:
        return [f"a selector without a metric name: {sel.matchers}"]
    if sel.name not in ALLOWED:
        return [f"unknown metric {sel.name}: not in exporter.metrics.catalog, not a recording rule, not {sorted(a.PROMETHEUS_BUILTINS | a.ALERTMANAGER_SERIES)}"]
    problems = []
    for matcher in sel.matchers:
        if matcher.label in TARGET_LABELS:
            values = alternatives(matcher)
            if matcher.label == "job" and values and not set(values) <= SCRAPE_JOBS:
                problems.append(f"{sel.name}{{job{matcher.op}{matcher.value!r}}}: no such scrape job "
                                f"(jobs: {sorted(SCRAPE_JOBS)}; the exporter's own job label is exported_job)")
            continue
        if sel.name in DOMAINS:
            domain = DOMAINS[sel.name]
        elif sel.name in RECORDED:
            domain = RECORDED_LABELS
        else:
            continue  # up, ALERTS, Alertmanager's series: their own labels
        if matcher.label not in domain:
            problems.append(f"{sel.name} has no label {matcher.label!r} (it has {sorted(domain)})")
            continue
        allowed, values = domain[matcher.label], alternatives(matcher)
        if allowed is not None and values is not None:
            for value in set(values) - allowed:
                problems.append(f"{sel.name}{{{matcher.label}={value!r}}}: {value!r} is not one of {sorted(allowed)}")
    return problems


def check_expr(expr: str) -> list[str]:
    return [problem for sel in selectors(expr) for problem in check_selector(sel)]


# ------------------------------------------------------------------ where the queries are


def rule_queries() -> list[tuple[str, str]]:
    """(where, PromQL) for every rule expression and every query in an annotation template."""
    found = []
    for path, group in a.rule_groups():
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            found.append((f"{path.name}: {name}", rule["expr"]))
            for key, template in rule.get("annotations", {}).items():
                for quoted, raw in _TEMPLATE_QUERY.findall(template):
                    found.append((f"{path.name}: {name} annotation {key}", raw or quoted.replace('\\"', '"')))
    return found


def dashboard_queries(path: Path) -> list[tuple[str, str]]:
    """Grafana's selector variable is read as its default, the selector the dashboards were rendered with."""
    selector = json.dumps(a.rendered_selector())[1:-1]
    board = json.loads(path.read_text(encoding="utf-8").replace("${selector:raw}", selector))
    found = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            found.append((f"{path.name}: panel {panel['title']!r} {target['refId']}", target["expr"]))
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            expr = grafana_variable_expr(query)
            assert expr is not None, f"{path.name}: cannot read variable query {query!r}"
            found.append((f"{path.name}: variable ${variable['name']}", expr))
    return found


SOURCES = {p.name: (lambda p=p: [q for q in rule_queries() if q[0].startswith(p.name)]) for p in a.RULE_FILES}
SOURCES.update({p.name: (lambda p=p: dashboard_queries(p)) for p in a.DASHBOARD_FILES})


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_query_uses_known_metrics_and_labels(source: str):
    queries = SOURCES[source]()
    assert queries, f"{source} has no queries"
    problems = [f"{where}: {problem}" for where, expr in queries for problem in check_expr(expr)]
    assert not problems, "\n".join(problems)


def test_every_query_names_at_least_one_metric():
    """A query the tokenizer reads as metric-free would escape the check above."""
    empty = [where for source in SOURCES.values() for where, expr in source()
             if not selectors(expr) and "vector(" not in expr]
    assert not empty, empty


# ------------------------------------------------------------------ the checker itself


def test_checker_names_a_misspelled_metric():
    problems = check_expr("time() - max without (instance) (longrun_heartbeat_last_timestamp_second) > 180")
    assert problems == [
        "unknown metric longrun_heartbeat_last_timestamp_second: not in exporter.metrics.catalog, "
        "not a recording rule, not ['ALERTS', 'alertmanager_notifications_failed_total', 'up']"
    ]


def test_checker_names_a_counter_without_its_total_suffix():
    assert check_expr("increase(longrun_job_failures[1h])")[0].startswith("unknown metric longrun_job_failures:")


def test_checker_names_a_misspelled_recording_rule():
    assert check_expr("longrun:heartbeat_fresh:ratio_rate2m < 0.9")[0].startswith("unknown metric longrun:heartbeat_fresh:ratio_rate2m")


def test_checker_names_unknown_label_values():
    assert check_expr('longrun_heartbeat_missed{window="1d"}') == [
        "longrun_heartbeat_missed{window='1d'}: '1d' is not one of ['1h', '24h', '7d']"
    ]
    assert check_expr('longrun_probe_runs_total{result=~"PASS|FAILED"}') == [
        "longrun_probe_runs_total{result='FAILED'}: 'FAILED' is not one of ['FAIL', 'PASS', 'SKIP']"
    ]
    assert "'missedHbPerHr' is not one of" in check_expr('longrun:alert_threshold:effective{name="missedHbPerHr"}')[0]


def test_checker_catches_the_job_label_collision():
    """The exporter's `job` label is exported_job once scraped: {job="rollup"} would match nothing."""
    assert "no such scrape job" in check_expr('longrun_job_failures_total{job="rollup"}')[0]
    assert check_expr('longrun_job_failures_total{job="longrun", exported_job="rollup"}') == []
    assert "has no label 'window'" in check_expr('longrun_leader{window="1h"}')[0]


def test_checker_ignores_functions_keywords_labels_strings_and_variables():
    expr = (
        'sum by (instance, operation) (rate(longrun_store_errors_total{instance=~"$instance"}[$__rate_interval]))'
        ' > on (job) group_left () label_replace(vector(1), "name", "up", "", "")'
        ' or bool topk(3, longrun_leader) offset 5m unless ignoring (window) ALERTS{alertstate="firing"} + Inf'
    )
    assert [s.name for s in selectors(expr)] == ["longrun_store_errors_total", "longrun_leader", "ALERTS"]
    assert check_expr(expr) == []


def test_grafana_variable_queries_are_read():
    assert grafana_variable_expr('label_values(up{job="longrun"}, instance)') == 'up{job="longrun"}'


def test_every_catalog_metric_is_shown_or_alerted_on():
    """A metric added to the catalog without a panel or a rule is exported for nobody."""
    used = {name for source in SOURCES.values() for _, expr in source() for name in
            (s.name for s in selectors(expr)) if name}
    unused = sorted(exposed_names() - used)
    assert not unused, f"catalog metrics no dashboard or rule uses: {unused}"
