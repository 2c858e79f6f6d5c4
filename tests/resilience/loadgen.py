"""Load on a real ``longrun run`` process: an Alertmanager webhook flood, and a phase of it under watch.

Shared by ``tests/resilience/test_load.py`` (behaviour) and ``benchmarks/load.py``
(figures); the scrapers and the RSS sampler are in ``tests/resilience/loadwatch.py``.

The flood sends what Alertmanager sends: one POST per group notification, each
alert carrying its fingerprint and startsAt. Groups live as Alertmanager's do:
a new group fires, is repeated (repeat_interval, retries: the dedup path),
sometimes half resolves, then resolves; a few new firings are sent twice at once
(the second Alertmanager of an HA pair). Two kinds of group:

  each     1-3 alerts with distinct labels of an unknown alert name: one incident per alert
  shared   2-8 alerts naming one problem (``incident_type``/``incident_subject``): one incident

Notifications of one group go one at a time, as Alertmanager sends them. The
``Ledger`` remembers every alert the server acknowledged (2xx) and what state it
was in, and ``audit`` reads the store back to find each one on exactly one
incident, resolved when its group was.

    async with client_session() as session:
        scrapers = Scrapers(session, url, count=50, interval=1.0)
        idle = await run_phase(10, scrapers, pid)                      # the baseline: scrapers alone
        flood = Flood(session, url, token, rate=20)                    # rate=None: `senders` back to back
        flooded = await run_phase(60, scrapers, pid, flood)            # flooded.rss, flooded.scrapes
    audit = await flood.ledger.audit(store)                            # audit.lost, audit.duplicated, ...
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp

from exporter.store import DocumentStore
from exporter.store.paths import Paths
from tests.resilience.loadwatch import Latencies, RssSampler, RssSeries, Scrapers, Scrapes

WEBHOOK = "/api/alertmanager"
ALERT_NAME = "LongrunLoadAlert"
SHARED_TYPE = "load_test"
LOAD_TYPES = ("alert", SHARED_TYPE)  # the incident types this load opens (fallback type, shared groups)


def rfc3339(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- the groups and what was acknowledged


@dataclass
class Group:
    """One Alertmanager group and the episode of each of its alerts (fingerprint, startsAt)."""

    key: str
    kind: str  # "each" | "shared"
    size: int
    starts_at: datetime
    resolved: int = 0  # how many of its alerts (the first ones) the server knows resolved
    ends_at: datetime | None = None
    acknowledged: bool = False  # the server answered 2xx to a firing of it

    def fingerprint(self, i: int) -> str:
        return f"{self.key}-{i:02d}"

    def labels(self, i: int) -> dict[str, str]:
        if self.kind == "shared":
            return {"alertname": ALERT_NAME, "severity": "P3", "incident_type": SHARED_TYPE,
                    "incident_subject": self.key, "instance": f"node-{i}"}
        return {"alertname": ALERT_NAME, "severity": "P3", "group": self.key, "member": str(i)}

    def payload(self, resolved: int) -> dict[str, Any]:
        """The notification with the first ``resolved`` alerts resolved, the others firing."""
        alerts = []
        for i in range(self.size):
            done = i < resolved
            alerts.append({
                "status": "resolved" if done else "firing", "labels": self.labels(i),
                "annotations": {"summary": f"load alert {i} of {self.key}", "description": "x" * 200,
                                "runbook_url": "https://runbooks.example.com/load"},
                "startsAt": rfc3339(self.starts_at),
                "endsAt": rfc3339(self.ends_at) if done and self.ends_at else "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph", "fingerprint": self.fingerprint(i)})
        group_labels = {"group": self.key}
        return {"version": "4", "groupKey": f'{{}}:{{group="{self.key}"}}', "truncatedAlerts": 0,
                "status": "resolved" if resolved == self.size else "firing", "receiver": "longrun",
                "groupLabels": group_labels, "commonLabels": {"alertname": ALERT_NAME},
                "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": alerts}

    @property
    def incidents(self) -> int:
        return 1 if self.kind == "shared" else self.size


@dataclass
class Audit:
    """What the store holds of the acknowledged alerts."""

    alerts: int = 0                 # alerts acknowledged at least once (firing or resolved)
    expected_incidents: int = 0
    stored_incidents: int = 0       # incidents of the load's types in the store
    lost: list[str] = field(default_factory=list)        # fingerprints on no incident
    duplicated: list[str] = field(default_factory=list)  # fingerprints on more than one incident
    split: list[str] = field(default_factory=list)       # shared groups spread over several incidents
    not_resolved: list[str] = field(default_factory=list)  # resolved groups whose incident is still active
    not_open: list[str] = field(default_factory=list)      # firing groups whose incident is closed
    resolved_incidents: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.split or self.not_resolved or self.not_open) \
            and self.stored_incidents == self.expected_incidents

    def problems(self) -> str:
        return (f"lost {self.lost[:5]} ({len(self.lost)}), duplicated {self.duplicated[:5]} ({len(self.duplicated)}), "
                f"split {self.split[:5]}, not resolved {self.not_resolved[:5]} ({len(self.not_resolved)}), "
                f"not open {self.not_open[:5]} ({len(self.not_open)}), "
                f"incidents stored {self.stored_incidents} / expected {self.expected_incidents}")


class Ledger:
    """Every group of the flood, and which of its notifications the server acknowledged."""

    def __init__(self) -> None:
        self.groups: list[Group] = []

    def acknowledged(self) -> list[Group]:
        return [g for g in self.groups if g.acknowledged]

    @property
    def alerts(self) -> int:
        return sum(g.size for g in self.acknowledged())

    async def audit(self, store: DocumentStore, root: str = "wa_metrics/longrun") -> Audit:
        """Read every incident back and find each acknowledged alert on exactly one of them."""
        where: dict[str, list[dict[str, Any]]] = {}  # fingerprint -> incidents holding it
        stored = 0
        async for doc in store.stream(Paths(root).incidents):
            if doc.data.get("type") not in LOAD_TYPES:
                continue
            stored += 1
            for entry in (doc.data.get("alerts") or {}).values():
                where.setdefault(entry.get("fingerprint"), []).append(doc.data)
        groups = self.acknowledged()
        audit = Audit(alerts=sum(g.size for g in groups), expected_incidents=sum(g.incidents for g in groups),
                      stored_incidents=stored)
        for group in groups:
            holders: dict[str, dict[str, Any]] = {}
            for i in range(group.size):
                found = where.get(group.fingerprint(i), [])
                if not found:
                    audit.lost.append(group.fingerprint(i))
                elif len(found) > 1:
                    audit.duplicated.append(group.fingerprint(i))
                holders.update({d["incidentId"]: d for d in found})
            if group.kind == "shared" and len(holders) > 1:
                audit.split.append(group.key)
            for incident in holders.values():
                closed = incident.get("status") == "resolved"
                audit.resolved_incidents += closed
                if group.resolved == group.size and not closed:
                    audit.not_resolved.append(incident["incidentId"])
                elif group.resolved < group.size and closed:
                    audit.not_open.append(incident["incidentId"])
        return audit


# ---------------------------------------------------------------- the flood


@dataclass(frozen=True)
class Mix:
    """What an idle group's next notification is, and how many groups fire at once."""

    new: float = 0.35
    repeat: float = 0.40
    resolve: float = 0.25
    ha_duplicate: float = 0.05  # of new firings: sent twice at once
    shared: float = 0.4         # of new groups
    open_groups: int = 200      # at most this many groups firing: the flood stays a steady state


