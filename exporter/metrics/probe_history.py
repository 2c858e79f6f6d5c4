"""The recent probe results per type: the newest one and the current failure streak.

    history = ProbeHistory()
    history.add(doc)                            # probe result documents, any order, repeats ignored
    history.newest("outbound")["result"]        # 'FAIL'
    history.consecutive_failures("outbound")    # 2

Per type it keeps the newest PASS and everything after it: exactly what
``exporter.domain.monitor_checks.consecutive_failures`` reads (a PASS ends the
streak; SKIP neither counts nor ends it). At most ``keep`` results are held per
type, so a probe that has failed or skipped for months costs bounded memory and
its streak reads as at least ``keep``.
"""

from __future__ import annotations

import bisect
from datetime import datetime
from typing import Any, Mapping

from exporter.domain.monitor_checks import consecutive_failures

KEEP = 100


def _entry(doc: Any) -> tuple[str, datetime, str] | None:
    """(type, ts, probeKey) of a usable result document, else None."""
    if not isinstance(doc, Mapping):
        return None
    probe_type, ts, key = doc.get("type"), doc.get("ts"), doc.get("probeKey")
    if not isinstance(probe_type, str) or not isinstance(key, str):
        return None
    if not isinstance(ts, datetime) or ts.tzinfo is None:
        return None
    return probe_type, ts, key


class ProbeHistory:
    """Newest result and failure streak per probe type, from result documents."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._kept: dict[str, list[tuple[datetime, str, Mapping[str, Any]]]] = {}

    def add(self, doc: Any) -> bool:
        """Take one result document; True when it was not held already."""
        entry = _entry(doc)
        if entry is None:
            return False
        probe_type, ts, key = entry
        kept = self._kept.setdefault(probe_type, [])
        if any(held_key == key for _, held_key, _ in kept):
            return False
        bisect.insort(kept, (ts, key, doc), key=lambda item: item[:2])
        self._trim(kept)
        return True

    def _trim(self, kept: list) -> None:
        for index in range(len(kept) - 1, -1, -1):
            if kept[index][2].get("result") == "PASS":
                del kept[:index]
                break
        del kept[: max(0, len(kept) - self.keep)]

    def types(self) -> list[str]:
        return [probe_type for probe_type, kept in self._kept.items() if kept]

    def newest(self, probe_type: str) -> Mapping[str, Any] | None:
        kept = self._kept.get(probe_type)
        return kept[-1][2] if kept else None

    def newest_ts(self) -> datetime | None:
        """The newest ``ts`` over every type, or None when nothing is held."""
        stamps = [kept[-1][0] for kept in self._kept.values() if kept]
        return max(stamps) if stamps else None

    def consecutive_failures(self, probe_type: str) -> int:
        kept = self._kept.get(probe_type, [])
        return consecutive_failures(doc for _, _, doc in reversed(kept))
