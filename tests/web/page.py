"""Read the status page the way a person does: its title, summary and the rows under each heading.

    page = Page.parse(html)
    page.rows("Probes")        # [["outbound", "PASS", "10 min ago", ""], ...]
    page.text("Heartbeats")    # all the text under that heading
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    title: str = ""
    summary: str = ""
    metas: list[dict[str, str]] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    sections: dict[str, list[list[str]]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, html: str) -> "Page":
        parser = _Parser()
        parser.feed(html)
        parser.close()
        return parser.page

    def rows(self, heading: str) -> list[list[str]]:
        return self.sections.get(heading, [])

    def text(self, heading: str) -> str:
        return self.texts.get(heading, "")


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.stack: list[str] = []
        self.heading: str | None = None
        self.capture: str | None = None
        self.buffer = ""
        self.row: list[str] | None = None
        self.cell: str | None = None
        self.in_summary = False

    def handle_starttag(self, tag, attrs):
        self.page.tags.add(tag)
        attributes = {k: v or "" for k, v in attrs}
        if tag == "meta":
            self.page.metas.append(attributes)
            return
        self.stack.append(tag)
        if tag in ("title", "h2"):
            self.capture, self.buffer = tag, ""
        elif tag == "section" and "summary" in attributes.get("class", ""):
            self.in_summary = True
        elif tag == "tr" and self.heading:
            self.row = []
        elif tag == "td" and self.row is not None:
            self.cell = ""

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        if tag == "title":
            self.page.title, self.capture = self.buffer.strip(), None
        elif tag == "h2":
            self.heading, self.capture = self.buffer.strip(), None
            self.page.sections.setdefault(self.heading, [])
        elif tag == "section":
            self.in_summary = False
        elif tag == "td" and self.row is not None and self.cell is not None:
            self.row.append(" ".join(self.cell.split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row:
                self.page.sections[self.heading].append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.capture:
            self.buffer += data
        if self.in_summary:
            self.page.summary += data + " "
        if self.cell is not None:
            self.cell += data
        if self.heading and not self.capture:
            self.page.texts[self.heading] = self.page.texts.get(self.heading, "") + data
