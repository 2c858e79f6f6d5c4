"""Scheduled probe slots of a window, and which of them have no stored result.

A probe type runs once per slot of ``probeSchedules.<type>Hours`` (slots
aligned as ``exporter.domain.slots`` aligns them) and stores its result under
``probe_key(type, slot)``. A slot whose start lies in the window [start, end)
is expected; a slot without a document is missing, whatever the reason
(process down, leader lost, probe crashed).

    schedules = schedule_seconds(config)            # {"outbound": 21600.0, ...}
    check = check_probe_slots(start, end, schedules, {"OUT_2026031006": "PASS"})
    check.expected, check.missing, check.failed
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterator, Mapping

from exporter.domain.slots import iso, probe_key, slot_start
from exporter.domain.vocabulary import SCHEDULE_KEY


@dataclass(frozen=True)
class ProbeSlotCheck:
    expected: int
    present: int
    missing: tuple[tuple[str, datetime], ...]  # (type, slot start)
    failed: tuple[str, ...]  # probe keys whose stored result is FAIL

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected": self.expected, "present": self.present,
            "missing": [{"type": kind, "slot": iso(slot), "probeKey": probe_key(kind, slot)} for kind, slot in self.missing],
            "failed": list(self.failed),
        }


def schedule_seconds(config: Mapping[str, Any]) -> dict[str, float]:
    """Slot length per probe type from the config document; types without a usable value are left out."""
    schedules = config.get("probeSchedules") or {}
    out = {}
    for kind, key in SCHEDULE_KEY.items():
        hours = schedules.get(key)
        if isinstance(hours, (int, float)) and not isinstance(hours, bool) and hours > 0:
            out[kind] = float(hours) * 3600
    return out


def expected_slots(start: datetime, end: datetime, schedules: Mapping[str, float]) -> Iterator[tuple[str, datetime]]:
    """(type, slot start) for every slot of every type starting in [start, end)."""
    for kind in sorted(schedules):
        step = timedelta(seconds=schedules[kind])
        slot = slot_start(start, schedules[kind])
        slot = slot if slot >= start else slot + step
        while slot < end:
            yield kind, slot
            slot += step


def check_probe_slots(start: datetime, end: datetime, schedules: Mapping[str, float],
                      results: Mapping[str, Any]) -> ProbeSlotCheck:
    """Compare the expected slots with ``results`` (probe key -> stored result)."""
    expected = list(expected_slots(start, end, schedules))
    missing = tuple((kind, slot) for kind, slot in expected if probe_key(kind, slot) not in results)
    keys = [probe_key(kind, slot) for kind, slot in expected]
    failed = tuple(key for key in keys if results.get(key) == "FAIL")
    return ProbeSlotCheck(len(expected), len(expected) - len(missing), missing, failed)
