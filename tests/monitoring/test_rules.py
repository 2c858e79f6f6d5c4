"""The shipped Prometheus rules: promtool accepts them and their unit tests pass,
and every alert carries what a person paged at night needs."""

from __future__ import annotations

import re
import subprocess
import warnings
from pathlib import Path
from urllib.parse import urldefrag

import pytest
import yaml

from alerting.mapping import PRIORITY_SEVERITY
from exporter.metrics.catalog import INCIDENT_TYPES, JOBS, SEVERITIES, THRESHOLD_NAMES

from . import artefacts as a

PROMTOOL_MISSING = (
    "promtool NOT FOUND: the Prometheus rule checks and unit tests did NOT run. "
    "Install Prometheus 2.x (`make system-deps`, or apt-get install prometheus)."
)
ALERTS = a.alert_rules()
ALERT_IDS = [f"{r['alert']}[{r.get('labels', {}).get('severity', '')}]" for r in ALERTS]


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = a.promtool()
    if tool is None:
        warnings.warn(PROMTOOL_MISSING)
        pytest.skip(PROMTOOL_MISSING)
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=180, cwd=a.REPO)


def test_rules_exist():
    assert [p.name for p in a.RULE_FILES] == ["longrun-alerts.yml", "longrun-recording.yml"]
    assert a.RULE_TEST_FILES, "no promtool test files in prometheus/tests"


# ------------------------------------------------------------------ promtool


