"""The operator procedures through both adapters: the admin API and the CLI give the same result,
because both call the one implementation in exporter/services (spied on here).

| procedure                      | the one implementation                                  |
| lock release                   | LockService.release (exporter/services/locks.py)         |
| config update, conditional     | ConfigEditor.plan + apply (exporter/services/config_edit.py) |
| rollup recompute, retention    | RollupService.check_over/check_retention/run_day (exporter/services/rollups.py) |
| incident open/ack/resolve/list | IncidentService.open_manual/change/list (exporter/services/incidents.py) |

Each test runs once per adapter and per backend (SQLite, the Firestore
emulator), on one store that the API's runtime and the CLI open alike.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from exporter.clock import RealClock
from exporter.domain.lease import lock_document
from exporter.runtime import Runtime
from exporter.services.config_edit import ConfigEditor
from exporter.services.incidents import IncidentService
from exporter.services.locks import LockService
from exporter.services.rollups import RollupService
from exporter.settings import load_settings
from exporter.web.app import create_app
from tests.cli.conftest import Cli, days_ago
from tests.web.conftest import TOKEN

API = "/api/admin/longrun"


@dataclass
class Outcome:
    ok: bool
    body: Any  # the JSON the adapter answered (the CLI's --json output), or the error text


class ApiAdapter:
    name = "api"

    def __init__(self, client) -> None:
        self.client = client

    async def _call(self, method: str, path: str, body: Any = None) -> Outcome:
        response = await self.client.request(method, API + path, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        answer = await response.json()
        return Outcome(response.status < 300, answer if response.status < 300 else answer["error"])

    async def release_lock(self, name: str) -> Outcome:
        return await self._call("POST", f"/locks/{name}/release")

    async def set_config(self, path: str, value: Any) -> Outcome:
        return await self._call("PATCH", "/config", {path: value})

    async def recompute_rollup(self, day: str) -> Outcome:
        return await self._call("POST", f"/rollups/{day}")

    async def open_incident(self, kind: str, reason: str, start: str, end: str | None = None) -> Outcome:
        outcome = await self._call("POST", "/incidents", {"type": kind, "reason": reason, "tsStart": start,
                                                          **({"tsEnd": end} if end else {})})
        return Outcome(outcome.ok, outcome.body["incident"] if outcome.ok else outcome.body)

    async def acknowledge(self, incident_id: str, owner: str) -> Outcome:
        return await self._call("PATCH", f"/incidents/{incident_id}", {"status": "acknowledged", "owner": owner})

    async def resolve(self, incident_id: str, root_cause: str) -> Outcome:
        return await self._call("PATCH", f"/incidents/{incident_id}", {"status": "resolved", "rootCause": root_cause})

    async def list_incidents(self, status: str) -> list[str]:
        outcome = await self._call("GET", f"/incidents?status={status}")
        return [doc["incidentId"] for doc in outcome.body["incidents"]]


class CliAdapter:
    name = "cli"

    def __init__(self, cli: Cli) -> None:
        self.cli = cli

    async def _run(self, *argv: str) -> Outcome:
        result = await asyncio.to_thread(self.cli, *argv, "--json")  # main() runs its own event loop
        return Outcome(result.code == 0, result.json() if result.code == 0 else result.err)

    async def release_lock(self, name: str) -> Outcome:
        return await self._run("lock", "release", "--name", name, "--force", "--yes")

    async def set_config(self, path: str, value: Any) -> Outcome:
        return await self._run("config", "set", f"{path}={value}", "--yes")

    async def recompute_rollup(self, day: str) -> Outcome:
        return await self._run("rollup", "--date", day, "--force", "--yes")

    async def open_incident(self, kind: str, reason: str, start: str, end: str | None = None) -> Outcome:
        return await self._run("incident", "open", "--type", kind, "--reason", reason, "--start", start,
                               *(["--end", end] if end else []), "--yes")

    async def acknowledge(self, incident_id: str, owner: str) -> Outcome:
        return await self._run("incident", "ack", incident_id, "--owner", owner, "--yes")

    async def resolve(self, incident_id: str, root_cause: str) -> Outcome:
        return await self._run("incident", "resolve", incident_id, "--root-cause", root_cause, "--yes")

    async def list_incidents(self, status: str) -> list[str]:
        outcome = await self._run("incident", "list", "--status", status)
        return [doc["incidentId"] for doc in outcome.body["incidents"]]


@pytest.fixture
async def runtime(cli: Cli, monkeypatch: pytest.MonkeyPatch):
    """A server's runtime on the CLI's store (the same SQLite file or emulator project)."""
    monkeypatch.setenv("LONGRUN_ADMIN_TOKEN", TOKEN)
    runtime = Runtime.build(load_settings(), clock=RealClock())
    await runtime.config.ensure()
    yield runtime
    await runtime.store.close()


@pytest.fixture(params=["api", "cli"])
async def adapter(request, cli: Cli, runtime: Runtime, aiohttp_client):
    if request.param == "api":
        return ApiAdapter(await aiohttp_client(create_app(runtime)))
    return CliAdapter(cli)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[str]]:
    """``spy(Class, "method", ...)`` records every call of those methods, whichever adapter made it."""
    seen: list[str] = []

    def spy(cls: type, *names: str) -> list[str]:
        for name in names:
            real = getattr(cls, name)
            label = f"{cls.__name__}.{name}"
            if asyncio.iscoroutinefunction(real):
                async def wrapper(self, *args, _real=real, _label=label, **kwargs):
                    seen.append(_label)
                    return await _real(self, *args, **kwargs)
            else:
                def wrapper(self, *args, _real=real, _label=label, **kwargs):
                    seen.append(_label)
                    return _real(self, *args, **kwargs)
            monkeypatch.setattr(cls, name, wrapper)
        return seen

    return spy


async def stored(runtime: Runtime, path: str) -> dict[str, Any] | None:
    doc = await runtime.store.get(path)
    return doc.data if doc is not None else None


# ------------------------------------------------------------------ lock release


async def test_a_released_lease_ends_now_and_keeps_its_holder_and_generation(adapter, runtime, calls):
    spied = calls(LockService, "release")
    now = datetime.now(timezone.utc)
    await runtime.store.set(runtime.paths.lock(), lock_document("leader-a", "deploy-1", now - timedelta(seconds=30), 120, 4))
    outcome = await adapter.release_lock("heartbeat-scheduler")
    assert outcome.ok, outcome.body
    lock = await stored(runtime, runtime.paths.lock())
    assert (lock["holderInstanceId"], lock["generation"]) == ("leader-a", 4)
    assert lock["leaseUntil"] <= datetime.now(timezone.utc) and lock["releasedAt"] == lock["leaseUntil"]
    assert lock["releasedBy"] == ("admin" if adapter.name == "api" else "cli-test")
    assert spied == ["LockService.release"]


async def test_releasing_a_lock_that_does_not_exist_writes_nothing(adapter, runtime):
    outcome = await adapter.release_lock("heartbeat-scheduler")
    assert await stored(runtime, runtime.paths.lock()) is None
    # The CLI says there is nothing to release (exit 0); the API answers 404.
    assert outcome.ok is (adapter.name == "cli")


# ------------------------------------------------------------------ config update


async def test_a_config_edit_is_validated_then_written_with_who_wrote_it(adapter, runtime, calls):
    spied = calls(ConfigEditor, "plan", "apply")
    refused = await adapter.set_config("alertThresholds.missedHbPerHour", -1)
    assert not refused.ok and "alertThresholds.missedHbPerHour: must be >= 0, got -1" in refused.body
    assert (await stored(runtime, runtime.paths.config))["alertThresholds"]["missedHbPerHour"] == 3
    outcome = await adapter.set_config("alertThresholds.missedHbPerHour", 5)
    assert outcome.ok, outcome.body
    config = await stored(runtime, runtime.paths.config)
    assert config["alertThresholds"]["missedHbPerHour"] == 5
    assert config["updatedBy"] == ("admin" if adapter.name == "api" else "longrun config set")
    assert spied == ["ConfigEditor.plan", "ConfigEditor.plan", "ConfigEditor.apply"]


async def test_a_config_edit_loses_to_one_written_after_it_was_validated(adapter, runtime, monkeypatch):
    """Conditional for both: the API used to overwrite unconditionally, the CLI did not."""
    planned = ConfigEditor.plan

    async def plan_then_someone_edits(self, patch):
        edit = await planned(self, patch)
        await self.store.update(self.paths.config, {"alertThresholds.missedHbPerHour": 7})
        return edit

    monkeypatch.setattr(ConfigEditor, "plan", plan_then_someone_edits)
    outcome = await adapter.set_config("alertThresholds.missedHbPerHour", 5)
    assert not outcome.ok and ("conflict" in outcome.body or "changed while you decided" in outcome.body)
    assert (await stored(runtime, runtime.paths.config))["alertThresholds"]["missedHbPerHour"] == 7


# ------------------------------------------------------------------ rollup recompute


async def test_a_recomputed_rollup_overwrites_the_day_from_the_raw_documents(adapter, runtime, cli, calls):
    day = days_ago(2)
    await asyncio.to_thread(cli.simulate, days=3, end=days_ago(1))
    before = await stored(runtime, runtime.paths.rollup(day))
    spied = calls(RollupService, "check_over", "check_retention", "run_day")
    outcome = await adapter.recompute_rollup(day)
    assert outcome.ok, outcome.body
    after = await stored(runtime, runtime.paths.rollup(day))
    assert after["recomputedAt"] > before["createdAt"] and after["heartbeatSource"] == "store"
    for figure in ("expectedHb", "writtenHb", "uptimePct", "maxGapSec"):
        assert after[figure] == before[figure], figure
    assert spied == ["RollupService.check_over", "RollupService.check_retention", "RollupService.run_day"]


async def test_a_day_whose_heartbeats_retention_deleted_is_not_rolled_up_again(adapter, runtime):
    day = days_ago(100)  # heartbeats are kept 90 days
    outcome = await adapter.recompute_rollup(day)
    assert not outcome.ok and "heartbeats older than 90 days are deleted by retention" in outcome.body
    assert await stored(runtime, runtime.paths.rollup(day)) is None


async def test_today_is_not_rolled_up(adapter, runtime):
    today = datetime.now(timezone.utc).date().isoformat()
    outcome = await adapter.recompute_rollup(today)
    assert not outcome.ok and "is not complete yet" in outcome.body
    assert await stored(runtime, runtime.paths.rollup(today)) is None


# ------------------------------------------------------------------ incidents


def shape(doc: dict[str, Any]) -> dict[str, Any]:
    """What an operator's incident says, without the ids and times the moment decides."""
    return {key: doc.get(key) for key in ("type", "severity", "status", "reason", "owner", "rootCause", "mttrSec", "source")}


