"""What chat-ops says in Telegram (parse mode HTML). Pure; every interpolated value is escaped.

    press_line("acknowledged", "@alice", now)     # '👀 Acknowledged by @alice at 2026-03-01 12:03:04 UTC'
    reminder_text(incident, number=2, waited_sec=600)
    status_text(facts)                             # the /status answer
    incidents_text(open_incidents)                 # the /incidents answer, with short ids
"""

from __future__ import annotations

import hashlib
import html
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from alerting.telegram.format import humanize_duration, render_incident_change

SHORT_ID_CHARS = 6
MAX_LISTED = 20

HELP = ("Commands: /status · /incidents · /ack ID · /resolve ID [root cause]"
        " · /maintenance DURATION REASON (IDs are the short ids /incidents shows)")
REFUSED = "⛔ Not allowed: only the user ids in TELEGRAM_ADMIN_IDS can act on incidents."
NOT_HERE = "⛔ This chat is not one of longrun's alert chats; nothing was changed."
FORGED = "⛔ This button is not valid (it was not made by this longrun); nothing was changed."
UNKNOWN_INCIDENT = "This incident is unknown here (deleted, or from another longrun); nothing was changed."
STORE_DOWN = "⚠️ longrun could not save this (its store is unavailable); nothing was changed, try again in a minute."

_VERBS = {"acknowledged": "👀 Acknowledged", "resolved": "✅ Resolved", "silenced": "🔕 Silenced for 1 h"}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=False)


def when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def short_id(incident_id: str) -> str:
    """Six hex characters naming an incident in commands; matched among the active ones."""
    return hashlib.sha256(incident_id.encode()).hexdigest()[:SHORT_ID_CHARS]


def press_answer(done: str, who: str) -> str:
    """Plain text (answerCallbackQuery shows no HTML)."""
    return f"{_VERBS[done]} by {who}"


def press_line(done: str, who: str, at: datetime) -> str:
    return f"{_VERBS[done]} by {esc(who)} at {when(at)}"


def after_action(incident: Mapping[str, Any], done: str, who: str, at: datetime) -> str:
    """The pressed message as edited: the incident as it is now, and who did what when."""
    change = "resolved" if incident.get("status") == "resolved" else "acknowledged" \
        if incident.get("status") == "acknowledged" else "opened"
    return render_incident_change(incident, change) + "\n\n" + press_line(done, who, at)


def already(incident: Mapping[str, Any]) -> str:
    """The friendly answer to a press that no longer applies."""
    status, owner = incident.get("status"), incident.get("owner")
    by = f" by {owner}" if owner else ""
    if status == "resolved":
        end = incident.get("tsEnd")
        at = f" at {when(end)}" if isinstance(end, datetime) else ""
        return f"✅ Already resolved{by}{at}; nothing to do."
    return f"👀 Already acknowledged{by}; nothing to do."


def reminder_text(incident: Mapping[str, Any], *, number: int, of: int, waited_sec: float) -> str:
    severity, kind = esc(incident.get("severity") or "?"), esc(incident.get("type") or "incident")
    lines = [f"⏰ <b>Reminder {number}/{of}</b> · <b>{severity}</b> · <b>{kind}</b>",
             f"Nobody has acknowledged this incident for <b>{humanize_duration(waited_sec)}</b>."]
    if incident.get("summary") or incident.get("reason"):
        lines.append(esc(str(incident.get("summary") or incident.get("reason"))[:600]))
    incident_id = str(incident.get("incidentId") or "")
    lines.append(f"<code>{esc(short_id(incident_id))}</code> · <code>{esc(incident_id[:200])}</code>")
    return "\n".join(lines)


def incidents_text(incidents: Iterable[Mapping[str, Any]], now: datetime) -> str:
    items = list(incidents)
    if not items:
        return "✅ No open incidents."
    lines = [f"<b>{len(items)} active incident{'s' if len(items) != 1 else ''}</b>"]
    for doc in items[:MAX_LISTED]:
        start = doc.get("tsStart")
        age = humanize_duration((now - start).total_seconds()) if isinstance(start, datetime) else "?"
        owner = f" · {esc(doc['owner'])}" if doc.get("owner") else ""
        lines.append(f"<code>{short_id(str(doc.get('incidentId')))}</code> {esc(doc.get('severity'))} "
                     f"{esc(doc.get('type'))} · {esc(doc.get('status'))} · {age}{owner}")
    if len(items) > MAX_LISTED:
        lines.append(f"… and {len(items) - MAX_LISTED} more")
    return "\n".join(lines)


def status_text(facts: Any) -> str:
    """The /status answer from the status page's facts (exporter.web.templates.status.StatusFacts)."""
    now = facts.now
    lines = ["<b>longrun status</b>"]
    heartbeat = facts.last_heartbeat or {}
    ts = heartbeat.get("ts")
    lines.append(f"Heartbeat: {humanize_duration((now - ts).total_seconds()) + ' ago' if isinstance(ts, datetime) else 'none yet'}")
    lock = facts.lock or {}
    holder = lock.get("holderInstanceId")
    expired = " (lease expired)" if lock.get("expired") else ""
    lines.append(f"Leader: {esc(holder) + expired if holder else 'nobody'}")
    for window in ("1h", "24h"):
        coverage = (facts.coverage or {}).get(window)
        ratio = getattr(coverage, "ratio", None)
        lines.append(f"Coverage {window}: {'n/a' if ratio is None else f'{ratio:.2%}'}")
    probes = []
    for kind, doc in sorted((facts.probes or {}).items()):
        probes.append(f"{esc(kind)} {esc(doc.get('result')) if isinstance(doc, Mapping) else 'never run'}")
    lines.append("Probes: " + (", ".join(probes) or "none"))
    incidents = list(facts.incidents or [])
    lines.append(f"Open incidents: {len(incidents)}")
    for doc in incidents[:5]:
        lines.append(f"  <code>{short_id(str(doc.get('incidentId')))}</code> {esc(doc.get('severity'))} "
                     f"{esc(doc.get('type'))} ({esc(doc.get('status'))})")
    for problem in getattr(facts, "problems", []) or []:
        lines.append(f"⚠️ {esc(problem)}")
    return "\n".join(lines)
