"""Alertmanager webhook bodies (decoded JSON) for the alerting tests."""

from __future__ import annotations

import copy
from typing import Any

GO_ZERO = "0001-01-01T00:00:00Z"


def alert(i: int = 0, *, status: str = "firing", labels: dict[str, str] | None = None,
          annotations: dict[str, str] | None = None, starts_at: str = "2026-03-01T11:50:00.123456789Z",
          ends_at: str = GO_ZERO, fingerprint: str | None = None) -> dict[str, Any]:
    return {
        "status": status,
        "labels": labels if labels is not None else {
            "alertname": "HeartbeatMissing", "severity": "critical", "instance": f"host-{i}:9469", "job": "longrun",
        },
        "annotations": annotations if annotations is not None else {
            "summary": f"No heartbeat from host-{i}",
            "description": "The scheduler wrote no heartbeat for 5 minutes.",
            "runbook_url": "https://runbooks.example.com/longrun#heartbeat-missing",
        },
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": f"http://prometheus:9090/graph?g0.expr=up%7Bi%3D{i}%7D",
        "fingerprint": fingerprint or f"{i:016x}",
    }


def webhook(*alerts: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="HeartbeatMissing"}',
        "truncatedAlerts": 0,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": "telegram",
        "groupLabels": {"alertname": "HeartbeatMissing"},
        "commonLabels": {"alertname": "HeartbeatMissing", "job": "longrun"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts) or [alert()],
    }
    body.update(overrides)
    return copy.deepcopy(body)
