"""The newest heartbeats, carried on the lease document the leader renews anyway.

A standby already watches the lock document (one billed read per renewal); when
each renewal also carries the last few heartbeats the leader wrote, the standby
learns of every heartbeat without reading the heartbeat collection at all.

    fields = carry(recent_docs)              # {"recentHeartbeats": [...]}, merged into the renewal
    docs = carried(lock_data)                # the same summaries back, oldest first; [] when absent

Only what the metrics and the page read is carried: the slot (bucketId), when
it was written, by whom, and the target's figures of the newest one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

FIELD = "recentHeartbeats"
KEEP = 5
SUMMARY_FIELDS = (
    "bucketId", "ts", "instanceId", "generation", "driftSec", "targetUp", "connectedCount",
    "reconnectingCount", "needsQrCount", "queueDepth", "reconnectsTotal",
)


def summary(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {key: doc.get(key) for key in SUMMARY_FIELDS}


def carry(recent: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The renewal's extra field: the last ``KEEP`` heartbeats, oldest first."""
    docs = [summary(doc) for doc in recent][-KEEP:]
    return {FIELD: docs} if docs else {}


def carried(lock: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The usable heartbeat summaries on a lock document, oldest first (none from older versions)."""
    items = lock.get(FIELD) if isinstance(lock, Mapping) else None
    if not isinstance(items, list):
        return []
    usable = [dict(item) for item in items
              if isinstance(item, Mapping) and isinstance(item.get("ts"), datetime) and item["ts"].tzinfo is not None
              and isinstance(item.get("bucketId"), str)]
    return sorted(usable, key=lambda item: item["ts"])[-KEEP:]
