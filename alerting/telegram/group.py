"""One Alertmanager group notification as Telegram messages (parse mode HTML). Pure.

A notification of N alerts becomes at most ⌈N/40⌉ messages, each within 4096
UTF-16 units, so a storm reads at a glance instead of flooding the chat:

- the first few alerts of the first message in full (summary, description,
  labels, links), as many as fit;
- every other alert on one line: its name, the labels that tell it apart from
  the rest of the group (the ones whose values differ), and since when;
- every message ends with a link to the whole group in Alertmanager's UI
  (``externalURL``, filtered on the group labels).

Each message also comes with its ``lines``: the compact form of what it says
(a title line, then one line per alert). The outbox merges the lines of pending
messages into digests when a chat's backlog is more than its rate allows.

    for part in render_group_parts(payload, now=clock.now()):
        part.text      # at most 4096 units, well-formed HTML, every value escaped
        part.lines     # the same alerts, one line each, for a digest
    texts = render_group(payload, now=clock.now())

Nothing is cut inside a tag: values are clipped before they are escaped and
wrapped (see ``format._clip``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone
from typing import Mapping, Sequence
from urllib.parse import quote

from alerting.alertmanager.payload import Alert, WebhookPayload
from alerting.telegram.format import (
    FIRING_ICON, LIMIT, RESOLVED_ICON, clip, fit_block, link, utf16_len,
)

PER_MESSAGE = 40
MAX_FULL = 5           # "the first few alerts in full"
MIN_FULL_UNITS = 240   # a full block squeezed below this is not worth it: the alert gets a line
LINE_UNITS = 100       # the longest one-line alert
NAME_UNITS = 48
TITLE_UNITS = 300
TITLE_LINE_UNITS = 120
_MAX_LIST_HREF_UNITS = 600
TITLE_MARK = "▸ "  # starts a title line; digests do not repeat a title


@dataclass(frozen=True)
class GroupPart:
    text: str
    lines: tuple[str, ...]


def render_group(payload: WebhookPayload, *, now: datetime, limit: int = LIMIT,
                 per_message: int = PER_MESSAGE) -> list[str]:
    """The message texts for one group notification (see the module docstring)."""
    return [part.text for part in render_group_parts(payload, now=now, limit=limit, per_message=per_message)]


def render_group_parts(payload: WebhookPayload, *, now: datetime, limit: int = LIMIT,
                       per_message: int = PER_MESSAGE) -> list[GroupPart]:
    alerts = sorted(payload.alerts, key=lambda a: (a.status != "firing", a.starts_at, a.fingerprint))
    if not alerts:
        return []
    apart = distinguishing_labels(alerts)
    chunks = _chunks(alerts, per_message)
    firing, resolved = payload.count("firing"), payload.count("resolved")
    title = _group_title(payload)
    footer = _full_list(payload, len(alerts))
    parts = []
    for k, chunk in enumerate(chunks, start=1):
        head = _header(firing, resolved, title, (k, len(chunks)) if len(chunks) > 1 else None)
        if k == 1:
            head += _truncated_notice(payload.truncated_alerts)
        room = limit - utf16_len(head) - (utf16_len(footer) + 2 if footer else 0) - 2
        body, lines = _body(chunk, apart, now, payload.external_url, room, full=k == 1)
        text = head + "\n\n" + body + (f"\n\n{footer}" if footer else "")
        parts.append(GroupPart(text, (f"{TITLE_MARK}<b>{clip(_plain_title(payload), TITLE_LINE_UNITS)}</b>", *lines)))
    return parts


def distinguishing_labels(alerts: Sequence[Alert]) -> list[str]:
    """Label names whose values differ between the alerts (or that some alerts lack), alertname aside."""
    names = sorted({name for alert in alerts for name in alert.labels} - {"alertname"})
    if len(alerts) < 2:
        return [n for n in names if n not in ("severity",)][:4]
    return [n for n in names if len({alert.labels.get(n) for alert in alerts}) > 1]


def alert_line(alert: Alert, apart: Sequence[str], now: datetime, cap: int = LINE_UNITS) -> str:
    """``🔥 <b>Name</b> instance=host-1, shard=3 · since 11:50``, at most ``cap`` units."""
    icon = FIRING_ICON if alert.status == "firing" else RESOLVED_ICON
    tail = f" · {_since(alert, now)}"
    name_room = max(8, min(NAME_UNITS, cap - utf16_len(tail) - utf16_len(icon) - 8))
    head = f"{icon} <b>{clip(alert.name or alert.fingerprint, name_room)}</b>"
    room = cap - utf16_len(head) - utf16_len(tail) - 1
    shown = ", ".join(f"{name}={alert.labels[name]}" for name in apart if name in alert.labels)
    if shown and room >= 6:
        return f"{head} {clip(shown, room)}{tail}"
    return head + tail


# ---------------------------------------------------------------- layout


def _chunks(alerts: Sequence[Alert], per_message: int) -> list[Sequence[Alert]]:
    """⌈N/per_message⌉ chunks of nearly equal size, in order."""
    count = math.ceil(len(alerts) / per_message)
    size, extra = divmod(len(alerts), count)
    chunks, start = [], 0
    for k in range(count):
        end = start + size + (1 if k < extra else 0)
        chunks.append(alerts[start:end])
        start = end
    return chunks


def _body(chunk: Sequence[Alert], apart: Sequence[str], now: datetime, external_url: str, room: int,
          *, full: bool) -> tuple[str, list[str]]:
    """The chunk's text within ``room`` units: the first alerts in full while the rest still fit on lines."""
    cap = min(LINE_UNITS, room // len(chunk) - 1)
    lines = [alert_line(alert, apart, now, cap) for alert in chunk]
    pieces = list(lines)
    if full:
        used, rest = 0, sum(utf16_len(line) + 1 for line in lines)
        for i in range(min(MAX_FULL, len(chunk))):
            rest -= utf16_len(lines[i]) + 1  # the lines after line i
            budget = room - used - rest - 2
            if budget < MIN_FULL_UNITS:
                break
            block = fit_block(chunk[i], now, external_url, budget)
            if block is None or utf16_len(block) > budget:
                break
            pieces[i] = block
            used += utf16_len(block) + 2
    blocks = [p for p, line in zip(pieces, lines) if p is not line]
    rest = pieces[len(blocks):]
    body = "\n\n".join(blocks + (["\n".join(rest)] if rest else []))
    return body, lines


def _header(firing: int, resolved: int, title: str, part: tuple[int, int] | None) -> str:
    counts = []
    if firing:
        counts.append(f"{FIRING_ICON} <b>FIRING {firing}</b>")
    if resolved:
        counts.append(f"{RESOLVED_ICON} <b>RESOLVED {resolved}</b>")
    line = " · ".join(counts) + f" · {title}"
    return line + (f" (part {part[0]}/{part[1]})" if part else "")


def _plain_title(payload: WebhookPayload) -> str:
    labels = payload.group_labels or {"receiver": payload.receiver}
    return ", ".join(f"{name}={value}" for name, value in sorted(labels.items()))


def _group_title(payload: WebhookPayload) -> str:
    return f"<b>{clip(_plain_title(payload), TITLE_UNITS)}</b>"


def _truncated_notice(truncated: int) -> str:
    if not truncated:
        return ""
    return (f"\n⚠️ Alertmanager left out {truncated} more alert{'s' if truncated != 1 else ''} "
            f"of this group (truncatedAlerts={truncated}, see max_alerts).")


def _full_list(payload: WebhookPayload, count: int) -> str:
    """A link to the group's alerts in Alertmanager's UI; the unfiltered list when the filter is too long."""
    base = payload.external_url.rstrip("/")
    label = f"📋 All {count} alert{'s' if count != 1 else ''} in Alertmanager"
    for url in (list_url(base, payload.receiver, payload.group_labels), list_url(base, payload.receiver, {})):
        anchor = link(url, label)
        if anchor and utf16_len(anchor) <= _MAX_LIST_HREF_UNITS:
            return f"{anchor} · times UTC"
    return "Times UTC."


def list_url(base: str, receiver: str, labels: Mapping[str, str]) -> str:
    """Alertmanager's alert list, filtered to a receiver and label matchers."""
    query = f"receiver={quote(receiver, safe='')}"
    if labels:
        matchers = ",".join(f'{name}="{_quoted(value)}"' for name, value in sorted(labels.items()))
        query += f"&filter={quote('{' + matchers + '}', safe='')}"
    return f"{base}/#/alerts?{query}"


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _since(alert: Alert, now: datetime) -> str:
    if alert.status == "resolved" and alert.ends_at is not None:
        return f"ended {_short_time(alert.ends_at, now)}"
    return f"since {_short_time(alert.starts_at, now)}"


@lru_cache(maxsize=1024)  # one "now" per message, and a storm's alerts share a few start times
def _short_time(moment: datetime, now: datetime) -> str:
    """``11:50`` today (UTC), else ``03-01 11:50``, else ``2025-03-01``."""
    moment, now = moment.astimezone(timezone.utc), now.astimezone(timezone.utc)
    if moment.date() == now.date():
        return moment.strftime("%H:%M")
    if moment.year == now.year:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%Y-%m-%d")
