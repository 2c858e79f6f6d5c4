from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain_builders import at, day_docs
from exporter.domain.heartbeats import analyze_heartbeats
from exporter.domain.incidents import (
    Change, IncidentTransitionError, acknowledge, assign, incident_id, is_active, new_incident, on_detected,
    open_key, resolve, set_root_cause, severity_for)
from exporter.domain.monitor_checks import (
    consecutive_failures, logged_out_decision, missed_heartbeats_decision, probe_fail_decision, reconnect_loop_decision)
from exporter.store.base import validate_id

T0 = at(8)


def opened(incident_type="probe_fail", subject="outbound", when=T0, **kw):
    return new_incident(incident_type, subject, when, reason="first", **kw)


# ------------------------------------------------------------------ severity and identity

@pytest.mark.parametrize("kind,severity", [
    ("logged_out", "P1"), ("missed_heartbeat", "P2"), ("reconnect_loop", "P2"),
    ("probe_fail", "P3"), ("rollup_failed", "P3"), ("something_new", "P3")])
def test_default_severities(kind, severity):
    assert severity_for(kind) == severity


def test_severity_overrides_apply_and_invalid_ones_are_ignored():
    overrides = {"probe_fail": "P1", "logged_out": "P9", "missed_heartbeat": None}
    assert severity_for("probe_fail", overrides) == "P1"
    assert severity_for("logged_out", overrides) == "P1"
    assert severity_for("missed_heartbeat", overrides) == "P2"


def test_incident_id_is_deterministic_readable_and_path_safe():
    first = incident_id("probe_fail", "outbound", at(8, 0, 1.5))
    assert first == incident_id("probe_fail", "outbound", at(8, 0, 1.5))
    assert first.startswith("probe_fail_20260310T080001500Z_outbound_")
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", first)
    assert first != incident_id("probe_fail", "inbound", at(8, 0, 1.5))
    assert first != incident_id("probe_fail", "outbound", at(8, 0, 2))


@given(kind=st.text(max_size=80), subject=st.text(max_size=300))
def test_any_type_and_subject_give_an_id_the_store_accepts(kind, subject):
    for key in (incident_id(kind, subject, T0), open_key(kind, subject)):
        assert validate_id(key) == key
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", key)


def test_subjects_that_slug_alike_still_get_distinct_ids():
    assert incident_id("alert", "a/b", T0) != incident_id("alert", "a b", T0)
    assert open_key("alert", "a/b") != open_key("alert", "a b")


def test_open_key_depends_on_type_and_subject_only():
    assert opened(when=T0)["openKey"] == opened(when=at(9))["openKey"] == open_key("probe_fail", "outbound")


