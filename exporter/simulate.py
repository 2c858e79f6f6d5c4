"""Simulated history: realistic heartbeats, probes and incidents, for demos, tests and benchmarks.

    spec = SimulationSpec(start, end, seed=1, outages=(Episode(t, 45 * 60),))
    for doc in generate(spec):          # pure and deterministic: SimDoc(collection, id, data)
        ...
    spec = with_random_events(spec, per_week=2)   # adds seeded outages, restarts, failures

``exporter.cli.simulate`` writes the documents in batches; tests recompute the
expected figures from the spec by plain arithmetic.

The model follows the real jobs (``exporter.jobs``), so the documents are the
ones a real deployment would have written:

- **heartbeats**: one per slot of ``interval`` in [start, end), built by
  ``heartbeat_document`` ``drift`` seconds (0.05-0.6 s) into the slot, while the
  process is up. A process that comes back inside a slot writes that slot at
  once (the job's first run), so an outage of whole minutes from S to E misses
  exactly the slots starting in [S, E).
- **outages**: the process is down; it restarts at the end (a new instance).
  Each gives a resolved ``missed_heartbeat`` incident (P2) from S to E, open
  when E is past the history's end.
- **target down**: heartbeats keep coming with ``targetUp`` false and no
  account counts; a ``target_down`` incident (P1) from S to E.
- **restarts**: from T on a new instance (instanceId, deploymentId,
  generation + 1) whose uptime counts from T; no slot is lost.
- **probes**: each type once per schedule slot (outbound and inbound 6 h, queue
  24 h), keyed ``probe_key(type, slot)``, at the slot start, or at the restart
  when the slot started during an outage and is still running, else missing.
  FAIL at each ``probe_failures`` (type, time) slot; queue and inbound also FAIL
  while the target is down. ``fail_streak`` consecutive FAILs of a type give a
  ``probe_fail`` incident (P3) from the first FAIL to the next PASS.

Every document is marked: commitHash ``simulated``, instance ids ``sim-...``.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Iterator, Mapping

from exporter import __version__
from exporter.domain.incidents import new_incident, resolve
from exporter.domain.documents import Identity, heartbeat_document
from exporter.domain.slots import iso, probe_key, slot_start
from exporter.domain.vocabulary import notified_map
from exporter.target import TargetStatus

DEFAULT_PROBE_HOURS = {"outbound": 6.0, "queue": 24.0, "inbound": 6.0}
COMMIT = "simulated"
_INITIAL_UPTIME = 3600.0  # the first instance has been up an hour when the history starts


@dataclass(frozen=True)
class Episode:
    """Something that lasts: ``start`` for ``seconds``."""

    start: datetime
    seconds: float

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    def covers(self, when: datetime) -> bool:
        return self.start <= when < self.end


@dataclass(frozen=True)
class SimulationSpec:
    start: datetime
    end: datetime
    interval: float = 60.0
    seed: int = 0
    outages: tuple[Episode, ...] = ()
    target_down: tuple[Episode, ...] = ()
    probe_failures: tuple[tuple[str, datetime], ...] = ()
    restarts: tuple[datetime, ...] = ()
    probe_hours: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PROBE_HOURS))
    expected_accounts: int = 3
    fail_streak: int = 2

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        if self.end <= self.start or self.interval <= 0:
            raise ValueError("need start < end and a positive interval")


@dataclass(frozen=True)
class SimDoc:
    collection: str  # "heartbeats", "probes" or "incidents": a Paths attribute
    id: str
    data: dict[str, Any]


# ---------------------------------------------------------------- the process's life


class _Life:
    """Who is running at any moment: instance number, since when, and whether at all."""

    def __init__(self, spec: SimulationSpec) -> None:
        self.spec = spec
        starts = {t for t in spec.restarts if spec.start < t < spec.end}
        starts |= {o.end for o in spec.outages if spec.start < o.end < spec.end}
        self.starts = sorted(starts)

    def up(self, when: datetime) -> bool:
        return not any(o.covers(when) for o in self.spec.outages)

    def target_up(self, when: datetime) -> bool:
        return not any(e.covers(when) for e in self.spec.target_down)

    def instance(self, when: datetime) -> tuple[int, datetime | None]:
        """(number of restarts so far, time of the last one) at ``when``."""
        number = 0
        since = None
        for start in self.starts:
            if start > when:
                break
            number, since = number + 1, start
        return number, since

    def comeback_within(self, slot: datetime, seconds: float) -> datetime | None:
        """A restart inside (slot, slot + seconds): when a job's first run catches the slot."""
        end = slot + timedelta(seconds=seconds)
        return next((t for t in self.starts if slot < t < end and self.up(t)), None)

    def identity(self, number: int) -> Identity:
        seed = self.spec.seed
        return Identity(f"sim-{seed}-{number}", f"sim-deploy-{seed}-{number}", COMMIT, __version__)