class Flood:
    """Alertmanager notifications at ``rate`` per second (None: ``senders`` back to back)."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str, *, rate: float | None = 20.0,
                 senders: int = 8, mix: Mix = Mix(), seed: int = 8, prefix: str = "load",
                 max_in_flight: int = 64) -> None:
        self.session, self.url, self.rate, self.senders, self.mix = session, url + WEBHOOK, rate, senders, mix
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.random = random.Random(seed)
        self.prefix = prefix
        self.max_in_flight = max_in_flight
        self.ledger = Ledger()
        self.latencies = Latencies()
        self.kinds: Counter = Counter()   # notifications sent: new / repeat / partial / resolve / ha_duplicate
        self.alerts_sent = 0              # alerts in acknowledged notifications, repeats included
        self.behind = 0                   # ticks skipped because max_in_flight requests were outstanding
        self.elapsed = 0.0
        self._idle: list[Group] = []      # firing groups with no notification in flight
        self._numbers = itertools.count()
        self._in_flight = 0

    @property
    def requests(self) -> int:
        return self.latencies.count

    async def run(self, stop: asyncio.Event) -> None:
        started = time.perf_counter()
        if self.rate is None:
            await asyncio.gather(*(self._sender(stop) for _ in range(self.senders)))
        else:
            await self._paced(stop)
        self.elapsed = time.perf_counter() - started

    async def _sender(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._next()

    async def _paced(self, stop: asyncio.Event) -> None:
        pending: set[asyncio.Task] = set()
        period, due = 1.0 / self.rate, time.perf_counter()
        while not stop.is_set():
            if self._in_flight >= self.max_in_flight:
                self.behind += 1
            else:
                task = asyncio.create_task(self._next())
                pending.add(task)
                task.add_done_callback(pending.discard)
            due += period
            delay = due - time.perf_counter()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except asyncio.TimeoutError:
                    pass
            else:
                await asyncio.sleep(0)
        await asyncio.gather(*pending)

    def _pick(self) -> tuple[str, Group]:
        """The next notification: a new group, or a repeat, partial or full resolution of an idle one."""
        mix = self.mix
        roll = self.random.random() * (mix.new + mix.repeat + mix.resolve)
        if not self._idle or (roll < mix.new and len(self._idle) < mix.open_groups):
            kind = "shared" if self.random.random() < mix.shared else "each"
            size = self.random.randint(2, 8) if kind == "shared" else self.random.randint(1, 3)
            starts = datetime.now(timezone.utc) - timedelta(seconds=self.random.uniform(1, 300))
            group = Group(f"{self.prefix}-{next(self._numbers):06d}", kind, size, starts)
            self.ledger.groups.append(group)
            return "new", group
        group = self._idle.pop(self.random.randrange(len(self._idle)))
        if roll < mix.new + mix.repeat or not group.acknowledged:
            return "repeat", group
        return ("partial" if group.kind == "shared" and group.resolved == 0 else "resolve"), group

    async def _next(self) -> None:
        action, group = self._pick()
        resolved = group.resolved
        if action == "partial":
            resolved = group.size // 2
        elif action == "resolve":
            resolved = group.size
        if resolved > group.resolved:
            group.ends_at = group.ends_at or datetime.now(timezone.utc)
        body = json.dumps(group.payload(resolved)).encode()
        self._in_flight += 1
        try:
            if action == "new" and self.random.random() < self.mix.ha_duplicate:
                self.kinds["ha_duplicate"] += 1
                answers = await asyncio.gather(self._post(body), self._post(body))
                ok = any(answers)
            else:
                ok = await self._post(body)
        finally:
            self._in_flight -= 1
        self.kinds[action] += 1
        if ok:
            self.alerts_sent += group.size
            group.acknowledged = True
            group.resolved = resolved
        if group.resolved < group.size:
            self._idle.append(group)  # a failed resolution is sent again later, as Alertmanager retries

    async def _post(self, body: bytes) -> bool:
        started = time.perf_counter()
        try:
            async with self.session.post(self.url, data=body, headers=self.headers) as response:
                await response.read()
                self.latencies.add(response.status, time.perf_counter() - started)
                return 200 <= response.status < 300
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self.latencies.add(type(exc).__name__, None)
            return False


# ---------------------------------------------------------------- one phase


@dataclass
class Phase:
    seconds: float
    scrapes: Scrapes
    rss: RssSeries
    flood: Flood | None = None


async def run_phase(seconds: float, scrapers: Scrapers, pid: int, flood: Flood | None = None, *,
                    min_requests: int = 0, max_seconds: float | None = None) -> Phase:
    """Scrapers (and the flood, when given) for ``seconds``, longer until the flood has sent ``min_requests``
    (but no longer than ``max_seconds``); RSS sampled every second throughout."""
    stop = asyncio.Event()
    scrapers.reset()
    sampler = RssSampler(pid)
    workers = [asyncio.create_task(scrapers.run(stop)), asyncio.create_task(sampler.run(stop))]
    if flood is not None:
        workers.append(asyncio.create_task(flood.run(stop)))
    started = time.perf_counter()
    try:
        await asyncio.sleep(seconds)
        cap = started + (max_seconds or seconds)
        while flood is not None and flood.requests < min_requests and time.perf_counter() < cap:
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*workers)
    return Phase(time.perf_counter() - started, scrapers.reset(), sampler.series, flood)


async def read_back(flood: Flood, open_store, process) -> tuple[Audit, bool]:
    """After a flood: the store's incidents audited against what was acknowledged, and whether the
    process is still alive and answering /health."""
    store = open_store()
    try:
        audit = await flood.ledger.audit(store)
    finally:
        await store.close()
    alive = process.proc.poll() is None and await asyncio.to_thread(process.health) is not None
    return audit, alive


def client_session(connections: int = 128, timeout: float = 30.0) -> aiohttp.ClientSession:
    """One session for the scrapers and the flood: enough connections that neither waits for the other."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections),
                                 timeout=aiohttp.ClientTimeout(total=timeout))
