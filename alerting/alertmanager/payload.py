"""The Alertmanager webhook payload, version 4: strict parsing into frozen data.

Pure: takes the decoded JSON object, returns a ``WebhookPayload`` or raises a
``PayloadError`` naming the offending field, so the HTTP route can answer 400
with a message an operator can act on. Nothing here does I/O.

    payload = parse_payload(await request.json())   # PayloadError -> answer 400
    firing = [a for a in payload.alerts if a.status == "firing"]

A bad field is named in the error: ``alerts[3].startsAt: not an RFC3339 time: 'yesterday'``.

Valid JSON can still be no alert at all, and is refused here rather than failing
later as a 5xx that Alertmanager would retry forever: a lone surrogate (``"\ud800"``)
in any string, a ``startsAt`` before 2000 or (given ``now``) more than a day ahead.
An ``endsAt`` outside that window is read as unset, so a resolution still lands
and its duration is measured to when it arrived, never to year 9999.

Attribute names are the JSON names in snake_case (``groupKey`` -> ``group_key``,
``startsAt`` -> ``starts_at``); error paths use the JSON names.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from collections.abc import Mapping
from typing import Any, Literal

Status = Literal["firing", "resolved"]
STATUSES: tuple[str, ...] = ("firing", "resolved")

# Go's zero time: Alertmanager sends it for an endsAt that is not set.
_GO_ZERO_YEAR = 1
# Times outside [EARLIEST, now + AHEAD] are no alert's: a broken sender, a clock far off, or a probe.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
AHEAD = timedelta(days=1)

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


class PayloadError(ValueError):
    """The payload can never be valid; ``field`` is a path like ``alerts[3].startsAt``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Limits:
    """What a sane payload stays within. A 10 KB annotation is fine; 1 MB is not."""

    max_alerts: int = 10_000
    max_labels: int = 128
    max_name_chars: int = 1_024
    max_label_value_chars: int = 16_384
    max_annotation_value_chars: int = 65_536
    max_text_chars: int = 65_536  # groupKey, receiver, URLs, fingerprint


@dataclass(frozen=True)
class Alert:
    status: Status
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str
    fingerprint: str

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @cached_property  # asked several times per alert; the alert is frozen
    def dedup_key(self) -> str:
        """Fingerprint + startsAt: the same alert episode, whichever Alertmanager of an HA pair sent it."""
        return f"{self.fingerprint}@{self.starts_at.isoformat()}"


@dataclass(frozen=True)
class WebhookPayload:
    version: str
    group_key: str
    truncated_alerts: int
    status: Status
    receiver: str
    group_labels: Mapping[str, str]
    common_labels: Mapping[str, str]
    common_annotations: Mapping[str, str]
    external_url: str
    alerts: tuple[Alert, ...]

    def count(self, status: Status) -> int:
        """Alerts in this status, read from each alert: the group status can say firing while some resolved."""
        return sum(1 for alert in self.alerts if alert.status == status)


def parse_payload(obj: Any, limits: Limits = Limits(), *, now: datetime | None = None) -> WebhookPayload:
    """Validate a decoded webhook body; raise PayloadError naming the first bad field.

    Alerts repeated in one payload (same fingerprint and startsAt) are kept
    once; a resolved copy wins over a firing one. ``now`` sets the latest
    plausible time (``now + AHEAD``); without it only the earliest is checked.
    """
    root = _object(obj, "payload")
    version = root.get("version")
    if version != "4":
        raise PayloadError("version", f'expected "4", got {version!r}')
    alerts_raw = _required(root, "alerts", "alerts")
    if not isinstance(alerts_raw, list):
        raise PayloadError("alerts", f"expected a list, got {_kind(alerts_raw)}")
    if not alerts_raw:
        raise PayloadError("alerts", "empty: a notification carries at least one alert")
    if len(alerts_raw) > limits.max_alerts:
        raise PayloadError("alerts", f"{len(alerts_raw)} alerts, more than the limit of {limits.max_alerts}")
    latest = now + AHEAD if now is not None else None
    alerts = tuple(_parse_alert(item, f"alerts[{i}]", limits, latest) for i, item in enumerate(alerts_raw))
    return WebhookPayload(
        version=version,
        group_key=_text(root, "groupKey", "groupKey", limits, required=True),
        truncated_alerts=_count(root.get("truncatedAlerts", 0), "truncatedAlerts"),
        status=_status(root.get("status"), "status"),
        receiver=_text(root, "receiver", "receiver", limits, required=True),
        group_labels=_labels(root.get("groupLabels"), "groupLabels", limits, limits.max_label_value_chars),
        common_labels=_labels(root.get("commonLabels"), "commonLabels", limits, limits.max_label_value_chars),
        common_annotations=_labels(
            root.get("commonAnnotations"), "commonAnnotations", limits, limits.max_annotation_value_chars
        ),
        external_url=_text(root, "externalURL", "externalURL", limits),
        alerts=_unique(alerts),
    )


def notification_key(payload: WebhookPayload) -> str:
    """A key that is equal for the same group in the same state.

    HA duplicates and Alertmanager's repeat_interval re-sends give the same key;
    a new alert in the group or a resolution gives a new one. Use it as the
    outbox dedup key so each state change is sent once.
    """
    digest = hashlib.sha256(payload.group_key.encode())
    for alert in sorted(payload.alerts, key=lambda a: a.dedup_key):
        digest.update(f"\0{alert.dedup_key}\0{alert.status}".encode())
    return digest.hexdigest()[:32]


def parse_rfc3339(text: Any, field: str) -> datetime:
    """Alertmanager's RFC3339 times: nanoseconds allowed (truncated to microseconds), ``Z`` or an offset."""
    if type(text) is str and len(text) <= _TIME_CHARS:  # a storm's alerts share a few start times
        parsed = _time_of(text)
        if parsed is not None:
            return parsed
    return _parse_rfc3339(text, field)  # refuses it, naming the field


