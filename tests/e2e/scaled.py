"""The shipped Prometheus, rules and Alertmanager configs, copied with time scaled down and addresses on loopback.

Everything else stays byte for byte as shipped (comments included), so an
end-to-end test runs the real rules, routes and inhibitions, only faster:

    config = write_scaled(tmp_path, Fraction(1, 15), Loopback(
        longrun=("127.0.0.1:4001", "127.0.0.1:4002"), webhook="127.0.0.1:4002",
        alertmanager="127.0.0.1:4003", prometheus="127.0.0.1:4004", token_file=tmp_path / "token"))
    config.prometheus_yml, config.alertmanager_yml, config.edits

What is scaled, by ``factor``:
- prometheus.yml: scrape_interval, scrape_timeout, evaluation_interval;
- rule files: ``for:``, a group's ``interval:``, and every PromQL range,
  subquery and offset duration (``[5m]``, ``[1h:1m]``, ``offset 1d``);
- alertmanager.yml: resolve_timeout, group_wait, group_interval, repeat_interval.

What is pointed at loopback: the scrape targets and Alertmanager targets of
prometheus.yml (by job), the webhook URLs and the token file of alertmanager.yml,
and its Telegram ``api_url`` (at ``Loopback.telegram``, the fake Bot API): no
test ever calls api.telegram.org.

Plain numbers in expressions (``> 600``, ``vector(60)``) are not durations
here: they compare with timestamps the exporter takes in real time, so they
stay. Label values such as ``window="1h"`` are names, not durations, and stay.
Comment lines never change.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable

from exporter.monitoring.render import RenderOptions, render as render_monitoring
from exporter.monitoring.selector import Selector
from exporter.settings import DEFAULT_RUNBOOK_URL
from tests.monitoring import artefacts

DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_UNIT_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000,
            "s": 1000, "ms": 1}
_PART = re.compile(r"(\d+)(ms|[smhdwy])")
_FULL = re.compile(rf"^{DURATION}$")

PROMETHEUS_KEYS = ("scrape_interval", "scrape_timeout", "evaluation_interval")
RULE_KEYS = ("for", "interval")
ALERTMANAGER_KEYS = ("resolve_timeout", "group_wait", "group_interval", "repeat_interval")

_RANGE = re.compile(rf"\[(?P<range>{DURATION})(?P<colon>:(?P<step>{DURATION})?)?\]")
_OFFSET = re.compile(rf"\b(?P<head>offset\s+-?)(?P<value>{DURATION})\b")
_QUOTED_ADDRESS = re.compile(r'"(?P<address>[\w.-]+:\d+)"')
_URL_AUTHORITY = re.compile(r"(?P<scheme>https?://)(?P<address>[^/\s\"']+)")
_CREDENTIALS_FILE = re.compile(r"^(?P<head>\s*credentials_file:\s*)(?P<path>\S+)(?P<tail>\s*)$")
_API_URL = re.compile(r"^(?P<head>\s*(?:-\s+)?api_url:\s*)(?P<url>\S+)(?P<tail>\s*)$")


def duration_ms(text: str) -> int:
    """Milliseconds of a Prometheus duration such as ``1h30m`` or ``500ms``."""
    if not _FULL.match(text):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNIT_MS[unit] for n, unit in _PART.findall(text))


def format_ms(ms: int) -> str:
    """The shortest Prometheus duration of ``ms`` in h, m, s and ms: ``3s333ms``, ``1h36m``, ``0s``."""
    if ms == 0:
        return "0s"
    parts = []
    for unit in ("h", "m", "s", "ms"):
        count, ms = divmod(ms, _UNIT_MS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def scale(text: str, factor: Fraction) -> str:
    """``text`` times ``factor``, rounded to the millisecond; never 0 unless it was 0."""
    ms = duration_ms(text)
    scaled = int(Fraction(ms) * factor + Fraction(1, 2))
    return format_ms(max(scaled, 1) if ms else 0)


@dataclass(frozen=True)
class Loopback:
    """Where the copies point: every address is ``host:port`` on loopback."""

    longrun: tuple[str, ...]  # every longrun instance Prometheus scrapes
    webhook: str  # the longrun instance Alertmanager posts to
    alertmanager: str
    prometheus: str
    token_file: Path
    telegram: str = ""  # base URL of the fake Telegram Bot API, for the telegram-direct receiver


@dataclass(frozen=True)
class Edit:
    file: str
    line: int
    kind: str  # "duration" or "address"
    old: str
    new: str


@dataclass
class ScaledConfig:
    root: Path
    factor: Fraction
    prometheus_yml: Path
    rule_files: list[Path]
    alertmanager_yml: Path
    edits: list[Edit] = field(default_factory=list)
    rule_sources: list[Path] = field(default_factory=lambda: list(artefacts.RULE_FILES))

    def copies(self) -> list[tuple[Path, Path]]:
        """(shipped or rendered file, its scaled copy) for every file written."""
        pairs = [(artefacts.PROMETHEUS_CONFIG, self.prometheus_yml),
                 (artefacts.ALERTMANAGER_CONFIG, self.alertmanager_yml)]
        pairs += [(source, self.root / "rules" / source.name) for source in self.rule_sources]
        return pairs


def write_scaled(root: Path, factor: Fraction, loopback: Loopback, selector: str | None = None) -> ScaledConfig:
    """Write prometheus.yml, rules/*.yml and alertmanager.yml under ``root``; see the module docstring.

    With ``selector`` (only ``=`` matchers), the rules are those ``longrun monitoring render --selector``
    writes, and longrun's scrape job is renamed and labelled so that its series carry the selector's labels.
    """
    (root / "rules").mkdir(parents=True, exist_ok=True)
    config = ScaledConfig(root, factor, root / "prometheus.yml", [], root / "alertmanager.yml")
    if selector is not None:
        config.rule_sources = _render_rules(root / "rendered", Selector.parse(selector))
    scrape_labels = Selector.parse(selector).equalities if selector else {}
    addresses = _prometheus_addresses(loopback)
    webhook_hosts = _webhook_addresses(loopback)

    def prometheus_line(line: str, edit: Callable[[str, str, str], None]) -> str:
        line = _scale_keys(line, PROMETHEUS_KEYS, factor, edit)
        if scrape_labels:
            line = _relabel_longrun_job(line, scrape_labels, edit)
        if "targets:" in line:
            line = _QUOTED_ADDRESS.sub(lambda m: _replace_address(m, addresses, edit), line)
        return line

    def rule_line(line: str, edit: Callable[[str, str, str], None]) -> str:
        return _scale_promql(_scale_keys(line, RULE_KEYS, factor, edit), factor, edit)

    def alertmanager_line(line: str, edit: Callable[[str, str, str], None]) -> str:
        line = _scale_keys(line, ALERTMANAGER_KEYS, factor, edit)
        if _API_URL.match(line):
            return _replace_api_url(line, loopback.telegram, edit)
        line = _URL_AUTHORITY.sub(lambda m: _replace_authority(m, webhook_hosts, edit), line)
        return _replace_credentials_file(line, loopback.token_file, edit)

    _copy(artefacts.PROMETHEUS_CONFIG, config.prometheus_yml, prometheus_line, config.edits)
    for source in config.rule_sources:
        target = root / "rules" / source.name
        _copy(source, target, rule_line, config.edits)
        config.rule_files.append(target)
    _copy(artefacts.ALERTMANAGER_CONFIG, config.alertmanager_yml, alertmanager_line, config.edits)
    return config


def render(template: Path, output: Path, bot_token: str, chat_id: str) -> subprocess.CompletedProcess[str]:
    """Run the shipped ``alertmanager/render-config.sh`` (as the compose stack does) on ``template``."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TELEGRAM_BOT_TOKEN": bot_token,
           "TELEGRAM_CHAT_ID": chat_id, "TELEGRAM_BOT_TOKEN_FILE": str(output.parent / "no-such-secret")}
    result = subprocess.run(["sh", str(artefacts.ALERTMANAGER_RENDER), str(template), str(output)],
                            capture_output=True, text=True, timeout=30, env=env)
    if result.returncode != 0:
        raise AssertionError(f"render-config.sh failed ({result.returncode}): {result.stderr}")
    return result


def _render_rules(directory: Path, selector: Selector) -> list[Path]:
    files = render_monitoring(RenderOptions(selector, DEFAULT_RUNBOOK_URL))
    written = []
    for name, text in sorted(files.items()):
        if name.startswith("prometheus/rules/"):
            path = directory / Path(name).name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


_LONGRUN_JOB = re.compile(r"^(?P<head>\s*-\s+job_name:\s*)longrun\s*$")
_LONGRUN_TARGETS = re.compile(r'^(?P<indent>\s*)-\s+targets:.*"longrun:\d+"')


def _relabel_longrun_job(line: str, labels: dict[str, str], edit) -> str:
    """longrun's scrape job takes the selector's job name, and its targets the selector's other labels."""
    if match := _LONGRUN_JOB.match(line):
        new = f"{match['head']}{labels.get('job', 'longrun')}"
        edit("selector", line, new)
        return new
    if (match := _LONGRUN_TARGETS.match(line)) and set(labels) - {"job"}:
        extra = ", ".join(f'{k}: "{v}"' for k, v in labels.items() if k != "job")
        new = f"{line}\n{match['indent']}  labels: {{{extra}}}"
        edit("selector", line, new)
        return new
    return line


# ------------------------------------------------------------------ line rewriting


def _copy(source: Path, target: Path, rewrite, edits: list[Edit]) -> None:
    """Rewrite ``source`` line by line into ``target``; comment lines and line endings are kept as they are."""
    out = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(keepends=True), start=1):
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        if body.lstrip().startswith("#"):
            out.append(line)
            continue

        def edit(kind: str, old: str, new: str, number: int = number) -> None:
            edits.append(Edit(source.name, number, kind, old, new))

        out.append(rewrite(body, edit) + ending)
    target.write_text("".join(out), encoding="utf-8")


def _scale_keys(line: str, keys: Iterable[str], factor: Fraction, edit) -> str:
    pattern = re.compile(rf"^(?P<head>\s*(?:-\s+)?(?:{'|'.join(keys)}):\s*)(?P<value>{DURATION})(?P<tail>\s*(?:#.*)?)$")
    match = pattern.match(line)
    if not match:
        return line
    new = scale(match["value"], factor)
    edit("duration", match["value"], new)
    return f"{match['head']}{new}{match['tail']}"


def _scale_promql(line: str, factor: Fraction, edit) -> str:
    def one(text: str) -> str:
        new = scale(text, factor)
        edit("duration", text, new)
        return new

    def ranged(match: re.Match) -> str:
        step = ":" + (one(match["step"]) if match["step"] else "") if match["colon"] else ""
        return f"[{one(match['range'])}{step}]"

    line = _RANGE.sub(ranged, line)
    return _OFFSET.sub(lambda m: m["head"] + one(m["value"]), line)


def _replace_address(match: re.Match, addresses: dict[str, tuple[str, ...]], edit) -> str:
    old = match["address"]
    if old not in addresses:
        raise ValueError(f"prometheus.yml targets {old}, which no loopback address stands for: extend Loopback")
    new = addresses[old]
    edit("address", old, ", ".join(new))
    return ", ".join(f'"{address}"' for address in new)


def _replace_authority(match: re.Match, hosts: dict[str, str], edit) -> str:
    old = match["address"]
    if old not in hosts:
        raise ValueError(f"alertmanager.yml calls {old}, which no loopback address stands for: extend Loopback")
    edit("address", old, hosts[old])
    return match["scheme"] + hosts[old]


def _replace_api_url(line: str, telegram: str, edit) -> str:
    match = _API_URL.match(line)
    if not telegram:
        raise ValueError(f"alertmanager.yml calls {match['url']}: give Loopback.telegram (the fake Bot API)")
    edit("address", match["url"], telegram)
    return f"{match['head']}{telegram}{match['tail']}"


def _replace_credentials_file(line: str, token_file: Path, edit) -> str:
    match = _CREDENTIALS_FILE.match(line)
    if not match:
        return line
    edit("address", match["path"], str(token_file))
    return f"{match['head']}{token_file}{match['tail']}"


# ------------------------------------------------------------------ which shipped address is which


def _prometheus_addresses(loopback: Loopback) -> dict[str, tuple[str, ...]]:
    """Shipped ``host:port`` -> loopback addresses, by the scrape job (or the alerting section) naming it."""
    shipped = artefacts.load_yaml(artefacts.PROMETHEUS_CONFIG)
    by_job = {"longrun": loopback.longrun, "prometheus": (loopback.prometheus,),
              "alertmanager": (loopback.alertmanager,)}
    found: dict[str, tuple[str, ...]] = {}
    for job in shipped["scrape_configs"]:
        if job["job_name"] not in by_job:
            raise ValueError(f"prometheus.yml scrapes job {job['job_name']!r}, which Loopback has no address for")
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                found[target] = by_job[job["job_name"]]
    for manager in shipped["alerting"]["alertmanagers"]:
        for static in manager.get("static_configs", []):
            for target in static["targets"]:
                found[target] = (loopback.alertmanager,)
    return found


def _webhook_addresses(loopback: Loopback) -> dict[str, str]:
    shipped = artefacts.load_yaml(artefacts.ALERTMANAGER_CONFIG)
    hosts = {}
    for receiver in shipped["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            hosts[re.sub(r"^https?://", "", webhook["url"]).split("/", 1)[0]] = loopback.webhook
    return hosts
