"""Lease rules for the scheduler lock: who may take it, and for how long to trust it.

The lock document keeps the runbook's fields (holderInstanceId, leaseUntilTs in
epoch ms, updatedAt) and adds ``leaseUntil`` as a timestamp and ``generation``,
a fencing token that grows on every change of holder and is stamped on every
heartbeat, so a leader that paused past its lease is visible in the data.

    >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> can_acquire(None, "a", now)
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any


@dataclass(frozen=True)
class LeaseView:
    holder: str | None
    lease_until: datetime
    generation: int
    released: bool = False


def parse_lock(data: dict[str, Any] | None) -> LeaseView | None:
    """Read a lock document written by us or by the original implementation."""
    if not data:
        return None
    until = data.get("leaseUntil")
    if not isinstance(until, datetime):
        millis = data.get("leaseUntilTs")
        if isinstance(millis, (int, float)) and not isinstance(millis, bool):
            until = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
        else:
            until = datetime.fromtimestamp(0, tz=timezone.utc)
    generation = data.get("generation")
    if not isinstance(generation, int) or isinstance(generation, bool):
        generation = 0
    holder = data.get("holderInstanceId")
    return LeaseView(holder if isinstance(holder, str) else None, until, generation, bool(data.get("releasedAt")))


def can_acquire(view: LeaseView | None, me: str, now: datetime) -> bool:
    """Free, expired, released, or already ours."""
    return view is None or view.holder is None or view.released or view.holder == me or view.lease_until <= now


def next_generation(view: LeaseView | None, me: str) -> int:
    if view is None:
        return 1
    return view.generation if view.holder == me and not view.released else view.generation + 1


def lock_document(me: str, deployment_id: str, now: datetime, lease: float, generation: int) -> dict[str, Any]:
    until = now + timedelta(seconds=lease)
    return {
        "holderInstanceId": me,
        "deploymentId": deployment_id,
        "leaseUntil": until,
        "leaseUntilTs": int(until.timestamp() * 1000),
        "generation": generation,
        "acquiredAt": now,
        "updatedAt": now,
        "releasedAt": None,
        # A new holder writes over the last holder's document field by field (a conditional
        # update), so it clears who released it too.
        "releasedBy": None,
    }


def renewal_fields(now: datetime, lease: float) -> dict[str, Any]:
    until = now + timedelta(seconds=lease)
    return {"leaseUntil": until, "leaseUntilTs": int(until.timestamp() * 1000), "updatedAt": now}


def release_fields(now: datetime) -> dict[str, Any]:
    return {"leaseUntil": now, "leaseUntilTs": int(now.timestamp() * 1000), "updatedAt": now, "releasedAt": now}


def trust_until(attempt_started: datetime, lease: float, renew: float) -> datetime:
    """How long a leader may act on a lease it wrote at ``attempt_started``.

    The lease is measured from when the write was *sent*, so a slow answer only
    shortens it; a safety margin of a quarter of the slack between renew and
    lease (at least 1 s, at most 10 s) covers clock skew between instances.
    """
    margin = min(10.0, max(1.0, (lease - renew) / 4))
    margin = min(margin, lease / 2)
    return attempt_started + timedelta(seconds=lease - margin)
