"""``longrun maintenance start|add|list|end``: planned work that counts as neither up nor down and pages nobody.

    longrun maintenance start --for 30m --reason "deploy 0.3"
    longrun maintenance add --from 2026-03-01T08:00Z --until 2026-03-01T08:20Z --reason "deploy we forgot"
    longrun maintenance list [--json]
    longrun maintenance end mw-20260301T0800-1a2b3c

start/add/end say what they will do and ask (or --yes); each prints the
window (--json: the window document). With LONGRUN_ALERTMANAGER_URL set the
window is silenced in Alertmanager; if Alertmanager cannot be reached the
window is still recorded and the running longrun retries the silence.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import datetime
from typing import Any, Callable, Mapping

from exporter.cli.common import CliError, Context, UsageError, add_json, add_yes, parse_instant, parse_seconds
from exporter.domain.maintenance import Window, WindowError, check_duration, check_span, end_early
from exporter.domain.slots import iso
from exporter.reports import formatting as fmt
from exporter.store import InvalidPath, NotFound

OPTIONS = {"from": "--from", "until": "--until", "reason": "--reason", "durationSec": "--for", "id": "ID"}


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("maintenance", help="start, record, list and end maintenance windows",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = actions.add_parser("start", help="start a window now")
    start.add_argument("--for", dest="duration", required=True, metavar="DURATION", help="how long: 30m, 2h, 1d (at most 7d)")
    start.add_argument("--reason", required=True)
    add = actions.add_parser("add", help="record a past or planned window")
    add.add_argument("--from", dest="start", required=True, metavar="ISO", help="start, ISO (UTC unless an offset is given)")
    add.add_argument("--until", dest="end", required=True, metavar="ISO", help="end, ISO")
    add.add_argument("--reason", required=True)
    listing = actions.add_parser("list", help="windows, the latest start first")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    end = actions.add_parser("end", help="end a running window now (a planned one is cancelled)")
    end.add_argument("id")
    for sub, handler in ((start, maintenance_start), (add, maintenance_add), (listing, maintenance_list), (end, maintenance_end)):
        add_json(sub)
        if sub is not listing:
            add_yes(sub)
        sub.set_defaults(handler=handler)


def caller() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def line(doc: Mapping[str, Any], now: datetime) -> str:
    """One window on one line: id, state, span, reason, who, silences."""
    try:
        window = Window.from_doc(doc)
    except WindowError:
        return f"{doc.get('id')}  (malformed: no valid start/end)"
    span = fmt.duration((window.until - window.start).total_seconds())
    parts = [window.id, window.state(now), f"{iso(window.start)} .. {iso(window.until)} ({span})", window.reason,
             f"by {window.created_by}"]
    if window.ended_at is not None:
        parts.append(f"ended early by {doc.get('endedBy') or '?'}")
    silences = ", ".join(window.silence_ids) or ("none yet: " + str(doc["silenceError"]) if doc.get("silenceError") else "none")
    parts.append(f"silences: {silences}")
    return "  ".join(parts)


def _usage(exc: WindowError) -> UsageError:
    return UsageError(f"{OPTIONS.get(exc.field, exc.field)}: {exc.message}")


async def _record(ctx: Context, span: Callable[[datetime], tuple[datetime, datetime]], verb: str) -> int:
    async with ctx.runtime(http=True) as runtime:
        start, end = span(runtime.clock.now())
        ctx.say(f"{verb} a maintenance window {iso(start)} .. {iso(end)}: {ctx.args.reason}")
        ctx.confirm(f"{verb} this maintenance window")
        try:
            doc = await runtime.maintenance.add(start, end, ctx.args.reason, created_by=caller())
        except WindowError as exc:
            raise _usage(exc) from None
        now = runtime.clock.now()
    recomputed = doc.get("recomputedRollups") or []
    ctx.emit(doc, [f"recorded {line(doc, now)}",
                   *([f"recomputed the rollups of {', '.join(recomputed)}"] if recomputed else [])])
    return 0


def _check(start: datetime, end: datetime) -> None:
    """Refuse before asking: the same rules the service applies, named by option."""
    try:
        check_span(start, end)
    except WindowError as exc:
        raise _usage(exc) from None


async def maintenance_start(ctx: Context) -> int:
    seconds = parse_seconds(ctx.args.duration, "--for")
    if not ctx.args.reason.strip():
        raise UsageError("--reason: required: say what the planned work is")
    try:
        length = check_duration(seconds)
    except WindowError as exc:
        raise UsageError(f"--for: {exc.message.replace(' (604800 s)', '')}") from None
    return await _record(ctx, lambda now: (now, now + length), "start")


async def maintenance_add(ctx: Context) -> int:
    start = parse_instant(ctx.args.start, "--from")
    end = parse_instant(ctx.args.end, "--until")
    if not ctx.args.reason.strip():
        raise UsageError("--reason: required: say what the planned work is")
    _check(start, end)
    return await _record(ctx, lambda now: (start, end), "record")


async def maintenance_list(ctx: Context) -> int:
    if not 1 <= ctx.args.limit <= 1000:
        raise UsageError("--limit: expected 1 to 1000")
    async with ctx.runtime() as runtime:
        docs = await runtime.maintenance.list(limit=ctx.args.limit)
        now = runtime.clock.now()
    ctx.emit({"count": len(docs), "windows": docs}, [line(doc, now) for doc in docs] or ["no maintenance windows"])
    return 0


async def maintenance_end(ctx: Context) -> int:
    async with ctx.runtime(http=True) as runtime:
        try:
            doc = await runtime.maintenance.get(ctx.args.id)
        except InvalidPath:
            doc = None
        if doc is None:
            raise UsageError(f"ID: no maintenance window {ctx.args.id!r} (see longrun maintenance list)")
        now = runtime.clock.now()
        try:
            end_early(Window.from_doc(doc), now)  # refuse before asking
        except WindowError as exc:
            raise CliError(f"ID: {exc.message}") from None
        ctx.say(f"ends {line(doc, now)}")
        ctx.confirm(f"end maintenance window {ctx.args.id}")
        try:
            doc = await runtime.maintenance.end(ctx.args.id, ended_by=caller())
        except NotFound:
            raise UsageError(f"ID: no maintenance window {ctx.args.id!r} (see longrun maintenance list)") from None
        except WindowError as exc:
            raise CliError(f"ID: {exc.message}") from None
        now = runtime.clock.now()
    ctx.emit(doc, [f"ended {line(doc, now)}"])
    return 0
