"""The outcome of ``longrun verify``: the runbook's data-quality check on one window.

The exit code and its reasons are ``exporter.domain.report.verify_decision``'s
(0 good, 1 failure, 2 insufficient data); missing probe slots are reported
beside them but do not change the code, as in the runbook's script.

    outcome = Verification.of(heartbeat_result, probe_check, coverage_threshold=0.8)
    outcome.code, outcome.summary_lines()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exporter.domain.heartbeats import HeartbeatResult
from exporter.domain.report import verify_decision
from exporter.domain.slots import iso
from exporter.reports.probe_slots import ProbeSlotCheck

GOOD, FAILURE, INSUFFICIENT = 0, 1, 2
VERDICTS = {GOOD: "GOOD", FAILURE: "FAILURE", INSUFFICIENT: "INSUFFICIENT_DATA"}


@dataclass(frozen=True)
class Verification:
    heartbeats: HeartbeatResult
    probes: ProbeSlotCheck
    code: int
    reasons: tuple[str, ...]
    maintenance_sec: float = 0.0  # seconds of the window inside maintenance windows: left out of the figures

    @classmethod
    def of(cls, heartbeats: HeartbeatResult, probes: ProbeSlotCheck, *, coverage_threshold: float,
           maintenance_sec: float = 0.0) -> "Verification":
        code, reasons = verify_decision(heartbeats, coverage_threshold=coverage_threshold)
        return cls(heartbeats, probes, code, tuple(reasons), maintenance_sec)

    @property
    def verdict(self) -> str:
        return VERDICTS[self.code]

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "exitCode": self.code, "reasons": list(self.reasons),
                "heartbeats": self.heartbeats.to_dict(), "probes": self.probes.to_dict(),
                "maintenanceSec": self.maintenance_sec}

    def summary_lines(self) -> list[str]:
        """What an operator reads: the window, the figures, and why the verdict."""
        hb, probes = self.heartbeats, self.probes
        coverage = "n/a" if hb.coverage is None else f"{hb.coverage:.2%}"
        lines = [
            f"window      {iso(hb.start)} .. {iso(hb.end)} ({hb.interval:g}s heartbeats)",
            f"heartbeats  {hb.written}/{hb.expected} written ({coverage}), {hb.missed} missed, max gap {hb.max_gap_sec:g}s",
        ]
        if self.maintenance_sec:
            lines.append(f"maintenance {self.maintenance_sec / 60:g} min in maintenance windows, left out of the figures")
        lines += [f"  gap       {iso(g.start)} -> {iso(g.end)}: {g.seconds:g}s, {g.missed_slots} missed"
                  for g in hb.largest_gaps[:3]]
        lines.append(f"documents   {hb.duplicates} duplicate, {hb.misaligned} misaligned, {hb.malformed} malformed, "
                     f"{hb.out_of_order} out of order")
        lines.append(f"instances   {hb.instance_changes} instance change(s), {hb.restarts} restart(s)")
        lines.append(f"probes      {probes.present}/{probes.expected} scheduled slots have a result, "
                     f"{len(probes.missing)} missing, {len(probes.failed)} FAIL")
        lines += [f"  missing   {kind} slot {iso(slot)}" for kind, slot in probes.missing[:10]]
        because = "; ".join(self.reasons) or "coverage and gaps within limits, no bad documents"
        lines.append(f"verdict     {self.verdict} (exit {self.code}): {because}")
        return lines

