"""The whole monitoring pipeline on loopback: two `longrun run` processes, real Prometheus, real Alertmanager.

    async def test_something(stack, fake_telegram):      # one stack per test, Telegram faked
        await stack.settled()
        stack.leader.signal(signal.SIGSTOP)
        alert, took = await stack.eventually(lambda: stack.firing("LongrunHeartbeatGap"), 15, "the gap alert")

``module_stack`` is the same stack shared by the tests of one module (its
tests run on the module's event loop: ``pytest.mark.asyncio(loop_scope="module")``).

What runs:
- a leader and a standby on one SQLite file, heartbeats every second. Both hold
  a 60 s lease (renewed every 20 s): the lease end is written by the holder, so
  a leader paused for a few seconds keeps it and the standby does not take over;
  the standby keeps serving /metrics and the Alertmanager webhook;
- a fake monitored service (status JSON) and the fake Telegram Bot API;
- Prometheus and Alertmanager with the shipped configs, time scaled by FACTOR
  and addresses on loopback (``tests.e2e.scaled``); Alertmanager posts to the standby.
  The rules are those ``longrun monitoring render`` writes for the custom selector
  SELECTOR, and Prometheus scrapes longrun under that job name and labels, so a
  rule that still selected ``job="longrun"`` would see nothing and fail here.

Two histories make the young stack look like one that has run for a while,
as in production, so that only what the test does can raise an alert:
- the store holds an hour of heartbeats of a predecessor (and a few from
  yesterday, so a rollup exists): a fresh store counts every slot of the last
  hour as missed and LongrunMissedHeartbeats would fire at once; once the
  leader leads, the predecessor's heartbeats also fill the slots a slow start
  left empty (``hand_over``), as a real predecessor writes until the handover;
- Prometheus starts with the heartbeat SLI backfilled as fresh for its longest
  (scaled) window: an empty TSDB holds seconds, not days, and the burn-rate
  alerts would page on the first stale sample.

A missing binary skips these tests with a warning in the session output.
"""

from __future__ import annotations

import asyncio
import inspect
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

import aiohttp
import pytest
import pytest_asyncio
import yaml
from aiohttp import web

from exporter.domain.slots import slot_start
from exporter.domain.documents import Identity, heartbeat_document
from exporter.store import Filter, Order, Paths
from exporter.store.base import MAX_BATCH, AlreadyExists, Write
from exporter.store.sqlite import SqliteStore
from tests.fixtures.servers import ServerProcess
from tests.e2e.scaled import Loopback, ScaledConfig, duration_ms, render, scale, write_scaled
from tests.fixtures.fake_telegram import FakeTelegram
from tests.monitoring import artefacts
from tests.process.processes import LongrunProcess, free_port

T = TypeVar("T")

# 15 s (the shipped scrape and evaluation interval) becomes 1 s; every other duration follows.
FACTOR = Fraction(1, 15)
# Not the shipped job="longrun": the stack runs on a rendered set (longrun monitoring render --selector).
SELECTOR = 'job="longrun-e2e", deployment="e2e"'
HEARTBEAT_INTERVAL = 1.0
CHAT = "-1001234567890"
# The predecessor's heartbeats reach this far past the stack's start, so that the record has no gap while
# the leader starts: it leaves the slots already written alone and writes on from the next one.
START_ALLOWANCE = timedelta(seconds=4)
TARGET_STATUS = {"connectedCount": 3, "reconnectingCount": 0, "needsQrCount": 0, "queueDepth": 5, "reconnectsTotal": 7}

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER = (shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
                or "/usr/bin/prometheus-alertmanager")
PROMTOOL = artefacts.promtool() or "/usr/bin/promtool"


@dataclass(frozen=True)
class Binaries:
    prometheus: str
    alertmanager: str
    promtool: str


