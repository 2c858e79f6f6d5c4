"""``longrun cleanup [--dry-run]``: retention now, per ``retention.*Days`` in the config document.

``--dry-run`` prints what is due per collection and deletes nothing. Otherwise
the counts are printed, confirmed (or --yes), and the documents deleted in
bounded batches; whatever a run leaves goes on the next one.
"""

from __future__ import annotations

import argparse

from exporter.cli.common import Context, add_json, add_yes
from exporter.domain.slots import iso


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("cleanup", help="delete documents past their retention", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="count what is due, delete nothing")
    add_yes(parser)
    add_json(parser)
    parser.set_defaults(handler=cleanup)


async def cleanup(ctx: Context) -> int:
    async with ctx.runtime() as runtime:
        due = await runtime.retention.count_due()
        cutoffs = {rule.collection: cutoff for rule, cutoff in runtime.retention.plan(runtime.clock.now())}
        lines = [f"{collection:12s} {count:8,d} due (older than {iso(cutoffs[collection])})" for collection, count in due.items()]
        lines += [f"{'(kept)':12s} {name}: retention null, kept forever" for name in _kept(runtime.config.current)]
        total = sum(due.values())
        if ctx.args.dry_run or total == 0:
            ctx.emit({"dryRun": bool(ctx.args.dry_run), "due": due, "deleted": {}},
                     [*lines, "dry run: nothing deleted" if ctx.args.dry_run else "nothing is due"])
            return 0
        for line in lines:
            ctx.say(line)
        ctx.confirm(f"delete {total:,} documents past retention")
        deleted = await runtime.retention.run()
    left = {c: due[c] - deleted.get(c, 0) for c in due if due[c] > deleted.get(c, 0)}
    tail = [f"left for the next run: {left}"] if left else []
    ctx.emit({"dryRun": False, "due": due, "deleted": deleted},
             [f"deleted {n:,} {collection}" for collection, n in deleted.items()] + tail)
    return 0


def _kept(config: dict) -> list[str]:
    retention = config.get("retention") or {}
    return [key.removesuffix("Days") for key, days in retention.items() if not days]
