"""The HTML report: one self-contained file whose SVG charts hold one mark per day
and per incident, rendered by headless Chromium into a screenshot."""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from exporter.cli import main
from tests.cli.conftest import clean_environment, use_sqlite

END = "2026-03-10"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EVENTS = (
    "--outage", "2026-03-05T10:00:00Z+45m",          # a gap day: max gap 46 min
    "--target-down", "2026-03-07T10:00:00Z+30m",     # a bad uptime day: 97.9 % < 99 %
    "--probe-fail", "outbound@2026-03-08T06:30:00Z",
    "--probe-fail", "outbound@2026-03-08T12:30:00Z",  # a streak of two: a probe_fail incident
    "--restart", "2026-03-09T09:00:00Z",
)


class ChartMarks(HTMLParser):
    """Counts (svg id, tag, class) of every element inside each <svg>."""

    def __init__(self) -> None:
        super().__init__()
        self.svg: str | None = None
        self.marks: Counter = Counter()
        self.tags: Counter = Counter()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags[tag] += 1
        if tag == "svg":
            self.svg = attrs.get("id")
        elif self.svg:
            self.marks[(self.svg, tag, attrs.get("class") or "")] += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg = None

    def count(self, svg: str, tag: str, css: str = "") -> int:
        wanted = set(css.split())
        return sum(n for (s, t, c), n in self.marks.items() if s == svg and t == tag and wanted <= set(c.split()))


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> str:
    """The report of nine simulated days, built once: the tests below only read it."""
    folder = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as monkeypatch:
        clean_environment(monkeypatch)
        use_sqlite(folder, monkeypatch)
        simulate = ["simulate", "--days", "9", "--end", END, "--events-per-week", "0", "--json", *EVENTS]
        assert main(simulate) == 0
        assert main(["report", "--window", "7d", "--end", END, "--format", "html", "--output", str(folder / "report.html")]) == 0
    return (folder / "report.html").read_text(encoding="utf-8")


def marks(html: str) -> ChartMarks:
    parser = ChartMarks()
    parser.feed(html)
    return parser


def test_uptime_chart_has_one_bar_per_day_and_marks_the_bad_one(report_html):
    m = marks(report_html)
    assert m.count("uptime-chart", "rect", "bar") == 7
    assert m.count("uptime-chart", "rect", "bar bad") == 1  # 2026-03-07: (1440 - 30) / 1440 < 99 %
    assert m.count("uptime-chart", "path", "target") == 1


def test_gap_chart_has_one_point_per_day_with_data_and_a_line_through_them(report_html):
    m = marks(report_html)
    assert m.count("gap-chart", "circle", "point") == 7
    assert m.count("gap-chart", "circle", "point bad") == 1  # 2026-03-05: 46 min > 2 min
    assert m.count("gap-chart", "path", "line") == 1 and m.count("gap-chart", "path", "limit") == 1
    assert "2026-03-05: max gap 2760 s (46m)" in report_html


def test_incident_timeline_has_one_bar_and_one_dot_per_incident(report_html):
    m = marks(report_html)
    assert m.count("incident-timeline", "rect", "incident") == 3  # outage, target down, probe streak
    assert m.count("incident-timeline", "circle", "incident-start") == 3
    assert m.count("incident-timeline", "rect", "incident sev-P1") == 1


def test_the_file_is_self_contained(report_html):
    lowered = report_html.lower()
    for outside in ("<script", "http:", "https:", "src=", "href=", "url(", "@import"):
        assert outside not in lowered, outside
    assert marks(report_html).tags["svg"] == 3 and "<style>" in report_html


def test_every_value_from_the_store_is_escaped(sqlite_cli, tmp_path):
    sqlite_cli.simulate(days=2, end=END)
    evil = '<script>alert("x")</script> & <b>bold</b>'
    sqlite_cli.ok("incident", "open", "--type", "missed_heartbeat", "--reason", evil, "--yes",
                  "--start", "2026-03-10T10:00:00Z", "--end", "2026-03-10T10:05:00Z")
    sqlite_cli.ok("report", "--window", "2d", "--end", END, "--output", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.mark.process
def test_headless_chromium_renders_the_report(report_html, tmp_path, request):
    if CHROMIUM is None:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("WARNING: chromium not found: the HTML report is not rendered (apt install chromium)", yellow=True)
        pytest.skip("chromium not found: install it (apt install chromium) to render the HTML report")
    page, shot = tmp_path / "report.html", tmp_path / "report.png"
    page.write_text(report_html, encoding="utf-8")
    chromium = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    done = subprocess.run([*chromium, f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    assert shot.is_file(), done.stderr[-2000:]
    assert png_size(shot) == (1200, 2000)
    assert shot.stat().st_size > 50_000  # a page of tables and charts, not a blank one
    dom = subprocess.run([*chromium, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    rendered = marks(dom)
    assert rendered.count("uptime-chart", "rect", "bar") == 7 and rendered.count("gap-chart", "circle", "point") == 7
