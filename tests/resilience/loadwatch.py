"""What the load tests watch on a real ``longrun run``: request latencies, 50 scrapers, the process's RSS.

Used with the flood of ``tests/resilience/loadgen.py``, by ``tests/resilience/test_load.py``
and ``benchmarks/load.py``.

    scrapers = Scrapers(session, process.url, count=50, interval=1.0)   # /metrics, each parsed
    sampler = RssSampler(process.proc.pid)                               # every second
    await asyncio.gather(scrapers.run(stop), sampler.run(stop))
    scrapers.result.path("/metrics").summary()    # {"p50": ms, "p95": ..., "p99": ..., "max": ...}
    sampler.series.slope_mb_per_min()             # over the last half
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import aiohttp
import psutil
from prometheus_client.parser import text_string_to_metric_families

READ_PATHS = ("/health", "/", "/api/admin/longrun/incidents?status=open&limit=50")


# ---------------------------------------------------------------- latencies


@dataclass
class Latencies:
    """Request latencies (seconds) and answers by status (an int, or an exception's name)."""

    seconds: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def add(self, status: int | str, elapsed: float | None) -> None:
        self.statuses[status] += 1
        if elapsed is not None:
            self.seconds.append(elapsed)

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    def errors(self) -> Counter:
        return Counter({s: n for s, n in self.statuses.items() if not (isinstance(s, int) and 200 <= s < 300)})

    def percentile(self, q: float) -> float:
        """The q-th percentile in milliseconds (nearest rank); NaN when nothing was measured."""
        if not self.seconds:
            return float("nan")
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] * 1000

    def summary(self) -> dict[str, float]:
        return {"p50": self.percentile(50), "p95": self.percentile(95), "p99": self.percentile(99),
                "max": max(self.seconds, default=float("nan")) * 1000}


# ---------------------------------------------------------------- scrapers and readers


@dataclass
class Scrapes:
    """Per path: latencies and statuses; for /metrics also the bodies that did not parse."""

    by_path: dict[str, Latencies] = field(default_factory=dict)
    malformed: list[str] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)  # samples per well-formed /metrics body

    def path(self, path: str) -> Latencies:
        return self.by_path.setdefault(path, Latencies())


def check_exposition(text: str) -> int:
    """The number of samples in a text exposition; raises ValueError when it does not parse."""
    families = list(text_string_to_metric_families(text))
    if not families:
        raise ValueError("no metric families")
    return sum(len(f.samples) for f in families)


class Scrapers:
    """``count`` scrapers of /metrics, each every ``interval`` seconds (0: back to back), and one reader
    per ``READ_PATHS`` entry every second. Each /metrics body is parsed with prometheus_client's parser."""

    def __init__(self, session: aiohttp.ClientSession, url: str, *, count: int = 50, interval: float = 1.0,
                 readers: bool = True, seed: int = 50) -> None:
        self.session, self.url, self.count, self.interval, self.readers = session, url, count, interval, readers
        self.random = random.Random(seed)
        self.result = Scrapes()

    def reset(self) -> Scrapes:
        """Start a new tally (a new phase); returns the previous one."""
        done, self.result = self.result, Scrapes()
        return done

    async def run(self, stop: asyncio.Event) -> None:
        loops = [self._loop("/metrics", self.interval, stop, self._check) for _ in range(self.count)]
        if self.readers:
            loops += [self._loop(path, 1.0, stop, None) for path in READ_PATHS]
        await asyncio.gather(*loops)

    def _check(self, body: bytes) -> None:
        try:
            self.result.samples.append(check_exposition(body.decode()))
        except (ValueError, UnicodeDecodeError) as exc:
            self.result.malformed.append(f"{type(exc).__name__}: {exc}"[:300])

    async def _loop(self, path: str, interval: float, stop: asyncio.Event,
                    check: Callable[[bytes], None] | None) -> None:
        await _pause(stop, self.random.uniform(0, interval))  # spread the scrapers over the interval
        while not stop.is_set():
            started = time.perf_counter()
            try:
                async with self.session.get(self.url + path) as response:
                    body = await response.read()
                    elapsed = time.perf_counter() - started
                    self.result.path(path.split("?")[0]).add(response.status, elapsed)
                    if check is not None and response.status == 200:
                        check(body)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                self.result.path(path.split("?")[0]).add(type(exc).__name__, None)
            await _pause(stop, interval - (time.perf_counter() - started))



async def _pause(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0:
        await asyncio.sleep(0)
        return
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        pass


# ---------------------------------------------------------------- memory


@dataclass
class RssSeries:
    """(seconds since the start of the phase, RSS bytes), one sample per ``every`` seconds."""

    points: list[tuple[float, int]] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.points[0][1]

    @property
    def end(self) -> int:
        return self.points[-1][1]

    @property
    def peak(self) -> int:
        return max(rss for _, rss in self.points)

    def slope_mb_per_min(self, since_fraction: float = 0.5) -> float:
        """Least-squares slope of RSS over the last part of the phase, in MB per minute."""
        cut = self.points[-1][0] * since_fraction
        tail = [(t, rss / 1e6) for t, rss in self.points if t >= cut]
        if len(tail) < 3:
            return float("nan")
        return statistics.linear_regression([t for t, _ in tail], [m for _, m in tail]).slope * 60


class RssSampler:
    """Samples a process's resident set size every ``every`` seconds until stopped."""

    def __init__(self, pid: int, every: float = 1.0) -> None:
        self.process, self.every = psutil.Process(pid), every
        self.series = RssSeries()

    def rss(self) -> int:
        return self.process.memory_info().rss

    async def run(self, stop: asyncio.Event) -> None:
        started = time.perf_counter()
        while True:
            try:
                self.series.points.append((time.perf_counter() - started, self.rss()))
            except psutil.Error:
                return
            if stop.is_set():
                return
            await _pause(stop, self.every - (time.perf_counter() - started) % self.every)
