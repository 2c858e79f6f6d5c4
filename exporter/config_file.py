"""The ``--config`` YAML file: a few lines of ``KEY: value``, read defensively.

    raw = read_config_file("longrun.yaml")      # {"LONGRUN_STORE": "...", ...}; ConfigFileError otherwise

A settings file is small and plain, so anything else is refused with one line
that says what is wrong, before it can cost time or memory:

- more than ``MAX_BYTES`` (only that much is ever read);
- not UTF-8 text, or a NUL byte in it (a binary file given by mistake);
- an alias (``*name``): nothing a settings file needs, and the way a few
  hundred bytes expand to gigabytes (the "billion laughs");
- nesting deeper than ``MAX_DEPTH`` (a settings value is a scalar or a list).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 8


class ConfigFileError(ValueError):
    """The file cannot be a settings file; the message says why."""


class _PlainLoader(yaml.SafeLoader):
    """SafeLoader without aliases and with bounded nesting."""

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            raise ConfigFileError(f"aliases (*name) are not allowed in a settings file (line {self.peek_event().start_mark.line + 1})")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise ConfigFileError(f"nested deeper than {MAX_DEPTH} levels (line {self.peek_event().start_mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_config_file(path: str | Path) -> Any:
    """The YAML document in ``path``, or ConfigFileError (FileNotFoundError when it does not exist)."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ConfigFileError(f"larger than {MAX_BYTES // 1024} KiB: a settings file is a few lines of KEY: value")
    if b"\0" in data:
        raise ConfigFileError("not a text file (it holds NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return yaml.load(text, Loader=_PlainLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigFileError(f"not valid YAML{where} ({exc.__class__.__name__})") from None
    except RecursionError:
        raise ConfigFileError(f"nested deeper than {MAX_DEPTH} levels") from None