def _write_time(life: _Life, slot: datetime, seconds: float, delay: float) -> datetime | None:
    """When the job writes the slot: ``delay`` into it if up, else at a restart inside it."""
    on_time = slot + timedelta(seconds=delay)
    if life.up(on_time):
        return on_time
    return life.comeback_within(slot, seconds)


# ---------------------------------------------------------------- heartbeats


def _heartbeats(spec: SimulationSpec, life: _Life, rng: random.Random) -> Iterator[tuple[datetime, SimDoc]]:
    step = timedelta(seconds=spec.interval)
    slot = slot_start(spec.start, spec.interval)
    slot = slot if slot >= spec.start else slot + step
    reconnects = 0
    while slot < spec.end:
        drift = rng.uniform(0.05, min(0.6, spec.interval / 2))
        written = _write_time(life, slot, spec.interval, drift)
        if written is not None:
            number, since = life.instance(written)
            uptime = (written - since).total_seconds() if since else _INITIAL_UPTIME + (written - spec.start).total_seconds()
            target = _target(spec, life.target_up(written), rng, reconnects)
            reconnects = target.reconnects_total or reconnects
            doc = heartbeat_document(
                slot=slot, written_at=written, identity=life.identity(number), generation=number + 1,
                interval=spec.interval, uptime_sec=uptime, memory_rss=rng.randint(80, 140) * 2**20, target=target,
            )
            yield written, SimDoc("heartbeats", doc["bucketId"], doc)
        slot += step


def _target(spec: SimulationSpec, up: bool, rng: random.Random, reconnects: int) -> TargetStatus:
    if not up:
        return TargetStatus(up=False, error="target did not answer: connection refused (simulated)")
    if rng.random() < 0.001:
        reconnects += 1
    return TargetStatus(
        up=True, connected_count=spec.expected_accounts, reconnecting_count=0, needs_qr_count=0,
        queue_depth=rng.randint(0, 5), reconnects_total=reconnects, latency_ms=rng.uniform(2, 40),
    )


# ---------------------------------------------------------------- probes


def _probe_slots(spec: SimulationSpec, kind: str) -> Iterator[datetime]:
    seconds = spec.probe_hours[kind] * 3600
    slot = slot_start(spec.start, seconds)
    slot = slot if slot >= spec.start else slot + timedelta(seconds=seconds)
    while slot < spec.end:
        yield slot
        slot += timedelta(seconds=seconds)


def _probe_outcome(spec: SimulationSpec, life: _Life, kind: str, slot: datetime, ran: datetime) -> str | None:
    """None for PASS, else the error of the FAIL."""
    seconds = spec.probe_hours[kind] * 3600
    for failing, when in spec.probe_failures:
        if failing == kind and slot_start(when, seconds) == slot:
            return "simulated failure"
    if kind in ("queue", "inbound") and not life.target_up(ran):
        return "target did not answer: connection refused (simulated)"
    return None


def _probe_doc(spec: SimulationSpec, life: _Life, kind: str, slot: datetime, ran: datetime, rng: random.Random) -> dict[str, Any]:
    """The shape ``ProbeRunner.run`` stores for a scheduled run."""
    error = _probe_outcome(spec, life, kind, slot, ran)
    number, _ = life.instance(ran)
    identity = life.identity(number)
    latency = rng.uniform(20, 400) if kind != "inbound" else rng.uniform(800, 4000)
    ts = ran + timedelta(milliseconds=latency)
    return {
        "probeKey": probe_key(kind, slot), "type": kind, "trigger": "schedule",
        "ts": ts, "tsIso": iso(ts), "slotStart": slot,
        "result": "FAIL" if error else "PASS", "latencyMs": None if error else round(latency, 3),
        "error": error, "details": {"simulated": True},
        "instanceId": identity.instance_id, "commitHash": identity.commit,
        "serviceVersion": identity.service_version, "generation": number + 1,
    }


def _probes(spec: SimulationSpec, life: _Life, rng: random.Random) -> list[dict[str, Any]]:
    docs = []
    for kind in sorted(spec.probe_hours):
        for slot in _probe_slots(spec, kind):
            ran = _write_time(life, slot, spec.probe_hours[kind] * 3600, rng.uniform(0.01, 0.2))
            if ran is not None and ran < spec.end:
                docs.append(_probe_doc(spec, life, kind, slot, ran, rng))
    return sorted(docs, key=lambda d: d["ts"])


