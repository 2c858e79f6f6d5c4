"""Process settings: read once at start from the environment or a YAML file.

Settings decide *how this process runs* (where the store is, how often the
scheduler ticks, which port it listens on). What counts as *bad* (thresholds,
expected accounts, retention) lives in the runtime config document instead,
so that it can change without a restart (see ``exporter.domain.runtime_config``).

    >>> s = load_settings({"LONGRUN_HEARTBEAT_INTERVAL": "90s"})
    >>> s.heartbeat_interval
    90.0
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from exporter import __version__
from exporter.config_file import ConfigFileError, read_config_file
from exporter.urls import safe_url


# Where the runbook_url of every alert and the runbook link of every message point: longrun's own runbook.
DEFAULT_RUNBOOK_URL = "https://github.com/longrun/longrun/blob/main/docs/runbook.md"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the key and the fix."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(text: str | int | float, key: str = "duration") -> float:
    """Parse ``500ms``, ``90s``, ``5m``, ``6h``, ``1d`` or a bare number of seconds."""
    if isinstance(text, bool):
        raise SettingsError(f"{key}: expected a duration like 90s, 6h or 1d, got {text!r}")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise SettingsError(f"{key}: expected a duration like 500ms, 90s, 6h or 1d, got {text!r}")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise SettingsError(f"{key}: must be greater than zero, got {text!r}")
    return seconds


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds * 1000)}ms"


@dataclass(frozen=True)
class Settings:
    store_url: str = "sqlite:///./var/longrun.db"
    root: str = "wa_metrics/longrun"
    listen_host: str = "127.0.0.1"
    listen_port: int = 9469

    instance_id: str = ""
    commit: str = "unknown"
    deployment_id: str = "unknown"
    service_version: str = __version__

    admin_token: str | None = field(default=None, repr=False)
    webhook_token: str | None = field(default=None, repr=False)
    webhook_open: bool = False
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_chat_ids: tuple[str, ...] = ()
    telegram_api_base: str = "https://api.telegram.org"
    telegram_admin_ids: tuple[str, ...] = ()  # chat-ops: the Telegram user ids allowed to act
    telegram_escalation_chat_id: str | None = None  # chat-ops: reminders go there too
    telegram_timeout: float = 10.0  # one sendMessage call; a timeout is retried (at-least-once)
    # How long one store call may take, retries included, before it counts as failed (the store is
    # down): None is the backend's own, 10 s for Firestore, 5 s of waiting for another SQLite writer.
    store_timeout: float | None = None

    firebase_service_account_json: str | None = field(default=None, repr=False)
    google_application_credentials: str | None = None
    firestore_emulator_host: str | None = None

    # Alertmanager's API for maintenance silences (unset: no silences) and what they match.
    alertmanager_url: str | None = None
    silence_matchers: str = 'alertname=~"Longrun.+"'

    target_url: str | None = None
    target_send_url: str | None = None
    probe_sender_url: str | None = None
    target_timeout: float = 5.0
    probe_timeout: float = 30.0

    heartbeat_interval: float = 60.0
    lease: float = 120.0
    renew: float = 60.0
    standby_poll: float = 5.0
    monitor_interval: float = 3600.0
    outbound_interval: float = 6 * 3600.0
    queue_interval: float = 24 * 3600.0
    inbound_interval: float = 6 * 3600.0
    refresh_interval: float = 60.0

    log_level: str = "INFO"
    # The runbook's base URL; alerts and messages add #section (docs/runbook.md).
    runbook_url: str = DEFAULT_RUNBOOK_URL

    # The HTTP server's own limits against stalled or flooding clients (exporter/web/server.py).
    http_max_connections: int = 256
    http_header_timeout: float = 10.0
    http_body_timeout: float = 30.0
    http_idle_timeout: float = 60.0
    # Host names (besides localhost, 127.0.0.1 and [::1]) accepted by a loopback listener.
    allowed_hosts: tuple[str, ...] = ()

    @property
    def listen(self) -> str:
        return f"{self.listen_host}:{self.listen_port}"

    def with_(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)


# environment key -> (field name, parser)
def _text(value: Any, key: str) -> str:
    return str(value).strip()


def _optional_text(value: Any, key: str) -> str | None:
    text = str(value).strip()
    return text or None


def _duration(value: Any, key: str) -> float:
    return parse_duration(value, key)


def _boolean(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{key}: expected true or false, got {value!r}")


def _chat_ids(value: Any, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    ids = tuple(str(item).strip() for item in items if str(item).strip())
    for chat in ids:
        if not re.fullmatch(r"-?\d+|@[A-Za-z0-9_]{5,}", chat):
            raise SettingsError(f"{key}: {chat!r} is not a Telegram chat id (a number like -1001234 or @channelname)")
    return ids


def _user_ids(value: Any, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    ids = tuple(str(item).strip() for item in items if str(item).strip())
    for user in ids:
        if not re.fullmatch(r"\d{1,20}", user):
            raise SettingsError(f"{key}: {user!r} is not a Telegram user id (a positive number; ask @userinfobot)")
    return ids


def _one_chat_id(value: Any, key: str) -> str | None:
    ids = _chat_ids(value, key)
    if len(ids) > 1:
        raise SettingsError(f"{key}: expected one chat id, got {len(ids)}")
    return ids[0] if ids else None


def _count(value: Any, key: str) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise SettingsError(f"{key}: expected a whole number from 1 to 1000000, got {value!r}")
    return int(text)


def _host_names(value: Any, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    names = tuple(str(item).strip().lower() for item in items if str(item).strip())
    for name in names:
        if not re.fullmatch(r"[a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\]", name):
            raise SettingsError(f"{key}: {name[:80]!r} is not a host name (letters, digits, dots and dashes; IPv6 in brackets)")
    return names


def _log_level(value: Any, key: str) -> str:
    level = str(value).strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"{key}: expected DEBUG, INFO, WARNING or ERROR, got {value!r}")
    return level


_KEYS: dict[str, tuple[str, Any]] = {
    "LONGRUN_STORE": ("store_url", _text),
    "LONGRUN_ROOT": ("root", _text),
    "LONGRUN_LISTEN": ("listen", _text),
    "LONGRUN_INSTANCE_ID": ("instance_id", _text),
    "LONGRUN_COMMIT": ("commit", _text),
    "LONGRUN_DEPLOYMENT_ID": ("deployment_id", _text),
    "LONGRUN_SERVICE_VERSION": ("service_version", _text),
    "LONGRUN_ADMIN_TOKEN": ("admin_token", _optional_text),
    "LONGRUN_WEBHOOK_TOKEN": ("webhook_token", _optional_text),
    "LONGRUN_WEBHOOK_OPEN": ("webhook_open", _boolean),
    "TELEGRAM_BOT_TOKEN": ("telegram_bot_token", _optional_text),
    "TELEGRAM_CHAT_ID": ("telegram_chat_ids", _chat_ids),
    "TELEGRAM_API_BASE": ("telegram_api_base", _text),
    "TELEGRAM_ADMIN_IDS": ("telegram_admin_ids", _user_ids),
    "TELEGRAM_ESCALATION_CHAT_ID": ("telegram_escalation_chat_id", _one_chat_id),
    "TELEGRAM_TIMEOUT": ("telegram_timeout", _duration),
    "LONGRUN_STORE_TIMEOUT": ("store_timeout", _duration),
    "FIREBASE_SERVICE_ACCOUNT_JSON": ("firebase_service_account_json", _optional_text),
    "GOOGLE_APPLICATION_CREDENTIALS": ("google_application_credentials", _optional_text),
    "FIRESTORE_EMULATOR_HOST": ("firestore_emulator_host", _optional_text),
    "LONGRUN_ALERTMANAGER_URL": ("alertmanager_url", _optional_text),
    "LONGRUN_SILENCE_MATCHERS": ("silence_matchers", _text),
    "LONGRUN_TARGET_URL": ("target_url", _optional_text),
    "LONGRUN_TARGET_SEND_URL": ("target_send_url", _optional_text),
    "LONGRUN_PROBE_SENDER_URL": ("probe_sender_url", _optional_text),
    "LONGRUN_TARGET_TIMEOUT": ("target_timeout", _duration),
    "LONGRUN_PROBE_TIMEOUT": ("probe_timeout", _duration),
    "LONGRUN_HEARTBEAT_INTERVAL": ("heartbeat_interval", _duration),
    "LONGRUN_LEASE": ("lease", _duration),
    "LONGRUN_RENEW": ("renew", _duration),
    "LONGRUN_STANDBY_POLL": ("standby_poll", _duration),
    "LONGRUN_MONITOR_INTERVAL": ("monitor_interval", _duration),
    "LONGRUN_OUTBOUND_INTERVAL": ("outbound_interval", _duration),
    "LONGRUN_QUEUE_INTERVAL": ("queue_interval", _duration),
    "LONGRUN_INBOUND_INTERVAL": ("inbound_interval", _duration),
    "LONGRUN_REFRESH_INTERVAL": ("refresh_interval", _duration),
    "LONGRUN_LOG_LEVEL": ("log_level", _log_level),
    "LONGRUN_RUNBOOK_URL": ("runbook_url", _text),
    "LONGRUN_HTTP_MAX_CONNECTIONS": ("http_max_connections", _count),
    "LONGRUN_HTTP_HEADER_TIMEOUT": ("http_header_timeout", _duration),
    "LONGRUN_HTTP_BODY_TIMEOUT": ("http_body_timeout", _duration),
    "LONGRUN_HTTP_IDLE_TIMEOUT": ("http_idle_timeout", _duration),
    "LONGRUN_ALLOWED_HOSTS": ("allowed_hosts", _host_names),
}


def _parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise SettingsError(f"LONGRUN_LISTEN: expected HOST:PORT like 127.0.0.1:9469, got {text!r}")
    return host.strip("[]"), int(port)


def _read_yaml(path: str | Path) -> dict[str, Any]:
    try:
        loaded = read_config_file(path)
    except FileNotFoundError:
        raise SettingsError(f"--config: {path} does not exist") from None
    except (ConfigFileError, IsADirectoryError, PermissionError) as exc:
        raise SettingsError(f"--config: {path}: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SettingsError(f"--config: {path} must hold a mapping of KEY: value")
    unknown = sorted(set(map(str, loaded)) - set(_KEYS))
    if unknown:
        raise SettingsError(f"--config: unknown key {unknown[0]} in {path} (known keys are the LONGRUN_* and TELEGRAM_* variables)")
    return {str(k): v for k, v in loaded.items() if v is not None}


def load_settings(env: Mapping[str, str] | None = None, config_file: str | Path | None = None) -> Settings:
    """Build Settings from a YAML file overlaid by the environment (the environment wins)."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = _read_yaml(config_file) if config_file else {}
    raw.update({k: v for k, v in env.items() if k in _KEYS})

    values: dict[str, Any] = {}
    for key, value in raw.items():
        name, parse = _KEYS[key]
        parsed = parse(value, key)
        if name == "listen":
            values["listen_host"], values["listen_port"] = _parse_listen(parsed)
        else:
            values[name] = parsed
    settings = Settings(**values)
    return _validated(settings)


