"""Document builders shared by the domain tests (plain functions, usable under hypothesis)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from exporter.domain.heartbeats import HeartbeatResult, analyze_heartbeats
from exporter.domain.slots import bucket_id, day_bounds, iso

DAY = date(2026, 3, 10)
DAY_START, DAY_END = day_bounds(DAY)
ABSENT = object()


def hb(slot: datetime, *, target_up=ABSENT, instance="i-1", deployment="d-1",
       uptime: float | None = None, lag: float = 0.25, **extra) -> dict:
    """A heartbeat document for ``slot`` written ``lag`` seconds into it."""
    ts = slot + timedelta(seconds=lag)
    doc = {"ts": ts, "tsIso": iso(ts), "bucketId": bucket_id(slot), "instanceId": instance,
           "deploymentId": deployment, "generation": 1, "connectedCount": 1,
           "reconnectingCount": 0, "needsQrCount": 0, "queueDepth": 0,
           "expectedIntervalSec": 60, "driftSec": lag}
    if uptime is not None:
        doc["uptimeSec"] = uptime
    if target_up is not ABSENT:
        doc["targetUp"] = target_up
    doc.update(extra)
    return doc


def day_docs(*, missing=(), down=(), start: datetime = DAY_START, slots: int = 1440,
             interval: float = 60) -> list[dict]:
    """Heartbeats for slot indexes 0..slots-1 except ``missing``; ``down`` have targetUp False."""
    missing, down = set(missing), set(down)
    return [hb(start + timedelta(seconds=i * interval), target_up=i not in down)
            for i in range(slots) if i not in missing]


def day_result(docs, interval: float = 60) -> HeartbeatResult:
    return analyze_heartbeats(docs, DAY_START, DAY_END, interval)


def at(hours: int = 0, minutes: int = 0, seconds: float = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(
        hours=hours, minutes=minutes, seconds=seconds)


def seeded_day_result(docs, interval: float = 60, *, target_up=True) -> HeartbeatResult:
    """The day's analysis when history started before it: the day before ended with a heartbeat
    in its last slot (with a target unless ``target_up`` is ABSENT)."""
    from exporter.domain.heartbeats import HeartbeatAccumulator

    acc = HeartbeatAccumulator(DAY_START, DAY_END, interval)
    acc.seed(hb(DAY_START - timedelta(seconds=interval), target_up=target_up))
    acc.add_all(docs)
    return acc.result()
