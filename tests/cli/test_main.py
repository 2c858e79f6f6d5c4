"""The command line as a whole: help, one-line errors with documented exit codes, JSON everywhere."""

from __future__ import annotations

import json

import pytest

import exporter.cli.verify
from exporter.cli import main


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("run", "verify", "report", "rollup", "probe", "lock", "incident", "config", "cleanup", "simulate"):
        assert command in out
    assert main(["verify", "--help"]) == 0


@pytest.mark.parametrize("argv, code", [
    ([], 2),                                  # no command: as before the operator commands existed
    (["bogus"], 2),
    (["run", "--bogus"], 2),
    (["verify", "--bogus"], 64),
    (["incident"], 64),
    (["incident", "ack"], 64),
])
def test_argument_errors_are_one_line(capsys, argv, code):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("longrun") and "--help" in err


def test_bad_settings_are_usage_errors_for_operator_commands_and_2_for_run(sqlite_cli, monkeypatch):
    monkeypatch.setenv("LONGRUN_STORE", "mysql://nope")
    result = sqlite_cli("verify")
    assert result.code == 64 and result.err_lines[0].startswith("longrun: LONGRUN_STORE: unknown store URL")
    assert sqlite_cli("run").code == 2


def test_an_unexpected_error_is_still_one_line(sqlite_cli, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(exporter.cli.verify, "scan_heartbeats", broken)
    result = sqlite_cli("verify")
    assert result.code == 1
    assert result.err_lines == ["longrun: unexpected RuntimeError: boom (a bug; LONGRUN_LOG_LEVEL=DEBUG shows the trace)"]


@pytest.mark.parametrize("argv", [
    ["verify", "--end", "2026-03-10T12:00:00Z"],
    ["report", "--end", "2026-03-10", "--window", "7d"],
    ["lock", "status"],
    ["incident", "list"],
    ["config", "show"],
    ["config", "validate"],
    ["cleanup", "--dry-run"],
    ["probe", "run", "outbound"],
    ["rollup", "--date", "2026-03-09"],
])
def test_json_output_parses(sqlite_cli, argv):
    sqlite_cli.simulate(days=1, end="2026-03-10T12:00:00Z")
    result = sqlite_cli(*argv, "--json")
    assert result.code == 0, result
    assert isinstance(json.loads(result.out), dict)