async def test_an_incident_is_opened_acknowledged_resolved_and_listed_alike(adapter, runtime, calls):
    spied = calls(IncidentService, "open_manual", "change", "list")
    start = (datetime.now(timezone.utc) - timedelta(hours=2)).replace(microsecond=0)
    opened = await adapter.open_incident("missed_heartbeat", "host reboot", start.isoformat())
    assert opened.ok, opened.body
    incident_id = opened.body["incidentId"]
    assert await adapter.list_incidents("open") == [incident_id]
    assert (await adapter.acknowledge(incident_id, "ana")).ok
    assert (await adapter.resolve(incident_id, "OOM")).ok
    doc = await stored(runtime, runtime.paths.incident(incident_id))
    assert shape(doc) == {"type": "missed_heartbeat", "severity": "P2", "status": "resolved", "reason": "host reboot",
                          "owner": "ana", "rootCause": "OOM", "mttrSec": doc["mttrSec"], "source": "manual"}
    assert doc["tsStart"] == start and doc["mttrSec"] >= 7200 and doc["changes"] == ["opened", "acknowledged", "resolved"]
    assert await adapter.list_incidents("open,acknowledged") == []
    assert spied == ["IncidentService.open_manual", "IncidentService.list", "IncidentService.change",
                     "IncidentService.change", "IncidentService.list"]


async def test_the_runbook_gap_record_is_stored_resolved_with_its_mttr(adapter, runtime):
    start = (datetime.now(timezone.utc) - timedelta(hours=3)).replace(microsecond=0)
    outcome = await adapter.open_incident("missed_heartbeat", "store outage", start.isoformat(),
                                          (start + timedelta(minutes=75)).isoformat())
    assert outcome.ok, outcome.body
    doc = await stored(runtime, runtime.paths.incident(outcome.body["incidentId"]))
    assert (doc["status"], doc["mttrSec"], doc["tsEnd"]) == ("resolved", 4500, start + timedelta(minutes=75))


@pytest.mark.parametrize("start, end, says", [
    (timedelta(hours=1), None, "tsStart: in the future"),
    (-timedelta(hours=1), -timedelta(hours=2), "tsEnd: before tsStart"),
])
async def test_impossible_incident_times_are_refused_and_nothing_is_written(adapter, runtime, start, end, says):
    now = datetime.now(timezone.utc)
    outcome = await adapter.open_incident("missed_heartbeat", "r", (now + start).isoformat(),
                                          (now + end).isoformat() if end is not None else None)
    assert not outcome.ok
    assert says.split(":")[1].strip() in outcome.body
    assert await runtime.incidents.list() == []
