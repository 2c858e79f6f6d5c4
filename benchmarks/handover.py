"""Graceful handover time with one and with two standbys, real processes, per backend.

    python benchmarks/handover.py [--rounds 10] [--backend sqlite|firestore|both] [--trace]

A rolling restart (``tests/resilience/rolling.py``): the leader gets SIGTERM
in the middle of a 1 s heartbeat slot, a standby takes the lease and runs its first
heartbeat, a fresh process replaces the stopped one. Prints release -> first
heartbeat (min, median, max) for one standby (the baseline) and for two, and
their ratio: with first-writer-wins acquisition it stays near 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.stores import FirestoreEmulator, find_emulator_jar  # noqa: E402
from tests.process.processes import LongrunProcess  # noqa: E402
from tests.resilience.rolling import HANDOVER_ENV, RollingCluster, summary  # noqa: E402


@contextmanager
def backend_env(kind: str, workdir: Path) -> Iterator[dict[str, str] | None]:
    if kind == "sqlite":
        yield {"LONGRUN_STORE": f"sqlite:///{workdir}/longrun.db"}
        return
    jar = find_emulator_jar()
    if jar is None:
        yield None
        return
    emulator = FirestoreEmulator(jar, workdir / "emulator.log")
    emulator.start()
    try:
        yield {"LONGRUN_STORE": f"firestore://bench-{uuid.uuid4().hex[:8]}", "FIRESTORE_EMULATOR_HOST": emulator.address}
    finally:
        emulator.stop()


def measure(kind: str, standbys: int, rounds: int, trace: bool) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp, backend_env(kind, Path(tmp)) as env:
        if env is None:
            print(f"{kind}: Firestore emulator jar not found; skipped")
            return []
        started: list[LongrunProcess] = []

        def spawn(name: str, process_env: dict[str, str]) -> LongrunProcess:
            process = LongrunProcess(name, process_env, Path(tmp)).start()
            started.append(process)
            return process

        try:
            cluster = RollingCluster(spawn, {**env, **HANDOVER_ENV}, standbys=standbys).start()
            times = []
            for _ in range(rounds):
                handover = cluster.hand_over()
                times.append(handover.release_to_first_beat)
                if trace:
                    print(handover.describe())
            return times
        finally:
            for process in started:
                process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--backend", choices=["sqlite", "firestore", "both"], default="both")
    parser.add_argument("--standbys", type=int, default=2)
    parser.add_argument("--trace", action="store_true", help="print the standbys' lease log lines of each round")
    args = parser.parse_args()
    for kind in (["sqlite", "firestore"] if args.backend == "both" else [args.backend]):
        baseline = measure(kind, 1, args.rounds, args.trace)
        several = measure(kind, args.standbys, args.rounds, args.trace)
        if not baseline or not several:
            continue
        print(f"{kind}, release -> new leader's first heartbeat, {args.rounds} rounds each:")
        print(f"  1 standby (baseline): {summary(baseline)}")
        print(f"  {args.standbys} standbys:           {summary(several)}")
        print(f"  ratio of medians: {statistics.median(several) / statistics.median(baseline):.2f}")


if __name__ == "__main__":
    main()
