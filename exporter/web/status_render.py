"""Jinja2 with autoescaping: the status page from its view, nothing concatenated by hand.

    html = render_page(view)          # view: exporter.web.status_view.build_view(...)

Autoescaping is on for every template, so a label or annotation of an alert
(``<img src=x onerror=...>``) is text wherever it lands, attribute or body.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

REFRESH_SEC = 30


@lru_cache(maxsize=None)
def environment(package: str = "exporter.web") -> Environment:
    """One environment per template package; templates load once and are cached by Jinja2."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2", "svg"), default=True, default_for_string=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def render_page(view: Mapping[str, Any]) -> str:
    return environment().get_template("status.html.j2").render(v=view, refresh_sec=REFRESH_SEC)
