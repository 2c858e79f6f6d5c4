"""The job loop: runs each job when due, leader-only jobs only under the lease.

    scheduler = Scheduler(clock, leadership, [HeartbeatJob(...), ...])
    await scheduler.run(stop_event)          # production: real clock
    await scheduler.run_until(clock, when)   # tests: a FakeClock, every job awaited in order

Every due time comes from the job itself (slot-aligned), never from how long
the previous run took, so intervals do not drift. A failing job is counted
and logged and never stops the others; a job still running when it falls due
again is not started twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Protocol, Sequence

from exporter.clock import Clock, FakeClock
from exporter.jobs.leadership import Leadership

log = logging.getLogger("longrun.scheduler")


class Job(Protocol):
    name: str
    leader_only: bool

    def first_due(self, now: datetime) -> datetime:
        """When to run first after start (or after becoming leader)."""

    def next_due(self, now: datetime) -> datetime:
        """When to run next, strictly after ``now`` (slot-aligned jobs: the next slot start)."""

    async def run(self, now: datetime) -> None: ...


@dataclass
class JobStats:
    runs: int = 0
    failures: int = 0
    skipped_overrun: int = 0
    last_success: datetime | None = None
    last_duration: float | None = None
    last_error: str | None = None


class Scheduler:
    def __init__(self, clock: Clock, leadership: Leadership, jobs: list[Job]) -> None:
        self.clock = clock
        self.leadership = leadership
        self.jobs = {job.name: job for job in jobs}
        self.stats: dict[str, JobStats] = {name: JobStats() for name in ["lease", *self.jobs]}
        now = clock.now()
        # A job's next due time is a function of when its slot was last taken and
        # of the job's current schedule (which may come from the config document),
        # so a schedule edit applies from the next slot.
        self._first: dict[str, datetime] = {name: job.first_due(now) for name, job in self.jobs.items()}
        self._last: dict[str, datetime | None] = {name: None for name in self.jobs}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._was_leader = False
        self._stopping = False

    # ------------------------------------------------------------------ one step

    async def step(self) -> None:
        """Maintain the lease, then start every job that is due now."""
        now = self.clock.now()
        if now >= self.leadership.next_due:
            await self._maintain_lease()
            # Taking the lease may have taken a moment: jobs run for the slot we are in now.
            now = self.clock.now()
        leading = self.leadership.holds(now)
        if leading and not self._was_leader:
            for name, job in self.jobs.items():
                if job.leader_only:
                    self._first[name], self._last[name] = job.first_due(now), None
        self._was_leader = leading
        for name, job in self.jobs.items():
            if now < self.due(name) or self._stopping:
                continue
            # The slot is taken now, not at the missed due time: a late wake-up never backfills.
            self._last[name] = now
            if job.leader_only and not leading:
                continue
            if name in self._running:
                self.stats[name].skipped_overrun += 1
                log.warning("job %s is still running from its last slot; skipping this one", name)
                continue
            self._running[name] = asyncio.create_task(self._run(job, now), name=f"job:{name}")

    def due(self, name: str) -> datetime:
        last = self._last[name]
        return self._first[name] if last is None else self.jobs[name].next_due(last)

    def next_wake(self) -> datetime:
        return min([self.leadership.next_due, *(self.due(name) for name in self.jobs)])

    async def _maintain_lease(self) -> None:
        stats = self.stats["lease"]
        stats.runs += 1
        started = time.perf_counter()
        try:
            await self.leadership.maintain()
            stats.last_success = self.clock.now()
        except Exception as exc:  # a bug here must not stop the loop: retry soon
            stats.failures += 1
            stats.last_error = f"{exc.__class__.__name__}: {exc}"
            self.leadership.retry_later(self.leadership.standby_poll)
            log.exception("lease maintenance failed; retrying in %ss", self.leadership.standby_poll)
        stats.last_duration = time.perf_counter() - started

    async def _run(self, job: Job, now: datetime) -> None:
        stats = self.stats[job.name]
        stats.runs += 1
        started = time.perf_counter()
        try:
            await job.run(now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            stats.failures += 1
            stats.last_error = f"{exc.__class__.__name__}: {exc}"
            log.error("job %s failed: %s (it runs again at %s)", job.name, stats.last_error, self.due(job.name).isoformat())
            log.debug("job %s traceback", job.name, exc_info=True)
        else:
            stats.last_success = self.clock.now()
        finally:
            stats.last_duration = time.perf_counter() - started
            self._running.pop(job.name, None)

    # ------------------------------------------------------------------ loops

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set (production loop)."""
        self.leadership.start_watching()
        while not stop.is_set():
            self.leadership.lock_changed.clear()
            await self.step()
            await self.clock.wait_until(self.next_wake(), stop, self.leadership.lock_changed)

    async def run_until(self, clock: FakeClock, until: datetime) -> None:
        """Drive the loop on a FakeClock up to ``until``, awaiting every job in time order."""
        await run_together(clock, [self], until)

    async def drain(self) -> None:
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def shutdown(self) -> None:
        """Stop starting jobs, stop acting as leader, finish in-flight work, release the lease."""
        self._stopping = True
        self.leadership.stopped = True
        for task in list(self._running.values()):
            task.cancel()
        await self.drain()
        await self.leadership.release()


async def run_together(
    clock: FakeClock,
    schedulers: Sequence[Scheduler],
    until: datetime,
    *,
    jitter: Callable[[], float] = lambda: 0.0,
    after_step: Callable[[], None] = lambda: None,
) -> None:
    """Drive several schedulers (instances) on one FakeClock, in time order.

    Each wake-up may come ``jitter()`` seconds late, as on a loaded machine;
    ``after_step`` runs after every step, for a test's invariants.
    """
    while True:
        if not schedulers:
            clock.set(max(until, clock.now()))
            return
        wake = max(min(s.next_wake() for s in schedulers), clock.now())
        if wake > until:
            clock.set(max(until, clock.now()))
            return
        clock.set(wake + timedelta(seconds=jitter()))
        for scheduler in schedulers:
            if scheduler.next_wake() <= clock.now():
                await scheduler.step()
                await scheduler.drain()
                after_step()
