"""Digests: a chat's pending bulk messages merged into as few messages as they fit. Pure.

When a chat's backlog is more than Telegram lets through in the next minute,
the outbox merges its pending group notifications (and earlier digests) into
digests: each source message contributes its ``lines`` (a title line, then one
line per alert, see ``alerting.telegram.group``), in order, so nothing is
dropped and the order is kept. A title equal to the one just above it is not
repeated.

    digests = plan([Source("id1", lines1), Source("id2", lines2), Barrier(), Source("id3", lines3)])
    for digest in digests:            # only merges that save messages: two sources or more
        digest.sources, digest.text, digest.lines

A ``Barrier`` (a message that cannot be merged: no lines, being sent right
now) ends the digest being filled, so nothing overtakes it. A source whose
lines do not fit one message on their own stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

from alerting.telegram.format import LIMIT, utf16_len
from alerting.telegram.group import TITLE_MARK


@dataclass(frozen=True)
class Source:
    id: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Barrier:
    """A pending message of the chat that stays as it is."""


@dataclass(frozen=True)
class Digest:
    sources: tuple[str, ...]
    lines: tuple[str, ...]
    text: str


def header(lines: Sequence[str]) -> str:
    alerts = sum(1 for line in lines if not is_title(line))
    return (f"📦 <b>Digest of {alerts} alert{'s' if alerts != 1 else ''}</b>: this chat's backlog was more "
            f"than Telegram lets through in a minute, so messages come merged")


def is_title(line: str) -> bool:
    return line.startswith(TITLE_MARK)


def plan(queue: Sequence[Union[Source, Barrier]], limit: int = LIMIT) -> list[Digest]:
    """The digests to make of ``queue`` (one chat's pending bulk messages, oldest first)."""
    digests: list[Digest] = []
    run: list[Source] = []
    for item in [*queue, Barrier()]:
        if isinstance(item, Source) and _fits([*run, item], limit):
            run.append(item)
            continue
        if len(run) > 1:
            digests.append(_digest(run))
        run = [item] if isinstance(item, Source) and _fits([item], limit) else []
    return digests


def _merged_lines(sources: Sequence[Source]) -> list[str]:
    lines: list[str] = []
    last_title = None
    for source in sources:
        for line in source.lines:
            if is_title(line):
                if line == last_title:
                    continue
                last_title = line
            lines.append(line)
    return lines


def _fits(sources: Sequence[Source], limit: int) -> bool:
    lines = _merged_lines(sources)
    if not lines or any(not s.lines for s in sources):
        return False
    return utf16_len(header(lines)) + 2 + sum(utf16_len(line) + 1 for line in lines) - 1 <= limit


def _digest(sources: Sequence[Source]) -> Digest:
    lines = _merged_lines(sources)
    return Digest(tuple(s.id for s in sources), tuple(lines), header(lines) + "\n\n" + "\n".join(lines))
