"""The alert monitor: every hour (by default), check each condition and open or resolve incidents.

Thresholds come from the config document, re-read at every run. Each check
ends in a ``Decision`` (``exporter.domain.monitor_checks``): open (or update) the
incident of its (type, subject), resolve it, or hold when the check cannot
tell (no target configured, store unreachable), so nothing is resolved blindly.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

from exporter.domain import monitor_checks as rules
from exporter.domain.heartbeats import HeartbeatAccumulator, HeartbeatResult
from exporter.domain.maintenance import Spans
from exporter.domain.maintenance_heartbeats import OutsideWindows
from exporter.domain.slots import next_slot, slot_start, slots_between
from exporter.jobs.heartbeat import HeartbeatJob
from exporter.services.config import ConfigSource
from exporter.services.incidents import IncidentService
from exporter.domain.vocabulary import PROBE_TYPES
from exporter.services.probes import ProbeRunner
from exporter.services.rollups import RollupService
from exporter.store import DocumentStore, Filter, Order, Paths

log = logging.getLogger("longrun.monitor")

WINDOW = timedelta(hours=1)
MAX_WINDOW = timedelta(days=1)


def _parse(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def reconnects_in(totals: list[int]) -> int | None:
    """Reconnects counted by the target between consecutive heartbeats; a drop is a counter reset."""
    if len(totals) < 2:
        return None
    return sum(later - earlier if later >= earlier else later for earlier, later in zip(totals, totals[1:]))


class MonitorJob:
    name = "monitor"
    leader_only = True

    def __init__(
        self, store: DocumentStore, paths: Paths, config: ConfigSource, incidents: IncidentService,
        heartbeat: HeartbeatJob, probes: ProbeRunner, rollups: RollupService, interval: float,
        maintenance: Callable[[datetime, datetime], Awaitable[Spans]] | None = None,
    ) -> None:
        self.store, self.paths, self.config = store, paths, config
        # The merged maintenance windows touching a span (MaintenanceService.spans): their slots are not expected.
        self.maintenance = maintenance
        self.incidents, self.heartbeat, self.probes, self.rollups = incidents, heartbeat, probes, rollups
        self.interval = interval
        self.last_decisions: list[rules.Decision] = []
        self._probe_decisions: dict[str, tuple[tuple, rules.Decision]] = {}
        self._checked_until: datetime | None = None
        self._first_slot: datetime | None = None

    def first_due(self, now: datetime) -> datetime:
        # At once on start or takeover: the hour a dead leader never checked is checked now.
        return now

    def next_due(self, now: datetime) -> datetime:
        return next_slot(now, self.interval)

    async def run(self, now: datetime) -> None:
        config = await self.config.load()
        thresholds = config["alertThresholds"]
        decisions = [*await self._heartbeats(now, thresholds)]
        for probe_type in PROBE_TYPES:
            decisions.append(await self._probe(probe_type, thresholds))
        decisions.append(self._accounts(config))
        decisions.append(self._rollup())
        for decision in decisions:
            await self.apply(decision)
        self.last_decisions = decisions
        await self.store.set(self.paths.state, {"monitorCheckedUntil": now}, merge=True)
        self._checked_until = now

    async def _window(self, now: datetime) -> tuple[datetime, datetime] | None:
        """[start, end) of whole slots to check: ending where the current slot starts (its
        heartbeat may still be on its way), from where the last check (by any leader) ended,
        at most a day back and at least an hour; never before the first heartbeat ever.
        None before any heartbeat: a fresh deployment has nothing to miss yet."""
        interval = self.heartbeat.interval
        if self._checked_until is None:
            state = await self.store.get(self.paths.state)
            checked = state.get("monitorCheckedUntil") if state else None
            self._checked_until = checked if isinstance(checked, datetime) else None
        if self._first_slot is None:
            first = await self.store.query(self.paths.heartbeats, order_by=[Order("ts")], limit=1)
            if not first:
                return None
            self._first_slot = slot_start(first[0].get("ts"), interval)
        end = slot_start(now, interval)
        start = end - WINDOW
        if self._checked_until is not None and self._checked_until < start:
            start = max(slot_start(self._checked_until, interval), end - MAX_WINDOW)
        return max(start, self._first_slot), end

    async def apply(self, decision: rules.Decision) -> None:
        """Open or resolve; the times come from the evidence (``since``/``until``), not from when we looked.

        An episode that has already ended (``until``) and that an incident already
        covers (Alertmanager opened and resolved it before this check) is not opened
        again; one nobody recorded is opened and resolved at once, as one incident.
        """
        since, until = _parse(decision.details.get("since")), _parse(decision.details.get("until"))
        if decision.action == "open":
            if until is not None and since is not None:
                active = await self.incidents.active(decision.type, decision.subject)
                if active is None and await self.incidents.covered(decision.type, decision.subject, since, until):
                    return
                await self.incidents.detect(decision.type, decision.subject, reason=decision.reason, details=decision.details, source="monitor", at=since)
                await self.incidents.clear(decision.type, decision.subject, source="monitor", at=until)
                return
            await self.incidents.detect(decision.type, decision.subject, reason=decision.reason, details=decision.details, source="monitor", at=since)
        elif decision.action == "resolve":
            active = await self.incidents.active(decision.type, decision.subject)
            if active is not None:
                # When the last detection already saw the episode end, that is its end; else the first sign of health now.
                ended = _parse((active.get("details") or {}).get("until")) or until
                await self.incidents.clear(decision.type, decision.subject, source="monitor", at=ended)

    async def _heartbeats(self, now: datetime, thresholds: dict[str, Any]) -> tuple[rules.Decision, rules.Decision]:
        """Missed heartbeats (a count, and the documents only when the count shows a problem) and reconnects.

        The threshold is per hour (missedHbPerHour): a window longer than an hour scales it.
        """
        interval = self.heartbeat.interval
        bounds = await self._window(now)
        start, end = bounds or (slot_start(now, interval), slot_start(now, interval))
        reconnects = reconnects_in(self.heartbeat.state.reconnect_totals_since(start))
        reconnect = rules.reconnect_loop_decision(reconnects, thresholds["reconnectLoop"])
        threshold = thresholds["missedHbPerHour"] * max(1.0, (end - start) / WINDOW)
        if bounds is None:  # before the first heartbeat ever: nothing expected, nothing decided
            return rules.missed_count_decision(0, 0, threshold, start=start, end=end), reconnect
        window = [Filter("ts", ">=", start), Filter("ts", "<", end)]
        planned = await self.maintenance(start, end) if self.maintenance is not None else Spans()
        expected = slots_between(start, end, interval) - planned.slots_within(start, end, interval)
        result = None
        if planned:  # a count would hold the heartbeats written during planned work: read the documents
            result = await self._analyse(start, end, planned)
            written = result.written
        else:
            written = min(expected, await self.store.count(self.paths.heartbeats, where=window))
        missed = rules.missed_count_decision(expected, written, threshold, start=start, end=end)
        if missed.active:
            result = result or await self._analyse(start, end, planned)
            missed = rules.missed_heartbeats_decision(result, threshold)
            if missed.active and result.largest_gaps:
                # The episode started at the first missing slot; it ended when heartbeats came back.
                gap = result.largest_gaps[0]
                first_missing = max(gap.start + timedelta(seconds=interval), start)
                missed.details["since"] = first_missing.isoformat()
                missed.details["until"] = gap.end.isoformat() if gap.end < end else None
        elif written:
            # Heartbeats are back: the first one in the window dates the end of an open episode.
            first = await self.store.query(self.paths.heartbeats, where=window, order_by=[Order("ts")], limit=1)
            missed.details["until"] = slot_start(first[0].get("ts"), interval).isoformat()
        return missed, reconnect

    async def _analyse(self, start: datetime, end: datetime, planned: Spans = Spans()) -> HeartbeatResult:
        interval = self.heartbeat.interval
        acc = OutsideWindows(start, end, interval, planned) if planned else HeartbeatAccumulator(start, end, interval)
        before = await self.store.query(self.paths.heartbeats, where=[Filter("ts", "<", start)],
                                        order_by=[Order("ts", descending=True)], limit=1)
        if before:
            acc.seed(before[0].data)
        window = [Filter("ts", ">=", start), Filter("ts", "<", end)]
        async for doc in self.store.stream(self.paths.heartbeats, where=window, order_by=[Order("ts")]):
            acc.add(doc.data)
        return acc.result()

    async def _probe(self, probe_type: str, thresholds: dict[str, Any]) -> rules.Decision:
        """Consecutive failures of one probe type; its history is re-read only after a new result
        of this instance, or when the lease changed hands since (another leader may have stored some)."""
        newest = (self.probes.last.get(probe_type) or {}).get("probeKey")
        key = (newest, thresholds["consecutiveProbeFails"], self.probes.generation())
        cached = self._probe_decisions.get(probe_type)
        if cached is not None and cached[0] == key:
            return cached[1]
        decision = await self._probe_history(probe_type, thresholds)
        self._probe_decisions[probe_type] = (key, decision)
        return decision

    async def _probe_history(self, probe_type: str, thresholds: dict[str, Any]) -> rules.Decision:
        limit = int(thresholds["consecutiveProbeFails"]) + 20
        docs = await self.store.query(
            self.paths.probes, where=[Filter("type", "==", probe_type)], order_by=[Order("ts", descending=True)], limit=limit
        )
        # Manual runs are tests: they never start, extend or end a streak.
        newest_first = [d.data for d in docs if d.get("trigger") != "manual"]
        streak = rules.consecutive_failures(newest_first)
        decision = rules.probe_fail_decision(streak, int(thresholds["consecutiveProbeFails"]), probe_type=probe_type)
        failures = [d for d in newest_first if d.get("result") == "FAIL"][:streak]
        if failures:
            decision.details["since"] = failures[-1]["ts"].isoformat()  # the first failure of the streak
        passes = [d for d in newest_first if d.get("result") == "PASS"]
        if passes and not decision.active:
            decision.details["until"] = passes[0]["ts"].isoformat()  # the pass that ended it
        return decision

    def _accounts(self, config: dict[str, Any]) -> rules.Decision:
        target = self.heartbeat.state.last_target
        connected = target.connected_count if target and target.up else None
        needs_qr = target.needs_qr_count if target and target.up else None
        return rules.logged_out_decision(connected, config["expectedAccounts"], needs_qr=needs_qr)

    def _rollup(self) -> rules.Decision:
        failure = self.rollups.last_failure
        if failure is None:
            return rules.Decision("rollup_failed", "rollup", False, "the last rollup succeeded")
        return rules.Decision(
            "rollup_failed", "rollup", True, f"rollup of {failure.day.isoformat()} failed: {failure.error}",
            {"day": failure.day.isoformat(), "error": failure.error},
        )
