"""The long-run report as ONE self-contained HTML file: inline CSS and SVG, no script, no external asset.

    Path("report.html").write_text(render_html(report), encoding="utf-8")

Rendered by Jinja2 from ``templates/report.html.j2`` with autoescaping on: every
value from the store (incident reasons, owners, types: operator or alert text)
is escaped by the template, never by hand. The three SVG charts are the one
exception: ``exporter.reports.charts`` builds them and escapes each text it
places; they are passed in as ``Markup``.
"""

from __future__ import annotations

from typing import Any, Mapping

from markupsafe import Markup

from exporter.domain.report import FAIL, INSUFFICIENT_DATA, PASS, WindowReport
from exporter.domain.slots import day_bounds, iso
from exporter.reports import charts
from exporter.reports import formatting as fmt
from exporter.reports.model import LongRunReport, incident_summary
from exporter.templating import environment

MAX_INCIDENT_ROWS = 200
VERDICT_CSS = {PASS: "pass", FAIL: "fail", INSUFFICIENT_DATA: "insufficient"}


def _probe_counts(counts: Mapping[str, Mapping[str, int]]) -> str:
    return "; ".join(f"{kind}: " + ", ".join(f"{k} {v}" for k, v in results.items()) for kind, results in counts.items())


def _window(w: WindowReport) -> dict[str, Any]:
    missing = ", ".join(d.isoformat() for d in w.missing_days[:31])
    more = f" and {len(w.missing_days) - 31} more" if len(w.missing_days) > 31 else ""
    return {
        "days": w.days, "first_day": w.first_day, "last_day": w.last_day, "verdict": w.verdict, "css": VERDICT_CSS[w.verdict],
        "uptime": fmt.pct(w.uptime_pct), "target": f"{w.target_uptime_pct:g}%", "coverage": fmt.ratio(w.coverage),
        "max_gap": fmt.seconds(w.max_gap_sec), "mttr": fmt.mttr(w), "mtta": fmt.mtta(w), "rates": fmt.rates(w.probe_pass_rates),
        "incidents": w.incidents_count, "with_data": f"{len(w.days_with_data)}/{w.days}", "reasons": list(w.reasons),
        "details": [
            ("minutes", f"up {w.up_minutes:g}, down {w.down_minutes:g}, unknown {w.unknown_minutes:g}, "
                        f"maintenance {w.maintenance_minutes:g}"),
            ("incidents by type", fmt.counts(w.incidents_by_type)),
            ("incidents by severity", fmt.counts(w.incidents_by_severity)),
            ("probe runs", _probe_counts(w.probe_counts)),
            ("missing days", (missing + more) or "none"),
        ],
    }


def _incident_rows(report: LongRunReport) -> list[dict[str, Any]]:
    shown = [incident_summary(doc) for doc in report.incidents[-MAX_INCIDENT_ROWS:]]
    for row in shown:
        mttr = row["mttrSec"]
        row["mttr"] = fmt.seconds(mttr) if isinstance(mttr, (int, float)) and not isinstance(mttr, bool) else fmt.NA
    return list(reversed(shown))


def render_html(report: LongRunReport) -> str:
    """The whole page."""
    sources = report.source_counts()
    meta = (f"UTC days {report.first_day} .. {report.last_day}; generated {iso(report.generated_at)}; "
            f"heartbeat interval {report.interval:g} s; days from stored rollups {sources['rollup']}, "
            f"computed from raw documents {sources['computed']}, without any data {sources['missing']}.")
    longest = max(report.windows, key=lambda w: w.days)
    start, end = day_bounds(report.first_day)[0], day_bounds(report.last_day)[1]
    limit = 2 * report.interval
    note = f" (latest {MAX_INCIDENT_ROWS} of {len(report.incidents)})" if len(report.incidents) > MAX_INCIDENT_ROWS else ""
    page = environment("exporter.reports").get_template("report.html.j2").render(
        title=f"longrun report {report.first_day} .. {report.last_day}", meta=meta,
        windows=[_window(w) for w in report.windows], day_count=len(report.days), gap_limit=fmt.seconds(limit),
        # charts.py escapes every text it places in its SVG (tests/cli/test_report_html.py holds it to that).
        uptime_chart=Markup(charts.uptime_chart(report.days, longest.target_uptime_pct)),
        gap_chart=Markup(charts.gap_chart(report.days, limit)),
        timeline=Markup(charts.incident_timeline(report.incidents, start, end)),
        incidents=_incident_rows(report), incidents_note=note,
    )
    return page if page.endswith("\n") else page + "\n"
