"""What the monitor's checks conclude: one ``Decision`` per problem (type, subject), from the data alone.

    decision = probe_fail_decision(consecutive_failures(newest_first), 2, probe_type="outbound")
    decision.action      # "open", "resolve" or "hold" (the check could not tell)

The monitor (``exporter.jobs.monitor``) turns a decision into a state change
of the incident under ``open_key(type, subject)``
(``exporter.domain.incidents``, the state machine).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from exporter.domain.slots import iso
from exporter.domain.stats import is_number


@dataclass(frozen=True)
class Decision:
    """What one monitor check concluded about the problem (type, subject).

    ``action`` tells the monitor what to do with the incident under
    ``open_key(type, subject)``: "open" (open or update it), "resolve" (resolve
    it if one is active) or "hold" (the check could not tell: no data, target
    unreachable; leave any incident as it is rather than resolve it blindly).
    """

    type: str
    subject: str
    active: bool
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    known: bool = True

    @property
    def action(self) -> str:
        if not self.known:
            return "hold"
        return "open" if self.active else "resolve"


def missed_heartbeats_decision(hb_result: Any, threshold: int) -> Decision:
    """Active when more than ``threshold`` heartbeats are missing from the window
    analysed (the runbook's "missed heartbeats > 3 in 1 hour"); unknown when the
    window expects none. ``hb_result`` is a ``heartbeats.HeartbeatResult``."""
    return missed_count_decision(hb_result.expected, hb_result.written, threshold, start=hb_result.start,
                                 end=hb_result.end, max_gap_sec=hb_result.max_gap_sec)


def missed_count_decision(expected: int, written: int, threshold: int, *, start: datetime, end: datetime,
                          max_gap_sec: float | None = None) -> Decision:
    """The same decision from counts alone (a count query costs one read, not one per heartbeat)."""
    missed = expected - written
    details = {"expected": expected, "written": written, "missed": missed,
               "coverage": written / expected if expected else None,
               "maxGapSec": max_gap_sec, "threshold": threshold,
               "windowStart": iso(start), "windowEnd": iso(end)}
    reason = f"{missed} of {expected} heartbeats missed (threshold {threshold})"
    if max_gap_sec is not None:
        reason += f", max gap {max_gap_sec:g}s"
    return Decision("missed_heartbeat", "heartbeat", missed > threshold, reason, details, known=expected > 0)


def consecutive_failures(probe_docs_newest_first: Iterable[Any]) -> int:
    """FAIL results before the most recent PASS, newest first.

    SKIP (not configured) neither counts nor breaks the streak; documents with
    no readable result are passed over the same way.
    """
    streak = 0
    for doc in probe_docs_newest_first:
        result = doc.get("result") if isinstance(doc, Mapping) else None
        if result == "PASS":
            break
        if result == "FAIL":
            streak += 1
    return streak


def probe_fail_decision(consecutive: int, threshold: int, *, probe_type: str) -> Decision:
    """Active when ``consecutive`` failures reach ``threshold`` (at least 1)."""
    limit = max(1, threshold)
    return Decision("probe_fail", probe_type, consecutive >= limit,
                    f"{probe_type} probe failed {consecutive} times in a row (threshold {limit})",
                    {"probeType": probe_type, "consecutiveFailures": consecutive, "threshold": limit})


def logged_out_decision(connected: int | None, expected: int | None, *,
                        needs_qr: int | None = None) -> Decision:
    """Active when fewer accounts are connected than expected, or any needs a QR
    scan; unknown when the connected count is unavailable (no or unreachable target)."""
    details = {"connected": connected, "expected": expected, "needsQr": needs_qr}
    if not is_number(connected):
        return Decision("logged_out", "accounts", False, "connected count unavailable",
                        details, known=False)
    short = is_number(expected) and connected < expected
    qr = is_number(needs_qr) and needs_qr > 0
    reason = f"{connected} of {expected} accounts connected" + (f", {needs_qr} need a QR scan" if qr else "")
    return Decision("logged_out", "accounts", short or qr, reason, details)


def reconnect_loop_decision(reconnects_in_window: int | None, threshold: int) -> Decision:
    """Active when the target reconnected more than ``threshold`` times in the
    window (the runbook's "> 10"); unknown when the count is unavailable."""
    details = {"reconnects": reconnects_in_window, "threshold": threshold}
    if not is_number(reconnects_in_window):
        return Decision("reconnect_loop", "target", False, "reconnect count unavailable",
                        details, known=False)
    return Decision("reconnect_loop", "target", reconnects_in_window > threshold,
                    f"{reconnects_in_window} reconnects in the window (threshold {threshold})", details)
