"""``longrun report``: verdicts and figures on simulated history, recomputed here by arithmetic.

History: the two UTC days 2026-03-09 and 2026-03-10 at 60 s (2 x 1440 slots),
probes at their defaults (outbound and inbound every 6 h, queue daily: 18 runs).
A 2-day window has the strictest uptime target (99.8 %) and needs both days.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import pytest

from exporter.domain.percent import floor_percent

from tests.cli.conftest import FakeTty, days_ago

END = "2026-03-10"
SLOTS = 2 * 1440


def window(cli, *flags, days="2d"):
    result = cli.ok("report", "--window", days, "--end", END, "--format", "json", *flags)
    return result.json()["windows"][0]


def test_two_clean_days_pass(cli):
    cli.simulate(days=2, end=END)
    w = window(cli)
    assert (w["verdict"], w["reasons"], w["failures"]) == ("PASS", [], [])
    assert (w["uptimePct"], w["coverage"], w["maxGapSec"], w["daysWithData"]) == (100.0, 1.0, 60, 2)
    assert w["probePassRates"] == {"outbound": 100.0, "inbound": 100.0, "queue": 100.0}
    assert w["probeCounts"]["outbound"]["PASS"] == 8 and w["probeCounts"]["queue"]["PASS"] == 2
    assert (w["incidentsCount"], w["mttrP50"], w["targetUptimePct"]) == (0, None, 99.8)


def test_half_an_hour_of_target_down_fails_and_names_the_target(cli):
    cli.simulate("--target-down", "2026-03-10T10:00:00Z+30m", days=2, end=END)
    w = window(cli)
    assert w["verdict"] == "FAIL"
    uptime = 100 * (SLOTS - 30) / SLOTS  # 30 known-down minutes of 2880 known ones
    assert w["uptimePct"] == pytest.approx(uptime)
    assert (w["upMinutes"], w["downMinutes"], w["unknownMinutes"]) == (SLOTS - 30, 30, 0)
    assert w["failures"][0] == f"uptime {floor_percent(uptime / 100)} below target 99.8%"
    assert "MTTR P50 1800s above target 120s" in w["failures"]  # one incident of 30 min
    assert (w["incidentsByType"], w["incidentsBySeverity"], w["mttrP95"]) == ({"target_down": 1}, {"P1": 1}, 1800)


def test_an_outage_is_unknown_time_a_gap_and_an_incident(cli):
    cli.simulate("--outage", "2026-03-09T10:00:00Z+45m", days=2, end=END)
    w = window(cli)
    assert w["coverage"] == pytest.approx((SLOTS - 45) / SLOTS)
    assert w["uptimePct"] == 100.0  # nobody watched those 45 minutes: unknown, not down
    assert (w["unknownMinutes"], w["maxGapSec"]) == (45, 46 * 60)  # 09:59 -> 10:45
    assert (w["incidentsByType"], w["mttrP50"]) == ({"missed_heartbeat": 1}, 45 * 60)
    assert w["verdict"] == "FAIL" and w["failures"] == [
        f"heartbeat coverage {floor_percent((SLOTS - 45) / SLOTS)} below target 99%",  # floored: 98.43, not 98.44
        "MTTR P50 2700s above target 120s", "MTTR P90 2700s above target 300s", "MTTR P95 2700s above target 600s"]


def test_probe_failures_lower_the_pass_rate_and_a_streak_opens_an_incident(cli):
    cli.simulate("--probe-fail", "outbound@2026-03-09T06:30:00Z", "--probe-fail", "outbound@2026-03-09T12:30:00Z",
                 days=2, end=END)
    w = window(cli)
    assert w["probePassRates"]["outbound"] == 6 / 8 * 100
    assert "outbound probe pass rate 75.00% below target 95%" in w["failures"]
    assert w["incidentsByType"] == {"probe_fail": 1}
    # From the first FAIL (the 06:00 slot) to the next PASS (the 18:00 slot): 12 h, give or take latency.
    assert w["mttrP50"] == pytest.approx(12 * 3600, abs=5)


def test_too_few_days_is_insufficient_data_and_missing_days_are_never_zero(cli):
    cli.simulate(days=2, end=END)
    report = cli.ok("report", "--window", "7d", "--end", END, "--json").json()
    w = report["windows"][0]
    assert w["verdict"] == "INSUFFICIENT_DATA"
    assert w["reasons"] == ["2 of 7 days have a usable rollup (need 6)"]
    assert w["missingDays"] == [f"2026-03-0{d}" for d in range(4, 9)]
    assert (w["uptimePct"], w["unknownMinutes"]) == (100.0, 5 * 1440)
    assert report["daySources"] == {"rollup": 2, "computed": 0, "missing": 5}
    assert [d["source"] for d in report["days"]] == ["missing"] * 5 + ["rollup"] * 2


def test_days_without_a_rollup_are_computed_and_give_the_same_figures(cli):
    first, last = days_ago(6), days_ago(5)  # recent, so `longrun rollup` may write them
    cli.simulate("--outage", f"{first}T10:00:00Z+45m", "--target-down", f"{last}T10:00:00Z+30m",
                 days=2, end=last, rollups=False)
    computed = cli.ok("report", "--window", "2d", "--end", last, "--json").json()
    assert computed["daySources"] == {"rollup": 0, "computed": 2, "missing": 0}
    for day in (first, last):
        cli.ok("rollup", "--date", day)
    stored = cli.ok("report", "--window", "2d", "--end", last, "--json").json()
    assert stored["daySources"] == {"rollup": 2, "computed": 0, "missing": 0}
    assert stored["windows"] == computed["windows"]
    assert [d["uptimePct"] for d in stored["days"]] == [d["uptimePct"] for d in computed["days"]]


def test_all_four_windows_by_default_ending_yesterday(sqlite_cli):
    sqlite_cli.simulate(days=2, end=END)
    report = sqlite_cli.ok("report", "--json").json()
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    assert [w["days"] for w in report["windows"]] == [7, 30, 90, 180]
    assert {w["lastDay"] for w in report["windows"]} == {yesterday}


def test_markdown_is_the_default_and_lists_each_window(sqlite_cli):
    sqlite_cli.simulate("--target-down", "2026-03-10T10:00:00Z+30m", days=2, end=END)
    out = sqlite_cli.ok("report", "--window", "2d,7d", "--end", END).out
    assert out.startswith("# Long-run report 2026-03-04 .. 2026-03-10")
    assert "| 2d (2026-03-09 .. 2026-03-10) | **FAIL** | 98.95% | 99.8% |" in out
    assert "| 7d (2026-03-04 .. 2026-03-10) | **INSUFFICIENT_DATA** |" in out
    assert "- uptime 98.95% below target 99.8%" in out


def test_output_file_takes_its_format_from_the_name(sqlite_cli, tmp_path):
    sqlite_cli.simulate(days=2, end=END)
    result = sqlite_cli.ok("report", "--window", "2d", "--end", END, "--output", tmp_path / "r.html")
    assert result.out == ""
    assert result.err_lines == [f"wrote {tmp_path / 'r.html'} ({len((tmp_path / 'r.html').read_bytes()):,} bytes, html): 2d PASS"]
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")


def test_progress_shows_on_a_terminal_and_not_when_piped(sqlite_cli, monkeypatch):
    sqlite_cli.simulate(days=2, end=END)
    piped = sqlite_cli.ok("report", "--window", "7d", "--end", END, "--json")
    assert piped.err == ""
    terminal = FakeTty()
    monkeypatch.setattr(sys, "stderr", terminal)
    sqlite_cli.ok("report", "--window", "7d", "--end", END, "--json")
    assert "report: day 1/7" in terminal.getvalue() and "report: day 7/7\n" in terminal.getvalue()


@pytest.mark.parametrize("flags, named", [
    (["--end", "2026-02-30"], "--end"),
    (["--end", "2999-01-01"], "is not complete yet"),
    (["--window", "0d"], "--window"),
    (["--window", "week"], "--window"),
    (["--format", "pdf"], "--format"),
])
def test_bad_arguments_are_one_line_usage_errors(sqlite_cli, flags, named):
    result = sqlite_cli("report", *flags)
    assert result.code == 64 and len(result.err_lines) == 1 and named in result.err


def test_an_unwritable_output_is_a_usage_error(sqlite_cli, tmp_path):
    sqlite_cli.simulate(days=2, end=END)
    result = sqlite_cli("report", "--end", END, "--output", tmp_path / "no" / "such" / "r.md")
    assert result.code == 64 and "does not exist" in result.err and len(result.err_lines) == 1


def test_maintenance_minutes_are_shown_and_neither_up_nor_down(cli):
    cli.simulate("--target-down", "2026-03-10T10:00:00Z+30m", days=2, end=END)
    cli.ok("maintenance", "add", "--from", "2026-03-10T09:55:00Z", "--until", "2026-03-10T10:35:00Z",
           "--reason", "database upgrade we forgot to announce", "--yes")
    w = window(cli)
    assert w["maintenanceMinutes"] == 40
    assert (w["upMinutes"], w["downMinutes"], w["unknownMinutes"]) == (SLOTS - 40, 0, 0)
    assert (w["expectedHb"], w["writtenHb"], w["uptimePct"], w["coverage"]) == (SLOTS - 40, SLOTS - 40, 100.0, 1.0)
    text = cli.ok("report", "--window", "2d", "--end", END, "--format", "md").out
    assert f"- minutes: up {SLOTS - 40}, down 0, unknown 0, maintenance 40" in text
