"""``longrun incident list|open|ack|resolve``: the runbook's incident workflow, through IncidentService.

    longrun incident list --status open,acknowledged --type missed_heartbeat
    longrun incident open --type missed_heartbeat --reason "store outage" --start 2026-03-01T10:00Z --end 2026-03-01T11:15Z
    longrun incident ack ID --owner alice
    longrun incident resolve ID --root-cause "disk full"

open/ack/resolve print the change and ask (or --yes). An unknown incident id
is a usage error (64); a change the incident model forbids (acknowledging a
resolved incident) is a failure (1).
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
    parse_instant,
)
from exporter.domain.incidents import (
    SEVERITIES,
    STATUSES,
    IncidentTransitionError,
    severity_for,
)
from exporter.domain.slots import iso
from exporter.reports import formatting as fmt
from exporter.services.incidents import IncidentInputError, check_times
from exporter.store import AlreadyExists, InvalidPath, NotFound

OPTION = {"tsStart": "--start", "tsEnd": "--end"}  # the service names the document's fields


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("incident", help="list, open, acknowledge and resolve incidents", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="incidents, newest first")
    listing.add_argument("--status", help=f"comma list of {', '.join(STATUSES)}")
    listing.add_argument("--type", help="only this incident type")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    opening = actions.add_parser("open", help="open an incident by hand (e.g. the runbook's gap record)")
    opening.add_argument("--type", required=True, help="missed_heartbeat, probe_fail, logged_out, reconnect_loop, ...")
    opening.add_argument("--reason", required=True)
    opening.add_argument("--start", help="tsStart, ISO (default now)")
    opening.add_argument("--end", help="tsEnd, ISO: records it resolved, with mttrSec")
    opening.add_argument("--severity", choices=SEVERITIES, help="default: the configured severity of the type")
    opening.add_argument("--owner")
    ack = actions.add_parser("ack", help="acknowledge: someone owns it")
    ack.add_argument("id")
    ack.add_argument("--owner", required=True)
    resolve = actions.add_parser("resolve", help="resolve: tsEnd and mttrSec are recorded")
    resolve.add_argument("id")
    resolve.add_argument("--root-cause")
    resolve.add_argument("--end", help="when it really ended, ISO (default now)")
    for sub, handler in ((listing, incident_list), (opening, incident_open), (ack, incident_ack), (resolve, incident_resolve)):
        add_json(sub)
        if sub is not listing:
            add_yes(sub)
        sub.set_defaults(handler=handler)


def line(doc: Mapping[str, Any]) -> str:
    """One incident on one line: id, severity, type, status, span, MTTR, owner, reason."""
    start, end, mttr, owner = doc.get("tsStart"), doc.get("tsEnd"), doc.get("mttrSec"), doc.get("owner")
    parts = [str(doc.get("incidentId")), f"{doc.get('severity')} {doc.get('type')} {doc.get('status')}",
             f"{iso(start) if start else '?'} .. {iso(end) if end else 'ongoing'}"]
    if isinstance(mttr, (int, float)):
        parts.append(f"MTTR {fmt.seconds(mttr)}")
    if owner:
        parts.append(f"owner {owner}")
    if doc.get("reason"):
        parts.append(str(doc["reason"]))
    return "  ".join(parts)


def _statuses(text: str | None) -> list[str]:
    wanted = [s.strip() for s in (text or "").split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise UsageError(f"--status: unknown status {unknown[0]!r}; expected a comma list of {', '.join(STATUSES)}")
    return wanted


async def incident_list(ctx: Context) -> int:
    statuses = _statuses(ctx.args.status)
    if not 1 <= ctx.args.limit <= 10_000:
        raise UsageError("--limit: expected 1 to 10000")
    async with ctx.runtime() as runtime:
        docs = await runtime.incidents.list(status=statuses, incident_type=ctx.args.type, limit=ctx.args.limit)
    ctx.emit({"count": len(docs), "incidents": docs}, [line(doc) for doc in docs] or ["no incidents match"])
    return 0


async def incident_open(ctx: Context) -> int:
    args = ctx.args
    async with ctx.runtime() as runtime:
        now = runtime.clock.now()
        start = parse_instant(args.start, "--start") if args.start else now
        end = parse_instant(args.end, "--end") if args.end else None
        try:
            check_times(now, start, end)
        except IncidentInputError as exc:
            raise UsageError(f"--start/--end: need start <= end <= now ({OPTION[exc.field]}: {exc.problem})") from None
        config = await runtime.config.load()
        severity = args.severity or severity_for(args.type, config.get("severities"))
        until = f" to {iso(end)} (resolved, MTTR {fmt.seconds((end - start).total_seconds())})" if end else " (open)"
        ctx.say(f"opens a {severity} {args.type} incident from {iso(start)}{until}: {args.reason}")
        ctx.confirm(f"open a {args.type} incident")
        try:
            doc = await runtime.incidents.open_manual(args.type, reason=args.reason, ts_start=start, ts_end=end,
                                                      severity=args.severity, owner=args.owner)
        except AlreadyExists:
            raise CliError(f"an incident of type {args.type} starting at {iso(start)} exists already (see longrun incident list)") from None
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    ctx.emit(doc, [f"opened {line(doc)}"])
    return 0


async def _existing(runtime: Any, incident_id: str) -> dict[str, Any]:
    try:
        doc = await runtime.incidents.get(incident_id)
    except InvalidPath:
        doc = None
    if doc is None:
        raise UsageError(f"no incident {incident_id!r} (see longrun incident list)")
    return doc


async def _change(ctx: Context, runtime: Any, incident_id: str, **change: Any) -> dict[str, Any]:
    try:
        return await runtime.incidents.change(incident_id, **change)
    except NotFound:
        raise UsageError(f"no incident {incident_id!r} (see longrun incident list)") from None
    except IncidentTransitionError as exc:
        raise CliError(f"incident {incident_id}: {exc}") from None
    except IncidentInputError as exc:
        raise UsageError(f"incident {incident_id}: {OPTION[exc.field]}: {exc.problem}") from None
    except ValueError as exc:
        raise UsageError(f"incident {incident_id}: {exc}") from None


async def incident_ack(ctx: Context) -> int:
    async with ctx.runtime() as runtime:
        doc = await _existing(runtime, ctx.args.id)
        if doc.get("status") == "resolved":
            raise CliError(f"incident {ctx.args.id} is resolved; a resolved incident cannot be acknowledged")
        ctx.say(f"acknowledges {line(doc)} with owner {ctx.args.owner}")
        ctx.confirm(f"acknowledge incident {ctx.args.id}")
        doc = await _change(ctx, runtime, ctx.args.id, status="acknowledged", owner=ctx.args.owner)
    ctx.emit(doc, [f"acknowledged {line(doc)}"])
    return 0


async def incident_resolve(ctx: Context) -> int:
    async with ctx.runtime() as runtime:
        doc = await _existing(runtime, ctx.args.id)
        if doc.get("status") == "resolved":
            raise CliError(f"incident {ctx.args.id} is resolved already (at {iso(doc['tsEnd']) if doc.get('tsEnd') else '?'})")
        end = parse_instant(ctx.args.end, "--end") if ctx.args.end else runtime.clock.now()
        cause = f", root cause: {ctx.args.root_cause}" if ctx.args.root_cause else ""
        ctx.say(f"resolves {line(doc)} at {iso(end)}{cause}")
        ctx.confirm(f"resolve incident {ctx.args.id}")
        doc = await _change(ctx, runtime, ctx.args.id, status="resolved", root_cause=ctx.args.root_cause, ts_end=end)
    ctx.emit(doc, [f"resolved {line(doc)}"])
    return 0
