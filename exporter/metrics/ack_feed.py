"""The acknowledgement times behind ``longrun_incident_ack_seconds{severity}`` (a histogram).

Read by the refresh loop from the store, so every instance exports the same
figures whichever process acknowledged (the API, the CLI, a Telegram button);
an acknowledgement this process makes is counted at once (``take_own``, from
the incident service's listeners), the others arrive with the next read:
every incident with ``tsAck`` once, then only ``tsAck`` past the newest seen
(less a minute, for acknowledgements stored a little out of order). Each
incident counts once, by id.

    feed = AckFeed(runtime)
    await feed.refresh(now)
    feed.histograms()    # {("P1",): Histogram(buckets=[(30.0, 2), ..., (inf, 3)], total=412.0), ...}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from exporter.domain.stats import is_number
from exporter.metrics.catalog import ACK_BUCKETS, SEVERITIES
from exporter.store import Filter, Order

if TYPE_CHECKING:
    from exporter.runtime import Runtime

PAGE = 100
OVERLAP = timedelta(seconds=60)


@dataclass(frozen=True)
class Histogram:
    buckets: list[tuple[float, int]]  # (upper bound, cumulative count), +Inf last
    total: float


def histogram(values: list[float], bounds: tuple[float, ...] = ACK_BUCKETS) -> Histogram:
    counts = [(bound, sum(1 for v in values if v <= bound)) for bound in bounds]
    return Histogram(counts + [(math.inf, len(values))], float(sum(values)))


class AckFeed:
    name = "acks"

    def __init__(self, runtime: Runtime) -> None:
        self.store, self.collection = runtime.store, runtime.paths.incidents
        self.acks: dict[str, tuple[str, float]] = {}  # incidentId -> (severity, ackSec)
        self.newest: datetime | None = None

    async def refresh(self, now: datetime) -> None:
        where = [Filter("tsAck", ">=", self.newest - OVERLAP)] if self.newest else [Filter("tsAck", ">", datetime.min.replace(tzinfo=now.tzinfo))]
        async for doc in self.store.stream(self.collection, where=where, order_by=[Order("tsAck")], page_size=PAGE):
            self.add(doc.data)

    def add(self, data: dict[str, Any]) -> None:
        """One incident as the store holds it; the next read continues from its ``tsAck``."""
        ts_ack = self.take_own(data)
        if ts_ack is not None:
            self.newest = max(self.newest or ts_ack, ts_ack)

    def take_own(self, data: dict[str, Any]) -> datetime | None:
        """Count one incident's acknowledgement (its ``tsAck``, None when it has none). Alone, for
        one this process just made: the read cursor stays, so an older one made elsewhere and not
        yet read is still found by the next read."""
        ts_ack, ack = data.get("tsAck"), data.get("ackSec")
        if not isinstance(ts_ack, datetime) or not is_number(ack) or ack < 0:
            return None
        severity = data.get("severity") if data.get("severity") in SEVERITIES else "unknown"
        self.acks[str(data.get("incidentId"))] = (severity, float(ack))
        return ts_ack

    def histograms(self) -> dict[tuple[str, ...], Histogram]:
        by_severity: dict[str, list[float]] = {s: [] for s in SEVERITIES}
        for severity, ack in self.acks.values():
            by_severity.setdefault(severity, []).append(ack)
        return {(severity,): histogram(values) for severity, values in by_severity.items()}