def test_new_incident_is_open_with_configured_severity():
    doc = opened(severity_overrides={"probe_fail": "P2"}, details={"n": 2})
    assert doc["status"] == "open" and doc["severity"] == "P2"
    assert (doc["tsStart"], doc["tsStartIso"], doc["tsEnd"], doc["mttrSec"]) == (
        T0, "2026-03-10T08:00:00.000Z", None, None)
    assert doc["incidentId"] == incident_id("probe_fail", "outbound", T0)
    assert doc["details"] == {"n": 2} and doc["source"] == "monitor"
    with pytest.raises(ValueError):
        new_incident("x", "y", datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        new_incident("x", "y", T0, severity="P0")


# ------------------------------------------------------------------ detection

def detect(existing, when, severity=None, details=None):
    return on_detected(existing, when, details or {"n": 3}, incident_type="probe_fail",
                       subject="outbound", reason="again", severity=severity)


def test_first_detection_opens_an_incident():
    doc, change = detect(None, T0)
    assert change is Change.OPENED and change.notify
    assert doc["status"] == "open" and doc["severity"] == "P3"


def test_detection_while_open_updates_in_place_without_notifying():
    first = opened()
    before = copy.deepcopy(first)
    doc, change = detect(first, at(9))
    assert change is Change.UPDATED and not change.notify
    assert doc["incidentId"] == first["incidentId"] and doc["tsStart"] == T0
    assert (doc["detections"], doc["lastDetectedAt"], doc["reason"]) == (2, at(9), "again")
    assert first == before  # input untouched


def test_higher_severity_escalates_and_lower_never_downgrades():
    doc, change = detect(opened(), at(9), severity="P1")
    assert (change, doc["severity"]) == (Change.ESCALATED, "P1")
    doc, change = detect(doc, at(10), severity="P3")
    assert (change, doc["severity"]) == (Change.UPDATED, "P1")


def test_detection_on_an_acknowledged_incident_keeps_its_owner():
    doc, change = detect(acknowledge(opened(), "ana", at(8, 5)), at(9))
    assert change is Change.UPDATED
    assert (doc["status"], doc["owner"]) == ("acknowledged", "ana")


def test_a_resolved_incident_is_never_reopened():
    closed = resolve(opened(), at(8, 30))
    doc, change = detect(closed, at(9))
    assert change is Change.OPENED
    assert doc["incidentId"] != closed["incidentId"]
    assert (doc["tsStart"], doc["status"]) == (at(9), "open")


def test_detection_with_a_malformed_existing_document_opens_a_new_one():
    doc, change = detect({"status": "weird"}, T0)
    assert change is Change.OPENED


def test_detection_given_another_problems_incident_or_a_bad_severity_is_a_bug():
    with pytest.raises(ValueError):
        detect(opened(subject="inbound"), at(9))
    with pytest.raises(ValueError):
        detect(opened(), at(9), severity="P0")


# ------------------------------------------------------------------ transitions

def test_acknowledge_sets_owner_once_and_can_reassign():
    doc = acknowledge(opened(), " ana ", at(8, 5))
    assert (doc["status"], doc["owner"], doc["acknowledgedAt"]) == ("acknowledged", "ana", at(8, 5))
    doc = acknowledge(doc, "bob", at(8, 7))
    assert (doc["owner"], doc["acknowledgedAt"]) == ("bob", at(8, 5))
    with pytest.raises(ValueError):
        acknowledge(opened(), "  ", at(8, 5))


def test_acknowledging_a_resolved_incident_is_refused():
    with pytest.raises(IncidentTransitionError):
        acknowledge(resolve(opened(), at(9)), "ana", at(9, 1))


def test_resolve_sets_end_and_mttr_from_start():
    doc = resolve(acknowledge(opened(), "ana", at(8, 1)), at(8, 2, 30.25), root_cause="disk full")
    assert (doc["status"], doc["tsEnd"], doc["tsEndIso"]) == ("resolved", at(8, 2, 30.25),
                                                              "2026-03-10T08:02:30.250Z")
    assert doc["mttrSec"] == 150.25 and doc["rootCause"] == "disk full"
    assert resolve(opened(), T0)["mttrSec"] == 0


def test_resolve_rejects_an_end_before_the_start_and_double_resolution():
    with pytest.raises(ValueError):
        resolve(opened(), T0 - timedelta(seconds=1))
    with pytest.raises(IncidentTransitionError):
        resolve(resolve(opened(), at(9)), at(10))
    with pytest.raises(ValueError):
        resolve(opened(), datetime(2026, 3, 10, 9))


def test_an_incident_with_a_broken_start_still_resolves_without_mttr():
    doc = resolve({"status": "open", "tsStart": "yesterday"}, at(9))
    assert (doc["status"], doc["tsEnd"], doc["mttrSec"]) == ("resolved", at(9), None)


def test_a_back_dated_resolution_keeps_the_real_update_time():
    doc = resolve(opened(), at(8, 20), now=at(11))
    assert (doc["tsEnd"], doc["mttrSec"], doc["updatedAt"]) == (at(8, 20), 1200, at(11))


def test_unknown_status_allows_no_transition():
    with pytest.raises(IncidentTransitionError):
        acknowledge({"status": None}, "ana", T0)


def test_owner_and_root_cause_can_be_recorded_after_resolution():
    doc = resolve(opened(), at(9))
    doc = set_root_cause(assign(doc, "carol", at(10)), "expired token", at(10))
    assert (doc["status"], doc["owner"], doc["rootCause"]) == ("resolved", "carol", "expired token")
    assert not is_active(doc) and is_active(opened())


# ------------------------------------------------------------------ monitor decisions

def probe(result):
    return {"type": "outbound", "result": result}


@pytest.mark.parametrize("results,expected", [
    ([], 0), (["PASS", "FAIL"], 0), (["FAIL", "FAIL", "PASS", "FAIL"], 2),
    (["FAIL", "SKIP", "FAIL", "SKIP", "PASS", "FAIL"], 2), (["SKIP", "SKIP"], 0),
    (["SKIP", "FAIL", "FAIL", "FAIL"], 3), (["FAIL", None, "bogus", "FAIL", "PASS"], 2)])
def test_consecutive_failures_skip_neither_counts_nor_breaks(results, expected):
    assert consecutive_failures([probe(r) for r in results]) == expected


def test_consecutive_failures_tolerates_non_documents():
    assert consecutive_failures([probe("FAIL"), None, "x", probe("FAIL")]) == 2


def test_probe_fail_decision_at_threshold():
    assert probe_fail_decision(1, 2, probe_type="outbound").action == "resolve"
    decision = probe_fail_decision(2, 2, probe_type="outbound")
    assert (decision.action, decision.type, decision.subject) == ("open", "probe_fail", "outbound")
    assert decision.details["consecutiveFailures"] == 2
    assert probe_fail_decision(1, 0, probe_type="queue").active  # threshold floors at 1
    assert not probe_fail_decision(0, 0, probe_type="queue").active


def test_missed_heartbeats_decision_needs_more_than_threshold_missing():
    hour = (at(8), at(9))
    three = analyze_heartbeats(day_docs(missing=range(480, 483)), *hour, 60)
    four = analyze_heartbeats(day_docs(missing=range(480, 484)), *hour, 60)
    assert missed_heartbeats_decision(three, 3).action == "resolve"
    decision = missed_heartbeats_decision(four, 3)
    assert (decision.action, decision.subject, decision.details["missed"]) == ("open", "heartbeat", 4)
    empty = analyze_heartbeats([], at(8), at(8), 60)
    assert missed_heartbeats_decision(empty, 3).action == "hold"


@pytest.mark.parametrize("connected,expected,needs_qr,action", [
    (3, 3, 0, "resolve"), (2, 3, 0, "open"), (3, 3, 1, "open"), (0, 0, None, "resolve"),
    (4, 3, None, "resolve"), (None, 3, None, "hold"), (1, None, None, "resolve")])
def test_logged_out_decision(connected, expected, needs_qr, action):
    decision = logged_out_decision(connected, expected, needs_qr=needs_qr)
    assert decision.action == action
    assert decision.type == "logged_out" and decision.subject == "accounts"


@pytest.mark.parametrize("reconnects,action", [(9, "resolve"), (10, "resolve"), (11, "open"), (None, "hold"), ("x", "hold")])
def test_reconnect_loop_decision(reconnects, action):
    assert reconnect_loop_decision(reconnects, 10).action == action


def test_decision_feeds_on_detected_and_resolve():
    decision = probe_fail_decision(2, 2, probe_type="outbound")
    doc, change = on_detected(None, T0, decision.details, incident_type=decision.type,
                              subject=decision.subject, reason=decision.reason)
    assert change is Change.OPENED and doc["openKey"] == open_key("probe_fail", "outbound")
    assert resolve(doc, at(8, 10))["mttrSec"] == 600
