"""Every Telegram message about an incident links its runbook section: the alert's own runbook_url,
else the section of the incident's type in the runbook at LONGRUN_RUNBOOK_URL. Read as sent, from
the fake Bot API."""

from __future__ import annotations

import re

from alerting.runbook import incident_anchor, runbook_link
from alerting.telegram.format import render_incident_change
from exporter.settings import DEFAULT_RUNBOOK_URL
from tests.alerting.conftest_bridge import CHAT, make_bridge  # noqa: F401
from tests.monitoring import artefacts

BASE = "https://wiki.example.com/ops/longrun.md"


def hrefs(text: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)">📖 Runbook</a>', text)


async def test_an_incident_the_monitor_opens_links_its_types_section(make_bridge):
    harness = await make_bridge(runbook_url=BASE)
    await harness.incidents.detect("missed_heartbeat", "heartbeat", reason="5 heartbeats missed")
    await harness.deliver()
    (message,) = harness.fake_telegram.delivered(CHAT)
    assert "Incident opened" in message.text
    assert hrefs(message.text) == [f"{BASE}#incident-missed_heartbeat"]


async def test_by_default_the_link_opens_longruns_own_runbook_at_a_section_that_exists(make_bridge):
    harness = await make_bridge()
    await harness.incidents.detect("no_leader", "lock", reason="nobody holds the lease")
    await harness.deliver()
    (message,) = harness.fake_telegram.delivered(CHAT)
    (href,) = hrefs(message.text)
    assert href == f"{DEFAULT_RUNBOOK_URL}#incident-no_leader"
    sections = artefacts.markdown_sections(artefacts.RUNBOOK.read_text(encoding="utf-8"))
    assert "longrun lock status" in sections[href.split("#")[1]]


def test_an_alerts_own_runbook_url_wins():
    incident = {"type": "alert", "status": "open", "runbookUrl": "https://x.example/r.md#longrunstoredown"}
    assert hrefs(render_incident_change(incident, "opened", BASE)) == ["https://x.example/r.md#longrunstoredown"]


def test_no_base_and_no_url_means_no_link():
    assert hrefs(render_incident_change({"type": "probe_fail", "status": "open"}, "opened", "")) == []
    assert runbook_link("", "probe_fail") == ""


def test_anchors_are_path_safe_whatever_the_type():
    assert incident_anchor("Probe Fail<script>") == "incident-probefailscript"
