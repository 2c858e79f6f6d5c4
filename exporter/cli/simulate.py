"""``longrun simulate``: write realistic history into the store, for demos, tests and benchmarks.

    longrun simulate --days 30 --seed 1 && longrun report --format html --output report.html
    longrun simulate --days 7 --end 2026-03-10 --events-per-week 0 \\
        --outage 2026-03-08T10:00Z+45m --target-down 2026-03-09T02:00Z+2h \\
        --probe-fail outbound@2026-03-09T12:00Z --restart 2026-03-07T09:30Z

The model is ``exporter.simulate``'s. ``--end`` is the end of the history (a
date means through the end of that day; default the start of the current
slot); the history starts ``--days`` whole days before the day of ``--end``, so
``report`` (ending yesterday) sees N complete days and ``verify`` (the last
hour) sees today's heartbeats.
Rollups are written for every complete simulated day, as the daily job would
(``--no-rollups`` leaves them to the report's on-the-fly path). The range must
hold no heartbeat yet, so simulated history never mixes with real history; a
real Firestore project (no emulator) also needs --yes.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Iterable

from exporter.cli.common import (
    Context,
    Progress,
    UsageError,
    add_json,
    add_yes,
    parse_instant,
    parse_seconds,
)
from exporter.domain.slots import day_bounds, iso, slot_start
from exporter.reports.probe_slots import schedule_seconds
from exporter.domain.vocabulary import PROBE_TYPES
from exporter.simulate import (
    Episode,
    SimDoc,
    SimulationSpec,
    generate,
    with_random_events,
)
from exporter.store import DocumentStore, Filter, Paths
from exporter.store.base import MAX_BATCH, Write


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("simulate", help="write realistic simulated history (heartbeats, probes, incidents)",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, required=True,
                        help="whole days of history before the day --end falls in (1 to 400); that day is added up to --end")
    parser.add_argument("--interval", help="heartbeat interval (default LONGRUN_HEARTBEAT_INTERVAL)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed writes the same history (default 0)")
    parser.add_argument("--end", help="end of the history: ISO time, or a date for the end of that day")
    parser.add_argument("--outage", action="append", default=[], metavar="START+DURATION",
                        help="the process is down (no heartbeats), e.g. 2026-03-08T10:00Z+45m")
    parser.add_argument("--target-down", action="append", default=[], metavar="START+DURATION",
                        help="the monitored service is down (heartbeats say targetUp false)")
    parser.add_argument("--probe-fail", action="append", default=[], metavar="TYPE@TIME",
                        help=f"the probe slot holding TIME fails; TYPE one of {', '.join(PROBE_TYPES)}")
    parser.add_argument("--restart", action="append", default=[], metavar="TIME", help="a new instance from TIME on")
    parser.add_argument("--events-per-week", type=float, default=2.0,
                        help="seeded random outages, target outages, probe failures and restarts a week (default 2; 0 for none)")
    parser.add_argument("--no-rollups", action="store_true", help="do not write the daily rollups")
    add_yes(parser)
    add_json(parser)
    parser.set_defaults(handler=simulate)


def parse_episode(text: str, option: str) -> Episode:
    start, sep, length = text.rpartition("+")
    if not sep or not start:
        raise UsageError(f"{option}: expected START+DURATION like 2026-03-08T10:00Z+45m, got {text!r}")
    return Episode(parse_instant(start, option), parse_seconds(length, option))


def parse_probe_failure(text: str) -> tuple[str, datetime]:
    kind, sep, when = text.partition("@")
    if not sep or kind not in PROBE_TYPES:
        raise UsageError(f"--probe-fail: expected TYPE@TIME with TYPE one of {', '.join(PROBE_TYPES)}, got {text!r}")
    return kind, parse_instant(when, "--probe-fail")


def build_spec(ctx: Context, now: datetime, config: dict[str, Any]) -> SimulationSpec:
    args = ctx.args
    interval = parse_seconds(args.interval, "--interval") if args.interval else ctx.settings.heartbeat_interval
    if not 1 <= args.days <= 400:
        raise UsageError("--days: expected 1 to 400")
    end = parse_instant(args.end, "--end", bare_date="end") if args.end else slot_start(now, interval)
    if end > now:
        raise UsageError(f"--end: {iso(end)} is in the future; history ends at the latest now")
    spec = SimulationSpec(
        start=day_bounds(end.date())[0] - timedelta(days=args.days), end=end, interval=interval, seed=args.seed,
        outages=tuple(parse_episode(t, "--outage") for t in args.outage),
        target_down=tuple(parse_episode(t, "--target-down") for t in args.target_down),
        probe_failures=tuple(parse_probe_failure(t) for t in args.probe_fail),
        restarts=tuple(parse_instant(t, "--restart") for t in args.restart),
        probe_hours={kind: seconds / 3600 for kind, seconds in schedule_seconds(config).items()},
        expected_accounts=int(config.get("expectedAccounts") or 0),
        fail_streak=int(config["alertThresholds"]["consecutiveProbeFails"]),
    )
    if args.events_per_week < 0:
        raise UsageError("--events-per-week: expected 0 or more")
    return with_random_events(spec, args.events_per_week) if args.events_per_week else spec


async def write_documents(store: DocumentStore, paths: Paths, docs: Iterable[SimDoc], *, start: datetime,
                          days: int, progress=lambda done, total: None) -> Counter:
    """Create every document, ``MAX_BATCH`` per batch; ``progress`` counts the days written."""
    written: Counter = Counter()
    batch: list[Write] = []
    for doc in docs:
        batch.append(Write("create", f"{getattr(paths, doc.collection)}/{doc.id}", doc.data))
        written[doc.collection] += 1
        if len(batch) == MAX_BATCH:
            await store.batch(batch)
            batch = []
            ts = doc.data.get("ts")
            if isinstance(ts, datetime):
                progress(min(days, (ts - start).days), days)
    if batch:
        await store.batch(batch)
    progress(days, days)
    return written


def _refuse_real_history(ctx: Context, existing: int, spec: SimulationSpec) -> None:
    if existing:
        raise UsageError(f"the store already holds {existing} heartbeats between {iso(spec.start)} and {iso(spec.end)}; "
                         "simulate into an empty store or another --end")
    settings = ctx.settings
    if settings.store_url.startswith("firestore://") and not settings.firestore_emulator_host:
        ctx.confirm(f"write simulated history into the real Firestore project {settings.store_url}")


async def simulate(ctx: Context) -> int:
    began = time.perf_counter()
    async with ctx.runtime(must_exist=False) as runtime:
        await runtime.config.ensure()
        config = await runtime.config.load()
        spec = build_spec(ctx, runtime.clock.now(), config)
        window = [Filter("ts", ">=", spec.start), Filter("ts", "<", spec.end)]
        _refuse_real_history(ctx, await runtime.store.count(runtime.paths.heartbeats, where=window), spec)
        days = max(1, round((spec.end - spec.start).total_seconds() / 86400))
        written = await write_documents(runtime.store, runtime.paths, generate(spec), start=spec.start, days=days,
                                        progress=Progress("simulate: day"))
        rolled = [] if ctx.args.no_rollups else await _roll_up(runtime, spec)
    summary = _summary(spec, written, rolled, time.perf_counter() - began, ctx.settings.heartbeat_interval)
    ctx.emit(summary, _lines(summary))
    return 0


async def _roll_up(runtime: Any, spec: SimulationSpec) -> list[str]:
    """The rollup of every simulated day that is over (a partial first day included), as the daily job writes it."""
    day, days = spec.start.date(), []
    while day_bounds(day)[1] <= spec.end:
        days.append(day)
        day += timedelta(days=1)
    progress = Progress("simulate: rollup")
    for number, day in enumerate(days, start=1):
        await runtime.rollups.run_day(day)
        progress(number, len(days))
    return [d.isoformat() for d in days]


def _summary(spec: SimulationSpec, written: Counter, rolled: list[str], seconds: float, setting: float) -> dict[str, Any]:
    return {
        "start": iso(spec.start), "end": iso(spec.end), "intervalSec": spec.interval, "seed": spec.seed,
        "written": dict(written), "rollups": rolled, "seconds": round(seconds, 3),
        "outages": [{"start": iso(e.start), "seconds": e.seconds} for e in spec.outages],
        "targetDown": [{"start": iso(e.start), "seconds": e.seconds} for e in spec.target_down],
        "probeFailures": [{"type": kind, "at": iso(at)} for kind, at in spec.probe_failures],
        "restarts": [iso(t) for t in spec.restarts],
        "warning": None if spec.interval == setting else
        f"verify and report read heartbeats at LONGRUN_HEARTBEAT_INTERVAL={setting:g}s; set it to {spec.interval:g}s for them",
    }


def _lines(summary: dict[str, Any]) -> list[str]:
    written = summary["written"]
    counts = ", ".join(f"{written[kind]:,} {kind}" for kind in ("heartbeats", "probes", "incidents") if kind in written)
    head = (f"simulated {summary['start']} .. {summary['end']} (seed {summary['seed']}): {counts}, "
            f"{len(summary['rollups'])} rollups, in {summary['seconds']:.1f}s")
    lines = [head]
    lines += [f"  outage       {o['start']} for {o['seconds']:g}s" for o in summary["outages"]]
    lines += [f"  target down  {o['start']} for {o['seconds']:g}s" for o in summary["targetDown"]]
    lines += [f"  probe FAIL   {p['type']} at {p['at']}" for p in summary["probeFailures"]]
    lines += [f"  restart      {t}" for t in summary["restarts"]]
    return lines + ([f"warning: {summary['warning']}"] if summary["warning"] else [])

