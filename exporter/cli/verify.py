"""``longrun verify``: the runbook's data-quality check over any window.

    longrun verify                       # the last hour, ending where the current slot starts
    longrun verify --window 7d --end 2026-03-10 --json

Exit 0 good, 1 failure (max gap over two intervals, bad documents, or the store
unreachable), 2 insufficient data (coverage below insufficientDataThreshold).
Slots inside maintenance windows are left out, as in the rollups.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from exporter.cli.common import (
    Context,
    Progress,
    UsageError,
    add_json,
    parse_instant,
    parse_seconds,
)
from exporter.domain.slots import slot_start
from exporter.reports.gather import probe_results, scan_heartbeats
from exporter.reports.probe_slots import check_probe_slots, schedule_seconds
from exporter.reports.verification import Verification


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("verify", help="data-quality check of a window (exit 0 good, 1 failure, 2 insufficient data)",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", default="1h", help="how far back from --end (90m, 1h, 7d; default 1h)")
    parser.add_argument("--end", help="window end, ISO time (UTC unless an offset is given); a date means the end "
                                      "of that day; default: the start of the current heartbeat slot")
    add_json(parser)
    parser.set_defaults(handler=verify)


async def verify(ctx: Context) -> int:
    interval = ctx.settings.heartbeat_interval
    window = parse_seconds(ctx.args.window, "--window")
    if window < interval:
        raise UsageError(f"--window: {ctx.args.window} is shorter than one heartbeat interval ({interval:g}s)")
    async with ctx.runtime() as runtime:
        end = parse_instant(ctx.args.end, "--end", bare_date="end") if ctx.args.end else slot_start(runtime.clock.now(), interval)
        start = end - timedelta(seconds=window)
        config = await runtime.config.load()
        planned = await runtime.maintenance.spans(start, end)  # left out, as the rollups do
        heartbeats = await scan_heartbeats(runtime.store, runtime.paths, start, end, interval, progress=Progress("verify: day"),
                                           maintenance=planned)
        schedules = schedule_seconds(config)
        # A slot starting just before ``end`` stores its result a little after it.
        slack = timedelta(seconds=max(schedules.values(), default=0))
        results = await probe_results(runtime.store, runtime.paths, start, end + slack)
    outcome = Verification.of(heartbeats, check_probe_slots(start, end, schedules, results),
                              coverage_threshold=config["insufficientDataThreshold"],
                              maintenance_sec=planned.seconds_within(start, end))
    ctx.emit(outcome.to_dict(), outcome.summary_lines())
    if outcome.code:
        print(f"longrun: verify: {outcome.verdict} (exit {outcome.code}): {'; '.join(outcome.reasons)}", file=sys.stderr)
    return outcome.code
