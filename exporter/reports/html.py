"""The long-run report as ONE self-contained HTML file: inline CSS and SVG, no script, no external asset.

    Path("report.html").write_text(render_html(report), encoding="utf-8")

Every value from the store passes through ``html.escape`` (incident reasons,
owners and types are operator or alert text).
"""

from __future__ import annotations

from html import escape
from typing import Any, Iterable, Mapping

from exporter.domain.report import FAIL, INSUFFICIENT_DATA, PASS, WindowReport
from exporter.domain.slots import day_bounds, iso
from exporter.reports import charts
from exporter.reports import formatting as fmt
from exporter.reports.model import LongRunReport, incident_summary

MAX_INCIDENT_ROWS = 200
VERDICT_CSS = {PASS: "pass", FAIL: "fail", INSUFFICIENT_DATA: "insufficient"}

CSS = """
:root { color-scheme: light; --ok: #2e7d32; --bad: #c62828; --unknown: #9e9e9e; --warn: #ef6c00; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 1140px; color: #212121; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #e0e0e0; }
p.meta { color: #616161; margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border: 1px solid #e0e0e0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #fafafa; } tbody th { width: 180px; font-weight: 600; }
.verdict { font-weight: 700; padding: 2px 8px; border-radius: 4px; color: #fff; }
.verdict.pass { background: var(--ok); } .verdict.fail { background: var(--bad); } .verdict.insufficient { background: var(--unknown); }
ul.reasons { margin: 4px 0 0 18px; padding: 0; }
svg.chart { display: block; max-width: 100%; height: auto; background: #fff; border: 1px solid #eee; }
svg .grid { stroke: #eeeeee; stroke-width: 1; }
svg .axis { font-size: 11px; fill: #616161; }
svg .target, svg .limit { stroke: var(--warn); stroke-width: 1.5; stroke-dasharray: 6 4; fill: none; }
svg .target-label { font-size: 11px; fill: var(--warn); }
svg .bar.ok { fill: var(--ok); } svg .bar.bad { fill: var(--bad); }
svg .bar.unknown { fill: #f5f5f5; stroke: var(--unknown); stroke-dasharray: 2 2; }
svg .line { stroke: #1565c0; stroke-width: 1.5; fill: none; }
svg .point.ok { fill: #1565c0; } svg .point.bad { fill: var(--bad); }
svg .missing-day { fill: var(--unknown); }
svg .incident { fill-opacity: 0.75; } svg .incident.active { stroke: #000; stroke-dasharray: 3 2; }
svg .sev-P1 { fill: #b71c1c; } svg .sev-P2 { fill: #ef6c00; } svg .sev-P3 { fill: #f9a825; } svg .sev-unknown { fill: #757575; }
footer { margin-top: 32px; color: #9e9e9e; font-size: 12px; }
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _table(headers: Iterable[str] | None, rows: Iterable[Iterable[str]]) -> str:
    """A table of already-escaped cells; without headers, each row's first cell is its label."""
    head = "" if headers is None else "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr></thead>"
    body = "".join(_row(list(row), labelled=headers is None) for row in rows)
    return f"<table>{head}<tbody>{body}</tbody></table>"


def _row(cells: list[str], *, labelled: bool) -> str:
    label = f"<th>{cells.pop(0)}</th>" if labelled else ""
    return "<tr>" + label + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _verdict(window: WindowReport) -> str:
    return f'<span class="verdict {VERDICT_CSS[window.verdict]}">{_e(window.verdict)}</span>'


def _summary(report: LongRunReport) -> str:
    rows = []
    for w in report.windows:
        rows.append([
            f"{w.days} days<br><small>{_e(w.first_day)} .. {_e(w.last_day)}</small>", _verdict(w),
            _e(fmt.pct(w.uptime_pct)), _e(f"{w.target_uptime_pct:g}%"), _e(fmt.ratio(w.coverage)),
            _e(fmt.seconds(w.max_gap_sec)), _e(fmt.mttr(w)), _e(fmt.mtta(w)), _e(fmt.rates(w.probe_pass_rates)),
            _e(w.incidents_count), _e(f"{len(w.days_with_data)}/{w.days}"),
        ])
    headers = ("window", "verdict", "uptime", "target", "coverage", "max gap", "MTTR", "MTTA",
               "probe pass rates", "incidents", "days with data")
    return "<h2>Verdicts</h2>" + _table(headers, rows)