def test_promtool_check_rules_accepts_the_rule_files():
    result = run_promtool("check", "rules", *map(str, a.RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_config_accepts_prometheus_yml():
    result = run_promtool("check", "config", str(a.PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    # the config loads exactly the shipped rule files
    for path in a.RULE_FILES:
        assert path.relative_to(a.REPO).as_posix() in result.stdout


@pytest.mark.process
@pytest.mark.parametrize("test_file", a.RULE_TEST_FILES, ids=lambda p: p.name)
def test_promtool_unit_tests_pass(test_file: Path):
    result = run_promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.process
def test_promtool_unit_tests_can_fail(tmp_path: Path):
    """A wrong expectation must fail: the harness above is not vacuous."""
    source = a.PROMETHEUS_DIR / "tests" / "heartbeats_test.yml"
    text = source.read_text(encoding="utf-8").replace("No heartbeat written for 4m 0s", "No heartbeat written for 5m 0s")
    assert "5m 0s" in text
    doc = yaml.safe_load(text)
    doc["rule_files"] = [str(p) for p in a.RULE_FILES]
    broken = tmp_path / "broken_test.yml"
    broken.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = run_promtool("test", "rules", str(broken))
    assert result.returncode != 0
    assert "No heartbeat written for 4m 0s" in result.stdout + result.stderr


# ------------------------------------------------------------------ structure


def test_group_names_are_unique_across_rule_files():
    names = [group["name"] for _, group in a.rule_groups()]
    assert len(names) == len(set(names)), names


def test_every_test_file_fixes_the_order_of_every_group():
    """promtool evaluates groups in no set order; an unordered group makes recorded values lag a step at random."""
    groups = [group["name"] for _, group in a.rule_groups()]
    for path in a.RULE_TEST_FILES:
        doc = a.load_yaml(path)
        assert sorted(doc.get("group_eval_order", [])) == sorted(groups), path.name
        loaded = {(path.parent / name).resolve() for name in doc["rule_files"]}
        assert loaded == {p.resolve() for p in a.RULE_FILES}, path.name


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_has_severity_incident_type_and_annotations(rule: dict):
    labels, annotations = rule.get("labels", {}), rule.get("annotations", {})
    if rule["alert"] == "Watchdog":
        assert labels == {"severity": "none"}
    else:
        assert labels.get("priority") in SEVERITIES
        assert labels.get("severity") == PRIORITY_SEVERITY[labels["priority"]]
        assert labels.get("incident_type") in INCIDENT_TYPES
        # the description carries the values that made it fire (absent() has none: it names the selector)
        if rule["alert"] == "LongrunExporterAbsent":
            assert "up{" + a.rendered_selector() + "}" in annotations["description"]
        else:
            assert "{{" in annotations.get("description", "")
    for key in ("summary", "description", "runbook_url"):
        assert annotations.get(key, "").strip(), f"{rule['alert']} has no {key}"


# The runbook's incident types fix these priorities.
RUNBOOK_SEVERITIES = {
    "LongrunAccountsLoggedOut": "P1",
    "LongrunHeartbeatGap": "P2",
    "LongrunMissedHeartbeats": "P2",
    "LongrunReconnectLoop": "P2",
    "LongrunProbeConsecutiveFailures": "P3",
    "LongrunNoLeader": "P1",
}


@pytest.mark.parametrize("alert, severity", RUNBOOK_SEVERITIES.items())
def test_runbook_incident_types_keep_their_severity(alert: str, severity: str):
    rules = [r for r in ALERTS if r["alert"] == alert]
    assert rules, f"{alert} is missing"
    assert {r["labels"]["priority"] for r in rules} == {severity}


def test_runbook_urls_share_one_base_and_point_to_existing_sections():
    base = a.runbook_base()
    runbooks = a.runbooks()
    assert runbooks, f"no runbook found at {[str(p) for p in a.RUNBOOK_CANDIDATES]}"
    anchors = {path: a.markdown_anchors(path.read_text(encoding="utf-8")) for path in runbooks}
    for rule in ALERTS:
        url, anchor = urldefrag(rule["annotations"]["runbook_url"])
        assert url == base, f"{rule['alert']}: {url} is not the runbook base {base}"
        for path, present in anchors.items():
            assert anchor in present, f"{rule['alert']}: #{anchor} is not a heading of {path}"


def test_markdown_anchors_follow_github():
    doc = "# Monitoring & Alerts\n```bash\n# not a heading\n```\n### Problem: Missed Heartbeats (Gaps)\n## Steps\n## Steps\n"
    assert a.markdown_anchors(doc) == {"monitoring--alerts", "problem-missed-heartbeats-gaps", "steps", "steps-1"}


# ------------------------------------------------------------------ coverage by promtool tests


def promtool_alert_cases() -> list[tuple[str, str, set[str]]]:
    """(test file, alertname, severities expected to fire) for every alert_rule_test."""
    cases = []
    for path in a.RULE_TEST_FILES:
        for group in a.load_yaml(path)["tests"]:
            for case in group.get("alert_rule_test", []):
                fired = {alert.get("exp_labels", {}).get("severity", "") for alert in case.get("exp_alerts") or []}
                cases.append((path.name, case["alertname"], fired))
    return cases


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_every_alert_is_seen_firing_and_staying_quiet(rule: dict):
    name, severity = a.rule_key(rule)
    cases = [(f, fired) for f, alertname, fired in promtool_alert_cases() if alertname == name]
    assert any(severity in fired for _, fired in cases), f"no promtool case expects {name} ({severity}) to fire"
    if name == "Watchdog":
        return  # fires by definition; nothing can keep it quiet
    assert any(severity not in fired for _, fired in cases), f"no promtool case expects {name} ({severity}) to stay quiet"


def test_promtool_cases_name_existing_alerts():
    names = {r["alert"] for r in ALERTS}
    unknown = {alertname for _, alertname, _ in promtool_alert_cases()} - names
    assert not unknown


# ------------------------------------------------------------------ rules bound to the catalog


def _recording_expr(name: str) -> str:
    return next(r["expr"] for r in a.recording_rules() if r["record"] == name)


def test_every_catalog_threshold_has_a_default():
    defaults = set(re.findall(r'"name",\s*"(\w+)"', _recording_expr("longrun:alert_threshold:effective")))
    assert defaults == set(THRESHOLD_NAMES)


def test_every_catalog_job_without_its_own_alert_has_an_expected_period():
    periods = set(re.findall(r'"exported_job",\s*"(\w+)"', _recording_expr("longrun:job_expected_period_seconds")))
    assert periods == set(JOBS) - {"heartbeat", "rollup"}


def test_docs_alerts_md_lists_every_alert():
    text = a.ALERTS_DOC.read_text(encoding="utf-8")
    for rule in ALERTS:
        assert f"`{rule['alert']}`" in text, f"{rule['alert']} is not in docs/alerts.md"
    documented = set(re.findall(r"`((?:Longrun\w+)|Watchdog)`", text))
    assert documented <= {r["alert"] for r in ALERTS}, documented - {r["alert"] for r in ALERTS}


def test_docs_alerts_md_links_existing_runbook_sections():
    links = re.findall(r"\(runbook\.md#([^)]+)\)", a.ALERTS_DOC.read_text(encoding="utf-8"))
    assert links
    for path in a.runbooks():
        missing = set(links) - a.markdown_anchors(path.read_text(encoding="utf-8"))
        assert not missing, f"docs/alerts.md links sections {path} does not have: {missing}"
