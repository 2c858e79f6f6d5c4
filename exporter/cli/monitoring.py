"""``longrun monitoring render --output DIR [--selector M] [--runbook-url BASE] [--datasource NAME]``.

Writes longrun's Prometheus alert and recording rules (and their promtool unit
tests, when the selector has only ``=`` matchers), the Alertmanager routes to
paste into an existing configuration, and the Grafana dashboards, with the
selector, runbook base and datasource applied everywhere:

    longrun monitoring render --output ./monitoring --selector 'job="my-longrun", env="prod"' \\
        --runbook-url https://wiki.example.com/longrun/runbook.md --datasource Mimir
    promtool check rules monitoring/prometheus/rules/*.yml
    promtool test rules monitoring/prometheus/tests/*.yml

The runbook base defaults to LONGRUN_RUNBOOK_URL. Options are checked before
anything is written; existing files of the same names are replaced.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from exporter.cli.common import EXIT_OK, Context, UsageError, add_json
from exporter.monitoring.render import DEFAULT_DATASOURCE, DEFAULT_SELECTOR, RenderError, RenderOptions, render
from exporter.monitoring.selector import Selector, SelectorError


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("monitoring", help="render longrun's rules, dashboards and routes for your setup",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser("render", help="write rules, dashboards and Alertmanager routes into a directory")
    run.add_argument("--output", required=True, metavar="DIR", help="directory to write into (created if missing)")
    run.add_argument("--selector", default=DEFAULT_SELECTOR, metavar="MATCHERS",
                     help=f"PromQL label matchers choosing longrun's series (default {DEFAULT_SELECTOR})")
    run.add_argument("--runbook-url", metavar="URL", help="runbook base for runbook_url (default LONGRUN_RUNBOOK_URL)")
    run.add_argument("--datasource", default=DEFAULT_DATASOURCE, metavar="NAME",
                     help=f"the dashboards' default Prometheus datasource (default {DEFAULT_DATASOURCE})")
    add_json(run)
    run.set_defaults(handler=monitoring_render)


async def monitoring_render(ctx: Context) -> int:
    args = ctx.args
    try:
        options = RenderOptions(Selector.parse(args.selector), args.runbook_url or ctx.settings.runbook_url,
                                args.datasource)
        files = render(options)
    except (SelectorError, RenderError) as exc:
        raise UsageError(str(exc)) from None
    written = write_files(Path(args.output), files)
    lines = [f"wrote {path}" for path in written]
    if not options.selector.exact:
        lines.append("rule unit tests not rendered: the selector has a matcher other than = (test series need exact labels)")
    ctx.emit({"output": str(args.output), "selector": options.selector.text, "runbookUrl": options.runbook_url,
              "datasource": options.datasource, "files": [str(p) for p in written]}, lines)
    return EXIT_OK


def write_files(root: Path, files: dict[str, str]) -> list[Path]:
    if root.exists() and not root.is_dir():
        raise UsageError(f"--output: {root} exists and is not a directory")
    written = []
    for name, text in sorted(files.items()):
        path = root / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--output: cannot write {path} ({exc.strerror or exc})") from None
        written.append(path)
    return written