def _window_details(w: WindowReport) -> str:
    reasons = "".join(f"<li>{_e(r)}</li>" for r in w.reasons) or "<li>every target met</li>"
    missing = ", ".join(d.isoformat() for d in w.missing_days[:31])
    more = f" and {len(w.missing_days) - 31} more" if len(w.missing_days) > 31 else ""
    rows = [
        ["why", f'<ul class="reasons">{reasons}</ul>'],
        ["minutes", _e(f"up {w.up_minutes:g}, down {w.down_minutes:g}, unknown {w.unknown_minutes:g}, "
                      f"maintenance {w.maintenance_minutes:g}")],
        ["incidents by type", _e(fmt.counts(w.incidents_by_type))],
        ["incidents by severity", _e(fmt.counts(w.incidents_by_severity))],
        ["probe runs", _e(_probe_counts(w.probe_counts))],
        ["missing days", _e((missing + more) or "none")],
    ]
    return f"<h3>{w.days} days: {_verdict(w)}</h3>" + _table(None, rows)


def _probe_counts(counts: Mapping[str, Mapping[str, int]]) -> str:
    return "; ".join(f"{kind}: " + ", ".join(f"{k} {v}" for k, v in results.items()) for kind, results in counts.items())


def _charts(report: LongRunReport) -> str:
    longest = max(report.windows, key=lambda w: w.days)
    start, end = day_bounds(report.first_day)[0], day_bounds(report.last_day)[1]
    limit = 2 * report.interval
    return (
        f"<h2>Daily uptime ({len(report.days)} days)</h2>" + charts.uptime_chart(report.days, longest.target_uptime_pct)
        + f"<h2>Heartbeat gaps: largest per day (limit {fmt.seconds(limit)})</h2>" + charts.gap_chart(report.days, limit)
        + "<h2>Incident timeline</h2>" + charts.incident_timeline(report.incidents, start, end)
    )


def _incidents(report: LongRunReport) -> str:
    shown = [incident_summary(doc) for doc in report.incidents[-MAX_INCIDENT_ROWS:]]
    if not shown:
        return "<h2>Incidents</h2><p>None in the window.</p>"
    headers = ("start", "end", "type", "severity", "status", "MTTR", "owner", "reason")
    rows = [[_e(i["tsStart"]), _e(i["tsEnd"] or "ongoing"), _e(i["type"]), _e(i["severity"]), _e(i["status"]),
             _e(fmt.seconds(i["mttrSec"]) if isinstance(i["mttrSec"], (int, float)) else fmt.NA),
             _e(i["owner"] or ""), _e(i["reason"] or "")] for i in reversed(shown)]
    note = f" (latest {MAX_INCIDENT_ROWS} of {len(report.incidents)})" if len(report.incidents) > MAX_INCIDENT_ROWS else ""
    return f"<h2>Incidents{_e(note)}</h2>" + _table(headers, rows)


def render_html(report: LongRunReport) -> str:
    """The whole page."""
    sources = report.source_counts()
    meta = (f"UTC days {report.first_day} .. {report.last_day}; generated {iso(report.generated_at)}; "
            f"heartbeat interval {report.interval:g} s; days from stored rollups {sources['rollup']}, "
            f"computed from raw documents {sources['computed']}, without any data {sources['missing']}.")
    body = (f"<header><h1>Long-run report</h1><p class=\"meta\">{_e(meta)}</p></header>"
            + _summary(report) + "".join(_window_details(w) for w in report.windows)
            + _charts(report) + _incidents(report)
            + "<footer>longrun report: self-contained file, no script, readable offline.</footer>")
    title = f"longrun report {report.first_day} .. {report.last_day}"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")
