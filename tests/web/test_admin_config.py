"""PATCH config: every bad field named, good edits written with who and when, applied on the next run."""

from tests.web.conftest import API, call


async def test_every_bad_field_is_named_and_nothing_is_written(client, leader):
    runtime = leader.runtime
    before = (await runtime.store.get(runtime.paths.config)).data
    patch = {"alertThresholds": {"missedHbPerHour": -1, "consecutiveProbeFails": 2}, "expectedAccounts": "three",
             "heartbeatIntervalSec": 30, "bogus": 1, "severities": {"logged_out": "P9"}}
    status, body = await call(client, "PATCH", f"{API}/config", json=patch)
    assert status == 400
    assert body["fields"] == {
        "alertThresholds.missedHbPerHour": "must be >= 0, got -1 (range 0 .. 100000)",
        "expectedAccounts": "expected a number, got str 'three'",
        "heartbeatIntervalSec": "read-only here; set the LONGRUN_* setting and redeploy every instance",
        "bogus": "unknown field",
        "severities.logged_out": "expected one of P1, P2, P3, got 'P9'",
    }
    assert "alertThresholds.missedHbPerHour" in body["error"]
    assert (await runtime.store.get(runtime.paths.config)).data == before


async def test_dotted_keys_are_validated_like_nested_ones(client):
    status, body = await call(client, "PATCH", f"{API}/config", json={"alertThresholds.missedHbPerHour": -5})
    assert status == 400 and list(body["fields"]) == ["alertThresholds.missedHbPerHour"]
    status, body = await call(client, "PATCH", f"{API}/config", json={"alertThresholds.missedHbPerHour": 5})
    assert status == 200 and body["config"]["alertThresholds"]["missedHbPerHour"] == 5


async def test_empty_and_meta_only_patches_are_refused(client):
    for patch in ({}, {"updatedBy": "me"}, {"alertThresholds": {}}):
        status, body = await call(client, "PATCH", f"{API}/config", json=patch)
        assert status == 400, patch


async def test_a_good_edit_is_written_with_who_and_when_and_keeps_the_rest(client, leader):
    runtime = leader.runtime
    patch = {"alertThresholds": {"missedHbPerHour": 7}, "retention": {"rollupsDays": None, "probesDays": 30}}
    status, body = await call(client, "PATCH", f"{API}/config", json=patch)
    assert status == 200
    assert body["changed"] == ["alertThresholds.missedHbPerHour", "retention.probesDays", "retention.rollupsDays"]
    assert body["config"]["alertThresholds"] == {**body["config"]["alertThresholds"], "missedHbPerHour": 7, "consecutiveProbeFails": 2}
    stored = (await runtime.store.get(runtime.paths.config)).data
    assert stored["updatedBy"] == "admin" and stored["updatedAt"] == runtime.clock.now()
    assert stored["alertThresholds"]["missedHbPerHour"] == 7 and stored["alertThresholds"]["queueDepthThreshold"] == 100
    assert stored["retention"]["probesDays"] == 30 and stored["retention"]["heartbeatsDays"] == 90
    _, body = await call(client, "GET", f"{API}/config")
    assert body["config"]["alertThresholds"]["missedHbPerHour"] == 7 and body["updatedBy"] == "admin"


async def test_the_edit_applies_on_the_next_job_run_without_a_restart(cluster, client, leader):
    """Day 03-01 has 60 of 1440 heartbeats (4.2 %): insufficient at the default 0.8, enough at 0.04.

    The rollup job at midnight re-reads the document, so the edit made at 23:10 decides it.
    """
    status, _ = await call(client, "PATCH", f"{API}/config", json={"insufficientDataThreshold": 0.04})
    assert status == 200
    assert leader.runtime.config.current["insufficientDataThreshold"] == 0.8, "the running jobs have not read it yet"
    await cluster.run_for(55 * 60)  # past midnight
    _, body = await call(client, "GET", f"{API}/rollups")
    [rollup] = body["rollups"]
    assert (rollup["date"], rollup["writtenHb"], rollup["insufficientData"]) == ("2026-03-01", 60, False)
    assert leader.runtime.config.current["insufficientDataThreshold"] == 0.04


async def test_a_field_given_twice_is_refused_not_guessed(client):
    for patch in ({"alertThresholds.missedHbPerHour": 4, "alertThresholds": {"missedHbPerHour": 5}},
                  {"expectedAccounts": 4, "expectedAccounts.x": 5}, {"alertThresholds..missedHbPerHour": 4}):
        status, body = await call(client, "PATCH", f"{API}/config", json=patch)
        assert status == 400 and body["fields"], patch
    patch = {"alertThresholds.missedHbPerHour": 4, "alertThresholds": {"consecutiveProbeFails": 3}}
    status, body = await call(client, "PATCH", f"{API}/config", json=patch)
    assert status == 200 and body["changed"] == ["alertThresholds.consecutiveProbeFails", "alertThresholds.missedHbPerHour"]
