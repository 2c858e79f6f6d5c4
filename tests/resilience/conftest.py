"""Fixtures for the resilience tests: real processes, a watch on their /health and /metrics,
the store they share (read back after the fault), an emulator of our own to kill, and the figures.

    def test_x(spawn, process_store, fast_env, observe, figures):
        a = spawn("a", {**process_store.env, **fast_env})
        seen = observe(a)                         # samples /health and /metrics every 100 ms
        ...
        log = process_store.heartbeats()          # every heartbeat document, in slot order
        figures.record("takeover_s", 3.1, "s", case="kill -9")
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from exporter.domain.slots import parse_bucket_id
from exporter.store import DocumentStore, Order
from exporter.store.firestore import FirestoreStore
from exporter.store.sqlite import SqliteStore
from tests.fixtures.stores import MISSING_MESSAGE, FirestoreEmulator, find_emulator_jar
from tests.process.processes import LongrunProcess
from tests.resilience.figures import Figures

ROOT = "wa_metrics/longrun"
# Second-scale settings for real processes: 1 s heartbeats, a 3 s lease renewed every second.
FAST = {"LONGRUN_HEARTBEAT_INTERVAL": "1s", "LONGRUN_LEASE": "3s", "LONGRUN_RENEW": "1s", "LONGRUN_STANDBY_POLL": "500ms"}
INTERVAL = 1.0
LEASE = 3.0
POLL = 0.5

# ------------------------------------------------------------------ figures

_FIGURES = pytest.StashKey[Figures]()


def _session_figures(config: pytest.Config) -> Figures:
    if _FIGURES not in config.stash:
        config.stash[_FIGURES] = Figures.from_env(os.environ)
    return config.stash[_FIGURES]


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    """Record measured figures: ``figures.record("takeover_s", 3.1, "s", case="kill -9")``."""
    collected = _session_figures(request.config)
    collected.test = request.node.name
    return collected


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    collected = config.stash.get(_FIGURES, None)
    if collected is None or not collected.rows:
        return
    terminalreporter.section("longrun resilience figures")
    current = None
    for row, line in zip(collected.rows, collected.lines()):
        if row["test"] != current:
            current = row["test"]
            terminalreporter.write_line(current, bold=True)
        terminalreporter.write_line(f"  {line}")
    if collected.path is not None:
        terminalreporter.write_line(f"(also appended as JSON lines to {collected.path})")


@pytest.fixture
def fast_env() -> dict[str, str]:
    return dict(FAST)


# ------------------------------------------------------------------ /health predicates


def leading(health) -> bool:
    return health["leader"] is True


def standing_by(health) -> bool:
    """Up, not leading, and writing nothing."""
    return health["leader"] is False and health["store"]["up"] is True and health["lastHeartbeat"] is None


def now() -> datetime:
    return datetime.now(timezone.utc)


# ------------------------------------------------------------------ processes


@pytest.fixture
def spawn(tmp_path: Path):
    """Start real ``longrun run`` processes; any still running (or stopped) is killed at the end."""
    started: list[LongrunProcess] = []

    def start(name: str, env: dict[str, str]) -> LongrunProcess:
        process = LongrunProcess(name, env, tmp_path).start()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.proc and process.proc.poll() is None:
            process.proc.send_signal(signal.SIGCONT)  # a test that failed mid-SIGSTOP leaves it stopped
        process.stop()


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic()
    wall: datetime
    health: dict[str, Any] | None
    metrics: dict[str, float]

    @property
    def answered(self) -> bool:
        return self.health is not None

    @property
    def leader(self) -> bool | None:
        return None if self.health is None else self.health["leader"]

    @property
    def store_up(self) -> bool | None:
        return None if self.health is None else self.health["store"]["up"]

    @property
    def store_up_metric(self) -> float | None:
        return self.metrics.get("longrun_store_up")


def scrape(url: str) -> dict[str, float]:
    """The unlabelled samples of ``GET /metrics`` (``longrun_store_up`` and the like)."""
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=1) as response:
            text = response.read().decode()
    except (OSError, ValueError):
        return {}
    values = {}
    for line in text.splitlines():
        if line.startswith("longrun_") and "{" not in line:
            name, _, value = line.partition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
    return values


class Timeline:
    """Samples one process's /health and /metrics every ``every`` seconds on a thread."""

    def __init__(self, process: LongrunProcess, every: float = 0.1) -> None:
        self.process, self.every = process, every
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"observe-{process.name}", daemon=True)

    def start(self) -> "Timeline":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            at, wall = time.monotonic(), datetime.now(timezone.utc)
            sample = Sample(at, wall, self.process.health(), scrape(self.process.url))
            with self._lock:
                self.samples.append(sample)

    def between(self, start: float, end: float | None = None) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if s.at >= start and (end is None or s.at <= end)]

    def first(self, predicate: Callable[[Sample], bool], after: float = 0.0) -> Sample | None:
        return next((s for s in self.between(after) if s.answered and predicate(s)), None)

    def wait(self, predicate: Callable[[Sample], bool], after: float, timeout: float, what: str) -> Sample:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.first(predicate, after)
            if found is not None:
                return found
            if self.process.proc and self.process.proc.poll() is not None:
                raise AssertionError(f"{self.process.name} exited ({self.process.proc.returncode}) waiting for {what}:\n{self.process.log()[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"{self.process.name}: {what} not seen within {timeout}s:\n{self.process.log()[-3000:]}")


@pytest.fixture
def observe():
    """``observe(process)``: a started Timeline of the process, stopped at the end of the test."""
    timelines: list[Timeline] = []

    def start(process: LongrunProcess, every: float = 0.1) -> Timeline:
        timeline = Timeline(process, every).start()
        timelines.append(timeline)
        return timeline

    yield start
    for timeline in timelines:
        timeline.stop()


# ------------------------------------------------------------------ the store, read back


@dataclass(frozen=True)
class Heartbeat:
    slot: datetime
    ts: datetime
    instance: str
    generation: int
    bucket_id: str


@dataclass
class HeartbeatLog:
    """The stored heartbeat documents in slot order, with the checks every fault test makes."""

    beats: list[Heartbeat] = field(default_factory=list)

    def by(self, instance: str) -> list[Heartbeat]:
        return [b for b in self.beats if b.instance == instance]

    def instances(self) -> list[str]:
        return list(dict.fromkeys(b.instance for b in self.beats))

    def after(self, when: datetime) -> list[Heartbeat]:
        return [b for b in self.beats if b.slot >= when]

    def assert_one_writer_per_slot(self, interval: float = INTERVAL) -> None:
        """Each slot once, written within its own slot, and fencing tokens never going back in slot order."""
        ids = [b.bucket_id for b in self.beats]
        assert len(ids) == len(set(ids)), f"a slot written twice: {sorted(i for i in ids if ids.count(i) > 1)}"
        for beat in self.beats:
            assert beat.slot == parse_bucket_id(beat.bucket_id)
            assert beat.slot <= beat.ts < beat.slot + timedelta(seconds=interval), f"{beat} written outside its slot"
        for earlier, later in zip(self.beats, self.beats[1:]):
            assert later.generation >= earlier.generation, f"generation went back: {earlier} then {later}"

    def missing_slots(self, start: datetime, end: datetime, interval: float = INTERVAL) -> list[datetime]:
        """Slots in [start, end) with no heartbeat."""
        have = {b.slot for b in self.beats}
        out, slot = [], start
        while slot < end:
            if slot not in have:
                out.append(slot)
            slot += timedelta(seconds=interval)
        return out


async def read_heartbeats(store: DocumentStore, root: str = ROOT) -> HeartbeatLog:
    beats = []
    async for doc in store.stream(f"{root}/heartbeats", order_by=[Order("ts")]):
        data = doc.data
        beats.append(Heartbeat(parse_bucket_id(doc.id), data["ts"], data["instanceId"], data["generation"], data["bucketId"]))
    return HeartbeatLog(sorted(beats, key=lambda b: b.slot))


@dataclass
class StoreUnderTest:
    """The store the processes share: its settings as environment, and a way to read it back."""

    kind: str
    env: dict[str, str]
    opener: Callable[[], DocumentStore]

    def heartbeats(self) -> HeartbeatLog:
        async def read() -> HeartbeatLog:
            store = self.opener()
            try:
                return await read_heartbeats(store)
            finally:
                await store.close()

        return asyncio.run(read())


def sqlite_store(path: Path) -> StoreUnderTest:
    return StoreUnderTest("sqlite", {"LONGRUN_STORE": f"sqlite:///{path}"}, lambda: SqliteStore(path))


# Each Firestore call of the processes gives up after this (production: 10 s), so outages show sooner.
FIRESTORE_CALL_BUDGET = 3.0


def firestore_store(emulator: FirestoreEmulator) -> StoreUnderTest:
    project = emulator.new_project()
    env = {"LONGRUN_STORE": f"firestore://{project}", "FIRESTORE_EMULATOR_HOST": emulator.address,
           "LONGRUN_STORE_TIMEOUT": f"{FIRESTORE_CALL_BUDGET:g}s"}
    return StoreUnderTest("firestore", env, lambda: FirestoreStore.from_settings(emulator.settings(project)))


@pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.firestore)])
def process_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreUnderTest:
    """A fresh SQLite file, or a fresh project on the session's Firestore emulator (never stopped here)."""
    if request.param == "sqlite":
        return sqlite_store(tmp_path / "longrun.db")
    emulator = request.getfixturevalue("firestore_emulator")
    emulator.start()  # in case an earlier test stopped it
    return firestore_store(emulator)


@pytest.fixture(scope="module")
def own_emulator(tmp_path_factory: pytest.TempPathFactory):
    """A Firestore emulator for this module alone, so killing it disturbs no other test."""
    jar = find_emulator_jar()
    if jar is None:
        pytest.skip(MISSING_MESSAGE)
    emulator = FirestoreEmulator(jar, tmp_path_factory.mktemp("outage-emulator") / "emulator.log")
    emulator.start()
    yield emulator
    emulator.stop()
