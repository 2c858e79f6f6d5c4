"""What a stored heartbeat says, and who wrote it.

    identity = Identity("instance-a", "deploy-7", "3f2c1e0", "0.3.0")
    doc = heartbeat_document(slot=slot, written_at=now, identity=identity, generation=4, interval=60,
                             uptime_sec=3600.5, memory_rss=52_000_000, target=status)
    store_path = paths.heartbeat(doc["bucketId"])

The job that writes heartbeats, the simulator and the benchmarks all build the
document here, so a simulated history has exactly the shape of a real one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from exporter.domain.slots import bucket_id, iso


@dataclass(frozen=True)
class Identity:
    """The running instance, as every document it writes names it."""

    instance_id: str
    deployment_id: str = "unknown"
    commit: str = "unknown"
    service_version: str = "0"


class TargetReading(Protocol):
    """What the monitored service reported (``exporter.target.TargetStatus`` is one)."""

    up: bool
    connected_count: int | None
    reconnecting_count: int | None
    needs_qr_count: int | None
    queue_depth: int | None
    reconnects_total: int | None
    error: str | None


def heartbeat_document(
    *,
    slot: datetime,
    written_at: datetime,
    identity: Identity,
    generation: int,
    interval: float,
    uptime_sec: float,
    memory_rss: int | None,
    target: TargetReading | None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "ts": written_at,
        "tsIso": iso(written_at),
        "bucketId": bucket_id(slot),
        "slotStart": slot,
        "commitHash": identity.commit,
        "serviceVersion": identity.service_version,
        "instanceId": identity.instance_id,
        "deploymentId": identity.deployment_id,
        "generation": generation,
        "uptimeSec": round(uptime_sec, 3),
        "memoryRss": memory_rss,
        "expectedIntervalSec": interval,
        "driftSec": round((written_at - slot).total_seconds(), 3),
        "connectedCount": None,
        "reconnectingCount": None,
        "needsQrCount": None,
        "queueDepth": None,
    }
    if target is not None:
        doc.update(_target_fields(target))
    return doc


def _target_fields(target: TargetReading) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "targetUp": target.up,
        "connectedCount": target.connected_count,
        "reconnectingCount": target.reconnecting_count,
        "needsQrCount": target.needs_qr_count,
        "queueDepth": target.queue_depth,
        "reconnectsTotal": target.reconnects_total,
    }
    if target.error:
        fields["targetError"] = target.error
    return fields
