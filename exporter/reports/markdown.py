"""The long-run report as Markdown: a verdict table, then each window's reasons and counts.

    print(render_markdown(report))

Cells have ``|`` and line breaks escaped so store text cannot break a table.
"""

from __future__ import annotations

from typing import Any, Iterable

from exporter.domain.report import WindowReport
from exporter.domain.slots import iso
from exporter.reports import formatting as fmt
from exporter.reports.model import LongRunReport, incident_summary

MAX_INCIDENT_ROWS = 50


def _cell(value: Any) -> str:
    return str("" if value is None else value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    headers = list(headers)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _summary(report: LongRunReport) -> list[str]:
    rows = [[f"{w.days}d ({w.first_day} .. {w.last_day})", f"**{w.verdict}**", fmt.pct(w.uptime_pct),
             f"{w.target_uptime_pct:g}%", fmt.ratio(w.coverage), fmt.seconds(w.max_gap_sec), fmt.mttr(w),
             fmt.mtta(w), fmt.rates(w.probe_pass_rates), w.incidents_count, f"{len(w.days_with_data)}/{w.days}"]
            for w in report.windows]
    return _table(("window", "verdict", "uptime", "target", "coverage", "max gap", "MTTR", "MTTA",
                   "probe pass rates", "incidents", "days with data"), rows)


def _window(w: WindowReport) -> list[str]:
    lines = ["", f"### {w.days} days: {w.verdict}", ""]
    lines += [f"- {_cell(reason)}" for reason in w.reasons] or ["- every target met"]
    lines += [
        f"- heartbeats: {w.written_hb:g} written of {w.expected_hb:g} expected (from the first heartbeat ever)",
        f"- minutes: up {w.up_minutes:g}, down {w.down_minutes:g}, unknown {w.unknown_minutes:g}, "
        f"maintenance {w.maintenance_minutes:g}",
        f"- incidents by type: {_cell(fmt.counts(w.incidents_by_type))}",
        f"- incidents by severity: {_cell(fmt.counts(w.incidents_by_severity))}",
        f"- monitoring stack's own incidents (not in the verdict): {_monitoring(w.monitoring_incidents)}",
        f"- missing days: {', '.join(d.isoformat() for d in w.missing_days[:31]) or 'none'}"
        + (f" and {len(w.missing_days) - 31} more" if len(w.missing_days) > 31 else ""),
    ]
    return lines


def _monitoring(summary) -> str:
    if not summary or not summary.get("count"):
        return "none"
    mttr = summary.get("mttrP50")
    return f"{summary['count']} ({_cell(fmt.counts(summary.get('byType') or {}))}), MTTR P50 " + (
        fmt.seconds(mttr) if isinstance(mttr, (int, float)) else fmt.NA)


def _incidents(report: LongRunReport) -> list[str]:
    shown = [incident_summary(doc) for doc in report.incidents[-MAX_INCIDENT_ROWS:]]
    if not shown:
        return ["", "## Incidents", "", "None in the window."]
    rows = [[i["tsStart"], i["tsEnd"] or "ongoing", i["type"], i["severity"], i["status"],
             fmt.seconds(i["mttrSec"]) if isinstance(i["mttrSec"], (int, float)) else fmt.NA, i["reason"]]
            for i in reversed(shown)]
    return ["", f"## Incidents (latest {len(shown)} of {len(report.incidents)})", "",
            *_table(("start", "end", "type", "severity", "status", "MTTR", "reason"), rows)]


def render_markdown(report: LongRunReport) -> str:
    sources = report.source_counts()
    meta = (f"Generated {iso(report.generated_at)}; heartbeat interval {report.interval:g} s; days from stored "
            f"rollups {sources['rollup']}, computed from raw documents {sources['computed']}, without any data "
            f"{sources['missing']}.")
    lines = [f"# Long-run report {report.first_day} .. {report.last_day}", "", meta, "", "## Verdicts", "", *_summary(report)]
    for window in report.windows:
        lines += _window(window)
    lines += _incidents(report)
    return "\n".join(lines) + "\n"