_TIME_CHARS = 40  # "2026-01-01T00:00:00.123456789+05:30" is 35


@lru_cache(maxsize=1024)
def _time_of(text: str) -> datetime | None:
    try:
        return _parse_rfc3339(text, "")
    except PayloadError:
        return None


def _parse_rfc3339(text: Any, field: str) -> datetime:
    match = _RFC3339.match(text) if isinstance(text, str) else None
    if not match:
        raise PayloadError(field, f"not an RFC3339 time: {_preview(text)}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0").ljust(6, "0")[:6])
    try:
        tz = timezone.utc if zone in ("Z", "z") else _offset(zone)
        parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=tz)
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise PayloadError(field, f"not an RFC3339 time: {_preview(text)} ({exc})") from None


# ---------------------------------------------------------------- alerts


def _parse_alert(obj: Any, path: str, limits: Limits, latest: datetime | None) -> Alert:
    raw = _object(obj, path)
    starts_at = parse_rfc3339(_required(raw, "startsAt", f"{path}.startsAt"), f"{path}.startsAt")
    if starts_at.year == _GO_ZERO_YEAR:
        raise PayloadError(f"{path}.startsAt", "unset (Go zero time)")
    if starts_at < EARLIEST:
        raise PayloadError(f"{path}.startsAt", f"{starts_at.isoformat()} is before {EARLIEST.date()}: no alert starts then")
    if latest is not None and starts_at > latest:
        raise PayloadError(f"{path}.startsAt", f"{starts_at.isoformat()} is after {latest.isoformat()} "
                                               "(a day from now): the sender's clock is wrong")
    ends_raw = raw.get("endsAt")
    ends_at = None if ends_raw in (None, "") else parse_rfc3339(ends_raw, f"{path}.endsAt")
    if ends_at is not None and not _plausible(ends_at, latest):
        ends_at = None  # Go's zero time (unset), or a time no alert ends at: read as "now" on resolution
    fingerprint = _text(raw, "fingerprint", f"{path}.fingerprint", limits, required=True)
    if not fingerprint:
        raise PayloadError(f"{path}.fingerprint", "empty")
    return Alert(
        status=_status(raw.get("status"), f"{path}.status"),
        labels=_labels(_required(raw, "labels", f"{path}.labels"), f"{path}.labels", limits,
                       limits.max_label_value_chars),
        annotations=_labels(raw.get("annotations"), f"{path}.annotations", limits,
                            limits.max_annotation_value_chars),
        starts_at=starts_at,
        ends_at=ends_at,
        generator_url=_text(raw, "generatorURL", f"{path}.generatorURL", limits),
        fingerprint=fingerprint,
    )


def _plausible(when: datetime, latest: datetime | None) -> bool:
    return when >= EARLIEST and (latest is None or when <= latest)


def _unique(alerts: tuple[Alert, ...]) -> tuple[Alert, ...]:
    kept: dict[str, Alert] = {}
    for alert in alerts:
        seen = kept.get(alert.dedup_key)
        if seen is None or (seen.status == "firing" and alert.status == "resolved"):
            kept[alert.dedup_key] = alert
    return tuple(kept.values())


# ---------------------------------------------------------------- fields


def _object(obj: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise PayloadError(path, f"expected an object, got {_kind(obj)}")
    return obj


def _required(obj: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in obj or obj[key] is None:
        raise PayloadError(path, "missing")
    return obj[key]


def _status(value: Any, path: str) -> Status:
    if value not in STATUSES:
        raise PayloadError(path, f"expected firing or resolved, got {_preview(value)}")
    return value


def _count(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError(path, f"expected a non-negative integer, got {_preview(value)}")
    return value


def _text(obj: Mapping[str, Any], key: str, path: str, limits: Limits, *, required: bool = False) -> str:
    value = _required(obj, key, path) if required else obj.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(path, f"expected a string, got {_kind(value)}")
    if len(value) > limits.max_text_chars:
        raise PayloadError(path, f"{len(value)} characters, more than {limits.max_text_chars}")
    return _unicode(value, path)


def _labels(value: Any, path: str, limits: Limits, max_value_chars: int) -> Mapping[str, str]:
    """A string-to-string map. Missing or null reads as empty: Go encodes a nil map as null."""
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise PayloadError(path, f"expected an object of strings, got {_kind(value)}")
    if len(value) > limits.max_labels:
        raise PayloadError(path, f"{len(value)} entries, more than {limits.max_labels}")
    for name, item in value.items():
        if not isinstance(name, str) or not name or len(name) > limits.max_name_chars:
            raise PayloadError(path, f"bad name {_preview(name)}")
        _unicode(name, path)
        if not isinstance(item, str):
            raise PayloadError(f"{path}.{name}", f"expected a string, got {_kind(item)}")
        if len(item) > max_value_chars:
            raise PayloadError(f"{path}.{name}", f"{len(item)} characters, more than {max_value_chars}")
        _unicode(item, f"{path}.{name}")
    return MappingProxyType(dict(value))


def _unicode(text: str, path: str) -> str:
    """``text`` when it is valid Unicode; a lone surrogate (valid JSON, ``"\ud800"``) cannot be
    stored, logged or sent as UTF-8, so it is refused here, with the offending character escaped."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = text[exc.start].encode("unicode_escape").decode("ascii")
        raise PayloadError(path, f"contains a lone surrogate ({char}) at character {exc.start}: not valid Unicode") from None
    return text


def _offset(zone: str) -> timezone:
    sign = -1 if zone[0] == "-" else 1
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(f"bad UTC offset {zone}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