# ---------------------------------------------------------------- incidents


def _incident(kind: str, subject: str, start: datetime, end: datetime | None, reason: str,
              horizon: datetime, severity: str | None = None) -> dict[str, Any]:
    doc = new_incident(kind, subject, start, severity=severity, source="simulate", reason=reason)
    doc["changes"] = ["opened"]
    if end is not None and end <= horizon:
        doc = resolve(doc, end)
        doc["changes"].append("resolved")
    # Marked delivered: a running server must never announce simulated history.
    doc["notified"] = notified_map(doc["changes"], doc["updatedAt"])
    return doc


def _episode_incidents(spec: SimulationSpec) -> Iterator[dict[str, Any]]:
    for o in spec.outages:
        yield _incident("missed_heartbeat", "heartbeat", o.start, o.end,
                        f"simulated outage of {o.seconds:g}s", spec.end)
    for e in spec.target_down:
        yield _incident("target_down", "target", e.start, e.end,
                        f"simulated target outage of {e.seconds:g}s", spec.end, severity="P1")


def _probe_incidents(spec: SimulationSpec, probes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A streak of ``fail_streak`` FAILs opens one incident, the next PASS resolves it."""
    for kind in sorted(spec.probe_hours):
        streak: list[dict[str, Any]] = []
        for doc in (d for d in probes if d["type"] == kind):
            if doc["result"] == "FAIL":
                streak.append(doc)
                continue
            if len(streak) >= spec.fail_streak:
                yield _probe_incident(spec, kind, streak, doc["ts"])
            streak = []
        if len(streak) >= spec.fail_streak:
            yield _probe_incident(spec, kind, streak, None)


def _probe_incident(spec: SimulationSpec, kind: str, streak: list[dict[str, Any]], end: datetime | None) -> dict[str, Any]:
    reason = f"{kind} probe failed {len(streak)} times in a row (threshold {spec.fail_streak})"
    return _incident("probe_fail", kind, streak[0]["ts"], end, reason, spec.end)


# ---------------------------------------------------------------- the whole history


def generate(spec: SimulationSpec) -> Iterator[SimDoc]:
    """Every document of the history: heartbeats and probes in time order, then incidents.

    Deterministic for a given spec (``seed`` included); memory holds the probes
    and incidents (a few per day), never the heartbeats.
    """
    life = _Life(spec)
    probes = _probes(spec, life, random.Random(f"{spec.seed}/probes"))
    probe_items = ((doc["ts"], SimDoc("probes", doc["probeKey"], doc)) for doc in probes)
    heartbeats = _heartbeats(spec, life, random.Random(f"{spec.seed}/heartbeats"))
    for _, doc in heapq.merge(heartbeats, probe_items, key=lambda item: item[0]):
        yield doc
    for incident in [*_episode_incidents(spec), *_probe_incidents(spec, probes)]:
        yield SimDoc("incidents", incident["incidentId"], incident)


def with_random_events(spec: SimulationSpec, per_week: float) -> SimulationSpec:
    """The spec plus ``per_week`` seeded random events a week: short outages,
    target outages, probe failures and restarts, at whole minutes."""
    rng = random.Random(f"{spec.seed}/events")
    seconds = (spec.end - spec.start).total_seconds()
    count = round(per_week * seconds / (7 * 86400))
    outages, down, fails, restarts = list(spec.outages), list(spec.target_down), list(spec.probe_failures), list(spec.restarts)
    for _ in range(count):
        at = slot_start(spec.start + timedelta(seconds=rng.uniform(0, max(0.0, seconds - 3600))), 60)
        roll = rng.random()
        long = rng.random() < 0.25  # most episodes are short, as most real ones are
        if roll < 0.4:
            outages.append(Episode(at, 60 * (rng.randint(5, 30) if long else rng.randint(1, 2))))
        elif roll < 0.6:
            down.append(Episode(at, 60 * (rng.randint(5, 40) if long else rng.randint(1, 2))))
        elif roll < 0.85:
            fails.append((rng.choice(sorted(spec.probe_hours)), at))
        else:
            restarts.append(at)
    return replace(spec, outages=tuple(sorted(outages, key=lambda e: e.start)),
                   target_down=tuple(sorted(down, key=lambda e: e.start)),
                   probe_failures=tuple(sorted(fails, key=lambda f: f[1])), restarts=tuple(sorted(restarts)))
