"""``longrun verify``: the runbook's exit codes on simulated history with known gaps.

History: 2026-03-09 00:00 .. 2026-03-10 12:00 at 60 s; the window checked is
the hour before 12:00 (60 expected slots). Expected figures are counted here
from the flags, not by the code under test.
"""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone

import pytest

END = "2026-03-10T12:00:00Z"
HOUR = 60  # slots in the window


def verify(cli, *flags):
    return cli("verify", "--end", END, *flags)


def test_a_complete_hour_is_good(cli):
    cli.simulate(days=1, end=END)
    result = verify(cli, "--json")
    assert result.code == 0, result
    report = result.json()
    assert report["verdict"] == "GOOD" and report["reasons"] == []
    hb = report["heartbeats"]
    assert (hb["expected"], hb["written"], hb["maxGapSec"], hb["coverage"]) == (HOUR, HOUR, 60, 1.0)
    assert (hb["duplicates"], hb["misaligned"], hb["malformed"]) == (0, 0, 0)
    assert result.err == ""


def test_a_three_minute_gap_is_a_failure(cli):
    cli.simulate("--outage", "2026-03-10T11:20:00Z+3m", days=1, end=END)
    result = verify(cli, "--json")
    assert result.code == 1, result
    hb = result.json()["heartbeats"]
    # 3 slots missing; the gap runs from the 11:19 heartbeat to the 11:23 one.
    assert (hb["written"], hb["maxGapSec"]) == (HOUR - 3, 4 * 60)
    assert hb["coverage"] == pytest.approx(57 / 60)
    assert result.json()["reasons"] == ["max gap 240s above 120s"]
    assert result.err_lines == ["longrun: verify: FAILURE (exit 1): max gap 240s above 120s"]


def test_half_an_hour_missing_is_insufficient_data(cli):
    cli.simulate("--outage", "2026-03-10T11:00:00Z+30m", days=1, end=END)
    result = verify(cli, "--json")
    assert result.code == 2, result
    hb = result.json()["heartbeats"]
    # A leading outage of 30 slots: the gap runs from the last heartbeat before the window (10:59) to 11:30.
    assert (hb["written"], hb["coverage"], hb["maxGapSec"]) == (30, 0.5, 1860)
    assert result.json()["reasons"][0].startswith("coverage 50.00% below 80%")
    assert len(result.err_lines) == 1 and "INSUFFICIENT_DATA (exit 2)" in result.err


def test_an_empty_window_is_insufficient_data_with_the_gap_since_the_last_heartbeat(cli):
    cli.simulate(days=1, end="2026-03-09T12:00:00Z")
    result = verify(cli, "--json")
    assert result.code == 2
    hb = result.json()["heartbeats"]
    assert (hb["expected"], hb["written"]) == (60, 0)
    assert hb["maxGapSec"] == (datetime.fromisoformat(hb["end"].replace("Z", "+00:00"))
                               - datetime(2026, 3, 9, 11, 59, tzinfo=timezone.utc)).total_seconds()


async def _fifty_minutes_of_a_first_start(store, paths):
    from exporter.domain.slots import bucket_id, iso

    start = datetime(2026, 3, 10, 11, 10, tzinfo=timezone.utc)
    for minute in range(50):
        slot = start + timedelta(minutes=minute)
        ts = slot + timedelta(seconds=0.4)
        await store.create(paths.heartbeat(bucket_id(slot)), {"bucketId": bucket_id(slot), "ts": ts, "tsIso": iso(ts),
                                                              "instanceId": "a", "deploymentId": "d", "generation": 1})


def test_fifty_minutes_after_a_first_start_with_nothing_missed_is_good(cli):
    cli.with_store(_fifty_minutes_of_a_first_start)
    result = verify(cli, "--json")
    assert result.code == 0, result
    hb = result.json()["heartbeats"]
    assert (hb["expected"], hb["written"], hb["maxGapSec"]) == (50, 50, 60)


def test_two_slots_missing_at_the_windows_start_fail_with_the_whole_gap(cli):
    cli.simulate("--outage", "2026-03-10T11:00:00Z+2m", days=1, end=END)
    result = verify(cli, "--json")
    assert result.code == 1, result
    assert result.json()["heartbeats"]["maxGapSec"] == 180  # 10:59 -> 11:02


