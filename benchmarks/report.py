"""Time and peak memory of ``longrun verify`` and ``longrun report`` as the history grows.

For each backend (the embedded SQLite store, the Firestore emulator) and each
length of history (30 and 180 days of 60-second heartbeats, written by
``longrun simulate``), runs in-process, under tracemalloc:

- ``verify --window Nd``: one streaming pass over every heartbeat of the window;
- ``report --window Nd`` with no rollup stored: every day computed from the raw documents;
- ``report --window Nd`` after the rollups are written: the fast path.

Memory must stay flat as the days grow (peak 180d / 30d close to 1) while time
grows with the documents read (about 6x for verify and the computed report on
SQLite). The emulator's own query time grows with the size of the collection,
so its time ratio is larger (it is not Firestore's index-served performance);
its memory ratio is the figure that carries over. The Firestore half is
skipped, with a message, when the emulator jar is missing.

    python benchmarks/report.py [--days 30,180] [--firestore-days 5,30] [--backends sqlite,firestore]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import os
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporter.cli import main as longrun  # noqa: E402
from exporter.clock import RealClock  # noqa: E402
from exporter.runtime import Runtime  # noqa: E402
from exporter.settings import load_settings  # noqa: E402
from exporter.store import StoreError  # noqa: E402

LAST_DAY = date(2026, 6, 30)
MIB = 2**20


@dataclass
class Row:
    backend: str
    days: int
    command: str
    seconds: float
    peak_bytes: int


def measure(*argv: str, ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    """Run ``longrun ARGV`` in-process; (seconds, peak traced bytes). Output is discarded;
    an exit outside ``ok`` (a store failure, say) stops the benchmark rather than counting."""
    tracemalloc.start()
    began = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = longrun(list(argv))
    seconds = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if code not in ok or "store unreachable" in err.getvalue():
        raise SystemExit(f"longrun {' '.join(argv)} exited {code}: {err.getvalue().strip()}")
    return seconds, peak


async def write_rollups(days: int) -> None:
    """What the daily job would have written, so the report can take its fast path."""
    runtime = Runtime.build(load_settings(), clock=RealClock())
    try:
        await runtime.config.load()
        for back in range(days):
            await runtime.rollups.run_day(LAST_DAY - timedelta(days=back))
    finally:
        await runtime.store.close()


def run_backend(backend: str, days_list: list[int], store_for: Callable[[int], Any]) -> list[Row]:
    """Write each length of history into its own fresh store (``store_for(days)`` yields its
    environment) and measure the commands on it."""
    rows = []
    for days in days_list:
        with store_for(days) as environment:
            os.environ.update(environment)
            rows += measure_history(backend, days)
    return rows


def measure_history(backend: str, days: int) -> list[Row]:
    end, window = LAST_DAY.isoformat(), f"{days}d"
    print(f"  {backend}: writing {days} days of history ...", file=sys.stderr, flush=True)
    began = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = longrun(["simulate", "--days", str(days), "--end", end, "--seed", "1", "--no-rollups"])
    if code != 0:
        raise SystemExit("simulate failed")
    print(f"  {backend}: written in {time.perf_counter() - began:.1f}s; measuring", file=sys.stderr, flush=True)
    report = ("report", "--window", window, "--end", end, "--format", "json")
    rows = [
        # verify judges the data: 0, 1 and 2 are all answers (a store failure is caught by its message).
        _noted(Row(backend, days, "verify", *measure("verify", "--window", window, "--end", end, "--json", ok=(0, 1, 2)))),
        _noted(Row(backend, days, "report (computed)", *measure(*report))),
    ]
    try:
        asyncio.run(write_rollups(days))
    except StoreError as exc:  # the emulator, past a few hundred thousand documents, can miss the deadline
        print(f"  {backend}: {days}d report (rollups): skipped, writing the rollups failed: {exc}", file=sys.stderr)
        return rows
    rows.append(_noted(Row(backend, days, "report (rollups)", *measure(*report))))
    return rows


def _noted(row: Row) -> Row:
    print(f"  {row.backend}: {row.days}d {row.command}: {row.seconds:.2f}s, peak {row.peak_bytes / MIB:.2f} MiB",
          file=sys.stderr, flush=True)
    return row


@contextlib.contextmanager
def sqlite_store(days: int) -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory() as directory:
        yield {"LONGRUN_STORE": f"sqlite:///{directory}/bench-{days}.db"}


def firestore_store(jar: Path) -> Callable[[int], Any]:
    """A fresh emulator per history: one left holding the last history slows down the next."""

    @contextlib.contextmanager
    def store(days: int) -> Iterator[dict[str, str]]:
        from tests.fixtures.stores import FirestoreEmulator

        emulator = FirestoreEmulator(jar, Path(tempfile.mkdtemp()) / "emulator.log")
        emulator.start()
        try:
            yield {"LONGRUN_STORE": f"firestore://bench-{days}", "FIRESTORE_EMULATOR_HOST": emulator.address}
        finally:
            emulator.stop()

    return store


def print_table(rows: list[Row]) -> None:
    print(f"\n{'backend':10s} {'days':>5s}  {'command':18s} {'seconds':>9s} {'peak MiB':>9s}")
    for r in rows:
        print(f"{r.backend:10s} {r.days:5d}  {r.command:18s} {r.seconds:9.2f} {r.peak_bytes / MIB:9.2f}")
    by_key = {(r.backend, r.command, r.days): r for r in rows}
    days = sorted({r.days for r in rows})
    if len(days) < 2:
        return
    low, high = days[0], days[-1]
    print(f"\nratios {high}d / {low}d (history x{high / low:g}):")
    for (backend, command, d), r in by_key.items():
        base = by_key.get((backend, command, low))
        if d == high and base:
            print(f"  {backend:10s} {command:18s} time x{r.seconds / base.seconds:5.2f}   peak memory x{r.peak_bytes / base.peak_bytes:5.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", default="30,180", help="history lengths in days (default 30,180)")
    parser.add_argument("--firestore-days", help="history lengths on the emulator (default: --days); its queries "
                                                 "slow down as the collection grows, so 180 days there takes about an hour")
    parser.add_argument("--backends", default="sqlite,firestore")
    args = parser.parse_args()
    days_list = [int(d) for d in args.days.split(",")]
    logging.basicConfig(level=logging.ERROR)
    for key in [k for k in os.environ if k.startswith("LONGRUN_") or k == "FIRESTORE_EMULATOR_HOST"]:
        del os.environ[key]
    rows: list[Row] = []
    print("measured in-process under tracemalloc (times include its overhead)", file=sys.stderr)
    if "sqlite" in args.backends:
        rows += run_backend("sqlite", days_list, sqlite_store)
    if "firestore" in args.backends:
        from tests.fixtures.stores import MISSING_MESSAGE, find_emulator_jar

        jar = find_emulator_jar()
        if jar is None:
            print(f"firestore: skipped: {MISSING_MESSAGE}", file=sys.stderr)
        else:
            firestore_days = [int(d) for d in args.firestore_days.split(",")] if args.firestore_days else days_list
            rows += run_backend("firestore", firestore_days, firestore_store(jar))
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
