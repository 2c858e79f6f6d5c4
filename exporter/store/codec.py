"""Value encoding shared by the backends: JSON text for SQLite, plain Python for callers.

Datetimes become tagged fixed-width UTC strings, so SQLite's text order is
time order and a range filter on ``ts`` compares instants:

    >>> encode_value(datetime(2026, 1, 1, tzinfo=timezone.utc))
    '\\x01ts:2026-01-01T00:00:00.000000Z'
    >>> decode_value(encode_value(datetime(2026, 1, 1, tzinfo=timezone.utc)))
    datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)

A user string that starts with the tag would read back as a datetime, so it
is refused.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from exporter.store.base import MAX_IN_VALUES, RANGE_OPS, Filter, InvalidValue, check_value

TS_TAG = "\x01ts:"
_INT64 = 2**63


def normalize(value: Any, where: str = "value") -> Any:
    """What a backend hands back for ``value``: UTC datetimes, lists for tuples."""
    check_value(value, where)
    return _normalize(value, where)


def document_data(data: Any) -> dict[str, Any]:
    """A document's fields, normalized; InvalidValue unless it is a map."""
    if not isinstance(data, dict):
        raise InvalidValue(f"document data must be a dict, not {type(data).__name__}")
    return normalize(data, "data")


def encode_document(data: Any) -> dict[str, Any]:
    """``encode_value(document_data(data))`` in one walk: the SQLite store encodes every write.

    The walk takes exact built-in types only (str, int, float, bool, None, dict, list, tuple,
    aware datetimes from year 1000) and hands anything else, or anything it would refuse, to
    the two-step path, which says what is wrong and where."""
    if type(data) is dict:
        try:
            return _fast_map(data)
        except _Unusual:
            pass
    return encode_value(document_data(data))


class _Unusual(Exception):
    """The one-walk encoder met something it leaves to ``normalize`` and ``encode_value``."""


def _fast_map(data: dict) -> dict[str, Any]:
    out = data.copy()  # then only the values that change are set again (same keys: safe while iterating)
    for key, value in out.items():
        if type(key) is not str or not key:
            raise _Unusual
        kind = type(value)  # the common leaves inline: a call per field was half the cost
        if kind is str:
            if value[:1] == "\x01" and value.startswith(TS_TAG):
                raise _Unusual
        elif value is None or kind is bool:
            pass
        elif kind is dict:
            out[key] = _fast_map(value)
        elif kind is datetime:
            out[key] = _fast_timestamp(value)
        else:
            out[key] = _fast(value)
    return out


def _fast(value: Any) -> Any:
    kind = type(value)
    if kind is str and not value.startswith(TS_TAG):
        return value
    if kind is dict:
        return _fast_map(value)
    if kind is datetime:
        return _fast_timestamp(value)
    if kind is list or kind is tuple:
        return [_fast(item) for item in value]
    if value is None or kind is bool or (kind is int and -_INT64 <= value < _INT64) or (
            kind is float and math.isfinite(value)):
        return value
    raise _Unusual


# The text of recent instants: a document repeats a few (now, the alert's start) many times.
_TEXTS: dict[datetime, str] = {}
_TEXTS_KEPT = 1024


def _fast_timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise _Unusual
    text = _TEXTS.get(value)  # equal aware datetimes are the same instant, so the same text
    if text is None:
        if len(_TEXTS) >= _TEXTS_KEPT:
            _TEXTS.clear()
        text = _TEXTS[value] = _timestamp_text(
            value if value.tzinfo is timezone.utc else value.astimezone(timezone.utc))
    return text


