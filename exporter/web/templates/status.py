"""The status page, rendered from a ``StatusFacts``: what a person needs at a glance.

    html = render(facts)          # pure: facts in, a complete HTML document out

Every interpolated value goes through ``esc``; the CSS is inline, there is no
script, and the page reloads itself every ``REFRESH_SEC`` seconds.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

REFRESH_SEC = 30
WINDOWS = ("1h", "24h", "7d")


@dataclass(frozen=True)
class Coverage:
    written: int
    expected: int

    @property
    def ratio(self) -> float | None:
        return min(1.0, self.written / self.expected) if self.expected else None


@dataclass(frozen=True)
class StatusFacts:
    """Everything the page shows; gathered by ``exporter.web.status_page``."""

    now: datetime
    instance_id: str
    service_version: str
    commit: str
    store_kind: str
    store_up: bool
    this_leads: bool
    interval: float
    lock: Mapping[str, Any] | None = None  # admin_read.lock_view of the scheduler lock
    last_heartbeat: Mapping[str, Any] | None = None
    coverage: Mapping[str, Coverage | None] = field(default_factory=dict)
    coverage_note: str = ""
    probes: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)
    incidents: list[Mapping[str, Any]] = field(default_factory=list)
    rollups: list[Mapping[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ formatting


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def age(seconds: float | None) -> str:
    """``42 s``, ``5 min``, ``3 h 12 min``, ``2 d 4 h``; ``n/a`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60} min" if hours < 48 else f"{hours // 24} d {hours % 24} h"


def seconds_since(when: Any, now: datetime) -> float | None:
    return (now - when).total_seconds() if isinstance(when, datetime) else None


def percent(ratio: Any, digits: int = 2) -> str:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not math.isfinite(ratio):
        return "n/a"
    return f"{ratio * 100:.{digits}f} %"


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return value if ok else None


# ------------------------------------------------------------------ verdict


def overall(facts: StatusFacts) -> tuple[str, list[str]]:
    """("ok" | "warn" | "bad", reasons): the one line a person reads first."""
    bad, warn = [], []
    if not facts.store_up:
        bad.append("the store is unreachable")
    hb_age = seconds_since((facts.last_heartbeat or {}).get("ts"), facts.now)
    if hb_age is None or hb_age > 3 * facts.interval:
        bad.append(f"no heartbeat for {age(hb_age)}" if hb_age is not None else "no heartbeat yet")
    if not facts.lock or facts.lock.get("expired", True):
        bad.append("no instance holds the scheduler lock")
    if facts.incidents:
        warn.append(f"{len(facts.incidents)} open incident(s)")
    failing = [t for t, p in facts.probes.items() if p and p.get("result") == "FAIL"]
    if failing:
        warn.append("failing probe(s): " + ", ".join(failing))
    hour = facts.coverage.get("1h")
    if hour is not None and hour.ratio is not None and hour.ratio < 0.95:
        warn.append(f"heartbeat coverage over 1 h is {percent(hour.ratio)}")
    warn.extend(facts.problems)
    if bad:
        return "bad", bad + warn
    return ("warn", warn) if warn else ("ok", ["all checks pass"])


# ------------------------------------------------------------------ sections


def _table(headers: Iterable[str], rows: list[list[str]], empty: str) -> str:
    """``rows`` hold already-escaped cells."""
    if not rows:
        return f'<p class="muted">{esc(empty)}</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _badge(text: Any, level: str) -> str:
    return f'<span class="badge {esc(level)}">{esc(text)}</span>'


def instances_section(facts: StatusFacts) -> str:
    lock = facts.lock or {}
    holder = lock.get("holderInstanceId")
    rows = []
    if holder and not lock.get("expired", True):
        until = f"lease {age(lock.get('secondsLeft'))} left, generation {lock.get('generation')}"
        rows.append([esc(holder), _badge("leader", "ok"), esc(until)])
    else:
        rows.append([esc(holder or "none"), _badge("no leader", "bad"), esc("lease expired or released" if holder else "no lock document")])
    if facts.instance_id != holder or lock.get("expired", True):
        role = ("leader", "ok") if facts.this_leads else ("standby", "muted")
        rows.append([esc(facts.instance_id) + ' <span class="muted">(this instance)</span>', _badge(*role), esc("waits for the lease")])
    else:
        rows[0][0] += ' <span class="muted">(this instance)</span>'
    return "<h2>Instances</h2>" + _table(("instance", "role", "lease"), rows, "no instances known")


def heartbeat_section(facts: StatusFacts) -> str:
    last = facts.last_heartbeat or {}
    hb_age = seconds_since(last.get("ts"), facts.now)
    level = "ok" if hb_age is not None and hb_age <= 2 * facts.interval else "bad"
    rows = [[esc(w), esc(percent(c.ratio) if c else "n/a"), esc(f"{c.written} / {c.expected}" if c else "n/a")]
            for w, c in ((w, facts.coverage.get(w)) for w in WINDOWS)]
    written_by = f" by {last.get('instanceId')}" if last.get("instanceId") else ""
    return (
        "<h2>Heartbeats</h2>"
        f'<p>Last heartbeat {_badge(age(hb_age) + " ago" if hb_age is not None else "never", level)}'
        f'<span class="muted">{esc(written_by)} · every {esc(age(facts.interval))}</span></p>'
        + _table(("window", "coverage", "written / expected"), rows, "")
        + f'<p class="muted">{esc(facts.coverage_note)}</p>'
    )


def probes_section(facts: StatusFacts) -> str:
    rows = []
    for probe_type, doc in facts.probes.items():
        if not doc:
            rows.append([esc(probe_type), _badge("never run", "muted"), "", ""])
            continue
        result = doc.get("result")
        level = {"PASS": "ok", "FAIL": "bad"}.get(result, "muted")
        rows.append([esc(probe_type), _badge(result, level), esc(age(seconds_since(doc.get("ts"), facts.now)) + " ago"),
                     esc(doc.get("error") or "")])
    return "<h2>Probes</h2>" + _table(("probe", "last result", "when", "error"), rows, "no probes")


def incidents_section(facts: StatusFacts) -> str:
    rows = []
    for doc in facts.incidents:
        severity = doc.get("severity")
        level = "bad" if severity in ("P1", "P2") else "warn"
        rows.append([_badge(severity, level), esc(doc.get("type")), esc(doc.get("status")),
                     esc(age(seconds_since(doc.get("tsStart"), facts.now))), esc(doc.get("owner") or "—"),
                     esc(doc.get("reason") or "")])
    return "<h2>Open incidents</h2>" + _table(("severity", "type", "status", "age", "owner", "reason"), rows, "no open incidents")


def rollups_section(facts: StatusFacts) -> str:
    rows = []
    for doc in facts.rollups:
        uptime = _number(doc.get("uptimePct"))
        gap = _number(doc.get("maxGapSec"))
        insufficient = doc.get("insufficientData")
        rows.append([esc(doc.get("date")), esc("n/a" if uptime is None else f"{uptime:.2f} %"),
                     esc(percent(doc.get("numericCoverage"))), esc(age(gap)),
                     _badge("yes", "warn") if insufficient else esc("no")])
    return "<h2>Daily rollups</h2>" + _table(("day", "uptime", "coverage", "max gap", "insufficient data"), rows, "no rollups yet")


# ------------------------------------------------------------------ the page

CSS = """
:root{color-scheme:light dark;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--muted:#6e7781;--line:#d0d7de}
*{box-sizing:border-box}
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;padding:1rem;max-width:60rem}
h1{font-size:1.4rem;margin:.2rem 0 .6rem}h2{font-size:1.1rem;margin:1.4rem 0 .4rem}
.summary{padding:.8rem 1rem;border-radius:.5rem;border:2px solid var(--line)}
.summary.ok{border-color:var(--ok)}.summary.warn{border-color:var(--warn)}.summary.bad{border-color:var(--bad)}
.summary strong{font-size:1.2rem}.summary ul{margin:.3rem 0 0 1.1rem;padding:0}
.badge{display:inline-block;padding:0 .45rem;border-radius:.8rem;font-weight:600;color:#fff;background:var(--muted);white-space:nowrap}
.badge.ok{background:var(--ok)}.badge.warn{background:var(--warn)}.badge.bad{background:var(--bad)}.badge.muted{color:#fff}
.muted{color:var(--muted)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td{white-space:nowrap}td:last-child{white-space:normal;word-break:break-word;min-width:12rem}
footer{margin-top:1.6rem;font-size:.85rem}
@media (max-width:40rem){body{font-size:15px;padding:.6rem}th,td{padding:.25rem .3rem}}
"""

TITLES = {"ok": "All good", "warn": "Needs attention", "bad": "Down"}


def render(facts: StatusFacts) -> str:
    level, reasons = overall(facts)
    reasons_html = "".join(f"<li>{esc(r)}</li>" for r in reasons)
    body = "".join(section(facts) for section in (
        instances_section, heartbeat_section, probes_section, incidents_section, rollups_section))
    footer = (f"generated {esc(facts.now.strftime('%Y-%m-%d %H:%M:%S UTC'))} by {esc(facts.instance_id)} · "
              f"version {esc(facts.service_version)} · commit {esc(facts.commit)} · "
              f"store {esc(facts.store_kind)} {'up' if facts.store_up else 'DOWN'} · reloads every {REFRESH_SEC} s")
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="refresh" content="{REFRESH_SEC}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>longrun: {esc(TITLES[level])}</title><style>{CSS}</style></head><body>"
        "<h1>longrun status</h1>"
        f'<section class="summary {level}" id="summary"><strong>{esc(TITLES[level])}</strong><ul>{reasons_html}</ul></section>'
        f"{body}<footer class=\"muted\">{footer}</footer></body></html>"
    )
