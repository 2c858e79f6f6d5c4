"""The Telegram texts of a maintenance window: one when it starts, one when it ends (HTML parse mode).

    render_started(window, now)     # "🔧 Maintenance started: deploy 0.3 ..."
    render_ended(window, now)       # "✅ Maintenance over: deploy 0.3 ..."
    render_recorded(window)         # a window recorded after it was over (one message, not two)
"""

from __future__ import annotations

import html
from datetime import datetime, timezone

from exporter.domain.maintenance import Window

QUIET = "Planned work: longrun pages nobody for it and leaves it out of uptime and coverage."


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _span(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def render_started(window: Window, now: datetime) -> str:
    return (f"🔧 <b>Maintenance started</b>: {_escape(window.reason)}\n"
            f"until {_when(window.until)} ({_span((window.until - window.start).total_seconds())}), "
            f"by {_escape(window.created_by)}\n{QUIET}\n<code>{_escape(window.id)}</code>")


def render_ended(window: Window, now: datetime) -> str:
    early = window.ended_at is not None and window.ended_at < window.end
    how = f"ended early (planned until {_when(window.end)})" if early else "ended as planned"
    return (f"✅ <b>Maintenance over</b>: {_escape(window.reason)}\n"
            f"{_when(window.start)} – {_when(window.until)} ({_span((window.until - window.start).total_seconds())}), "
            f"{how}. Alerts page again.\n<code>{_escape(window.id)}</code>")


def render_recorded(window: Window) -> str:
    return (f"🔧 <b>Maintenance recorded</b> after the fact: {_escape(window.reason)}\n"
            f"{_when(window.start)} – {_when(window.until)} ({_span((window.until - window.start).total_seconds())}), "
            f"by {_escape(window.created_by)}; its minutes leave uptime and coverage (rollups recomputed with "
            f"<code>longrun rollup --force</code> show it).\n<code>{_escape(window.id)}</code>")
