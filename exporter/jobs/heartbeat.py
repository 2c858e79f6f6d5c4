"""The heartbeat job: one document per slot, written once, by the leader only.

The first heartbeat is written at start (for the current slot), then one at
each slot start. A slot that already has a document (a restart inside the
slot, or a standby that just took over) is left alone, and a missed slot is
never backfilled: a gap in the data is the truth about a gap in service.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import psutil

from exporter.clock import Clock
from exporter.domain.lease_heartbeats import KEEP
from exporter.domain.documents import Identity, heartbeat_document
from exporter.domain.slots import bucket_id, next_slot, slot_start
from exporter.jobs.leadership import Leadership
from exporter.jobs.ledger import DayLedger
from exporter.services.listeners import tell
from exporter.store import AlreadyExists, DocumentStore, Paths
from exporter.target import TargetClient, TargetStatus

log = logging.getLogger("longrun.heartbeat")


@dataclass
class HeartbeatState:
    """What the last heartbeat saw; the metrics read this, never the store."""

    written_total: int = 0
    last_written: dict[str, Any] | None = None
    last_target: TargetStatus | None = None
    skipped_existing: int = 0
    skipped_not_leader: int = 0
    # (time, the target's reconnectsTotal) for the last hour: the monitor's reconnect-loop check.
    reconnect_readings: deque[tuple[datetime, int]] = field(default_factory=lambda: deque(maxlen=4096))
    # The last few heartbeats written, oldest first: the leader carries them on its lease renewals.
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=KEEP))
    # Called with each heartbeat this instance writes, at once (the metrics and the page take it in memory).
    listeners: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)

    def reconnect_totals_since(self, since: datetime) -> list[int]:
        return [total for at, total in self.reconnect_readings if at >= since]


class HeartbeatJob:
    name = "heartbeat"
    leader_only = True

    def __init__(
        self,
        store: DocumentStore,
        paths: Paths,
        clock: Clock,
        leadership: Leadership,
        identity: Identity,
        interval: float,
        target: TargetClient | None = None,
        started_at: datetime | None = None,
    ) -> None:
        self.store, self.paths, self.clock = store, paths, clock
        self.leadership, self.identity, self.interval = leadership, identity, interval
        self.target = target
        self.started_at = started_at or clock.now()
        self.state = HeartbeatState()
        self.ledger = DayLedger(interval)
        self._process = psutil.Process(os.getpid())

    def first_due(self, now: datetime) -> datetime:
        return now

    def next_due(self, now: datetime) -> datetime:
        return next_slot(now, self.interval)

    async def run(self, now: datetime) -> None:
        slot = slot_start(now, self.interval)
        target = await self.target.status() if self.target else None
        self.state.last_target = target
        written_at = self.clock.now()
        if target is not None and target.reconnects_total is not None:
            self.state.reconnect_readings.append((written_at, target.reconnects_total))
        if slot_start(written_at, self.interval) != slot:
            log.warning("heartbeat for %s came too late (target answered after the slot ended); skipped", bucket_id(slot))
            return
        if not self.leadership.holds(written_at):
            self.state.skipped_not_leader += 1
            log.warning("heartbeat %s not written: this instance no longer holds the lease", bucket_id(slot))
            return
        doc = heartbeat_document(
            slot=slot,
            written_at=written_at,
            identity=self.identity,
            generation=self.leadership.generation,
            interval=self.interval,
            uptime_sec=(written_at - self.started_at).total_seconds(),
            memory_rss=self._process.memory_info().rss,
            target=target,
        )
        try:
            await self.store.create(self.paths.heartbeat(doc["bucketId"]), doc)
        except AlreadyExists:
            self.state.skipped_existing += 1
            self.ledger.spoil("a slot was written by another run", slot)
            log.info("heartbeat %s already written (restart or takeover inside the slot); not writing it twice", doc["bucketId"])
            return
        except Exception:
            self.ledger.spoil("a heartbeat write failed: its outcome is unknown", slot)
            raise
        self.ledger.record(doc)
        self.state.written_total += 1
        self.state.last_written = doc
        self.state.recent.append(doc)
        tell(self.state.listeners, doc)
        connected = "n/a" if doc["connectedCount"] is None else doc["connectedCount"]
        log.info("💓 Heartbeat: %s (uptime=%ds, connected=%s, drift=%.3fs, generation=%s)",
                 doc["bucketId"], doc["uptimeSec"], connected, doc["driftSec"], doc["generation"])
