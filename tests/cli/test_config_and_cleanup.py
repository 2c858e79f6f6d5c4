"""``longrun config show|set|validate`` and ``longrun cleanup [--dry-run]``."""

from __future__ import annotations

from tests.cli.conftest import days_ago, tty


def stored_config(cli):
    async def read(store, paths):
        doc = await store.get(paths.config)
        return doc.data if doc else None

    return cli.with_store(read)


def test_show_before_any_document_shows_the_defaults(cli):
    shown = cli.ok("config", "show", "--json").json()
    assert shown["stored"] is None and shown["errors"] == []
    assert shown["effective"]["alertThresholds"]["missedHbPerHour"] == 3
    assert cli.ok("config", "show").out.startswith("# wa_metrics/longrun/config/current: no document yet")


def test_set_validates_shows_old_and_new_and_changes_only_those_fields(cli):
    result = cli.ok("config", "set", "alertThresholds.missedHbPerHour=5", "severities.probe_fail=P2",
                    'probeSchedules={"outboundHours": 3}', "--yes")
    assert "alertThresholds.missedHbPerHour: 3 -> 5" in result.out
    assert 'severities.probe_fail: "P3" -> "P2"' in result.out
    assert "probeSchedules.outboundHours: 6.0 -> 3" in result.out
    stored = stored_config(cli)
    assert stored["alertThresholds"] == {**stored["alertThresholds"], "missedHbPerHour": 5, "consecutiveProbeFails": 2}
    assert stored["probeSchedules"] == {"outboundHours": 3, "queueHours": 24.0, "inboundHours": 6.0}
    assert stored["updatedBy"] == "longrun config set"


def test_set_rejects_bad_unknown_and_read_only_fields_naming_each(cli):
    result = cli("config", "set", "alertThresholds.missedHbPerHour=-1", "nonsense=1", "heartbeatIntervalSec=30", "--yes")
    assert result.code == 64 and len(result.err_lines) == 1
    for named in ("alertThresholds.missedHbPerHour: must be >= 0, got -1", "nonsense: unknown field",
                  "heartbeatIntervalSec: read-only here"):
        assert named in result.err
    assert stored_config(cli) is None  # nothing written


def test_set_refuses_without_yes_when_not_a_terminal_and_asks_on_one(sqlite_cli):
    refused = sqlite_cli("config", "set", "expectedAccounts=5")
    assert refused.code == 64 and refused.err_lines == [
        "longrun: refusing to change 1 field(s) of wa_metrics/longrun/config/current without --yes: stdin is not a terminal"]
    assert stored_config(sqlite_cli) is None
    assert sqlite_cli("config", "set", "expectedAccounts=5", stdin=tty("y")).code == 0
    assert stored_config(sqlite_cli)["expectedAccounts"] == 5


def test_set_with_a_malformed_assignment_is_a_usage_error(sqlite_cli):
    result = sqlite_cli("config", "set", "expectedAccounts", "--yes")
    assert result.code == 64 and result.err_lines == [
        "longrun: config set: expected KEY=VALUE with a dotted KEY, got 'expectedAccounts'"]


def test_validate_names_every_invalid_field_and_exits_1(cli):
    cli.ok("config", "set", "expectedAccounts=4", "--yes")
    assert cli.ok("config", "validate").out.rstrip().endswith("config/current: valid")

    async def corrupt(store, paths):
        await store.update(paths.config, {"driftSec": "ten", "alertThresholds.consecutiveProbeFails": 0})

    cli.with_store(corrupt)
    result = cli("config", "validate", "--json")
    assert result.code == 1
    report = result.json()
    assert report["valid"] is False and len(report["errors"]) == 2
    assert len(result.err_lines) == 1
    assert "driftSec: expected a number, got str 'ten'" in result.err
    assert "alertThresholds.consecutiveProbeFails: must be >= 1, got 0" in result.err


OLD = days_ago(200)  # past the default retention of heartbeats (90 d) and probes (180 d), not incidents' (365 d)


def test_cleanup_dry_run_counts_and_deletes_nothing(sqlite_cli):
    sqlite_cli.simulate("--outage", f"{OLD}T10:00:00Z+5m", days=2, end=OLD)
    first = sqlite_cli.ok("cleanup", "--dry-run", "--json").json()
    assert first["dryRun"] is True and first["deleted"] == {}
    # 2 days of slots less the 5-minute outage; 9 probe runs a day; the one incident is kept for a year.
    assert first["due"] == {"heartbeats": 2 * 1440 - 5, "probes": 18, "incidents": 0, "outbox": 0}  # rollups: kept
    assert sqlite_cli.ok("cleanup", "--dry-run", "--json").json()["due"] == first["due"]


def test_cleanup_refuses_without_yes_then_deletes_with_it(sqlite_cli):
    sqlite_cli.simulate(days=2, end=OLD)
    refused = sqlite_cli("cleanup")
    assert refused.code == 64 and refused.err_lines == [
        "longrun: refusing to delete 2,898 documents past retention without --yes: stdin is not a terminal"]
    done = sqlite_cli.ok("cleanup", "--yes", "--json").json()
    assert done["deleted"]["heartbeats"] == 2880 and done["deleted"]["probes"] == 18
    assert sum(sqlite_cli.ok("cleanup", "--dry-run", "--json").json()["due"].values()) == 0


def test_set_refuses_values_out_of_range_naming_field_and_range_and_keeps_the_last_good(cli):
    cli.ok("config", "set", "retention.heartbeatsDays=30", "--yes")
    for assignment, field in (("retention.heartbeatsDays=1000000", "retention.heartbeatsDays"),
                              ("retention.probesDays=1e300", "retention.probesDays"),
                              ("alertThresholds.consecutiveProbeFails=1e999", "alertThresholds.consecutiveProbeFails"),
                              ("alertThresholds.missedHbPerHour=NaN", "alertThresholds.missedHbPerHour"),
                              ("expectedAccounts=-Infinity", "expectedAccounts")):
        result = cli("config", "set", assignment, "--yes")
        assert result.code == 64, (assignment, result.err)
        assert field in result.err and "range" in result.err, result.err
        assert "unreachable" not in result.err
    stored = stored_config(cli)
    assert stored["retention"]["heartbeatsDays"] == 30
    assert "probesDays" not in stored.get("retention", {}) or stored["retention"]["probesDays"] != 1e300
    assert cli("cleanup", "--dry-run").code == 0
