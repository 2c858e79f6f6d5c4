"""The runtime config document (``config/current``): defaults and validation.

Operators edit this document to change what counts as bad; jobs re-read it
before each run. Validation is per field: an invalid field keeps its last good
value and is reported by name, so a typo never stops the job loop.

    >>> result = validate({"alertThresholds": {"missedHbPerHour": -1}}, last_good=defaults())
    >>> result.config["alertThresholds"]["missedHbPerHour"], result.errors
    (3, ['alertThresholds.missedHbPerHour: must be >= 0, got -1'])
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from exporter.domain.vocabulary import DEFAULT_SEVERITY, SEVERITIES

# (path, check) for every editable field; the check returns an error message or None.
Check = Callable[[Any], "str | None"]


def _number(minimum: float, maximum: float, integer: bool = False, strict_min: bool = False) -> Check:
    """A finite number in its range; every numeric field has both bounds, so no
    value can overflow the date arithmetic or the counters that use it."""
    low = f"{'>' if strict_min else '>='} {minimum:g}"

    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a number, got {type(value).__name__} {_shown(value)}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"expected a finite number, got {value!r} (range {minimum:g} .. {maximum:g})"
        if integer and value != int(value):
            return f"expected a whole number, got {value!r}"
        if value <= minimum if strict_min else value < minimum:
            return f"must be {low}, got {_shown(value)} (range {minimum:g} .. {maximum:g})"
        if value > maximum:
            return f"must be <= {maximum:g}, got {_shown(value)} (range {minimum:g} .. {maximum:g})"
        return None

    return check


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:20]}... ({len(text)} digits)"


def _optional(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def _severity(value: Any) -> str | None:
    return None if value in SEVERITIES else f"expected one of {', '.join(SEVERITIES)}, got {value!r}"


YEARS_10 = 3650  # the longest retention we accept, in days
FIELDS: dict[str, Check] = {
    "expectedAccounts": _number(0, 100_000, integer=True),
    "driftSec": _number(0, 86_400),
    "insufficientDataThreshold": _number(0, 1),
    "probeSchedules.outboundHours": _number(0, 24 * 30, strict_min=True),
    "probeSchedules.queueHours": _number(0, 24 * 30, strict_min=True),
    "probeSchedules.inboundHours": _number(0, 24 * 30, strict_min=True),
    "alertThresholds.missedHbPerHour": _number(0, 100_000),
    "alertThresholds.consecutiveProbeFails": _number(1, 1000, integer=True),
    "alertThresholds.queueDepthThreshold": _number(0, 1e12),
    "alertThresholds.reconnectLoop": _number(0, 1e9),
    "alertThresholds.maxIncidentsPerDay": _number(0, 1e9),
    "alertThresholds.coverageAlertRatio": _number(0, 1),
    "targets.coveragePct": _number(0, 100),
    "targets.probePassPct.outbound": _number(0, 100),
    "targets.probePassPct.inbound": _number(0, 100),
    "targets.probePassPct.queue": _number(0, 100),
    "retention.heartbeatsDays": _optional(_number(1, YEARS_10)),
    "retention.probesDays": _optional(_number(1, YEARS_10)),
    "retention.incidentsDays": _optional(_number(1, YEARS_10)),
    "retention.rollupsDays": _optional(_number(1, YEARS_10)),
    "retention.outboxDays": _optional(_number(1, YEARS_10)),
    "severities.logged_out": _severity,
    "severities.missed_heartbeat": _severity,
    "severities.reconnect_loop": _severity,
    "severities.probe_fail": _severity,
    "severities.rollup_failed": _severity,
    "severities.queue_depth": _severity,
    # How long an open incident may wait for acknowledgement before a reminder (exporter.domain.response).
    "responseTimeSec.P1": _number(1, 7 * 86400),
    "responseTimeSec.P2": _number(1, 7 * 86400),
    "responseTimeSec.P3": _number(1, 7 * 86400),
}

# Mirrors of process settings: shown in the document, changed only by redeploying
# with new LONGRUN_* settings (every instance must agree on them at once).
READ_ONLY = ("heartbeatIntervalSec", "lock.leaseSec", "lock.renewEverySec")
META = ("updatedAt", "createdAt", "updatedBy")


def defaults(
    heartbeat_interval: float = 60,
    lease: float = 120,
    renew: float = 60,
    outbound_interval: float = 6 * 3600,
    queue_interval: float = 24 * 3600,
    inbound_interval: float = 6 * 3600,
) -> dict[str, Any]:
    """The runbook's defaults, with schedule and lock mirrors taken from process settings."""
    return {
        "expectedAccounts": 3,
        "heartbeatIntervalSec": heartbeat_interval,
        "driftSec": 10,
        "insufficientDataThreshold": 0.8,
        "probeSchedules": {
            "outboundHours": outbound_interval / 3600,
            "queueHours": queue_interval / 3600,
            "inboundHours": inbound_interval / 3600,
        },
        "alertThresholds": {
            "missedHbPerHour": 3,
            "consecutiveProbeFails": 2,
            "queueDepthThreshold": 100,
            "reconnectLoop": 10,
            "maxIncidentsPerDay": 10,
            "coverageAlertRatio": 0.95,
        },
        "targets": {  # the runbook's: coverage >= 99% over 7 days; probes >= 95% (queue 98%)
            "coveragePct": 99.0,
            "probePassPct": {"outbound": 95.0, "inbound": 95.0, "queue": 98.0},
        },
        "lock": {"leaseSec": lease, "renewEverySec": renew},
        "retention": {"heartbeatsDays": 90, "probesDays": 180, "incidentsDays": 365, "rollupsDays": None, "outboxDays": 7},
        "severities": dict(DEFAULT_SEVERITY),
        "responseTimeSec": {"P1": 300, "P2": 900, "P3": 3600},
    }


