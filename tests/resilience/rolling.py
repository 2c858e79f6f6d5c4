"""A rolling restart of a cluster of real ``longrun run`` processes: one leader, N standbys.

Each round stops the leader with SIGTERM at a chosen point of a heartbeat slot,
waits for a standby to lead and run its first heartbeat, then starts a fresh
process in the stopped one's place, as a rolling deploy does. The timings come
from the processes' own log lines (millisecond stamps, one machine, one clock).

    cluster = RollingCluster(spawn, env, standbys=2).start()
    rounds = [cluster.hand_over() for _ in range(10)]
    print(summary([r.release_to_first_beat for r in rounds]))
"""

from __future__ import annotations

import re
import signal
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

from tests.process.processes import LongrunProcess

# Heartbeat 1 s, lease 4 s renewed every second, as in issue 19's measurement.
HANDOVER_ENV = {
    "LONGRUN_HEARTBEAT_INTERVAL": "1s",
    "LONGRUN_LEASE": "4s",
    "LONGRUN_RENEW": "1s",
    "LONGRUN_STANDBY_POLL": "1s",
    "LONGRUN_LOG_LEVEL": "DEBUG",
}

_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (\w+)\s+(\S+): (.*)$")
_FIRST_BEAT = ("💓 Heartbeat:", "already written")


@dataclass(frozen=True)
class LogLine:
    at: datetime
    level: str
    logger: str
    message: str


def read_log(text: str) -> list[LogLine]:
    """The lines of a process log that carry a timestamp (as aware UTC datetimes)."""
    lines = []
    for raw in text.splitlines():
        match = _LINE.match(raw)
        if match:
            local = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").astimezone()
            lines.append(LogLine(local.astimezone(timezone.utc), match.group(2), match.group(3), match.group(4)))
    return lines


def first(lines: Sequence[LogLine], needle: str | tuple[str, ...], after: datetime | None = None) -> LogLine | None:
    needles = (needle,) if isinstance(needle, str) else needle
    for line in lines:
        if (after is None or line.at >= after) and any(n in line.message for n in needles):
            return line
    return None


def leading(health) -> bool:
    return health["leader"] is True


def standing_by(health) -> bool:
    return health["leader"] is False and health["store"]["up"] is True and health["lastHeartbeat"] is None


@dataclass(frozen=True)
class Round:
    """One handover: the old leader released, a standby took the lease and ran its first heartbeat."""

    old: str
    new: str
    sigterm_at: datetime
    released_at: datetime
    acquired_at: datetime
    first_beat_at: datetime
    trace: tuple[str, ...]  # the standbys' lease lines between the release and the first heartbeat

    @property
    def release_to_acquire(self) -> float:
        return (self.acquired_at - self.released_at).total_seconds()

    @property
    def release_to_first_beat(self) -> float:
        return (self.first_beat_at - self.released_at).total_seconds()

    @property
    def sigterm_to_first_beat(self) -> float:
        return (self.first_beat_at - self.sigterm_at).total_seconds()

    def describe(self) -> str:
        return (f"{self.old} -> {self.new}: release -> acquired {self.release_to_acquire:.3f}s, "
                f"-> first heartbeat {self.release_to_first_beat:.3f}s\n    " + "\n    ".join(self.trace))


class RollingCluster:
    """One leader and ``standbys`` standbys on one store; ``hand_over()`` runs one round."""

    def __init__(self, spawn: Callable[[str, dict[str, str]], LongrunProcess], env: dict[str, str], *,
                 standbys: int = 2, interval: float = 1.0) -> None:
        self.spawn, self.env, self.standbys, self.interval = spawn, env, standbys, interval
        self.members: list[LongrunProcess] = []
        self.leader: LongrunProcess | None = None
        self._started = 0

    def start(self) -> "RollingCluster":
        self.leader = self._add()
        self.leader.wait_for(leading, 30, f"{self.leader.name} leading")
        for _ in range(self.standbys):
            self._add()
        return self

    def hand_over(self, window: tuple[float, float] = (0.2, 0.7), timeout: float = 15.0) -> Round:
        """SIGTERM the leader inside ``window`` of a slot; a fresh standby replaces it.

        The window keeps the release away from slot boundaries, so a slot is
        lost exactly when the handover is slower than the rest of the slot.
        """
        old = self.leader
        assert old is not None, "start() first"
        standbys = [p for p in self.members if p is not old]
        for process in standbys:
            self._wait_following(process, old)
        time.sleep(self._until_window(*window))
        sigterm_at = datetime.now(timezone.utc)
        old.signal(signal.SIGTERM)
        new = self._wait_new_leader(standbys, timeout)
        first_beat = self._wait_log(new, _FIRST_BEAT, sigterm_at, timeout)
        self.members.remove(old)
        self.leader = new
        self._add()  # the replacement starts up while we read the logs; the next round waits for it
        assert old.wait_exit(15) == 0, f"{old.name} did not exit cleanly:\n{old.log()[-3000:]}"
        released = first(read_log(old.log()), "Lock released", sigterm_at)
        assert released is not None, f"{old.name} did not log the release:\n{old.log()[-3000:]}"
        acquired = first(read_log(new.log()), "Lock acquired", sigterm_at)
        assert acquired is not None
        trace = tuple(
            f"{line.at.strftime('%S.%f')[:-3]} {p.name}: {line.message}"
            for p in standbys for line in read_log(p.log())
            if released.at <= line.at <= first_beat.at
        )
        return Round(old.name, new.name, sigterm_at, released.at, acquired.at, first_beat.at, tuple(sorted(trace)))

    def stop(self) -> None:
        for process in self.members:
            process.stop()

    # ------------------------------------------------------------------ internals

    def _add(self) -> LongrunProcess:
        self._started += 1
        process = self.spawn(f"p{self._started}", self.env)
        self.members.append(process)
        return process

    def _wait_following(self, process: LongrunProcess, leader: LongrunProcess, timeout: float = 30.0) -> None:
        """Until ``process`` stands by and its watch last showed ``leader`` holding the lock (its debug lines)."""
        process.wait_for(standing_by, timeout, f"{process.name} standing by")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = [line.message for line in read_log(process.log()) if line.message.startswith("lock change seen:")]
            if seen and seen[-1].startswith(f"lock change seen: {leader.name} generation") and not seen[-1].endswith("released"):
                return
            time.sleep(0.02)
        raise AssertionError(f"{process.name} is not following {leader.name} within {timeout}s:\n{process.log()[-3000:]}")

    def _until_window(self, start: float, end: float) -> float:
        phase = time.time() % self.interval
        return 0.0 if start <= phase <= end else (start - phase) % self.interval

    def _wait_new_leader(self, candidates: list[LongrunProcess], timeout: float) -> LongrunProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in candidates:
                health = process.health()
                if health is not None and leading(health):
                    return process
            time.sleep(0.02)
        logs = "\n".join(f"--- {p.name}\n{p.log()[-2000:]}" for p in candidates)
        raise AssertionError(f"no standby led within {timeout}s of the SIGTERM:\n{logs}")

    def _wait_log(self, process: LongrunProcess, needle: tuple[str, ...], after: datetime, timeout: float) -> LogLine:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = first(read_log(process.log()), needle, after)
            if line is not None:
                return line
            time.sleep(0.02)
        raise AssertionError(f"{process.name}: no heartbeat within {timeout}s of leading:\n{process.log()[-3000:]}")


def summary(values: Sequence[float]) -> str:
    return f"min {min(values):.3f} s, median {statistics.median(values):.3f} s, max {max(values):.3f} s"
