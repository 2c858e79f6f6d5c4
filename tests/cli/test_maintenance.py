"""``longrun maintenance``: start, add, list, end on both backends; bad input is one line naming the option."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.cli.conftest import tty


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_start_list_and_end_a_window(cli):
    before = datetime.now(timezone.utc)
    doc = cli.ok("maintenance", "start", "--for", "30m", "--reason", "deploy 0.3", "--yes", "--json").json()
    start, end = parse(doc["start"]), parse(doc["end"])
    assert before - timedelta(seconds=1) <= start <= datetime.now(timezone.utc)
    assert end - start == timedelta(minutes=30)
    assert doc["reason"] == "deploy 0.3" and doc["createdBy"].startswith("cli:") and doc["silenceIds"] == []

    listed = cli.ok("maintenance", "list", "--json").json()
    assert listed["count"] == 1 and listed["windows"][0]["id"] == doc["id"]
    text = cli.ok("maintenance", "list").out
    assert text.startswith(f"{doc['id']}  active  {doc['start']} .. {doc['end']} (30m)  deploy 0.3  by cli:")

    ended = cli.ok("maintenance", "end", doc["id"], "--yes", "--json").json()
    assert ended["endedAt"] is not None and ended["endedBy"].startswith("cli:")
    assert cli.ok("maintenance", "list").out.startswith(f"{doc['id']}  over  ")
    again = cli("maintenance", "end", doc["id"], "--yes")
    assert again.code == 1 and again.err_lines == [f"longrun: ID: window {doc['id']} is over already "
                                                   f"(it ended at {ended['endedAt']})"]
    assert again.out == ""


def test_add_records_a_past_window(cli):
    doc = cli.ok("maintenance", "add", "--from", "2026-03-09T08:00:00Z", "--until", "2026-03-09T08:20:00Z",
                 "--reason", "deploy we forgot to announce", "--yes", "--json").json()
    assert (doc["start"], doc["end"]) == ("2026-03-09T08:00:00.000Z", "2026-03-09T08:20:00.000Z")
    assert "over" in cli.ok("maintenance", "list").out


def test_changes_ask_first_and_a_no_changes_nothing(sqlite_cli):
    refused = sqlite_cli("maintenance", "start", "--for", "10m", "--reason", "deploy")
    assert refused.code == 64 and refused.err_lines == [
        "longrun: refusing to start this maintenance window without --yes: stdin is not a terminal"]
    declined = sqlite_cli("maintenance", "start", "--for", "10m", "--reason", "deploy", stdin=tty("n"))
    assert declined.code == 1 and "start a maintenance window" in declined.out
    assert sqlite_cli.ok("maintenance", "list", "--json").json()["count"] == 0
    accepted = sqlite_cli("maintenance", "start", "--for", "10m", "--reason", "deploy", stdin=tty("y"))
    assert accepted.code == 0 and accepted.out.splitlines()[-1].startswith("recorded mw-")


@pytest.mark.parametrize("argv, message", [
    (["start", "--for", "soon", "--reason", "x"], "--for: expected a duration like"),
    (["start", "--for", "8d", "--reason", "x"], "--for: a window may last at most 7 days"),
    (["start", "--for", "10m", "--reason", "  "], "--reason: required"),
    (["add", "--from", "yesterday", "--until", "2026-03-09T08:20:00Z", "--reason", "x"], "--from: expected an ISO time"),
    (["add", "--from", "2026-03-09T08:00:00Z", "--until", "2026-03-09T07:00:00Z", "--reason", "x"],
     "--until: must be after the start"),
    (["add", "--from", "2026-03-01T08:00:00Z", "--until", "2026-03-09T08:00:00Z", "--reason", "x"],
     "--until: a window may last at most 7 days"),
    (["end", "mw-20260309T0800-nope"], "ID: no maintenance window 'mw-20260309T0800-nope'"),
    (["end", "../../config/current"], "ID: no maintenance window"),
])
def test_bad_input_is_one_line_naming_the_option(sqlite_cli, argv, message):
    result = sqlite_cli("maintenance", *argv, "--yes")
    assert result.code == 64, result
    assert len(result.err_lines) == 1 and result.err_lines[0].startswith(f"longrun: {message}"), result.err_lines
    assert sqlite_cli.ok("maintenance", "list", "--json").json()["count"] == 0


def test_an_unreachable_alertmanager_still_records_the_window_with_one_warning(sqlite_cli, caplog):
    from tests.fixtures.stores import free_port

    sqlite_cli.monkeypatch.setenv("LONGRUN_ALERTMANAGER_URL", f"http://127.0.0.1:{free_port()}")
    result = sqlite_cli("maintenance", "start", "--for", "10m", "--reason", "deploy", "--yes", "--json")
    assert result.code == 0
    doc = result.json()
    assert doc["silenceIds"] == [] and "unreachable" in doc["silenceError"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "Alertmanager failed" in r.getMessage()]
    assert len(warnings) == 1 and "retries every minute until the window ends" in warnings[0]
    assert sqlite_cli.ok("maintenance", "list", "--json").json()["windows"][0]["id"] == doc["id"]


def test_a_window_recorded_after_the_fact_recomputes_the_rollups_it_changes(cli):
    cli.simulate("--outage", "2026-03-09T10:05:00Z+5m", days=2, end="2026-03-10T12:00:00Z")

    async def rollup(store, paths):
        return (await store.get(paths.rollup("2026-03-09"))).data

    before = cli.with_store(rollup)
    assert (before["expectedHb"], before["missedHb"], before["maintenanceSec"]) == (1440, 5, 0)
    result = cli.ok("maintenance", "add", "--from", "2026-03-09T10:00:00Z", "--until", "2026-03-09T10:30:00Z",
                    "--reason", "deploy we forgot to announce", "--yes")
    assert result.out.splitlines()[-1] == "recomputed the rollups of 2026-03-09"
    after = cli.with_store(rollup)
    assert (after["expectedHb"], after["missedHb"], after["maintenanceSec"]) == (1410, 0, 1800)
    assert after["numericCoverage"] == 1.0
