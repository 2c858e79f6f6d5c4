"""The status page from its view, through Jinja2 with autoescaping (``exporter.templating``).

    html = render_page(view)          # view: exporter.web.status_view.build_view(...)
"""

from __future__ import annotations

from typing import Any, Mapping

from exporter.templating import environment

REFRESH_SEC = 30


def render_page(view: Mapping[str, Any]) -> str:
    return environment("exporter.web").get_template("status.html.j2").render(v=view, refresh_sec=REFRESH_SEC)
