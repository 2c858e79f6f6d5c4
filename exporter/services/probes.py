"""Probes that really test something.

    runner = ProbeRunner(store, paths, clock, identity, settings, config,
                         generation=lambda: leadership.generation, session=session, inbound=inbound, target=target)
    doc = await runner.run("outbound")                 # on demand (API, CLI)
    doc = await runner.run("outbound", slot=slot)      # the scheduled run of a slot (exporter.jobs.probes)

- outbound: a write-and-read-back round trip through the store, plus a real
  send to the target's send endpoint when one is configured.
- queue: the target's queueDepth against ``alertThresholds.queueDepthThreshold``.
- inbound: asks the probe sender to send a message carrying a fresh token and
  waits for the monitored service to report it on ``/api/probes/inbound/{token}``.

A probe that is not configured is SKIP, never PASS. Scheduled results take the
slot's key (``OUT_yyyyMMddHH``...) and are written once; on-demand results get
their own key so they never take a slot from the schedule.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

import aiohttp

from exporter.clock import Clock
from exporter.domain.documents import Identity
from exporter.domain.slots import iso, probe_key
from exporter.domain.vocabulary import PROBE_TYPES
from exporter.services.config import ConfigSource
from exporter.services.listeners import tell
from exporter.settings import Settings
from exporter.store import DocumentStore, NotFound, Paths, PreconditionFailed, StoreError
from exporter.target import TargetClient
from exporter.urls import safe_url, scrub

log = logging.getLogger("longrun.probes")

@dataclass(frozen=True)
class Outcome:
    result: str  # PASS, FAIL or SKIP
    latency_ms: float | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class InboundRegistry:
    """Tokens the inbound probe is waiting for; the HTTP route reports arrivals here."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[float]] = {}

    def expect(self, token: str) -> asyncio.Future[float]:
        future = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        return future

    def report(self, token: str) -> bool:
        """True when the token was awaited (and is now satisfied); False for unknown or used tokens."""
        future = self._waiting.pop(token, None)
        if future is None or future.done():
            return False
        future.set_result(time.perf_counter())
        return True

    def forget(self, token: str) -> None:
        self._waiting.pop(token, None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def report_arrival(store: DocumentStore, paths: Paths, token: str, now: datetime) -> bool:
    """An inbound probe's message reached ANY instance: mark its waiting document, once.

    True when an unexpired, unused token was waiting. The leader that asked
    may be another process: it reads the mark (see ``ProbeRunner._arrived``).
    """
    path = paths.inbound_token(token_hash(token))
    doc = await store.get(path)
    expires = doc.get("expiresAt") if doc else None
    if doc is None or doc.get("arrivedAt") is not None or not isinstance(expires, datetime) or expires < now:
        return False
    try:
        await store.update(path, {"arrivedAt": now}, if_version=doc.version)
    except (PreconditionFailed, NotFound):
        return False  # reported twice at once: the first one counts
    return True


class ProbeRunner:
    def __init__(
        self,
        store: DocumentStore,
        paths: Paths,
        clock: Clock,
        identity: Identity,
        settings: Settings,
        config: ConfigSource,
        *,
        generation: Callable[[], int],
        session: aiohttp.ClientSession | None,
        inbound: InboundRegistry,
        target: TargetClient | None = None,
    ) -> None:
        """``generation()``: the lease generation this instance acts under, stamped on every result."""
        self.store, self.paths, self.clock = store, paths, clock
        self.identity, self.settings, self.config = identity, settings, config
        self.generation, self.session, self.inbound = generation, session, inbound
        self.target = target  # the heartbeat's client too: one per process
        self.last: dict[str, dict[str, Any]] = {}
        # Called with each result this instance stores, at once (the metrics and the page take it in memory).
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    async def run(self, probe_type: str, *, slot: datetime | None = None) -> dict[str, Any]:
        """Run one probe now and store its result. ``slot`` given: the scheduled run of that slot."""
        if probe_type not in PROBE_TYPES:
            raise ValueError(f"unknown probe type {probe_type!r}; expected one of {', '.join(PROBE_TYPES)}")
        outcome = await getattr(self, f"_{probe_type}")()
        now = self.clock.now()
        key = probe_key(probe_type, slot) if slot else f"{probe_key(probe_type, now)}_MANUAL_{now:%H%M%S}{now.microsecond // 1000:03d}"
        doc = {
            "probeKey": key,
            "type": probe_type,
            "trigger": "schedule" if slot else "manual",
            "ts": now,
            "tsIso": iso(now),
            "slotStart": slot,
            "result": outcome.result,
            "latencyMs": None if outcome.latency_ms is None else round(outcome.latency_ms, 3),
            "error": outcome.error,
            "details": outcome.details,
            "instanceId": self.identity.instance_id,
            "commitHash": self.identity.commit,
            "serviceVersion": self.identity.service_version,
            "generation": self.generation(),
        }
        await self.store.create(self.paths.probe(key), doc)
        self.last[probe_type] = doc
        tell(self.listeners, doc)
        level = logging.INFO if outcome.result != "FAIL" else logging.WARNING
        log.log(level, "🔎 Probe %s: %s%s", key, outcome.result, f" ({outcome.error})" if outcome.error else "")
        return doc

    # ------------------------------------------------------------------ the probes

    async def _outbound(self) -> Outcome:
        started = time.perf_counter()
        nonce = secrets.token_hex(8)
        path = self.paths.outbound_probe_state(self.identity.instance_id)
        try:
            await self.store.set(path, {"nonce": nonce, "ts": self.clock.now()})
            echoed = await self.store.get(path)
        except StoreError as exc:
            return Outcome("FAIL", error=f"store round trip failed: {exc.__class__.__name__}: {exc}"[:300])
        store_ms = (time.perf_counter() - started) * 1000
        if echoed is None or echoed.get("nonce") != nonce:
            return Outcome("FAIL", store_ms, "store round trip read back something else than it wrote")
        details: dict[str, Any] = {"storeRoundTripMs": round(store_ms, 3)}
        if not self.settings.target_send_url:
            return Outcome("PASS", store_ms, details=details)
        sent = await self._post(self.settings.target_send_url, {"probe": "outbound", "nonce": nonce})
        details.update(sent.details)
        return Outcome(sent.result, (time.perf_counter() - started) * 1000, sent.error, details)

    async def _queue(self) -> Outcome:
        if self.target is None:
            return Outcome("SKIP", error="LONGRUN_TARGET_URL is not set: nothing to read the queue depth from")
        status = await self.target.status()
        threshold = self.config.current["alertThresholds"]["queueDepthThreshold"]
        details = {"queueDepth": status.queue_depth, "threshold": threshold}
        if not status.up:
            return Outcome("FAIL", status.latency_ms, f"target did not answer: {status.error}", details)
        if status.queue_depth is None:
            return Outcome("FAIL", status.latency_ms, "target did not report queueDepth", details)
        if status.queue_depth > threshold:
            return Outcome("FAIL", status.latency_ms, f"queue depth {status.queue_depth} is over the threshold {threshold:g}", details)
        return Outcome("PASS", status.latency_ms, details=details)

    async def _inbound(self) -> Outcome:
        if not self.settings.probe_sender_url:
            return Outcome("SKIP", error="LONGRUN_PROBE_SENDER_URL is not set: no probe sender to send a message")
        token = secrets.token_urlsafe(24)
        arrived = self.inbound.expect(token)
        timeout = self.settings.probe_timeout
        path = self.paths.inbound_token(token_hash(token))
        started = time.perf_counter()
        try:
            # Any instance may receive the report: the waiting token lives in the store too.
            await self.store.set(path, {"expiresAt": self.clock.now() + timedelta(seconds=timeout), "arrivedAt": None,
                                        "instanceId": self.identity.instance_id})
            asked = await self._post(self.settings.probe_sender_url, {"token": token, "text": f"longrun inbound probe {token}"})
            if asked.result != "PASS":
                return Outcome("FAIL", None, f"probe sender refused: {asked.error}", asked.details)
            if not await self._arrived(arrived, path, timeout):
                return Outcome("FAIL", None, f"the monitored service did not report the message within {timeout:g}s", asked.details)
            at = arrived.result() if arrived.done() else time.perf_counter()
            return Outcome("PASS", (at - started) * 1000, details=asked.details)
        except StoreError as exc:
            return Outcome("FAIL", error=f"store unavailable for the inbound token: {exc.__class__.__name__}: {exc}"[:300])
        finally:
            self.inbound.forget(token)
            try:
                await self.store.delete(path)
            except StoreError:
                pass  # it expires; retention of a stray token is harmless

    async def _arrived(self, arrived: asyncio.Future, path: str, timeout: float) -> bool:
        """Wait for the report: on this instance (the future) or on another (the store mark, checked each second)."""
        deadline = self.clock.now() + timedelta(seconds=timeout)
        while True:
            remaining = (deadline - self.clock.now()).total_seconds()
            if await _first(arrived, self.clock.sleep(max(0.0, min(1.0, remaining)))):
                return True
            doc = await self.store.get(path)
            if doc is not None and doc.get("arrivedAt") is not None:
                return True
            if remaining <= 1.0:
                return False

    async def _post(self, url: str, body: dict[str, Any]) -> Outcome:
        if self.session is None:
            return Outcome("FAIL", error="no HTTP client session")
        started = time.perf_counter()
        try:
            timeout = aiohttp.ClientTimeout(total=self.settings.probe_timeout)
            async with self.session.post(url, json=body, timeout=timeout) as response:
                await response.read()
                elapsed = (time.perf_counter() - started) * 1000
                details = {"sendStatus": response.status, "sendMs": round(elapsed, 3)}
                if 200 <= response.status < 300:
                    return Outcome("PASS", elapsed, details=details)
                return Outcome("FAIL", elapsed, f"{safe_url(url)} answered HTTP {response.status}", details)
        except asyncio.TimeoutError:
            return Outcome("FAIL", error=f"{safe_url(url)} did not answer within {self.settings.probe_timeout:g}s")
        except (aiohttp.ClientError, ValueError) as exc:  # ValueError: a URL aiohttp cannot use
            return Outcome("FAIL", error=scrub(f"{safe_url(url)}: {exc.__class__.__name__}: {exc}", url)[:300])


async def _first(future: asyncio.Future, sleeper) -> bool:
    """Wait for ``future`` or the sleep, whichever ends first; True when the future won."""
    timer = asyncio.ensure_future(sleeper)
    try:
        await asyncio.wait([future, timer], return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    return future.done() and not future.cancelled()
