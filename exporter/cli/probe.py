"""``longrun probe run TYPE``: run one probe now and store its result (never taking a schedule slot).

Exit 0 on PASS or SKIP (not configured), 1 on FAIL. The inbound probe waits for
the monitored service to report the message to the server's HTTP endpoint, so
it can only run inside ``longrun run`` (POST /api/admin/longrun/probes/inbound/run).
"""

from __future__ import annotations

import argparse

from exporter.cli.common import EXIT_FAILURE, EXIT_OK, Context, UsageError, add_json
from exporter.domain.vocabulary import PROBE_TYPES


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("probe", help="run a probe now", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="run one probe now and store its result")
    run.add_argument("type", choices=PROBE_TYPES)
    add_json(run)
    run.set_defaults(handler=probe_run)


async def probe_run(ctx: Context) -> int:
    kind = ctx.args.type
    if kind == "inbound" and ctx.settings.probe_sender_url:
        raise UsageError("the inbound probe must run inside the server, where the message is reported: "
                         "POST /api/admin/longrun/probes/inbound/run")
    async with ctx.runtime(http=True) as runtime:
        await runtime.config.load()
        doc = await runtime.probes.run(kind)
    latency = "" if doc.get("latencyMs") is None else f" in {doc['latencyMs']:g} ms"
    error = f": {doc['error']}" if doc.get("error") else ""
    ctx.emit(doc, [f"{doc['probeKey']}: {doc['result']}{latency}{error}"])
    return EXIT_FAILURE if doc["result"] == "FAIL" else EXIT_OK
