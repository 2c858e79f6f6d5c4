"""``longrun rollup`` (the manual trigger, --force prints what it overwrites) and ``longrun probe run``."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from exporter.store import Filter, Write
from tests.cli.conftest import days_ago, tty

DAY = days_ago(10)  # recent: retention has not deleted its heartbeats


def test_rollup_writes_a_missing_day_and_keeps_an_existing_one(cli):
    cli.simulate(days=1, end=DAY, rollups=False)
    first = cli.ok("rollup", "--date", DAY, "--json").json()
    assert (first["date"], first["writtenHb"], first["expectedHb"], first["uptimePct"]) == (DAY, 1440, 1440, 100.0)
    again = cli.ok("rollup", "--date", DAY)
    assert "exists already; kept (recompute it with --force)" in again.out
    assert again.out.rstrip().endswith(f"rollup {DAY}: written 1440/1440 heartbeats, uptime 100.00%, coverage "
                                       "100.00%, max gap 60 s (1m), incidents 0")


async def _drop_ten_heartbeats(store, paths):
    start = datetime.fromisoformat(DAY).replace(tzinfo=timezone.utc) + timedelta(hours=6)  # mid-day: missed, not before history
    page = await store.query(paths.heartbeats, where=[Filter("ts", ">=", start)], limit=10)
    await store.batch([Write("delete", doc.path) for doc in page])


def test_force_prints_what_it_overwrites_before_writing(cli):
    cli.simulate(days=1, end=DAY)
    cli.with_store(_drop_ten_heartbeats)
    result = cli.ok("rollup", "--date", DAY, "--force", "--yes")
    plan, written = result.out.index("--force overwrites"), result.out.index("wrote rollup")
    assert plan < written
    assert f"wa_metrics/longrun/rollups/{DAY}" in result.out
    assert "written heartbeats" in result.out and "1440 -> 1430   (changes)" in result.out
    assert f"wrote rollup {DAY}: written 1430/1440 heartbeats" in result.out


def test_force_without_yes_is_refused_when_nobody_can_answer(sqlite_cli):
    sqlite_cli.simulate(days=1, end=DAY)
    sqlite_cli.with_store(_drop_ten_heartbeats)
    result = sqlite_cli("rollup", "--date", DAY, "--force")
    assert result.code == 64
    refusal = f"longrun: refusing to overwrite wa_metrics/longrun/rollups/{DAY} without --yes: stdin is not a terminal"
    assert result.err_lines == [refusal]
    assert "--force overwrites" in result.out  # what it would have overwritten is still said
    assert sqlite_cli.ok("rollup", "--date", DAY, "--json").json()["writtenHb"] == 1440  # unchanged


def test_force_on_a_terminal_asks_and_no_keeps_the_rollup(sqlite_cli):
    sqlite_cli.simulate(days=1, end=DAY)
    sqlite_cli.with_store(_drop_ten_heartbeats)
    declined = sqlite_cli("rollup", "--date", DAY, "--force", stdin=tty("n"))
    assert declined.code == 1 and declined.err_lines[-1].endswith("longrun: aborted: nothing changed")
    assert f"overwrite wa_metrics/longrun/rollups/{DAY}? [y/N]" in declined.err
    accepted = sqlite_cli("rollup", "--date", DAY, "--force", stdin=tty("y"))
    assert accepted.code == 0 and "written 1430/1440" in accepted.out


def test_today_cannot_be_rolled_up(sqlite_cli):
    result = sqlite_cli("rollup", "--date", datetime.now(timezone.utc).date().isoformat())
    assert result.code == 64 and "is not complete yet" in result.err and len(result.err_lines) == 1


def test_a_day_whose_heartbeats_retention_deleted_is_refused(sqlite_cli):
    old = days_ago(120)  # heartbeats are kept 90 days
    sqlite_cli.simulate(days=1, end=old, rollups=False)
    result = sqlite_cli("rollup", "--date", old)
    assert result.code == 1 and len(result.err_lines) == 1
    assert "heartbeats older than 90 days are deleted by retention" in result.err


def test_a_bad_date_is_a_usage_error(sqlite_cli):
    result = sqlite_cli("rollup", "--date", "09/03/2026")
    assert result.code == 64 and result.err_lines == ["longrun: --date: expected a date like 2026-03-01, got '09/03/2026'"]


def test_probe_run_stores_a_real_result_under_a_manual_key(cli):
    doc = cli.ok("probe", "run", "outbound", "--json").json()
    assert (doc["type"], doc["trigger"], doc["result"], doc["error"]) == ("outbound", "manual", "PASS", None)
    assert "_MANUAL_" in doc["probeKey"] and doc["details"]["storeRoundTripMs"] >= 0


def test_probe_run_does_not_repeat_the_servers_telegram_note(sqlite_cli, caplog):
    caplog.set_level(logging.DEBUG)
    sqlite_cli.ok("probe", "run", "outbound")
    assert not [r for r in caplog.records if "Telegram off" in r.getMessage() and r.levelno >= logging.WARNING]


def test_an_unconfigured_probe_is_skip_never_pass(sqlite_cli):
    result = sqlite_cli.ok("probe", "run", "queue")
    assert ": SKIP: LONGRUN_TARGET_URL is not set" in result.out


def test_a_failing_probe_exits_1(sqlite_cli, monkeypatch):
    monkeypatch.setenv("LONGRUN_TARGET_URL", "http://127.0.0.1:9/status")  # the discard port: nobody answers
    result = sqlite_cli("probe", "run", "queue")
    assert result.code == 1 and ": FAIL: target did not answer" in result.out


def test_inbound_must_run_in_the_server_and_unknown_types_are_refused(sqlite_cli, monkeypatch):
    monkeypatch.setenv("LONGRUN_PROBE_SENDER_URL", "http://127.0.0.1:9/send")
    inbound = sqlite_cli("probe", "run", "inbound")
    assert inbound.code == 64 and "must run inside the server" in inbound.err and len(inbound.err_lines) == 1
    bogus = sqlite_cli("probe", "run", "sideways")
    assert bogus.code == 64 and "invalid choice: 'sideways'" in bogus.err and len(bogus.err_lines) == 1
