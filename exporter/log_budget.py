"""At most one log line per kind and interval, with a count of the ones left out.

    budget = LogBudget(interval=60.0)
    if (skipped := budget.take("accept", now)) is not None:
        log.warning("... (%d more like it in the last minute)", skipped)

A flood of one event (a client sending garbage, an exhausted file limit) must not
become a flood of log lines: the metric counts every one, the log says it once a minute.
"""

from __future__ import annotations


class LogBudget:
    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def take(self, kind: str, now: float) -> int | None:
        """The number of events of this kind left unlogged since the last line, when a line may be
        logged now; None when this one is to be left out (and counted)."""
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return None
        self._last[kind] = now
        return self._skipped.pop(kind, 0)
