"""The facts of the Telegram /status summary (``exporter.web.status_summary.collect``).

The status page is ``status.html.j2`` beside this file, rendered by
``exporter.web.status_render`` from ``exporter.web.status_view``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping



@dataclass(frozen=True)
class Coverage:
    written: int
    expected: int

    @property
    def ratio(self) -> float | None:
        return min(1.0, self.written / self.expected) if self.expected else None


@dataclass(frozen=True)
class StatusFacts:
    """Everything the page shows; gathered by ``exporter.web.status_page``."""

    now: datetime
    instance_id: str
    service_version: str
    commit: str
    store_kind: str
    store_up: bool
    this_leads: bool
    interval: float
    lock: Mapping[str, Any] | None = None  # admin_read.lock_view of the scheduler lock
    last_heartbeat: Mapping[str, Any] | None = None
    coverage: Mapping[str, Coverage | None] = field(default_factory=dict)
    coverage_note: str = ""
    probes: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)
    incidents: list[Mapping[str, Any]] = field(default_factory=list)
    rollups: list[Mapping[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