def _validated(s: Settings) -> Settings:
    if not (s.store_url.startswith("sqlite:///") or s.store_url.startswith("firestore://")):
        raise SettingsError(
            f"LONGRUN_STORE: unknown store URL {s.store_url!r}; use sqlite:///PATH (embedded) or firestore://PROJECT_ID"
        )
    if s.renew >= s.lease:
        raise SettingsError(
            f"LONGRUN_RENEW ({format_duration(s.renew)}) must be shorter than LONGRUN_LEASE ({format_duration(s.lease)}), "
            "or the lease expires between renewals"
        )
    if not s.root or s.root.startswith("/") or s.root.endswith("/") or len(s.root.split("/")) % 2 != 0:
        raise SettingsError(f"LONGRUN_ROOT: {s.root!r} must be a document path with an even number of segments, like wa_metrics/longrun")
    _check_matchers(s.silence_matchers)
    for name in ("target_url", "target_send_url", "probe_sender_url", "telegram_api_base", "alertmanager_url",
                 "runbook_url"):
        url = getattr(s, name)
        if url and not re.match(r"^https?://", url):
            key = next(k for k, (n, _) in _KEYS.items() if n == name)
            raise SettingsError(f"{key}: expected an http:// or https:// URL, got {safe_url(url)!r}")
    if not s.instance_id:
        s = s.with_(instance_id=f"{socket.gethostname()}-{uuid.uuid4().hex[:12]}")
    return s


def _check_matchers(text: str) -> None:
    from alerting.alertmanager.silences import parse_matchers

    try:
        parse_matchers(text)
    except ValueError as exc:
        raise SettingsError(f"LONGRUN_SILENCE_MATCHERS: {exc}") from None