def test_restart_and_probe_slots_are_reported(cli):
    cli.simulate("--restart", "2026-03-10T08:30:00Z", "--probe-fail", "outbound@2026-03-10T06:10:00Z", days=1, end=END)
    result = verify(cli, "--window", "6h", "--json")
    assert result.code == 0, result  # probes are reported, the exit code is the heartbeats' as in the runbook
    report = result.json()
    assert (report["heartbeats"]["instanceChanges"], report["heartbeats"]["restarts"]) == (1, 1)
    # [06:00, 12:00): the 06:00 outbound and inbound slots; queue runs at 00:00.
    assert report["probes"] == {"expected": 2, "present": 2, "missing": [], "failed": ["OUT_2026031006"]}


def test_probe_slots_lost_in_an_outage_are_missing(cli):
    cli.simulate("--outage", "2026-03-10T05:00:00Z+7h", days=1, end=END)
    report = verify(cli, "--window", "6h", "--json").json()
    missing = sorted(slot["probeKey"] for slot in report["probes"]["missing"])
    assert missing == ["IN_2026031006", "OUT_2026031006"]


def test_text_output_names_the_window_and_the_verdict(cli):
    cli.simulate("--outage", "2026-03-10T11:20:00Z+3m", days=1, end=END)
    result = verify(cli)
    assert "window      2026-03-10T11:00:00.000Z .. 2026-03-10T12:00:00.000Z" in result.out
    assert "heartbeats  57/60 written (95.00%), 3 missed, max gap 240s" in result.out
    assert "verdict     FAILURE (exit 1): max gap 240s above 120s" in result.out


def test_an_unreachable_sqlite_store_is_a_failure(sqlite_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("LONGRUN_STORE", f"sqlite:///{tmp_path}")  # a directory: sqlite cannot open it
    result = sqlite_cli("verify", "--end", END)
    assert result.code == 1
    assert len(result.err_lines) == 1 and result.err.startswith("longrun: store unreachable or failing")


@pytest.mark.firestore
def test_an_unreachable_firestore_is_a_failure(sqlite_cli, monkeypatch, firestore_emulator):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("LONGRUN_STORE", "firestore://nobody-home")
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{port}")
    monkeypatch.setenv("LONGRUN_STORE_TIMEOUT", "2s")
    result = sqlite_cli("verify", "--end", END)
    assert result.code == 1
    assert len(result.err_lines) == 1 and "store unreachable" in result.err and "StoreUnavailable" in result.err


def test_a_missing_sqlite_file_is_named_not_created(sqlite_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("LONGRUN_STORE", f"sqlite:///{tmp_path}/typo.db")
    result = sqlite_cli("verify")
    assert result.code == 1 and "does not exist" in result.err and len(result.err_lines) == 1
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.parametrize("flags, named", [
    (["--window", "an hour"], "--window"),
    (["--window", "30s"], "shorter than one heartbeat interval"),
    (["--end", "yesterday"], "--end"),
])
def test_bad_arguments_are_usage_errors(sqlite_cli, flags, named):
    result = sqlite_cli("verify", *flags)
    assert result.code == 64
    assert len(result.err_lines) == 1 and named in result.err


def test_a_deploy_inside_a_maintenance_window_is_left_out(cli):
    cli.simulate("--outage", "2026-03-10T11:20:00Z+3m", days=1, end=END)
    assert verify(cli).code == 1                                   # the 240 s gap fails the hour ...
    cli.ok("maintenance", "add", "--from", "2026-03-10T11:15:00Z", "--until", "2026-03-10T11:30:00Z",
           "--reason", "deploy", "--yes")
    result = verify(cli, "--json")
    assert result.code == 0, result                                # ... unless it was planned work
    report = result.json()
    hb = report["heartbeats"]
    assert (hb["expected"], hb["written"], hb["missed"], hb["maxGapSec"]) == (HOUR - 15, HOUR - 15, 0, 60)
    assert report["maintenanceSec"] == 900
    assert "maintenance 15 min in maintenance windows" in verify(cli).out