@dataclass(frozen=True)
class Validation:
    config: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def get_path(doc: dict[str, Any], path: str, default: Any = KeyError) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            if default is KeyError:
                raise KeyError(path)
            return default
        node = node[part]
    return node


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = doc
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def validate(candidate: Any, last_good: dict[str, Any]) -> Validation:
    """Validate a stored or proposed document field by field against ``last_good``.

    Missing fields take the last good value silently (older documents lack
    newer fields); invalid ones take it with an error naming the field.
    """
    if not isinstance(candidate, dict):
        return Validation(copy.deepcopy(last_good), [f"config: expected a JSON object, got {type(candidate).__name__}"])
    config = copy.deepcopy(last_good)
    errors: list[str] = []
    for path, check in FIELDS.items():
        value = get_path(candidate, path, default=_MISSING)
        if value is _MISSING:
            continue
        problem = check(value)
        if problem:
            errors.append(f"{path}: {problem}")
        else:
            set_path(config, path, value)
    warnings = [f"{path}: unknown field, ignored" for path in sorted(_leaf_paths(candidate)) if not _known(path)]
    return Validation(config, errors, warnings)


def validate_patch(patch: Any, current: dict[str, Any]) -> Validation:
    """Validate an operator's edit: unlike a stored document, any bad or read-only field rejects it."""
    if not isinstance(patch, dict) or not patch:
        return Validation(current, ["config: expected a non-empty JSON object of fields to change"])
    result = validate(_merged(current, patch), current)
    errors = list(result.errors)
    for path in _leaf_paths(patch):
        if any(path == ro or path.startswith(ro + ".") for ro in READ_ONLY):
            errors.append(f"{path}: read-only here; set the LONGRUN_* setting and redeploy every instance")
        elif not _known(path) and path not in META:
            errors.append(f"{path}: unknown field")
    return Validation(result.config, errors)


def thresholds(config: dict[str, Any]) -> dict[str, float]:
    """Flat threshold values exported as ``longrun_alert_threshold{name}``."""
    flat = dict(config.get("alertThresholds", {}))
    flat["insufficientDataThreshold"] = config.get("insufficientDataThreshold")
    return {k: float(v) for k, v in flat.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


_MISSING = object()


def _known(path: str) -> bool:
    return path in FIELDS or path in READ_ONLY or path in META


def _leaf_paths(doc: dict[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            paths.extend(_leaf_paths(value, path + "."))
        else:
            paths.append(path)
    return paths


def _merged(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out
