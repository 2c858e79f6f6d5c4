"""Telegram messages (parse mode HTML): alert blocks and incident changes. Pure.

Every interpolated value is escaped; only http(s) URLs become links. An alert
block too long for its budget is shortened (its description first), never
dropped. ``alerting.telegram.group`` lays a whole group notification out from
these blocks and one-line alerts.

    block = fit_block(alert, now, payload.external_url, budget=1500)
    text = render_incident_change(incident_doc, "resolved")

Lengths are measured on the escaped HTML in UTF-16 units, which is never less
than what Telegram counts after parsing the entities.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from typing import Any, Mapping

from alerting.alertmanager.payload import Alert
from alerting.runbook import runbook_link

LIMIT = 4096

FIRING_ICON = "🔥"
RESOLVED_ICON = "✅"
ELLIPSIS = "…"

# Labels shown in the block title or the header instead of the label list.
_TITLE_LABELS = {"alertname", "severity"}
_MAX_LABELS_SHOWN = 8
_MAX_HREF_UNITS = 1024
# Caps, in UTF-16 units of the escaped text, that keep a compact block far below LIMIT.
_CAP_NAME = 200
_CAP_SUMMARY = 600
_CAP_LABEL = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    if text.isascii():  # known without a scan: the common case, asked several times per line
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def humanize_duration(seconds: float) -> str:
    """``45s``, ``5m 3s``, ``2h 5m``, ``3d 4h``; negative (clock skew) reads as 0s."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    for big, big_unit, small, small_unit in ((days, "d", hours, "h"), (hours, "h", minutes, "m"),
                                             (minutes, "m", secs, "s")):
        if big:
            return f"{big}{big_unit} {small}{small_unit}" if small else f"{big}{big_unit}"
    return f"{secs}s"


# ---------------------------------------------------------------- alert blocks (grouped by alerting.telegram.group)


def fit_block(alert: Alert, now: datetime, external_url: str, budget: int) -> str | None:
    """The alert block, its description cut to fit ``budget`` if need be; None when even that is too long."""
    description = alert.annotations.get("description", "")
    full = _alert_block(alert, now, _escape(description))
    if utf16_len(full) <= budget:
        return full
    see = _truncated_note(alert.generator_url or external_url)
    room = budget - utf16_len(_alert_block(alert, now, "", see))
    if room >= 80:
        return _alert_block(alert, now, _clip(description, room), see)
    return None


def _alert_block(alert: Alert, now: datetime, description_html: str, note: str = "") -> str:
    icon, word = (FIRING_ICON, "FIRING") if alert.status == "firing" else (RESOLVED_ICON, "RESOLVED")
    title = [f"{icon} <b>{word}</b>"]
    if alert.labels.get("severity"):
        title.append(f"<b>{_clip(alert.labels['severity'], 64)}</b>")
    title.append(f"<b>{_clip(alert.name or alert.fingerprint, _CAP_NAME)}</b>")
    lines = [" · ".join(title)]
    summary = alert.annotations.get("summary") or alert.annotations.get("message")
    if summary:
        lines.append(_clip(summary, _CAP_SUMMARY))
    if description_html or note:
        lines.append(f"<i>{description_html}</i> {note}" if note else f"<i>{description_html}</i>")
    if labels := _label_line(alert.labels):
        lines.append(labels)
    lines.append(_timing(alert, now))
    if links := _links(alert):
        lines.append(links)
    return "\n".join(lines)


def _label_line(labels: Mapping[str, str]) -> str:
    shown = [(k, v) for k, v in sorted(labels.items()) if k not in _TITLE_LABELS]
    items = [f"{_clip(k, 64)}=<code>{_clip(v, _CAP_LABEL)}</code>" for k, v in shown[:_MAX_LABELS_SHOWN]]
    if len(shown) > _MAX_LABELS_SHOWN:
        items.append(f"+{len(shown) - _MAX_LABELS_SHOWN} more")
    return ", ".join(items)


def _timing(alert: Alert, now: datetime) -> str:
    if alert.status == "resolved" and alert.ends_at is not None:
        lasted = humanize_duration((alert.ends_at - alert.starts_at).total_seconds())
        return f"🕒 lasted {lasted} ({_when(alert.starts_at)} → {_when(alert.ends_at)})"
    since = humanize_duration((now - alert.starts_at).total_seconds())
    return f"🕒 since {_when(alert.starts_at)} ({since})"


