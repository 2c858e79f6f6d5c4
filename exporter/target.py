"""The monitored service's status endpoint (LONGRUN_TARGET_URL).

    client = TargetClient(session, "http://127.0.0.1:8080/status", timeout=5)
    status = await client.status()   # never raises: a failure is status.up == False

The endpoint answers JSON with connectedCount, reconnectingCount,
needsQrCount, queueDepth and reconnectsTotal.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from exporter.urls import scrub

COUNTERS = {
    "connectedCount": "connected_count",
    "reconnectingCount": "reconnecting_count",
    "needsQrCount": "needs_qr_count",
    "queueDepth": "queue_depth",
    "reconnectsTotal": "reconnects_total",
}


@dataclass(frozen=True)
class TargetStatus:
    up: bool
    connected_count: int | None = None
    reconnecting_count: int | None = None
    needs_qr_count: int | None = None
    queue_depth: int | None = None
    reconnects_total: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    problems: tuple[str, ...] = field(default=())


def parse_status(body: Any) -> TargetStatus:
    """Interpret the target's JSON; wrong types are reported, never raised."""
    if not isinstance(body, dict):
        return TargetStatus(up=False, error=f"status is not a JSON object but {type(body).__name__}")
    values: dict[str, int | None] = {}
    problems = []
    for key, name in COUNTERS.items():
        value = body.get(key)
        if value is None:
            values[name] = None
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            values[name] = None
            problems.append(f"{key}: expected a count, got {value!r}"[:200])
        else:
            values[name] = int(value)
    return TargetStatus(up=True, problems=tuple(problems), **values)


class TargetClient:
    def __init__(self, session: aiohttp.ClientSession, url: str, timeout: float = 5.0) -> None:
        self.session, self.url, self.timeout = session, url, timeout

    async def status(self) -> TargetStatus:
        started = time.perf_counter()
        try:
            async with self.session.get(self.url, timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                raw = await response.read()
                latency = (time.perf_counter() - started) * 1000
                if response.status >= 300:
                    return TargetStatus(up=False, latency_ms=latency, error=f"HTTP {response.status}")
        except asyncio.TimeoutError:
            return TargetStatus(up=False, error=f"no answer within {self.timeout:g}s")
        except aiohttp.ClientError as exc:
            return TargetStatus(up=False, error=scrub(f"{exc.__class__.__name__}: {exc}", self.url)[:300])
        status = parse_body(raw)
        return TargetStatus(**{**status.__dict__, "latency_ms": latency})


class _NonFinite(ValueError):
    """JSON with NaN or Infinity, which the JSON standard does not allow."""


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(text[:20])
    return value


def parse_body(raw: bytes) -> TargetStatus:
    """Interpret the raw answer: any bytes give a status, never an exception.

    Not UTF-8, not JSON, or JSON holding ``NaN``/``Infinity`` (or a number
    like ``1e999`` that overflows to infinity) make the target down with a
    reason, as an HTTP 500 or an HTML page does.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return TargetStatus(up=False, error="answered with bytes that are not UTF-8")
    try:
        body = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NonFinite as exc:
        return TargetStatus(up=False, error=f"answered with a non-finite number ({exc}), which JSON does not allow")
    except (ValueError, RecursionError):
        return TargetStatus(up=False, error="answered with invalid JSON")
    return parse_status(body)
