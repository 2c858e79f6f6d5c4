"""``longrun rollup --date D [--force]``: write a day's rollup now (the runbook's manual trigger).

Without --force an existing rollup is kept and shown. With --force it is
recomputed from the raw documents and overwritten, after printing what changes
and asking (or --yes). Today cannot be rolled up (it is not complete, and a
partial rollup would stand in for the real one), nor a day whose heartbeats
retention has deleted (the rollup would say nothing was written): exit 64 and 1.
"""

from __future__ import annotations

import argparse
from typing import Any, Mapping

from exporter.cli.common import (
    CliError,
    Context,
    UsageError,
    add_json,
    add_yes,
    parse_day,
)
from exporter.reports import formatting as fmt
from exporter.services.rollups import DayNotOver, DayPastRetention

SHOWN = (("writtenHb", "written heartbeats"), ("expectedHb", "expected heartbeats"), ("uptimePct", "uptime %"),
         ("numericCoverage", "coverage"), ("maxGapSec", "max gap s"), ("incidentsCount", "incidents"),
         ("probePassRates", "probe pass rates"), ("insufficientData", "insufficient data"), ("createdAt", "created"))


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("rollup", help="write (or with --force recompute) the rollup of one UTC day",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the UTC day")
    parser.add_argument("--force", action="store_true", help="recompute and overwrite an existing rollup")
    add_yes(parser)
    add_json(parser)
    parser.set_defaults(handler=rollup)


def describe(doc: Mapping[str, Any]) -> str:
    return (f"rollup {doc.get('date')}: written {doc.get('writtenHb')}/{doc.get('expectedHb')} heartbeats, "
            f"uptime {fmt.pct(doc.get('uptimePct'))}, coverage {fmt.ratio(doc.get('numericCoverage'))}, "
            f"max gap {fmt.seconds(doc.get('maxGapSec'))}, incidents {doc.get('incidentsCount')}"
            f"{', insufficient data' if doc.get('insufficientData') else ''}")


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``field: old -> new`` for the figures an operator cares about."""
    lines = []
    for key, label in SHOWN:
        before, after = old.get(key), new.get(key)
        mark = "" if before == after or key == "createdAt" else "   (changes)"
        lines.append(f"  {label:20s} {before!s:>26} -> {after!s}{mark}")
    return lines


async def rollup(ctx: Context) -> int:
    day = parse_day(ctx.args.date, "--date")
    async with ctx.runtime() as runtime:
        try:
            runtime.rollups.check_over(day)
        except DayNotOver as exc:
            raise UsageError(f"--date: {exc}") from None
        path = runtime.paths.rollup(day.isoformat())
        existing = await runtime.store.get(path)
        if existing is not None and not ctx.args.force:
            ctx.say(f"{path} exists already; kept (recompute it with --force)")
            ctx.emit(existing.data, [describe(existing.data)])
            return 0
        try:
            await runtime.rollups.check_retention(day)
        except DayPastRetention as exc:
            raise CliError(f"--date: {exc}") from None
        if existing is not None:
            preview = await runtime.rollups.compute(day, from_store=True)
            ctx.say(f"--force overwrites {path} (created {existing.get('createdAt')}) with one recomputed from the raw documents:")
            for line in changes(existing.data, preview):
                ctx.say(line)
            ctx.confirm(f"overwrite {path}")
        doc, written = await runtime.rollups.run_day(day, force=existing is not None)
    ctx.emit(doc, [("wrote " if written else "kept ") + describe(doc)])
    return 0

