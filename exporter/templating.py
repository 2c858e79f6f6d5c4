"""Jinja2 environments with autoescaping on: every page and file a person reads is rendered here.

    environment("exporter.web").get_template("status.html.j2").render(v=view)
    environment("exporter.reports").get_template("report.html.j2").render(...)

Autoescaping is on for every template (and for strings), so a label or an
annotation of an alert (``<img src=x onerror=...>``) is text wherever it lands,
attribute or body; nothing is concatenated by hand. A missing value is an error
(``StrictUndefined``), not an empty cell.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@lru_cache(maxsize=None)
def environment(package: str) -> Environment:
    """One environment per package holding a ``templates`` folder; Jinja2 caches the compiled templates."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2", "svg"), default=True, default_for_string=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
