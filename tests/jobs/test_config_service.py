"""The runtime config document: created once with defaults, re-read each run, never fatal."""

import logging

from exporter.clock import FakeClock
from exporter.domain import runtime_config
from exporter.services.config import ConfigSource
from exporter.store import Paths

PATHS = Paths()


def source(store, **seed_overrides) -> ConfigSource:
    seed = runtime_config.defaults(**seed_overrides)
    return ConfigSource(store, PATHS, seed, FakeClock())


async def test_missing_document_is_created_with_the_runbooks_defaults(store):
    assert await source(store).ensure() is True
    doc = await store.get(PATHS.config)
    assert doc.get("expectedAccounts") == 3
    assert doc.get("heartbeatIntervalSec") == 60
    assert doc.get("alertThresholds") == {
        "missedHbPerHour": 3, "consecutiveProbeFails": 2, "queueDepthThreshold": 100,
        "reconnectLoop": 10, "maxIncidentsPerDay": 10, "coverageAlertRatio": 0.95,
    }
    assert doc.get("lock") == {"leaseSec": 120, "renewEverySec": 60}


async def test_a_second_instance_never_overwrites_the_document(store, caplog):
    await source(store).ensure()
    await store.update(PATHS.config, {"expectedAccounts": 5})
    with caplog.at_level(logging.WARNING):
        second = source(store, heartbeat_interval=30)
        assert await second.ensure() is False
    assert (await store.get(PATHS.config)).get("expectedAccounts") == 5
    assert second.current["expectedAccounts"] == 5
    assert "heartbeatIntervalSec=60 but this process runs with 30" in caplog.text


async def test_an_edit_applies_on_the_next_load_without_restart(store):
    config = source(store)
    await config.ensure()
    assert (await config.load())["alertThresholds"]["missedHbPerHour"] == 3
    await store.update(PATHS.config, {"alertThresholds.missedHbPerHour": 7})
    assert (await config.load())["alertThresholds"]["missedHbPerHour"] == 7


async def test_invalid_fields_keep_their_last_good_value_and_are_counted(store, caplog):
    config = source(store)
    await config.ensure()
    await store.update(PATHS.config, {"alertThresholds.queueDepthThreshold": 250})
    await config.load()
    await store.update(PATHS.config, {"alertThresholds.missedHbPerHour": -1, "expectedAccounts": "three",
                                      "alertThresholds.queueDepthThreshold": 300})
    with caplog.at_level(logging.ERROR):
        current = await config.load()
        await config.load()  # the same bad document again: counted, but logged once
    assert current["alertThresholds"]["missedHbPerHour"] == 3
    assert current["expectedAccounts"] == 3
    assert current["alertThresholds"]["queueDepthThreshold"] == 300  # the valid part of the edit applies
    assert config.errors_total == 2
    assert caplog.text.count("alertThresholds.missedHbPerHour: must be >= 0, got -1") == 1
    assert "expectedAccounts: expected a number, got str 'three'" in caplog.text


async def test_store_outage_keeps_the_last_good_config(store):
    config = source(store)
    await config.ensure()
    await store.update(PATHS.config, {"expectedAccounts": 4})
    await config.load()

    class Down:
        async def get(self, path):
            from exporter.store import StoreUnavailable
            raise StoreUnavailable("down")

    config.store = Down()
    assert (await config.load())["expectedAccounts"] == 4