def binaries_or_skip(config: pytest.Config) -> Binaries:
    missing = [path for path in (PROMETHEUS, ALERTMANAGER, PROMTOOL) if not Path(path).is_file()]
    if missing:
        reason = (f"NOT RUN: end-to-end monitoring tests need {', '.join(missing)}: install the Debian packages "
                  "prometheus and prometheus-alertmanager (`make system-deps`)")
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"WARNING: {reason}", yellow=True, bold=True)
        pytest.skip(reason)
    return Binaries(PROMETHEUS, ALERTMANAGER, PROMTOOL)


# ------------------------------------------------------------------ servers


async def _status(request: web.Request) -> web.Response:
    return web.json_response(TARGET_STATUS)


class StatusServer:
    """The monitored service's status JSON (LONGRUN_TARGET_URL), healthy: every expected account connected."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/status", _status)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/status"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


# ------------------------------------------------------------------ histories


PREDECESSOR = Identity("predecessor", "e2e-seed", "seed", "0")


async def seed_store(store: SqliteStore, paths: Paths, now: datetime) -> datetime:
    """An hour of heartbeats of a predecessor up to ``now`` + START_ALLOWANCE, and ten from yesterday noon;
    returns the newest seeded slot."""
    predecessor = PREDECESSOR
    newest = slot_start(now + START_ALLOWANCE, HEARTBEAT_INTERVAL)
    hour = [newest - timedelta(seconds=s) for s in range(3600 + 60, -1, -1)]
    noon = datetime.combine(now.date() - timedelta(days=1), datetime.min.time(), timezone.utc) + timedelta(hours=12)
    yesterday = [noon + timedelta(seconds=s) for s in range(10)]
    writes = []
    for run in (yesterday, hour):
        for k, slot in enumerate(run):
            doc = heartbeat_document(slot=slot, written_at=slot + timedelta(milliseconds=5), identity=predecessor,
                                     generation=0, interval=HEARTBEAT_INTERVAL, uptime_sec=k * HEARTBEAT_INTERVAL,
                                     memory_rss=None, target=None)
            writes.append(Write("create", paths.heartbeat(doc["bucketId"]), doc))
    for first in range(0, len(writes), MAX_BATCH):
        await store.batch(writes[first:first + MAX_BATCH])
    return newest


async def hand_over(store: SqliteStore, paths: Paths, after: datetime, now: datetime) -> int:
    """The predecessor kept writing until the leader took over: its heartbeats for the slots after ``after``
    that a slow start (a loaded machine can take longer than START_ALLOWANCE) left empty, up to two slots
    before ``now`` (the leader's own slot is its to write). Returns how many were added."""
    added, slot = 0, after + timedelta(seconds=HEARTBEAT_INTERVAL)
    while slot <= now - timedelta(seconds=2 * HEARTBEAT_INTERVAL):
        doc = heartbeat_document(slot=slot, written_at=slot + timedelta(milliseconds=5), identity=PREDECESSOR,
                                 generation=0, interval=HEARTBEAT_INTERVAL, uptime_sec=3600.0, memory_rss=None,
                                 target=None)
        try:
            await store.create(paths.heartbeat(doc["bucketId"]), doc)
            added += 1
        except AlreadyExists:
            pass
        slot += timedelta(seconds=HEARTBEAT_INTERVAL)
    return added


async def backfill_fresh_sli(promtool: str, config: ScaledConfig, data_dir: Path, until: datetime) -> None:
    """Prometheus's TSDB holds longrun:heartbeat_fresh:bool = 1 at every evaluation for the longest scaled window."""
    step_ms = duration_ms(yaml.safe_load(config.prometheus_yml.read_text())["global"]["evaluation_interval"])
    rule_files = {path.name for path in config.rule_files}
    longest_ms = max(duration_ms(e.new) for e in config.edits if e.kind == "duration" and e.file in rule_files)
    end_ms = int(until.timestamp() * 1000)
    lines = ["# TYPE longrun:heartbeat_fresh:bool gauge"]
    for t in range(end_ms - longest_ms - 60_000, end_ms, step_ms):
        lines.append(f"longrun:heartbeat_fresh:bool 1 {t / 1000:.3f}")
    source = data_dir.parent / "fresh-sli.om"
    source.write_text("\n".join(lines) + "\n# EOF\n")
    result = await asyncio.to_thread(subprocess.run, [promtool, "tsdb", "create-blocks-from", "openmetrics",
                                                      str(source), str(data_dir)], capture_output=True, text=True)
    assert result.returncode == 0, f"promtool backfill failed:\n{result.stdout}\n{result.stderr}"


# ------------------------------------------------------------------ the stack


@dataclass
class LiveStack:
    workdir: Path
    session: aiohttp.ClientSession
    store: SqliteStore
    paths: Paths
    leader: LongrunProcess
    standby: LongrunProcess
    alertmanager: ServerProcess
    prometheus: ServerProcess
    config: ScaledConfig
    telegram: FakeTelegram
    closers: list[Callable[[], Any]] = field(default_factory=list)

    # ---------------------------------------------------------- waiting

    async def eventually(self, probe: Callable[[], Awaitable[T | None] | T | None], within: float, what: str,
                         every: float = 0.1) -> tuple[T, float]:
        """The first truthy ``probe()`` (awaited if need be) and the seconds it took; fails naming ``what``."""
        started = time.monotonic()
        while True:
            value = probe()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value, time.monotonic() - started
            if time.monotonic() - started > within:
                raise AssertionError(f"{what}: not seen within {within}s\n{await self.diagnostics()}")
            await asyncio.sleep(every)

    async def settled(self, within: float = 30.0) -> None:
        """Leader writing its own heartbeats, both instances scraped, the SLI fresh, the Watchdog delivered,
        and no alert but the Watchdog firing."""
        await self.eventually(lambda: self.health(self.leader, lambda h: h["leader"] and h["lastHeartbeat"]),
                              within, "the leader writing its own heartbeats")
        checks = {
            "both longrun instances scraped": f"count(up{{{SELECTOR}}} == 1) == 2",
            "the heartbeat SLI fresh": "longrun:heartbeat_fresh:bool == 1",
            "the monitored service answering": "max(longrun_target_up) == 1",
            "the Watchdog delivered to longrun": 'sum(longrun_alertmanager_alerts_total{status="firing"}) > 0',
        }
        for what, expr in checks.items():
            await self.eventually(lambda expr=expr: self.returns(expr), within, what)
        await self.eventually(self._only_watchdog_fires, within, "nothing but the Watchdog firing")

    async def _only_watchdog_fires(self) -> bool:
        return {a["labels"]["alertname"] for a in await self.alerts() if a["state"] == "firing"} == {"Watchdog"}

    # ---------------------------------------------------------- Prometheus

    async def api(self, path: str, **params: str) -> dict[str, Any]:
        async with self.session.get(f"{self.prometheus.url}/api/v1/{path}", params=params) as response:
            return await response.json()

    async def query(self, expr: str) -> dict[str, Any]:
        """The API's answer to an instant query: ``status`` success with ``data``, or ``error``."""
        return await self.api("query", query=expr)

    async def returns(self, expr: str) -> list[dict[str, Any]]:
        answer = await self.query(expr)
        assert answer["status"] == "success", f"{expr}: {answer.get('error')}"
        return answer["data"]["result"]

    async def alerts(self) -> list[dict[str, Any]]:
        return (await self.api("alerts"))["data"]["alerts"]

    async def firing(self, alertname: str) -> dict[str, Any] | None:
        alerts = await self.alerts()
        return next((a for a in alerts if a["labels"]["alertname"] == alertname and a["state"] == "firing"), None)

    async def rules(self) -> list[dict[str, Any]]:
        return [rule for group in (await self.api("rules"))["data"]["groups"] for rule in group["rules"]]

    async def metric_names(self) -> set[str]:
        return set((await self.api("label/__name__/values"))["data"])

    # ---------------------------------------------------------- Alertmanager

    async def held_alerts(self) -> list[dict[str, Any]]:
        """Alertmanager's alerts, each with ``status.state`` and ``status.inhibitedBy`` (fingerprints)."""
        async with self.session.get(f"{self.alertmanager.url}/api/v2/alerts") as response:
            return await response.json()

    def route_timing(self, name: str) -> float:
        """A timing of the scaled default route, in seconds: ``route_timing("group_wait")``."""
        return duration_ms(yaml.safe_load(self.config.alertmanager_yml.read_text())["route"][name]) / 1000

    # ---------------------------------------------------------- longrun

    async def health(self, process: LongrunProcess, predicate: Callable[[dict], Any] = lambda h: True) -> dict | None:
        """The process's /health when it answers and ``predicate`` holds, else None."""
        health = await read_health(self.session, process)
        return health if health is not None and predicate(health) else None

    async def incidents(self) -> list[dict[str, Any]]:
        return [doc.data for doc in await self.store.query(self.paths.incidents)]

    async def heartbeats_since(self, since: datetime) -> list[dict[str, Any]]:
        docs = await self.store.query(self.paths.heartbeats, where=[Filter("ts", ">=", since)], order_by=[Order("ts")])
        return [doc.data for doc in docs]

    async def diagnostics(self) -> str:
        try:
            alerts = [(a["labels"]["alertname"], a["state"]) for a in await self.alerts()]
        except (aiohttp.ClientError, KeyError, ValueError) as exc:
            alerts = [f"unavailable: {exc}"]
        tails = "\n".join(f"--- {name} (last lines)\n" + "\n".join(text.splitlines()[-15:]) for name, text in (
            ("leader", self.leader.log()), ("standby", self.standby.log()),
            ("alertmanager", self.alertmanager.log()), ("prometheus", self.prometheus.log())))
        sent = [(m.reply, m.text[:120]) for m in self.telegram.received]
        return f"Prometheus alerts: {alerts}\nTelegram: {sent}\n{tails}"


def longrun_env(db: Path, token: str, telegram: FakeTelegram, target_url: str) -> dict[str, str]:
    return {
        "LONGRUN_STORE": f"sqlite:///{db}",
        "LONGRUN_DEPLOYMENT_ID": "e2e",
        "LONGRUN_HEARTBEAT_INTERVAL": f"{HEARTBEAT_INTERVAL:g}s",
        "LONGRUN_LEASE": "60s",
        "LONGRUN_RENEW": "20s",
        "LONGRUN_STANDBY_POLL": "1s",
        "LONGRUN_REFRESH_INTERVAL": "500ms",
        "LONGRUN_WEBHOOK_TOKEN": token,
        "LONGRUN_TARGET_URL": target_url,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_CHAT_ID": CHAT,
        "TELEGRAM_API_BASE": telegram.api_base,
    }


async def start_stack(workdir: Path, binaries: Binaries, telegram: FakeTelegram,
                      extra_env: dict[str, str] | None = None) -> LiveStack:
    """Everything of the module docstring, started and ready (not yet ``settled``); ``stop_stack`` ends it."""
    closers: list[Callable[[], Any]] = []
    try:
        return await _start(workdir, binaries, telegram, extra_env or {}, closers)
    except BaseException:
        await _close(closers)
        raise


async def _start(workdir: Path, binaries: Binaries, telegram: FakeTelegram, extra_env: dict[str, str],
                 closers: list[Callable[[], Any]]) -> LiveStack:
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
    closers.append(session.close)
    db, paths = workdir / "longrun.db", Paths()
    store = SqliteStore(db)
    closers.append(store.close)
    seeded_until = await seed_store(store, paths, datetime.now(timezone.utc))
    target = StatusServer()
    await target.start()
    closers.append(target.close)

    token = secrets.token_urlsafe(24)
    token_file = workdir / "webhook_token"
    token_file.write_text(token)
    env = {**longrun_env(db, token, telegram, target.url), **extra_env}
    leader, standby = LongrunProcess("leader", env, workdir), LongrunProcess("standby", env, workdir)
    closers += [leader.stop, standby.stop]
    leader.start()

    # Prometheus and Alertmanager start while the leader does (Prometheus scrapes ~5 s after its start).
    am_port, prom_port = free_port(), free_port()
    config = write_scaled(workdir / "config", FACTOR, Loopback(
        longrun=(f"127.0.0.1:{leader.port}", f"127.0.0.1:{standby.port}"), webhook=f"127.0.0.1:{standby.port}",
        alertmanager=f"127.0.0.1:{am_port}", prometheus=f"127.0.0.1:{prom_port}", token_file=token_file,
        telegram=telegram.api_base), selector=SELECTOR)
    rendered = workdir / "alertmanager-rendered.yml"  # the Telegram token and chat filled in, as in compose
    render(config.alertmanager_yml, rendered, telegram.token, CHAT)
    alertmanager = ServerProcess("alertmanager", [
        binaries.alertmanager, f"--config.file={rendered}", f"--storage.path={workdir / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
    ], am_port, workdir)
    closers.append(alertmanager.stop)
    data = workdir / "prometheus-data"
    await backfill_fresh_sli(binaries.promtool, config, data, datetime.now(timezone.utc))
    prometheus = ServerProcess("prometheus", [
        binaries.prometheus, f"--config.file={config.prometheus_yml}", f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
        # Not in prometheus.yml but a duration all the same: how often a firing alert is re-sent (default 1m).
        # Alerts that fire before Alertmanager is discovered are dropped and wait for the re-send.
        f"--rules.alert.resend-delay={scale('1m', FACTOR)}",
    ], prom_port, workdir)
    closers.append(prometheus.stop)

    await wait_for_health(session, leader, lambda h: h["leader"] is True, "the leader to lead")
    await hand_over(store, paths, seeded_until, datetime.now(timezone.utc))
    standby.start()  # after the leader leads, so that the roles are as named
    await wait_for_health(session, standby, lambda h: h["leader"] is False and h["store"]["up"],
                          "the standby to stand by")
    await alertmanager.ready(session)
    await prometheus.ready(session)
    return LiveStack(workdir, session, store, paths, leader, standby, alertmanager, prometheus, config, telegram,
                     closers)


async def read_health(session: aiohttp.ClientSession, process: LongrunProcess) -> dict | None:
    try:
        async with session.get(f"{process.url}/health", timeout=aiohttp.ClientTimeout(total=1)) as response:
            return await response.json()
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return None


async def wait_for_health(session: aiohttp.ClientSession, process: LongrunProcess, predicate: Callable[[dict], Any],
                          what: str, within: float = 30) -> None:
    """Before the stack exists: poll /health until ``predicate`` holds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.proc is not None and process.proc.poll() is not None:
            raise AssertionError(f"{process.name} exited while waiting for {what}:\n{process.log()[-3000:]}")
        health = await read_health(session, process)
        if health is not None and predicate(health):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not seen within {within}s:\n{process.log()[-3000:]}")


async def stop_stack(stack: LiveStack) -> None:
    await _close(stack.closers)


async def _close(closers: list[Callable[[], Any]]) -> None:
    for close in reversed(closers):
        result = close()
        if asyncio.iscoroutine(result):
            await result


# ------------------------------------------------------------------ fixtures


@pytest.fixture
async def stack(request, tmp_path, fake_telegram):
    """A fresh stack for one test, delivering to the ``fake_telegram`` fixture."""
    binaries = binaries_or_skip(request.config)
    live = await start_stack(tmp_path, binaries, fake_telegram)
    try:
        yield live
    finally:
        await stop_stack(live)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_stack(request, tmp_path_factory):
    """One stack for every test of a module, settled; probes run every 2 s so their ratios have data."""
    binaries = binaries_or_skip(request.config)
    telegram = FakeTelegram()
    await telegram.start()
    try:
        live = await start_stack(tmp_path_factory.mktemp("stack"), binaries, telegram, {
            "LONGRUN_OUTBOUND_INTERVAL": "2s", "LONGRUN_QUEUE_INTERVAL": "2s"})
        try:
            await live.settled()
            yield live
        finally:
            await stop_stack(live)
    finally:
        await telegram.close()
