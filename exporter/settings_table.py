"""The README's settings table, generated from the settings code, so it cannot miss a setting.

    python -m exporter.settings_table --write README.md   # rewrite the table between its markers
    python -m exporter.settings_table                     # print it

Every key of ``exporter.settings._KEYS`` is a row, in that order: a setting added
there appears here by itself. Its default is the ``Settings`` field's default
(durations as ``90s``/``6h``); its description is ``DESCRIPTIONS[key]``, else the
comment above the field in ``exporter/settings.py``. tests/test_settings_table.py
fails when the README's table is not this output.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
from pathlib import Path

from exporter import settings as settings_module
from exporter.settings import Settings, format_duration

BEGIN = "<!-- settings-table: begin (generated: python -m exporter.settings_table --write README.md) -->"
END = "<!-- settings-table: end -->"
REGENERATE = "python -m exporter.settings_table --write README.md"

WEBHOOK_OPEN_NOTE = (
    "**Security:** accepts Alertmanager's calls without a token, so anyone who can reach the port can open and "
    "resolve incidents and make longrun send Telegram messages. Only on a listener nobody else can reach "
    "(loopback, a private network); prefer `LONGRUN_WEBHOOK_TOKEN`. longrun logs a warning at start while it is on"
)

# key -> (description, default as people read it; None: the Settings field's default)
DESCRIPTIONS: dict[str, tuple[str, str | None]] = {
    "LONGRUN_STORE": ("`sqlite:///PATH` (embedded) or `firestore://PROJECT_ID`", None),
    "LONGRUN_ROOT": ("document root of every longrun document", None),
    "LONGRUN_LISTEN": ("one HTTP port: health, metrics, admin API, webhook, status page", "`127.0.0.1:9469`"),
    "LONGRUN_INSTANCE_ID": ("this process's name in the lock and on its documents", "host name + random"),
    "LONGRUN_COMMIT": ("the deployed commit, stamped on documents and `longrun_build_info`", None),
    "LONGRUN_DEPLOYMENT_ID": ("the deployment, stamped on documents; a change counts as a restart", None),
    "LONGRUN_SERVICE_VERSION": ("the monitored service's version, stamped on heartbeats", "longrun's version"),
    "LONGRUN_ADMIN_TOKEN": ("bearer token for the admin API's changes; unset: they refuse", None),
    "LONGRUN_WEBHOOK_TOKEN": ("bearer token Alertmanager must send to `POST /api/alertmanager`; unset: the webhook "
                              "answers 403 and longrun logs a warning at start", None),
    "LONGRUN_WEBHOOK_OPEN": (f"`true`: the webhook works without a token. {WEBHOOK_OPEN_NOTE}", None),
    "TELEGRAM_BOT_TOKEN": ("the bot that sends messages; unset: no messages", None),
    "TELEGRAM_CHAT_ID": ("comma list of chat ids (`-1001234`, `@channel`) messages go to", None),
    "TELEGRAM_API_BASE": ("the Bot API's address (a fake one in tests)", None),
    "TELEGRAM_ADMIN_IDS": ("chat-ops: comma list of Telegram user ids allowed to acknowledge, resolve and silence "
                           "from the chat; unset: no buttons, no commands", None),
    "TELEGRAM_ESCALATION_CHAT_ID": ("chat-ops: reminders of unacknowledged incidents go there too", None),
    "TELEGRAM_TIMEOUT": ("one `sendMessage` call; a send that times out is retried, so a slow API can cost a "
                         "duplicate, never a loss", None),
    "LONGRUN_STORE_TIMEOUT": ("how long one store call may take (retries included) before the store counts as down",
                              "Firestore 10s, SQLite 5s"),
    "FIREBASE_SERVICE_ACCOUNT_JSON": ("Firestore credentials, inline JSON", None),
    "GOOGLE_APPLICATION_CREDENTIALS": ("Firestore credentials, a key file", None),
    "FIRESTORE_EMULATOR_HOST": ("the Firestore emulator's `host:port`, honoured as the Google client does", None),
    "LONGRUN_ALERTMANAGER_URL": ("Alertmanager's API (`http://alertmanager:9093`): maintenance windows are silenced "
                                 "there (API v2); unset: no silences", None),
    "LONGRUN_SILENCE_MATCHERS": ("what a maintenance silence matches; add your deployment's label, e.g. "
                                 "`alertname=~\"Longrun.+\",monitor=\"prod\"` (the Watchdog is never matched)", None),
    "LONGRUN_TARGET_URL": ("the monitored service's status JSON (connectedCount, queueDepth, ...)", None),
    "LONGRUN_TARGET_SEND_URL": ("outbound probe: a real send that must answer 2xx", None),
    "LONGRUN_PROBE_SENDER_URL": ("inbound probe: asked to send a message with a fresh token", None),
    "LONGRUN_TARGET_TIMEOUT": ("one read of the status JSON or one send", None),
    "LONGRUN_PROBE_TIMEOUT": ("how long the inbound probe waits for its message", None),
    "LONGRUN_HEARTBEAT_INTERVAL": ("one heartbeat per slot of this length", None),
    "LONGRUN_LEASE": ("how long the leader's lease lasts without renewal", None),
    "LONGRUN_RENEW": ("how often the leader renews it (shorter than the lease)", None),
    "LONGRUN_STANDBY_POLL": ("how often a standby looks at the lock", None),
    "LONGRUN_MONITOR_INTERVAL": ("the hourly monitor (missed heartbeats, probe streaks, logged-out accounts)", None),
    "LONGRUN_OUTBOUND_INTERVAL": ("the outbound probe", None),
    "LONGRUN_QUEUE_INTERVAL": ("the queue probe", None),
    "LONGRUN_INBOUND_INTERVAL": ("the inbound probe", None),
    "LONGRUN_REFRESH_INTERVAL": ("how often the metrics are read from the store", None),
    "LONGRUN_LOG_LEVEL": ("DEBUG, INFO, WARNING or ERROR", None),
    "LONGRUN_RUNBOOK_URL": ("the runbook's base: Telegram messages link `BASE#section` "
                            "(`longrun monitoring render --runbook-url` for the alerts)", None),
    "LONGRUN_HTTP_MAX_CONNECTIONS": ("connections held at once, lowered to `ulimit -n` − 64 so the store and jobs keep "
                                     "descriptors; at the cap a new connection displaces the one idle longest", None),
    "LONGRUN_HTTP_HEADER_TIMEOUT": ("a connection is closed when its header block takes longer", None),
    "LONGRUN_HTTP_BODY_TIMEOUT": ("... when its body (or the reading of its answer) takes longer", None),
    "LONGRUN_HTTP_IDLE_TIMEOUT": ("... when an idle keep-alive lasts longer", None),
    "LONGRUN_ALLOWED_HOSTS": ("comma list of extra host names a loopback `LONGRUN_LISTEN` answers to; it answers only "
                              "`Host` localhost, 127.0.0.1, [::1] and these, anything else gets 421 (DNS rebinding)",
                              None),
}


def rows() -> list[tuple[str, str, str]]:
    """(key, default, description) for every setting ``load_settings`` reads."""
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    comments = field_comments()
    found = []
    for key, (name, parse) in settings_module._KEYS.items():
        description, default = DESCRIPTIONS.get(key, (None, None))
        if default is None:
            default = _default_text(fields.get(name), parse)
        found.append((key, default, description or comments.get(name) or "(not described yet)"))
    return found


def table() -> str:
    lines = ["| setting | default | what |", "|---|---|---|"]
    for key, default, description in rows():
        lines.append(f"| `{key}` | {default} | {_cell(description)} |")
    return "\n".join(lines)


def field_comments() -> dict[str, str]:
    """Field name -> the ``#`` comment on the line(s) above it (or after it) in the Settings class."""
    comments, pending = {}, []
    for line in inspect.getsource(Settings).splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("# ").strip())
            continue
        match = re.match(r"\s*(\w+)\s*:", line)
        if match:
            trailing = line.split("  # ", 1)[1].strip() if "  # " in line else ""
            text = " ".join(pending) or trailing
            if text:
                comments[match.group(1)] = text
        pending = []
    return comments


def replace_in(markdown: str) -> str:
    """``markdown`` with the text between BEGIN and END replaced by the current table."""
    if BEGIN not in markdown or END not in markdown:
        raise ValueError(f"no settings table markers: put {BEGIN!r} and {END!r} where the table goes")
    head, rest = markdown.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def _default_text(field: dataclasses.Field | None, parse) -> str:
    if field is None or field.default is dataclasses.MISSING:
        return "unset"
    value = field.default
    if value is None or value == () or value == "":
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and parse is settings_module._duration:
        return f"`{format_duration(value)}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exporter.settings_table", description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="FILE", help="replace the table between the markers in FILE")
    args = parser.parse_args(argv)
    if not args.write:
        print(table())
        return 0
    path = Path(args.write)
    try:
        path.write_text(replace_in(path.read_text(encoding="utf-8")), encoding="utf-8")
    except (OSError, ValueError) as exc:
        print(f"settings_table: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
