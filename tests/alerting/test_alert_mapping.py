"""Alert labels → (incident type, subject, severity): the same names the hourly monitor uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from alerting.mapping import AlertMapping, IncidentTarget, Rule, fallback_subject, severity_of
from exporter.domain import monitor_checks as rules

RULES_FILE = Path(__file__).resolve().parents[2] / "prometheus" / "rules" / "longrun-alerts.yml"

# What the hourly monitor decides, from the domain functions it calls: the subjects to meet.
MONITOR = {
    "reconnect_loop": rules.reconnect_loop_decision(20, 10).subject,
    "logged_out": rules.logged_out_decision(1, 3).subject,
    "probe_fail": rules.probe_fail_decision(3, 2, probe_type="outbound").subject,
    "missed_heartbeat": "heartbeat",
    "rollup_failed": "rollup",
}


@pytest.mark.parametrize("alertname, labels, expected", [
    ("LongrunHeartbeatGap", {}, ("missed_heartbeat", "heartbeat")),
    ("LongrunMissedHeartbeats", {}, ("missed_heartbeat", "heartbeat")),
    ("LongrunCoverageLow", {}, ("missed_heartbeat", "heartbeat")),
    ("LongrunProbeConsecutiveFailures", {"type": "outbound"}, ("probe_fail", MONITOR["probe_fail"])),
    ("LongrunProbePassRatioLow", {"type": "outbound"}, ("probe_fail", "outbound")),
    ("LongrunAccountsLoggedOut", {}, ("logged_out", MONITOR["logged_out"])),
    ("LongrunReconnectLoop", {}, ("reconnect_loop", MONITOR["reconnect_loop"])),
    ("LongrunRollupMissing", {}, ("rollup_failed", "rollup")),
    ("LongrunRollupFailed", {}, ("rollup_failed", "rollup")),
])
def test_shipped_alerts_name_the_problem_as_the_monitor_does(alertname, labels, expected):
    target = AlertMapping().target({"alertname": alertname, **labels})
    assert (target.type, target.subject) == expected


def test_every_shipped_rule_with_a_monitor_type_meets_the_monitor_subject():
    if not RULES_FILE.is_file():
        pytest.skip(f"{RULES_FILE} not present")
    shipped = [r for g in yaml.safe_load(RULES_FILE.read_text())["groups"] for r in g["rules"] if "alert" in r]
    checked = 0
    for rule in shipped:
        labels = {"alertname": rule["alert"], "type": "outbound", "instance": "host:9469", **rule.get("labels", {})}
        target = AlertMapping().target(labels)
        assert target.type == labels.get("incident_type", target.type)
        if target.type in MONITOR:
            expected = "outbound" if target.type == "probe_fail" else MONITOR[target.type]
            assert target.subject == expected, rule["alert"]
            checked += 1
        if rule["alert"] != "Watchdog":
            assert target.severity == rule["labels"]["priority"], rule["alert"]
    assert checked >= 9


def test_labels_on_the_alert_win_over_the_rules():
    target = AlertMapping().target({"alertname": "LongrunHeartbeatGap", "incident_type": "store_down",
                                    "incident_subject": "db-1", "severity": "P1"})
    assert target == IncidentTarget("store_down", "db-1", "P1")


def test_a_probe_alert_without_its_type_label_gets_a_subject_of_its_own():
    target = AlertMapping().target({"alertname": "LongrunProbeConsecutiveFailures"})
    assert target.type == "probe_fail" and target.subject.startswith("LongrunProbeConsecutiveFailures-")


def test_unknown_alerts_are_type_alert_with_one_subject_per_label_set():
    mapping = AlertMapping()
    a = mapping.target({"alertname": "DiskFull", "instance": "a", "severity": "warning"})
    b = mapping.target({"instance": "a", "severity": "warning", "alertname": "DiskFull"})
    c = mapping.target({"alertname": "DiskFull", "instance": "b", "severity": "warning"})
    assert a == b and a.type == "alert" and a.severity == "P2"
    assert a.subject != c.subject
    assert re.fullmatch(r"DiskFull-[0-9a-f]{10}", a.subject)


def test_fallback_subjects_are_path_safe_whatever_the_alert_name():
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", fallback_subject({"alertname": "../<x> 🔥/y"}))
    assert fallback_subject({}).startswith("alert-")


def test_rules_given_to_the_constructor_extend_or_replace_the_shipped_ones():
    mapping = AlertMapping({"QueueStuck": ("queue_depth", "{queue}", "critical"),
                            "LongrunHeartbeatGap": Rule("alert", "gap")})
    assert mapping.target({"alertname": "QueueStuck", "queue": "q1"}) == IncidentTarget("queue_depth", "q1", "P1")
    assert mapping.target({"alertname": "LongrunHeartbeatGap"}).subject == "gap"
    assert mapping.target({"alertname": "LongrunReconnectLoop"}).subject == "target"

    only = AlertMapping({"QueueStuck": ("queue_depth", "all")}, replace=True)
    assert only.target({"alertname": "LongrunReconnectLoop"}).type == "alert"
    with pytest.raises(ValueError):
        AlertMapping({"Bad": ("just-a-type",)})


@pytest.mark.parametrize("value, expected", [
    ("P1", "P1"), ("p3", "P3"), (" P2 ", "P2"), ("critical", "P1"), ("warning", "P2"), ("info", "P3"),
    ("none", None), ("", None), (None, None), ("P4", None),
])
def test_severity_labels_read_as_response_times(value, expected):
    assert severity_of(value) == expected


def test_the_watchdog_is_recognised_by_name():
    mapping = AlertMapping(watchdog=("Watchdog", "DeadMansSwitch"))
    assert mapping.is_watchdog({"alertname": "DeadMansSwitch"})
    assert not mapping.is_watchdog({"alertname": "LongrunHeartbeatGap"})


@pytest.mark.parametrize("labels, expected", [
    ({"severity": "critical", "priority": "P2"}, "P2"),  # the priority label wins
    ({"severity": "warning", "priority": "P1"}, "P1"),
    ({"severity": "critical"}, "P1"),                     # no priority: the severity word
    ({"severity": "info"}, "P3"),
    ({"severity": "warning", "priority": "urgent"}, "P2"),  # an unreadable priority falls back to severity
])
def test_priority_is_read_before_severity(labels, expected):
    target = AlertMapping().target({"alertname": "LongrunHeartbeatGap", **labels})
    assert target.severity == expected


def test_the_shipped_severity_words_map_back_to_their_priorities():
    from alerting.mapping import PRIORITY_SEVERITY

    assert {severity_of(word) for word in PRIORITY_SEVERITY.values()} == set(PRIORITY_SEVERITY)
    assert all(severity_of(word) == priority for priority, word in PRIORITY_SEVERITY.items())
