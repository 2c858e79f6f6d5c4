"""Retention: old documents deleted in bounded batches, per the config document.

Defaults (``retention`` in config/current): heartbeats 90 d, probes 180 d,
incidents 365 d, rollups kept, outbox messages sent, failed or merged into a digest 7 d. A value of null keeps
that collection forever. Each run deletes at most ``max_per_collection``
documents per collection so one run never monopolises the store; whatever
remains goes on the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from exporter.clock import Clock
from exporter.services.config import ConfigSource
from exporter.store import DocumentStore, Filter, Paths, Write

log = logging.getLogger("longrun.retention")


@dataclass(frozen=True)
class Rule:
    collection: str  # attribute of Paths
    days_key: str  # key under config.retention
    field: str  # timestamp field the age is measured on
    only_status: tuple[str, ...] = ()  # e.g. never delete an incident that is still open


RULES = (
    Rule("heartbeats", "heartbeatsDays", "ts"),
    Rule("probes", "probesDays", "ts"),
    Rule("incidents", "incidentsDays", "tsEnd", ("resolved",)),  # by when it ended: a long one stays its full term
    Rule("rollups", "rollupsDays", "createdAt"),
    Rule("outbox", "outboxDays", "createdAt", ("sent", "failed", "merged")),  # merged: into a digest
)


class RetentionService:
    def __init__(self, store: DocumentStore, paths: Paths, clock: Clock, config: ConfigSource,
                 *, batch_size: int = 200, max_per_collection: int = 10_000) -> None:
        self.store, self.paths, self.clock, self.config = store, paths, clock, config
        self.batch_size, self.max_per_collection = batch_size, max_per_collection
        self.last_deleted: dict[str, int] = {}

    def plan(self, now: datetime) -> list[tuple[Rule, datetime]]:
        retention = self.config.current.get("retention", {})
        plan = []
        for rule in RULES:
            days = retention.get(rule.days_key)
            if days:
                plan.append((rule, now - timedelta(days=days)))
        return plan

    async def count_due(self) -> dict[str, int]:
        """What a run would delete now (for ``longrun cleanup --dry-run``)."""
        await self.config.load()
        counts = {}
        for rule, cutoff in self.plan(self.clock.now()):
            counts[rule.collection] = await self.store.count(getattr(self.paths, rule.collection), where=self._where(rule, cutoff))
        return counts

    async def run(self) -> dict[str, int]:
        await self.config.load()
        deleted: dict[str, int] = {}
        for rule, cutoff in self.plan(self.clock.now()):
            deleted[rule.collection] = await self._delete_old(rule, cutoff)
        self.last_deleted = deleted
        log.info("🧹 Retention: deleted %s", ", ".join(f"{n} {c}" for c, n in deleted.items()) or "nothing (all kept)")
        return deleted

    async def _delete_old(self, rule: Rule, cutoff: datetime) -> int:
        collection = getattr(self.paths, rule.collection)
        where = self._where(rule, cutoff)
        total = 0
        while total < self.max_per_collection:
            limit = min(self.batch_size, self.max_per_collection - total)
            page = await self.store.query(collection, where=where, limit=limit)
            if not page:
                break
            await self.store.batch([Write("delete", doc.path) for doc in page])
            total += len(page)
        if total >= self.max_per_collection:
            log.warning("retention: %s has more than %d documents past %s; the rest go on the next run", rule.collection, total, cutoff.date())
        return total

    @staticmethod
    def _where(rule: Rule, cutoff: datetime) -> list[Filter]:
        where = [Filter(rule.field, "<", cutoff)]
        if rule.only_status:
            where.append(Filter("status", "in", list(rule.only_status)))
        return where
