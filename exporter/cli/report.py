"""``longrun report``: 7/30/90/180-day verdicts against the SLO targets, as Markdown, JSON or HTML.

    longrun report                                   # all four windows ending yesterday, Markdown
    longrun report --window 7d --window 30d --format html --output report.html
    longrun report --end 2026-03-10 --format json

Days come from their stored rollups; a day without one is computed from the raw
documents on the fly (nothing is written), and a day with no data at all is
missing, never zero. Exit 0 once the report is written, whatever the verdicts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from exporter.cli.common import (
    CliError,
    Context,
    Progress,
    UsageError,
    parse_day,
    parse_window_days,
    to_json,
)
from exporter.domain.report import WINDOW_DAYS, SloTargets
from exporter.domain.slots import day_bounds
from exporter.reports.gather import daily_rows, history_start, incidents_touching
from exporter.reports.html import render_html
from exporter.reports.markdown import render_markdown
from exporter.reports.model import LongRunReport, build_long_run_report, window_days

RENDERERS = {"md": render_markdown, "json": lambda report: to_json(report.to_dict()) + "\n", "html": render_html}


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("report", help="long-run verdicts per window (PASS / FAIL / INSUFFICIENT_DATA)",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", action="append", metavar="DAYS",
                        help="a window in days (7d, 30d, 90d, 180d, or any Nd); repeat or comma-separate; default all four")
    parser.add_argument("--format", choices=sorted(RENDERERS), help="md (default), json or html")
    parser.add_argument("--json", action="store_true", help="the same as --format json")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--end", metavar="DATE", help="the last UTC day included (default: yesterday, the last complete day)")
    parser.set_defaults(handler=report)


def _windows(values: list[str] | None) -> tuple[int, ...]:
    if not values:
        return WINDOW_DAYS
    days = [parse_window_days(part.strip()) for value in values for part in value.split(",") if part.strip()]
    return tuple(sorted(set(days))) or WINDOW_DAYS


async def build(ctx: Context, windows: tuple[int, ...]) -> LongRunReport:
    """Read the store (rollups, days computed where none is stored, incidents) and assemble the report."""
    async with ctx.runtime() as runtime:
        today = runtime.clock.now().date()
        last = parse_day(ctx.args.end, "--end") if ctx.args.end else today - timedelta(days=1)
        if last >= today:
            raise UsageError(f"--end: {last} is not complete yet (today is {today} UTC); the last complete day is {today - timedelta(days=1)}")
        config = await runtime.config.load()
        days = window_days(last, max(windows))
        rows = await daily_rows(runtime.rollups, days, progress=Progress("report: day"))
        start, end = day_bounds(days[0])[0], day_bounds(last)[1]
        incidents = await incidents_touching(runtime.store, runtime.paths, start, end)
        first = await history_start(runtime.store, runtime.paths, ctx.settings.heartbeat_interval)
        return build_long_run_report(
            last, windows, rows, incidents, generated_at=runtime.clock.now(),
            interval=ctx.settings.heartbeat_interval, coverage_threshold=config["insufficientDataThreshold"],
            targets=SloTargets.from_config(config), history_start=first,
        )


async def report(ctx: Context) -> int:
    fmt = "json" if ctx.args.json else ctx.args.format or _format_of(ctx.args.output)
    result = await build(ctx, _windows(ctx.args.window))
    text = RENDERERS[fmt](result)
    if not ctx.args.output:
        sys.stdout.write(text)
        return 0
    _write(Path(ctx.args.output), text)
    verdicts = ", ".join(f"{w.days}d {w.verdict}" for w in result.windows)
    print(f"wrote {ctx.args.output} ({len(text.encode()):,} bytes, {fmt}): {verdicts}", file=sys.stderr)
    return 0


def _format_of(output: str | None) -> str:
    suffix = Path(output).suffix.lower() if output else ""
    return {".html": "html", ".htm": "html", ".json": "json"}.get(suffix, "md")


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a half-written report never replaces a good one."""
    if not path.parent.is_dir():
        raise UsageError(f"--output: directory {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
