"""``longrun incident``: the runbook's workflow through IncidentService, on both backends."""

from __future__ import annotations

from tests.cli.conftest import tty

GAP = ("--type", "missed_heartbeat", "--reason", "store outage, heartbeats lost",
       "--start", "2026-03-09T10:00:00Z", "--end", "2026-03-09T11:15:00Z")


def test_the_manual_gap_record_is_resolved_with_its_mttr(cli):
    doc = cli.ok("incident", "open", *GAP, "--yes", "--json").json()
    assert (doc["type"], doc["status"], doc["severity"], doc["source"]) == ("missed_heartbeat", "resolved", "P2", "manual")
    assert (doc["tsStart"], doc["tsEnd"], doc["mttrSec"]) == ("2026-03-09T10:00:00.000Z", "2026-03-09T11:15:00.000Z", 4500)
    assert doc["reason"] == "store outage, heartbeats lost"


def test_open_acknowledge_resolve(cli):
    opened = cli.ok("incident", "open", "--type", "logged_out", "--reason", "2 of 3 connected", "--severity", "P1",
                    "--start", "2026-03-09T10:00:00Z", "--yes", "--json").json()
    incident_id = opened["incidentId"]
    listed = cli.ok("incident", "list", "--status", "open", "--json").json()
    assert [i["incidentId"] for i in listed["incidents"]] == [incident_id] and listed["count"] == 1
    acked = cli.ok("incident", "ack", incident_id, "--owner", "alice", "--yes", "--json").json()
    assert (acked["status"], acked["owner"]) == ("acknowledged", "alice")
    assert cli.ok("incident", "list", "--status", "open", "--json").json()["count"] == 0
    resolved = cli.ok("incident", "resolve", incident_id, "--root-cause", "phone offline",
                      "--end", "2026-03-09T10:02:00Z", "--yes", "--json").json()
    assert (resolved["status"], resolved["mttrSec"], resolved["rootCause"]) == ("resolved", 120, "phone offline")
    text = cli.ok("incident", "list", "--type", "logged_out").out
    assert text.startswith(f"{incident_id}  P1 logged_out resolved  2026-03-09T10:00:00.000Z .. 2026-03-09T10:02:00.000Z"
                           f"  MTTR 120 s (2m)  owner alice  2 of 3 connected")


def test_mutations_refuse_without_yes_when_stdin_is_not_a_terminal(sqlite_cli):
    refused = sqlite_cli("incident", "open", *GAP)
    assert refused.code == 64 and refused.err_lines == [
        "longrun: refusing to open a missed_heartbeat incident without --yes: stdin is not a terminal"]
    assert sqlite_cli.ok("incident", "list", "--json").json()["count"] == 0
    incident_id = sqlite_cli.ok("incident", "open", "--type", "probe_fail", "--reason", "r", "--yes", "--json").json()["incidentId"]
    for argv in (("ack", incident_id, "--owner", "bob"), ("resolve", incident_id)):
        result = sqlite_cli("incident", *argv)
        assert result.code == 64 and "without --yes: stdin is not a terminal" in result.err and len(result.err_lines) == 1
    assert sqlite_cli.ok("incident", "list", "--json").json()["incidents"][0]["status"] == "open"


def test_a_terminal_is_asked_and_can_say_yes(sqlite_cli):
    result = sqlite_cli("incident", "open", *GAP, stdin=tty("y"))
    assert result.code == 0 and "open a missed_heartbeat incident? [y/N]" in result.err
    assert result.out.startswith("opens a P2 missed_heartbeat incident from 2026-03-09T10:00:00.000Z to "
                                 "2026-03-09T11:15:00.000Z (resolved, MTTR 4500 s (1h15m)): store outage")


def test_an_unknown_incident_id_is_a_usage_error(cli):
    for argv in (("ack", "no-such-incident", "--owner", "x"), ("resolve", "no-such-incident"), ("resolve", "../escape")):
        result = cli("incident", *argv, "--yes")
        assert result.code == 64, argv
        assert len(result.err_lines) == 1 and "no incident" in result.err and "see longrun incident list" in result.err


def test_a_resolved_incident_cannot_be_acknowledged_or_resolved_again(sqlite_cli):
    incident_id = sqlite_cli.ok("incident", "open", *GAP, "--yes", "--json").json()["incidentId"]
    for argv in (("ack", incident_id, "--owner", "x"), ("resolve", incident_id)):
        result = sqlite_cli("incident", *argv, "--yes")
        assert result.code == 1 and len(result.err_lines) == 1 and "resolved" in result.err


def test_bad_times_statuses_and_severities_are_usage_errors(sqlite_cli):
    cases = [
        ("open", "--type", "x", "--reason", "r", "--start", "2026-03-09T11:00:00Z", "--end", "2026-03-09T10:00:00Z"),
        ("open", "--type", "x", "--reason", "r", "--start", "2999-01-01T00:00:00Z"),
        ("open", "--type", "x", "--reason", "r", "--start", "noon"),
        ("open", "--type", "x", "--reason", "r", "--severity", "P0"),
        ("list", "--status", "closed"),
    ]
    for argv in cases:
        result = sqlite_cli("incident", *argv, "--yes") if argv[0] == "open" else sqlite_cli("incident", *argv)
        assert result.code == 64 and len(result.err_lines) == 1, (argv, result)