def _links(alert: Alert) -> str:
    runbook = alert.annotations.get("runbook_url") or alert.annotations.get("runbook", "")
    links = [link for link in (_link(runbook, "📖 Runbook"), _link(alert.generator_url, "📈 Source")) if link]
    return " · ".join(links)


def _truncated_note(url: str) -> str:
    link = _link(url, "source")
    return f"(truncated, see {link})" if link else "(truncated)"


# ---------------------------------------------------------------- incidents

_CHANGES = {
    "opened": "🚨 <b>Incident opened</b>",
    "escalated": "⏫ <b>Incident escalated</b>",
    "acknowledged": "👀 <b>Incident acknowledged</b>",
    "resolved": "✅ <b>Incident resolved</b>",
}


def render_incident_change(incident: Mapping[str, Any], change: str, runbook_base: str = "") -> str:
    """One message for an incident state change, from the incident document's fields. Its runbook link is
    the alert's ``runbookUrl``, else the incident type's section of the runbook at ``runbook_base``
    (LONGRUN_RUNBOOK_URL)."""
    if change not in _CHANGES:
        raise ValueError(f"unknown incident change {change!r}; expected one of {', '.join(_CHANGES)}")
    title = [_CHANGES[change]]
    for key in ("severity", "type"):
        if incident.get(key):
            title.append(f"<b>{_clip(str(incident[key]), 64)}</b>")
    lines = [" · ".join(title)]
    if incident.get("summary"):
        lines.append(_clip(str(incident["summary"]), 600))
    if incident.get("reason"):
        lines.append(f"Reason: {_clip(str(incident['reason']), 600)}")
    lines.append(f"Status: <b>{_clip(str(incident.get('status') or change), 32)}</b>")
    if started := _as_datetime(incident.get("tsStart")):
        lines.append(f"Started: {_when(started)}")
    if change == "resolved":
        lines.append(f"Duration: <b>{humanize_duration(_incident_seconds(incident))}</b>")
    if incident.get("owner"):
        lines.append(f"Owner: {_clip(str(incident['owner']), 200)}")
    if incident.get("rootCause"):
        lines.append(f"Root cause: {_clip(str(incident['rootCause']), 600)}")
    url = str(incident.get("runbookUrl") or "") or runbook_link(runbook_base, str(incident.get("type") or "alert"))
    if runbook := _link(url, "📖 Runbook"):
        lines.append(runbook)
    if incident_id := incident.get("id") or incident.get("incidentId"):
        lines.append(f"<code>{_clip(str(incident_id), 200)}</code>")
    return "\n".join(lines)


def _incident_seconds(incident: Mapping[str, Any]) -> float:
    if isinstance(incident.get("mttrSec"), (int, float)) and not isinstance(incident["mttrSec"], bool):
        return float(incident["mttrSec"])
    start, end = _as_datetime(incident.get("tsStart")), _as_datetime(incident.get("tsEnd"))
    return (end - start).total_seconds() if start and end else 0.0


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


# ---------------------------------------------------------------- escaping


def _escape(text: str) -> str:
    return html.escape(_CONTROL.sub("", text), quote=False)


def _clip(text: str, max_units: int) -> str:
    """Escape ``text``, cutting the raw text first (with an ellipsis) so the escaped result fits ``max_units``."""
    escaped = _escape(text)
    if utf16_len(escaped) <= max_units:
        return escaped
    low, high = 0, len(text)
    while low < high:  # the longest prefix whose escaped form plus the ellipsis fits
        mid = (low + high + 1) // 2
        if utf16_len(_escape(text[:mid])) + 1 <= max_units:
            low = mid
        else:
            high = mid - 1
    return _escape(text[:low]) + ELLIPSIS


def _link(url: str, label: str) -> str:
    if not url.lower().startswith(("http://", "https://")):
        return ""
    href = html.escape(_CONTROL.sub("", url), quote=True)
    if utf16_len(href) > _MAX_HREF_UNITS:
        return ""
    return f'<a href="{href}">{label}</a>'


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# The pieces other message layouts build on.
clip = _clip
link = _link