def _timestamp_text(utc: datetime) -> str:
    """Fixed width, years zero-padded (strftime's ``%Y`` wrote year 999 as "999", unreadable)."""
    return TS_TAG + utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _normalize(value: Any, where: str) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    if isinstance(value, (list, tuple)):
        return [_normalize(item, where) for item in value]
    if isinstance(value, dict):
        return {key: _normalize(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, str) and value.startswith(TS_TAG):
        raise InvalidValue(f"{where}: strings may not start with the reserved prefix {TS_TAG!r}")
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
        raise InvalidValue(f"{where}: integer outside the 64-bit range")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidValue(f"{where}: NaN and infinity cannot be stored")
    return value


def encode_value(value: Any) -> Any:
    """A normalized value as JSON-ready Python (datetimes as tagged strings)."""
    if isinstance(value, datetime):
        return _timestamp_text(value.astimezone(timezone.utc))
    if isinstance(value, list):
        return [encode_value(item) for item in value]
    if isinstance(value, dict):
        return {key: encode_value(item) for key, item in value.items()}
    return value


def decode_value(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(TS_TAG):
        return datetime.fromisoformat(value[len(TS_TAG):])  # "...Z" reads back as UTC
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    if isinstance(value, dict):
        return {key: decode_value(item) for key, item in value.items()}
    return value


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Firestore ``set(merge=True)``: maps merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def check_field_updates(updates: dict[str, Any]) -> None:
    """Refuse what Firestore's ``update()`` refuses: no fields, bad paths, a field given with its sub-field."""
    if not updates:
        raise InvalidValue("update: give at least one field")
    for path in updates:
        segments = split_field_path(path)
        for end in range(1, len(segments)):
            if ".".join(segments[:end]) in updates:
                raise InvalidValue(f"update: field {'.'.join(segments[:end])!r} and its sub-field {path!r} given together")


def apply_field_updates(base: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    """Firestore ``update()``: each key is a dotted field path whose value replaces that field."""
    check_field_updates(updates)
    result = dict(base)
    for path, value in updates.items():
        segments = split_field_path(path)
        node = result
        for segment in segments[:-1]:
            child = node.get(segment)
            node[segment] = dict(child) if isinstance(child, dict) else {}
            node = node[segment]
        node[segments[-1]] = value
    return result


def get_field(data: dict[str, Any], path: str) -> Any:
    """The value at a dotted field path; InvalidValue when it is missing."""
    node: Any = data
    for segment in split_field_path(path):
        if not isinstance(node, dict) or segment not in node:
            raise InvalidValue(f"no field {path!r}")
        node = node[segment]
    return node


_FORBIDDEN_IN_FIELD = set('~*/[]`\\"')


def split_field_path(path: str) -> list[str]:
    """``"a.b"`` → ``["a", "b"]``; refuses what either backend cannot address."""
    segments = path.split(".") if isinstance(path, str) else []
    if not segments or not all(segments):
        raise InvalidValue(f"field path {path!r} is empty or has an empty segment")
    if _FORBIDDEN_IN_FIELD & set(path):
        raise InvalidValue(f"field path {path!r} holds one of {''.join(sorted(_FORBIDDEN_IN_FIELD))}")
    return segments


def filter_value(flt: Filter) -> Any:
    """The normalized value of a filter, refusing what not both backends can compare."""
    if flt.op == "in":
        if not isinstance(flt.value, (list, tuple)) or not 0 < len(flt.value) <= MAX_IN_VALUES:
            raise InvalidValue(f"filter on {flt.field!r}: 'in' takes a list of 1 to {MAX_IN_VALUES} values")
        return [_filter_scalar(flt.field, value) for value in flt.value]
    if flt.op not in ("==", *RANGE_OPS):
        raise InvalidValue(f"filter on {flt.field!r}: unknown operator {flt.op!r}")
    if flt.value is None and flt.op != "==":
        raise InvalidValue(f"filter on {flt.field!r}: only == compares with None")
    return _filter_scalar(flt.field, flt.value)


def _filter_scalar(field: str, value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        raise InvalidValue(f"filter on {field!r}: compare with a number, string, bool, datetime or None")
    return normalize(value, f"filter on {field!r}")
