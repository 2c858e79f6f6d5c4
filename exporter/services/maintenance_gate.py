"""The monitor's incidents with planned work left out: nobody is paged for a problem inside a maintenance window.

    gate = MaintenanceGate(incidents, maintenance.spans, clock)
    monitor = MonitorJob(..., gate, ...)        # the monitor calls gate.detect / clear / active as on IncidentService

For the gated types (missed_heartbeat, target_down, probe_fail), when no
incident of that (type, subject) is open yet, ``detect`` asks
``exporter.domain.maintenance.gate_problem`` about the problem's start (``at``)
and end (``details["until"]``):

- it lies entirely inside a window: nothing is opened (``held`` counts it);
- it outlasts the window: it is opened with ``tsStart`` at the window's end;
- it started outside every window: it is opened as usual.

An incident already open when a window starts stays open: an open incident
is updated as usual. Everything else passes straight to the IncidentService.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, Mapping

from exporter.clock import Clock
from exporter.domain.maintenance import Spans, gate_problem
from exporter.services.incidents import IncidentService

log = logging.getLogger("longrun.maintenance")

GATED = ("missed_heartbeat", "target_down", "probe_fail")
HELD = "held"


def _parse(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


class MaintenanceGate:
    def __init__(self, incidents: IncidentService, spans: Callable[[datetime, datetime], Awaitable[Spans]],
                 clock: Clock, types: tuple[str, ...] = GATED) -> None:
        self.incidents, self.spans, self.clock, self.types = incidents, spans, clock, types
        self.held = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.incidents, name)

    async def detect(self, incident_type: str, subject: str, *, at: datetime | None = None,
                     details: Mapping[str, Any] | None = None, **kwargs: Any) -> tuple[dict[str, Any] | None, str]:
        if incident_type in self.types and await self.incidents.active(incident_type, subject) is None:
            now = self.clock.now()
            since = at or now
            spans = await self.spans(since, now + timedelta(microseconds=1))
            gate = gate_problem(since, _parse((details or {}).get("until")), now, spans)
            if not gate.open:
                self.held += 1
                log.info("🔧 %s %s since %s not opened: %s", incident_type, subject, since.isoformat(), gate.why)
                return None, HELD
            if gate.at != since:
                details = {**(details or {}), "since": gate.at.isoformat(), "plannedWorkUntil": gate.at.isoformat()}
                log.info("🔧 %s %s outlasted its maintenance window: opened at the window's end, %s",
                         incident_type, subject, gate.at.isoformat())
                at = gate.at
        return await self.incidents.detect(incident_type, subject, at=at, details=details, **kwargs)
