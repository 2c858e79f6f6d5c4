"""What leaving maintenance windows out costs the heartbeat analysis of a day.

A day of heartbeats (held in memory first, so only the analysis is timed) analysed as the rollup does, without a window (the plain
accumulator: the baseline, measured in the same run) and with 1, 3 and 10
windows (``OutsideWindows``: one accumulator per piece outside the windows,
plus one for the whole day). Expect the cost to grow with the number of pieces
(pieces + 1 accumulators see every document) and memory to stay flat.

    python benchmarks/maintenance_counting.py [--interval 10]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporter.domain.heartbeats import HeartbeatAccumulator  # noqa: E402
from exporter.domain.maintenance import Spans  # noqa: E402
from exporter.domain.maintenance_heartbeats import OutsideWindows  # noqa: E402
from exporter.domain.slots import bucket_id  # noqa: E402

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
END = START + timedelta(days=1)


def docs(interval: float):
    slot = START
    while slot < END:
        yield {"bucketId": bucket_id(slot), "ts": slot + timedelta(milliseconds=5), "instanceId": "i", "targetUp": True}
        slot += timedelta(seconds=interval)


def windows(n: int) -> Spans:
    step = timedelta(days=1) / (n + 1)
    return Spans.of([(START + step * (k + 1), START + step * (k + 1) + timedelta(minutes=30)) for k in range(n)])


def analyse(all_docs: list, interval: float, n: int) -> None:
    acc = HeartbeatAccumulator(START, END, interval) if n == 0 else OutsideWindows(START, END, interval, windows(n))
    for doc in all_docs:
        acc.add(doc)
    acc.result()


def measure(all_docs: list, interval: float, n: int) -> tuple[float, int]:
    """(best of 3 seconds, peak bytes of one more run under tracemalloc, which slows it)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        analyse(all_docs, interval, n)
        best = min(best, time.perf_counter() - started)
    tracemalloc.start()
    analyse(all_docs, interval, n)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=10.0, help="heartbeat interval in seconds (10: 8,640 a day)")
    args = parser.parse_args()
    all_docs = list(docs(args.interval))
    base, base_peak = measure(all_docs, args.interval, 0)
    print(f"{'windows':>8} {'seconds':>8} {'x baseline':>10} {'peak KiB':>9}")
    print(f"{0:>8} {base:8.3f} {1:10.2f} {base_peak / 1024:9.0f}")
    for n in (1, 3, 10):
        took, peak = measure(all_docs, args.interval, n)
        print(f"{n:>8} {took:8.3f} {took / base:10.2f} {peak / 1024:9.0f}")


if __name__ == "__main__":
    main()
